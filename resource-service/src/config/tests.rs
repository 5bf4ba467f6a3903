//! The settings read as API.md §5 says, and refused naming the variable.
#![expect(clippy::unwrap_used, reason = "a failing test shows the value it got")]

use std::collections::HashMap;

use super::*;

fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_lookup(|var| vars.get(var).cloned())
}

#[test]
fn unset_variables_take_the_documented_defaults() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.bind, "127.0.0.1:8081");
    assert_eq!(s.issuer, "http://127.0.0.1:8080");
    assert_eq!(s.audience, "resource-service");
    assert_eq!(s.jwks_url, "http://127.0.0.1:8080/.well-known/jwks.json");
    assert_eq!(s.clock_leeway, Duration::from_secs(30));
    assert!(s.cors_allowed_origins.is_empty());
    assert_eq!(s.jwks_refresh_interval, Duration::from_secs(60));
    assert_eq!(
        s.introspection_url,
        "http://127.0.0.1:8080/oauth/introspect"
    );
    assert_eq!(s.introspection_client, None);
    assert_eq!(s.introspection_cache_ttl, Duration::from_secs(10));
}

#[test]
fn blank_variables_take_the_defaults_too() {
    let s = settings(&[(CLOCK_LEEWAY, "  "), (AUTH_ISSUER, "")]).unwrap();
    assert_eq!(s.clock_leeway, Duration::from_secs(30));
    assert_eq!(s.issuer, "http://127.0.0.1:8080");
}

#[test]
fn every_variable_is_read() {
    let s = settings(&[
        (RESOURCE_BIND, "0.0.0.0:9000"),
        (AUTH_ISSUER, "https://auth.example.com"),
        (TOKEN_AUDIENCE, "projects"),
        (AUTH_JWKS_URL, "https://auth.example.com/jwks"),
        (CLOCK_LEEWAY, "2m"),
        (
            CORS_ALLOWED_ORIGINS,
            "https://a.example.com, http://localhost:3000",
        ),
    ])
    .unwrap();
    assert_eq!(s.bind, "0.0.0.0:9000");
    assert_eq!(s.issuer, "https://auth.example.com");
    assert_eq!(s.audience, "projects");
    assert_eq!(s.jwks_url, "https://auth.example.com/jwks");
    assert_eq!(s.clock_leeway, Duration::from_secs(120));
    assert_eq!(
        s.cors_allowed_origins,
        ["https://a.example.com", "http://localhost:3000"]
    );
}

#[test]
fn the_summary_names_every_variable_and_hides_passwords() {
    let s = settings(&[
        (AUTH_JWKS_URL, "https://jwks:s3cret@auth.example.com/jwks"),
        (CLOCK_LEEWAY, "90s"),
    ])
    .unwrap();
    let line = s.summary();
    for variable in VARIABLES {
        assert!(
            line.contains(&format!("{variable}=")),
            "{variable} in {line}"
        );
    }
    assert!(line.contains("CLOCK_LEEWAY=1m30s"), "{line}");
    assert!(!line.contains("s3cret"), "{line}");
}

#[test]
fn a_value_that_is_not_utf8_is_refused_naming_its_variable() {
    use std::os::unix::ffi::OsStringExt;
    for variable in VARIABLES {
        let err = Settings::from_os_lookup(|var| {
            (var == variable).then(|| OsString::from_vec(b"http://\xff".to_vec()))
        })
        .unwrap_err();
        assert_eq!(err, ConfigError::NotUnicode { variable });
        assert_eq!(err.to_string(), format!("{variable}: not valid UTF-8"));
    }
}

#[test]
fn the_jwks_refresh_interval_is_read_and_never_zero() {
    let s = settings(&[(JWKS_REFRESH_INTERVAL, "5m")]).unwrap();
    assert_eq!(s.jwks_refresh_interval, Duration::from_secs(300));
    for bad in ["0s", "500ms", "hourly"] {
        let err = settings(&[(JWKS_REFRESH_INTERVAL, bad)]).unwrap_err();
        assert_eq!(err.variable(), JWKS_REFRESH_INTERVAL, "{bad}");
        assert!(err.to_string().starts_with("JWKS_REFRESH_INTERVAL: "));
    }
}

