//! The client address behind a proxy (API.md §1): the TCP peer, unless the
//! peer is a trusted proxy; then the right-most `X-Forwarded-For` hop that
//! is not itself trusted. IPv6 clients count per /64 for the lockout.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// A client whose connections come from `address` (any 127.0.0.0/8 works).
fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// The proxy at 127.0.0.1 in front of the service.
fn behind_proxy(s: &mut auth_service::config::Settings) {
    s.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a CIDR")];
    s.login_max_failures = 2;
}

async fn login(
    app: &TestApp,
    client: &reqwest::Client,
    forwarded_for: Option<&str>,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let mut request = client
        .post(app.url("/auth/login"))
        .json(&json!({ "email": email, "password": password }));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    request.send().await.expect("request")
}

/// Locks `email` out for whoever the service takes the client to be.
async fn lock_out(
    app: &TestApp,
    client: &reqwest::Client,
    forwarded_for: Option<&str>,
    email: &str,
) {
    for _ in 0..app.settings.login_max_failures {
        let failed = login(app, client, forwarded_for, email, "wrong password").await;
        assert_error(failed, 401, "invalid_credentials").await;
    }
    let locked = login(app, client, forwarded_for, email, PASSWORD).await;
    assert_error(locked, 429, "too_many_attempts").await;
}

both_backends! {
    async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_lockout(backend: Backend) {
        let app = spawn_app_with(backend, behind_proxy).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let proxy = client_from(Ipv4Addr::new(127, 0, 0, 1));

        lock_out(&app, &proxy, Some("203.0.113.7"), &email).await;

        // Another client behind the same proxy is not locked out.
        assert_eq!(login(&app, &proxy, Some("203.0.113.8"), &email, PASSWORD).await.status(), 200);
        // A client that prepends a hop of its own choosing is still itself:
        // the right-most untrusted hop counts, not the left-most.
        let spoofed = login(&app, &proxy, Some("198.51.100.1, 203.0.113.7"), &email, PASSWORD).await;
        assert_error(spoofed, 429, "too_many_attempts").await;
    }

    async fn hops_of_trusted_proxies_are_skipped_and_a_malformed_header_means_the_peer(backend: Backend) {
        let app = spawn_app_with(backend, |s| {
            behind_proxy(s);
            s.trusted_proxies.push("10.0.0.0/8".parse().expect("a CIDR"));
        })
        .await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let proxy = client_from(Ipv4Addr::new(127, 0, 0, 1));

        // The client, then an inner proxy of 10/8.
        lock_out(&app, &proxy, Some("203.0.113.7, 10.1.2.3"), &email).await;
        let same_client = login(&app, &proxy, Some("203.0.113.7"), &email, PASSWORD).await;
        assert_error(same_client, 429, "too_many_attempts").await;

        // Garbage is never a 5xx: the proxy itself is taken as the client.
        lock_out(&app, &proxy, Some("not an address"), &email).await;
        let bare_proxy = login(&app, &proxy, None, &email, PASSWORD).await;
        assert_error(bare_proxy, 429, "too_many_attempts").await;
    }

    async fn without_trusted_proxies_x_forwarded_for_is_ignored(backend: Backend) {
        let app = spawn_app_with(backend, |s| s.login_max_failures = 2).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let client = client_from(Ipv4Addr::new(127, 0, 0, 1));

        lock_out(&app, &client, Some("203.0.113.7"), &email).await;

        // A client cannot escape its lockout by naming another address.
        for forwarded_for in ["203.0.113.8", "198.51.100.1, 203.0.113.9", "2001:db8::1"] {
            let escaped = login(&app, &client, Some(forwarded_for), &email, PASSWORD).await;
            assert_error(escaped, 429, "too_many_attempts").await;
        }
    }

    async fn a_peer_outside_trusted_proxies_cannot_choose_its_address(backend: Backend) {
        let app = spawn_app_with(backend, behind_proxy).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let direct = client_from(Ipv4Addr::new(127, 0, 0, 2));

        lock_out(&app, &direct, Some("203.0.113.7"), &email).await;

        let escaped = login(&app, &direct, Some("203.0.113.8"), &email, PASSWORD).await;
        assert_error(escaped, 429, "too_many_attempts").await;
    }

    async fn ipv6_clients_are_locked_out_per_64_network(backend: Backend) {
        let app = spawn_app_with(backend, behind_proxy).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let proxy = client_from(Ipv4Addr::new(127, 0, 0, 1));

        lock_out(&app, &proxy, Some("2001:db8:1:2::1"), &email).await;

        // Any address of the same /64 is the same client for the lockout.
        let neighbour = login(&app, &proxy, Some("2001:db8:1:2:ffff::9"), &email, PASSWORD).await;
        assert_error(neighbour, 429, "too_many_attempts").await;
        // The next /64 is someone else.
        let other = login(&app, &proxy, Some("2001:db8:1:3::1"), &email, PASSWORD).await;
        assert_eq!(other.status(), 200);
    }

    async fn the_sessions_list_shows_the_forwarded_client_address(backend: Backend) {
        let app = spawn_app_with(backend, behind_proxy).await;
        let email = email();
        assert_eq!(app.post_register(&email, PASSWORD).await.status(), 201);
        let proxy = client_from(Ipv4Addr::new(127, 0, 0, 1));

        let logged_in = login(&app, &proxy, Some("203.0.113.7"), &email, PASSWORD).await;
        let tokens = Tokens::from_response(logged_in).await;
        let v6 = login(&app, &proxy, Some("2001:db8:1:2::1"), &email, PASSWORD).await;
        assert_eq!(v6.status(), 200);

        let sessions: Value = app.get_sessions(&tokens.access).await.json().await.expect("json");
        let mut addresses: Vec<&str> = sessions
            .as_array()
            .expect("a list")
            .iter()
            .map(|s| s["ip"].as_str().expect("an address"))
            .collect();
        addresses.sort_unstable();
        // The full address is shown; the /64 is only the lockout's key.
        assert_eq!(addresses, ["2001:db8:1:2::1", "203.0.113.7"]);
    }
}
