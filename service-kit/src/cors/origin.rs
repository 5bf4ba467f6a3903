use url::Url;

/// A value that is not a browser origin (`scheme://host[:port]`).
///
/// ```
/// assert!(service_kit::cors::normalize_origin("https://app.example.com/path").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an origin: expected scheme://host[:port], like https://app.example.com")]
pub struct InvalidOrigin(pub String);

/// Normalises an origin the way browsers send it in `Origin` (RFC 6454):
/// http or https, host lower-cased, default port dropped, no path. An exact
/// string comparison with the header then decides whether CORS applies.
///
/// ```
/// use service_kit::cors::normalize_origin;
///
/// assert_eq!(normalize_origin("HTTPS://App.Example.com:443").unwrap(), "https://app.example.com");
/// assert_eq!(normalize_origin("http://localhost:5173/").unwrap(), "http://localhost:5173");
/// assert!(normalize_origin("*").is_err());
/// assert!(normalize_origin("ftp://files.example.com").is_err());
/// ```
pub fn normalize_origin(raw: &str) -> Result<String, InvalidOrigin> {
    let invalid = || InvalidOrigin(raw.to_owned());
    let url = Url::parse(raw.trim()).map_err(|_| invalid())?;
    let bare = matches!(url.scheme(), "http" | "https")
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if bare {
        Ok(url.origin().ascii_serialization())
    } else {
        Err(invalid())
    }
}