#[test]
fn zero_leeway_is_allowed() {
    let s = settings(&[(CLOCK_LEEWAY, "0s")]).unwrap();
    assert_eq!(s.clock_leeway, Duration::ZERO);
}

#[test]
fn a_bad_duration_names_the_variable_and_the_value() {
    let err = settings(&[(CLOCK_LEEWAY, "abc")]).unwrap_err();
    assert_eq!(err.variable(), CLOCK_LEEWAY);
    let message = err.to_string();
    assert!(
        message.starts_with(r#"CLOCK_LEEWAY: invalid duration "abc": "#),
        "{message}"
    );
}

#[test]
fn a_bind_without_a_port_is_refused() {
    for bad in ["localhost", "127.0.0.1:", ":8081", "127.0.0.1:99999"] {
        let err = settings(&[(RESOURCE_BIND, bad)]).unwrap_err();
        assert_eq!(err.variable(), RESOURCE_BIND, "{bad}");
        assert!(err.to_string().starts_with("RESOURCE_BIND: "));
    }
    assert!(settings(&[(RESOURCE_BIND, "[::1]:0")]).is_ok());
    assert!(settings(&[(RESOURCE_BIND, "localhost:8081")]).is_ok());
}

#[test]
fn the_public_url_defaults_to_http_and_the_bound_address() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.public_url, None);
    assert_eq!(
        s.public_url_for(8081).unwrap().as_str(),
        "http://127.0.0.1:8081/"
    );
    let ephemeral = settings(&[(RESOURCE_BIND, "[::1]:0")]).unwrap();
    assert_eq!(
        ephemeral.public_url_for(40123).unwrap().as_str(),
        "http://[::1]:40123/"
    );
}

#[test]
fn the_public_url_is_read_normalised() {
    let s = settings(&[(RESOURCE_PUBLIC_URL, "HTTPS://API.Example.com:443/resource")]).unwrap();
    let url = s.public_url_for(8081).unwrap();
    assert_eq!(url.as_str(), "https://api.example.com/resource");
    assert!(s
        .summary()
        .contains("RESOURCE_PUBLIC_URL=https://api.example.com/resource"));
}

#[test]
fn a_bad_public_url_names_the_variable() {
    for bad in [
        "not a url",
        "ftp://api.example.com",
        "/api",
        "https://api.example.com/?q=1",
        "https://user:pw@api.example.com",
    ] {
        let err = settings(&[(RESOURCE_PUBLIC_URL, bad)]).unwrap_err();
        assert_eq!(err.variable(), RESOURCE_PUBLIC_URL, "{bad}");
        assert!(
            err.to_string().starts_with("RESOURCE_PUBLIC_URL: "),
            "{err}"
        );
    }
}

#[test]
fn the_jwks_url_must_be_http_or_https() {
    for bad in ["not a url", "ftp://auth.example.com/jwks", "/jwks.json"] {
        let err = settings(&[(AUTH_JWKS_URL, bad)]).unwrap_err();
        assert_eq!(err.variable(), AUTH_JWKS_URL, "{bad}");
    }
}

#[test]
fn cors_origins_are_normalised_and_empty_items_skipped() {
    let s = settings(&[(
        CORS_ALLOWED_ORIGINS,
        "HTTPS://App.Example.com/, ,https://b.example.com:443,http://x.example:8080",
    )])
    .unwrap();
    assert_eq!(
        s.cors_allowed_origins,
        [
            "https://app.example.com",
            "https://b.example.com",
            "http://x.example:8080"
        ]
    );
}

#[test]
fn cors_entries_that_are_not_origins_are_refused() {
    for bad in [
        "*",
        "app.example.com",
        "https://app.example.com/path",
        "https://app.example.com?q=1",
        "file:///etc",
    ] {
        let err = settings(&[(CORS_ALLOWED_ORIGINS, bad)]).unwrap_err();
        assert_eq!(err.variable(), CORS_ALLOWED_ORIGINS, "{bad}");
    }
}

