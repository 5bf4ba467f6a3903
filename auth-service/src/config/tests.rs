//! The settings read as API.md §5 says, and refused naming the variable.

use super::*;
use std::collections::HashMap;
use std::path::PathBuf;

fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|name| vars.get(name).cloned())
}

#[test]
fn defaults_match_the_contract() {
    let s = settings(&[]).expect("defaults are valid");
    assert_eq!(s.bind, "127.0.0.1:8080");
    assert_eq!(
        s.database,
        DatabaseUrl::Sqlite(PathBuf::from("data/auth.db"))
    );
    assert_eq!(s.issuer, "http://127.0.0.1:8080");
    assert_eq!(s.audience, "resource-service");
    assert_eq!(s.access_token_ttl, Duration::from_secs(15 * 60));
    assert_eq!(s.refresh_token_ttl, Duration::from_secs(7 * 86400));
    assert_eq!(s.refresh_reuse_grace, Duration::ZERO);
    assert_eq!(s.session_max_ttl, Duration::from_secs(30 * 86400));
    assert_eq!(s.session_history_ttl, Duration::from_secs(30 * 86400));
    assert_eq!(s.key_rotation_interval, Duration::from_secs(30 * 86400));
    assert_eq!(s.bcrypt_cost, 12);
    assert_eq!(s.login_max_failures, 5);
    assert_eq!(s.login_failure_window, Duration::from_secs(15 * 60));
    assert!(s.allow_registration);
    assert!(s.cookie_secure);
    assert!(s.cors_allowed_origins.is_empty());
}

#[test]
fn a_zero_key_rotation_interval_leaves_rotation_to_the_command_line() {
    let s = settings(&[("KEY_ROTATION_INTERVAL", "0s")]).expect("valid");
    assert_eq!(s.key_rotation_interval, Duration::ZERO);
}

#[test]
fn durations_accept_the_documented_forms() {
    let s = settings(&[
        ("ACCESS_TOKEN_TTL", "900s"),
        ("REFRESH_TOKEN_TTL", "15m"),
        ("SESSION_MAX_TTL", "7d"),
    ])
    .expect("valid");
    assert_eq!(s.access_token_ttl, Duration::from_secs(900));
    assert_eq!(s.refresh_token_ttl, Duration::from_secs(900));
    assert_eq!(s.session_max_ttl, Duration::from_secs(7 * 86400));
}

#[test]
fn a_bad_value_names_its_variable() {
    let cases = [
        ("ACCESS_TOKEN_TTL", "soon"),
        ("BCRYPT_COST", "3"),
        ("BCRYPT_COST", "32"),
        ("BCRYPT_COST", "twelve"),
        ("DATABASE_URL", "mysql://localhost/auth"),
        ("COOKIE_SECURE", "maybe"),
        ("LOGIN_MAX_FAILURES", "0"),
        ("SESSION_MAX_TTL", "0s"),
        ("SESSION_HISTORY_TTL", "0s"),
        ("SESSION_HISTORY_TTL", "a month"),
        ("KEY_ROTATION_INTERVAL", "monthly"),
        ("KEY_ENCRYPTION_KEY", "c2hvcnQ="),
        ("KEY_ENCRYPTION_KEY", "not base64!"),
        ("KEY_ROTATION_INTERVAL", "101y"),
        ("CORS_ALLOWED_ORIGINS", "https://app.example.com/login"),
        ("CORS_ALLOWED_ORIGINS", "*"),
        ("SESSION_MAX_TTL", "1000000y"),
        ("REFRESH_REUSE_GRACE", "200y"),
        ("WEB_CLIENT", "perhaps"),
        ("RESOURCE_URL", "http://127.0.0.1:8081/api"),
        ("RESOURCE_URL", "'self'; script-src *"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "proxy.internal"),
        ("TRUSTED_PROXIES", "10.0.0.0/8;192.168.0.0/16"),
    ];
    for (variable, value) in cases {
        let err = settings(&[(variable, value)]).expect_err(value);
        assert_eq!(err.variable(), variable);
        assert!(err.to_string().starts_with(variable), "{err}");
    }
}

#[test]
fn a_value_that_is_not_utf8_is_refused_naming_its_variable() {
    use std::os::unix::ffi::OsStringExt;
    for variable in [
        "DATABASE_URL",
        "AUTH_ISSUER",
        "ACCESS_TOKEN_TTL",
        "CORS_ALLOWED_ORIGINS",
    ] {
        let err = Settings::from_os_lookup(|name| {
            (name == variable).then(|| OsString::from_vec(b"http://\xff".to_vec()))
        })
        .expect_err(variable);
        assert_eq!(err, ConfigError::NotUnicode { variable });
        assert_eq!(err.to_string(), format!("{variable}: not valid UTF-8"));
    }
}

#[test]
fn database_urls_select_the_backend() {
    let pg = settings(&[("DATABASE_URL", "postgres://u:secret@db/auth")]).expect("pg");
    assert!(matches!(pg.database, DatabaseUrl::Postgres(_)));
    assert_eq!(pg.database.redacted(), "postgres://u:***@db/auth");
    let in_query = settings(&[(
        "DATABASE_URL",
        "postgres://db/auth?user=u&password=secret&sslmode=require",
    )])
    .expect("pg");
    assert_eq!(
        in_query.database.redacted(),
        "postgres://db/auth?user=u&password=***&sslmode=require"
    );
    let lite = settings(&[("DATABASE_URL", "sqlite:///tmp/x.db")]).expect("sqlite");
    assert_eq!(
        lite.database,
        DatabaseUrl::Sqlite(PathBuf::from("/tmp/x.db"))
    );
}

