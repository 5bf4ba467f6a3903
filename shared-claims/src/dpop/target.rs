//! The URL a proof's `htu` must name: a server's public base URL plus the
//! request's path, compared as RFC 9449 §4.3 asks (RFC 3986 §6.2.2 and
//! §6.2.3 normalization; query and fragment ignored).

use std::borrow::Cow;
use std::fmt;

use url::Url;

/// A server's public base URL, as its clients address it: `AUTH_ISSUER` at
/// the auth-service, `RESOURCE_PUBLIC_URL` at a resource server. A proof's
/// `htu` must be this URL followed by the request's path.
///
/// ```
/// use shared_claims::dpop::PublicUrl;
///
/// let base = PublicUrl::parse("HTTPS://API.Example:443/").unwrap();
/// assert_eq!(base.as_str(), "https://api.example/");
/// assert!(base.matches("https://api.example/api/me?page=2", "/api/me"));
/// assert!(base.matches("https://API.example:443/api/%6De", "/api/me"));
/// assert!(!base.matches("http://api.example/api/me", "/api/me"));
/// assert!(PublicUrl::parse("ftp://api.example").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PublicUrl {
    url: Url,
}

/// Why a string is no usable public base URL.
///
/// ```
/// let error = shared_claims::dpop::PublicUrl::parse("not a url").unwrap_err();
/// assert!(!error.to_string().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PublicUrlError(&'static str);

impl PublicUrl {
    /// An absolute `http` or `https` URL with a host, without credentials,
    /// query or fragment.
    ///
    /// ```
    /// use shared_claims::dpop::PublicUrl;
    /// assert!(PublicUrl::parse("http://127.0.0.1:8081").is_ok());
    /// assert!(PublicUrl::parse("https://api.example/?x=1").is_err());
    /// assert!(PublicUrl::parse("https://user:pw@api.example").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Self, PublicUrlError> {
        let url = Url::parse(value).map_err(|_| PublicUrlError("expected an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PublicUrlError("expected an http(s) URL"));
        }
        if url.host().is_none() {
            return Err(PublicUrlError("expected a URL with a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PublicUrlError("expected a URL without credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(PublicUrlError("expected a URL without query or fragment"));
        }
        Ok(Self { url })
    }

    /// The URL, normalized.
    ///
    /// ```
    /// let base = shared_claims::dpop::PublicUrl::parse("http://LOCALHOST:80").unwrap();
    /// assert_eq!(base.as_str(), "http://localhost/");
    /// ```
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// Whether `htu` names this base URL followed by `path` (a request's
    /// path as it arrived, percent-encoded). Scheme and host compare
    /// case-insensitively, a default port equals no port, percent-encodings
    /// compare by what they encode where RFC 3986 allows it, dot segments
    /// are resolved, and the query and fragment of `htu` are ignored.
    ///
    /// ```
    /// let base = shared_claims::dpop::PublicUrl::parse("https://example.com/api").unwrap();
    /// assert!(base.matches("https://example.com/api/projects#top", "/projects"));
    /// assert!(!base.matches("https://example.com/projects", "/projects"));
    /// ```
    pub fn matches(&self, htu: &str, path: &str) -> bool {
        let Ok(htu) = Url::parse(htu) else {
            return false;
        };
        if htu.scheme() != self.url.scheme()
            || htu.host() != self.url.host()
            || htu.port_or_known_default() != self.url.port_or_known_default()
            || !htu.username().is_empty()
            || htu.password().is_some()
        {
            return false;
        }
        // The request path is resolved under the base the way the client's
        // URL parser resolved the htu, so both sides see the same rules.
        let base_path = self.url.path().trim_end_matches('/');
        let mut expected = String::with_capacity(self.url.as_str().len() + path.len());
        expected.push_str(&self.url[..url::Position::BeforePath]);
        expected.push_str(base_path);
        if !path.starts_with('/') {
            expected.push('/');
        }
        expected.push_str(path);
        let Ok(expected) = Url::parse(&expected) else {
            return false;
        };
        canonical_path(htu.path()) == canonical_path(expected.path())
    }
}

impl fmt::Debug for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicUrl")
            .field(&self.url.as_str())
            .finish()
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// RFC 3986 §6.2.2.1 and §6.2.2.2: percent-encodings in upper case, and
/// those of unreserved characters decoded.
fn canonical_path(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?)))
            .flatten();
        match decoded {
            Some((high, low)) => {
                let byte = high << 4 | low;
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(byte));
                } else {
                    out.push('%');
                    out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                    out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                }
                i += 3;
            }
            None => {
                // A URL's path is ASCII once parsed; anything else is kept
                // byte for byte by taking the whole char.
                let ch = path[i..].chars().next().unwrap_or('\u{fffd}');
                out.push(ch);
                i += ch.len_utf8().max(1);
            }
        }
    }
    Cow::Owned(out)
}

fn hex(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(url: &str) -> PublicUrl {
        PublicUrl::parse(url).expect("a public URL")
    }

    #[test]
    fn scheme_host_and_default_port_compare_as_rfc_3986_says() {
        let b = base("https://api.example");
        assert!(b.matches("https://api.example/x", "/x"));
        assert!(b.matches("HTTPS://API.EXAMPLE:443/x", "/x"));
        assert!(!b.matches("https://api.example:8443/x", "/x"));
        assert!(!b.matches("http://api.example/x", "/x"));
        assert!(!b.matches("https://other.example/x", "/x"));
        assert!(!b.matches("https://user@api.example/x", "/x"));
    }

    #[test]
    fn query_and_fragment_are_ignored_but_the_path_is_not() {
        let b = base("http://127.0.0.1:8081");
        assert!(b.matches("http://127.0.0.1:8081/api/me?x=1#f", "/api/me"));
        assert!(!b.matches("http://127.0.0.1:8081/api/me/", "/api/me"));
        assert!(!b.matches("http://127.0.0.1:8081/api/Me", "/api/me"));
        assert!(!b.matches("http://127.0.0.1:8081", "/api/me"));
    }

    #[test]
    fn percent_encodings_and_dot_segments_are_normalized() {
        let b = base("http://h");
        assert!(b.matches("http://h/a%2fb", "/a%2Fb"));
        assert!(b.matches("http://h/%7Euser", "/~user"));
        assert!(b.matches("http://h/a/./b/../c", "/a/c"));
        assert!(!b.matches("http://h/a%2Fb", "/a/b"));
    }

    #[test]
    fn a_base_path_prefixes_the_request_path() {
        let b = base("https://gw.example/resource/");
        assert!(b.matches("https://gw.example/resource/api/me", "/api/me"));
        assert!(!b.matches("https://gw.example/api/me", "/api/me"));
    }

    #[test]
    fn garbage_never_matches() {
        let b = base("http://h");
        assert!(!b.matches("", "/"));
        assert!(!b.matches("/x", "/x"));
        assert!(!b.matches("http://h/%41", "/%"));
        assert_eq!(canonical_path("/%zz%4"), "/%zz%4");
    }
}