#[test]
fn introspection_is_on_with_both_client_variables() {
    let s = settings(&[
        (
            AUTH_INTROSPECTION_URL,
            "https://auth.example.com/oauth/introspect",
        ),
        (INTROSPECTION_CLIENT_ID, "projects-api"),
        (INTROSPECTION_CLIENT_SECRET, "s3cret-value"),
        (INTROSPECTION_CACHE_TTL, "2s"),
    ])
    .unwrap();
    assert_eq!(
        s.introspection_url,
        "https://auth.example.com/oauth/introspect"
    );
    assert_eq!(
        s.introspection_client,
        Some(ClientCredentials {
            id: "projects-api".into(),
            secret: "s3cret-value".into(),
        })
    );
    assert_eq!(s.introspection_cache_ttl, Duration::from_secs(2));
    assert_eq!(
        settings(&[(INTROSPECTION_CACHE_TTL, "0s")])
            .unwrap()
            .introspection_cache_ttl,
        Duration::ZERO
    );
}

#[test]
fn one_client_variable_without_the_other_is_refused_naming_the_missing_one() {
    let err = settings(&[(INTROSPECTION_CLIENT_ID, "projects-api")]).unwrap_err();
    assert_eq!(err.variable(), INTROSPECTION_CLIENT_SECRET);
    assert!(
        err.to_string().starts_with("INTROSPECTION_CLIENT_SECRET: "),
        "{err}"
    );

    let err = settings(&[(INTROSPECTION_CLIENT_SECRET, "s3cret-value")]).unwrap_err();
    assert_eq!(err.variable(), INTROSPECTION_CLIENT_ID);
    assert!(!err.to_string().contains("s3cret-value"), "{err}");
}

#[test]
fn a_bad_introspection_ttl_or_url_is_refused_naming_its_variable() {
    for bad in ["ten seconds", "10", "-1s"] {
        let err = settings(&[(INTROSPECTION_CACHE_TTL, bad)]).unwrap_err();
        assert_eq!(err.variable(), INTROSPECTION_CACHE_TTL, "{bad}");
    }
    let err = settings(&[(AUTH_INTROSPECTION_URL, "ftp://auth/introspect")]).unwrap_err();
    assert_eq!(err.variable(), AUTH_INTROSPECTION_URL);
}

#[test]
fn the_client_secret_reaches_neither_debug_nor_the_summary() {
    let s = settings(&[
        (INTROSPECTION_CLIENT_ID, "projects-api"),
        (INTROSPECTION_CLIENT_SECRET, "s3cret-value"),
        (
            AUTH_INTROSPECTION_URL,
            "http://u:p4ss@auth/oauth/introspect",
        ),
    ])
    .unwrap();
    let debug = format!("{s:?}");
    assert!(!debug.contains("s3cret-value"), "{debug}");
    assert!(debug.contains("projects-api"), "{debug}");
    let line = s.summary();
    assert!(
        !line.contains("s3cret-value") && !line.contains("p4ss"),
        "{line}"
    );
    assert!(
        line.contains("INTROSPECTION_CLIENT_ID=projects-api"),
        "{line}"
    );
    assert!(line.contains("INTROSPECTION_CLIENT_SECRET=***"), "{line}");
    assert!(line.contains("INTROSPECTION_CACHE_TTL=10s"), "{line}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_leeway_is_read_up_to_a_day_and_refused_beyond(seconds in 0u64..(3 * 86_400)) {
            let outcome = settings(&[(CLOCK_LEEWAY, &format!("{seconds}s"))]);
            if seconds <= 86_400 {
                prop_assert_eq!(outcome.ok().map(|s| s.clock_leeway), Some(Duration::from_secs(seconds)));
            } else {
                let error = outcome.expect_err("over a day");
                prop_assert_eq!(error.variable(), CLOCK_LEEWAY);
            }
        }

        #[test]
        fn any_leeway_value_is_read_or_refused_naming_its_variable(
            raw in "[0-9a-zA-Z .:+-]{0,24}|\\PC{0,24}",
        ) {
            if let Err(error) = settings(&[(CLOCK_LEEWAY, &raw)]) {
                prop_assert_eq!(error.variable(), CLOCK_LEEWAY);
            }
        }
    }
}