#[test]
fn the_summary_names_every_variable_without_the_password() {
    let s = settings(&[
        ("DATABASE_URL", "postgres://u:hunter2@db/auth"),
        ("REFRESH_TOKEN_TTL", "7d"),
        ("REFRESH_REUSE_GRACE", "1500ms"),
    ])
    .expect("valid");
    let line = s.summary();
    for variable in [
        "AUTH_BIND=127.0.0.1:8080",
        "DATABASE_URL=postgres://u:***@db/auth",
        "AUTH_ISSUER=",
        "TOKEN_AUDIENCE=",
        "ACCESS_TOKEN_TTL=15m",
        "REFRESH_TOKEN_TTL=7days",
        "REFRESH_REUSE_GRACE=1s500ms",
        "SESSION_MAX_TTL=30days",
        "BCRYPT_COST=12",
        "LOGIN_MAX_FAILURES=5",
        "LOGIN_FAILURE_WINDOW=15m",
        "SESSION_HISTORY_TTL=30days",
        "KEY_ROTATION_INTERVAL=30days",
        "KEY_ENCRYPTION_KEY=(unset)",
        "ALLOW_REGISTRATION=true",
        "COOKIE_SECURE=true",
        "CORS_ALLOWED_ORIGINS=",
        "WEB_CLIENT=true",
        "RESOURCE_URL=http://127.0.0.1:8081",
    ] {
        assert!(line.contains(variable), "{variable} in {line}");
    }
    assert!(!line.contains("hunter2"), "{line}");
}

#[test]
fn trusted_proxies_are_comma_separated_cidrs_empty_by_default() {
    assert!(settings(&[]).expect("defaults").trusted_proxies.is_empty());
    let s =
        settings(&[("TRUSTED_PROXIES", "10.1.2.3/8, 192.0.2.7,2001:db8::/32,")]).expect("valid");
    let proxies: Vec<String> = s.trusted_proxies.iter().map(ToString::to_string).collect();
    assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
    assert!(s
        .summary()
        .contains("TRUSTED_PROXIES=10.0.0.0/8,192.0.2.7/32,2001:db8::/32"));
}

#[test]
fn origins_are_a_comma_separated_list() {
    let s = settings(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://a.example, https://b.example,",
    )])
    .expect("valid");
    assert_eq!(
        s.cors_allowed_origins,
        ["https://a.example", "https://b.example"]
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Seconds in each unit API.md's examples use, and humantime's others.
    const UNITS: [(&str, u64); 7] = [
        ("s", 1),
        ("sec", 1),
        ("m", 60),
        ("min", 60),
        ("h", 3600),
        ("d", 86400),
        ("days", 86400),
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_number_and_a_unit_read_as_that_many_seconds(
            // Below 36 500 days: longer is refused as over a century.
            amount in 0u64..36_500,
            unit in proptest::sample::select(&UNITS[..]),
            padding in "[ \t]{0,2}",
        ) {
            let (suffix, seconds) = unit;
            let raw = format!("{padding}{amount}{suffix}{padding}");
            let s = settings(&[("REFRESH_REUSE_GRACE", &raw)]).expect("a plain duration is valid");
            prop_assert_eq!(s.refresh_reuse_grace, Duration::from_secs(amount * seconds));
        }

        #[test]
        fn the_logged_summary_reads_back_as_the_same_duration(
            millis in 0u64..(100 * 365 * 86_400_000),
        ) {
            // An operator copies a value from the start-up line into the
            // environment: it must mean the same.
            let grace = Duration::from_millis(millis);
            let mut s = settings(&[]).expect("defaults");
            s.refresh_reuse_grace = grace;
            let summary = s.summary();
            let logged = summary
                .split(' ')
                .find_map(|pair| pair.strip_prefix("REFRESH_REUSE_GRACE="))
                .expect("the summary names the grace");
            let again = settings(&[("REFRESH_REUSE_GRACE", logged)]).expect("the logged form is valid");
            prop_assert_eq!(again.refresh_reuse_grace, grace);
        }

        #[test]
        fn any_value_is_read_or_refused_naming_its_variable(
            raw in "[0-9a-zA-Z .:+-]{0,24}|\\PC{0,24}",
            variable in proptest::sample::select(&[
                "ACCESS_TOKEN_TTL",
                "REFRESH_TOKEN_TTL",
                "REFRESH_REUSE_GRACE",
                "SESSION_MAX_TTL",
                "LOGIN_FAILURE_WINDOW",
            ][..]),
        ) {
            if let Err(e) = settings(&[(variable, &raw)]) {
                prop_assert_eq!(e.variable(), variable);
                prop_assert!(e.to_string().starts_with(variable));
            }
        }
    }
}

#[test]
fn the_login_queue_limit_is_a_whole_number_above_zero() {
    let default = settings(&[]).expect("defaults are valid");
    assert_eq!(default.login_queue_limit, 64);
    assert!(default.summary().contains("LOGIN_QUEUE_LIMIT=64"));
    let set = settings(&[("LOGIN_QUEUE_LIMIT", " 8 ")]).expect("valid");
    assert_eq!(set.login_queue_limit, 8);
    for value in ["0", "-1", "many", "1.5"] {
        let err = settings(&[("LOGIN_QUEUE_LIMIT", value)]).expect_err(value);
        assert_eq!(err.variable(), "LOGIN_QUEUE_LIMIT");
        assert!(err.to_string().starts_with("LOGIN_QUEUE_LIMIT"), "{err}");
    }
}
