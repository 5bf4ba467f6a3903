//! Request ids: every request gets one, and every response carries it, so a
//! client's report can be matched with the log. The access-log middleware
//! ([`request_logger`](crate::access_log::request_logger)) gives them.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};

/// The header that carries a request's id, in the request (optional) and in
/// every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// [`REQUEST_ID_HEADER`] parsed once: looking a header up by a `&str`
/// parses the name again on every request.
pub(crate) static REQUEST_ID_NAME: header::HeaderName =
    header::HeaderName::from_static(REQUEST_ID_HEADER);

/// Longest incoming request id that is kept.
const REQUEST_ID_MAX_LEN: usize = 64;

/// The id of the request being served, for correlating a client's report
/// with the log. The access-log middleware puts it in the request's
/// extensions.
///
/// ```
/// use actix_web::http::header::HeaderValue;
/// use service_kit::request_id::RequestId;
///
/// let kept = RequestId::from_header(Some(&HeaderValue::from_static("abc-123_x")));
/// assert_eq!(kept.as_str(), "abc-123_x");
/// let replaced = RequestId::from_header(Some(&HeaderValue::from_static("a b")));
/// assert_eq!(replaced.as_str().len(), 36); // a UUID v4
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The incoming id if it is a sane token (1 to 64 characters of
    /// `[A-Za-z0-9_-]`, so it cannot forge log lines or flood them), else a
    /// new UUID v4.
    ///
    /// ```
    /// use service_kit::request_id::RequestId;
    /// assert_eq!(RequestId::from_header(None).as_str().len(), 36);
    /// ```
    pub fn from_header(value: Option<&HeaderValue>) -> Self {
        let incoming = value
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_sane_request_id(v));
        match incoming {
            Some(id) => RequestId(id.to_owned()),
            None => {
                // The same text as `to_string`, without the formatting
                // machinery.
                let mut text = uuid::Uuid::encode_buffer();
                RequestId(
                    uuid::Uuid::new_v4()
                        .hyphenated()
                        .encode_lower(&mut text)
                        .to_owned(),
                )
            }
        }
    }

    /// The id.
    ///
    /// ```
    /// use service_kit::request_id::RequestId;
    /// assert!(!RequestId::from_header(None).as_str().is_empty());
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id's text, leaving this one empty.
    pub(crate) fn take(&mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_sane_request_id(id: &str) -> bool {
    (1..=REQUEST_ID_MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
