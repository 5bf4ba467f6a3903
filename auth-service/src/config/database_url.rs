//! `DATABASE_URL`: which backend, and a form of it safe to log.

use std::path::PathBuf;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
    /// An SQLite file, created on demand with its folder.
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// The default: an SQLite file under `./data/`.
    pub fn default_sqlite() -> Self {
        DatabaseUrl::Sqlite(PathBuf::from("data/auth.db"))
    }

    pub(super) fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"));
        match path {
            Some("") => Err("an sqlite URL needs a file path".into()),
            Some(path) => Ok(DatabaseUrl::Sqlite(PathBuf::from(path))),
            None if raw.contains("://") => Err(format!(
                "unknown database scheme in {:?}: expected postgres://, postgresql:// or sqlite://",
                redact_url(raw)
            )),
            None if raw.is_empty() => Err("empty database URL".into()),
            None => Ok(DatabaseUrl::Sqlite(PathBuf::from(raw))),
        }
    }

    /// A form safe to log: no password.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Postgres(url) => redact_url(url),
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }
}

fn redact_url(url: &str) -> String {
    let url = match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    };
    // libpq also takes the password as a query parameter.
    match url.split_once('?') {
        Some((base, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{base}?{}", query.join("&"))
        }
        None => url,
    }
}
