//! The project store's caps (API.md §4: 1,000 projects per owner, 100,000 in
//! all, then `409 limit_reached`), held exactly by racing threads and racing
//! requests, and a listing that follows every change.
#![expect(clippy::unwrap_used, reason = "a failing test shows the value it got")]

use std::net::TcpListener;
use std::sync::{Arc, Barrier};

use actix_web::{web, App, HttpResponse, HttpServer};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use resource_service::config::Settings;
use resource_service::routes::projects::{LimitReached, Project, ProjectLimits, ProjectStore};
use resource_service::startup::Application;
use serde_json::{json, Value};
use uuid::Uuid;

const ISSUER: &str = "http://auth.test";
const AUDIENCE: &str = "resource-service";

fn project(owner: &str) -> Project {
    Project {
        id: Uuid::new_v4(),
        name: "p".into(),
        owner: owner.into(),
    }
}

fn listed(store: &ProjectStore) -> Vec<Value> {
    serde_json::from_slice(&store.listing().unwrap()).unwrap()
}

// --- the store ---

#[test]
fn an_owner_at_the_cap_is_refused_and_others_are_not() {
    let store = ProjectStore::with_limits(ProjectLimits {
        per_owner: 2,
        total: 10,
    });
    store.insert(project("a")).unwrap();
    store.insert(project("a")).unwrap();

    assert_eq!(store.insert(project("a")), Err(LimitReached::PerOwner(2)));
    assert_eq!(store.insert(project("b")), Ok(()));
    assert_eq!(store.list().len(), 3);
}

#[test]
fn a_full_store_refuses_every_owner() {
    let store = ProjectStore::with_limits(ProjectLimits {
        per_owner: 5,
        total: 3,
    });
    for owner in ["a", "b", "c"] {
        store.insert(project(owner)).unwrap();
    }

    assert_eq!(store.insert(project("d")), Err(LimitReached::Total(3)));
    assert_eq!(store.list().len(), 3);
}

#[test]
fn removing_a_project_gives_its_owner_room_again() {
    let store = ProjectStore::with_limits(ProjectLimits {
        per_owner: 1,
        total: 10,
    });
    let first = project("a");
    store.insert(first.clone()).unwrap();
    assert!(store.insert(project("a")).is_err());

    assert!(store.remove(first.id));

    assert_eq!(store.insert(project("a")), Ok(()));
}

#[test]
fn the_default_caps_are_those_of_the_contract() {
    assert_eq!(
        ProjectLimits::default(),
        ProjectLimits {
            per_owner: 1_000,
            total: 100_000,
        }
    );
}

#[test]
fn the_listing_follows_every_insert_and_removal() {
    let store = ProjectStore::default();
    assert_eq!(listed(&store), Vec::<Value>::new());
    let first = project("a");
    let second = project("b");

    store.insert(first.clone()).unwrap();
    assert_eq!(listed(&store), vec![serde_json::to_value(&first).unwrap()]);
    store.insert(second.clone()).unwrap();
    let both = vec![
        serde_json::to_value(&first).unwrap(),
        serde_json::to_value(&second).unwrap(),
    ];
    assert_eq!(listed(&store), both);
    store.remove(first.id);
    assert_eq!(listed(&store), vec![serde_json::to_value(&second).unwrap()]);
}

#[test]
fn racing_threads_never_pass_an_owners_cap() {
    let store = Arc::new(ProjectStore::with_limits(ProjectLimits {
        per_owner: 25,
        total: 10_000,
    }));
    let accepted = race(&store, 200, |_| "one owner".to_owned());

    assert_eq!(accepted, 25);
    assert_eq!(store.list().len(), 25);
}

#[test]
fn racing_threads_never_pass_the_total_cap() {
    let store = Arc::new(ProjectStore::with_limits(ProjectLimits {
        per_owner: 1_000,
        total: 40,
    }));
    let accepted = race(&store, 200, |i| format!("owner {}", i % 7));

    assert_eq!(accepted, 40);
    assert_eq!(store.list().len(), 40);
}

/// Starts `threads` threads that insert one project each at the same moment;
/// how many were accepted.
fn race(store: &Arc<ProjectStore>, threads: usize, owner: impl Fn(usize) -> String) -> usize {
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (store, start, owner) = (store.clone(), start.clone(), owner(i));
            std::thread::spawn(move || {
                start.wait();
                store.insert(project(&owner)).is_ok()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|accepted| *accepted)
        .count()
}

// --- over HTTP, at the contract's own cap ---

#[tokio::test]
async fn racing_posts_past_the_owners_cap_answer_409_limit_reached() {
    let env = spawn().await;
    let token = env.token(&Uuid::new_v4().to_string());
    // 1,050 posts from 50 clients at once: exactly 1,000 may be stored.
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (client, url, token) =
                (env.client.clone(), env.url("/api/projects"), token.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..21 {
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "name": "Apollo" }))
                        .send()
                        .await
                        .unwrap();
                    let status = response.status().as_u16();
                    if status == 409 {
                        let body: Value = response.json().await.unwrap();
                        assert_eq!(body["error"], "limit_reached", "{body}");
                        assert!(body["error_description"].is_string(), "{body}");
                    }
                    statuses.push(status);
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.extend(task.await.unwrap());
    }

    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1_000);
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 50);
    let listing: Vec<Value> = env
        .client
        .get(env.url("/api/projects"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing.len(), 1_000);
    // Another owner still has room.
    let other = env.token(&Uuid::new_v4().to_string());
    let response = env
        .client
        .post(env.url("/api/projects"))
        .bearer_auth(&other)
        .json(&json!({ "name": "Gemini" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn the_openapi_document_lists_the_409_of_project_creation() {
    let env = spawn().await;

    let doc: Value = env
        .client
        .get(env.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let conflict = &doc["paths"]["/api/projects"]["post"]["responses"]["409"];
    assert!(
        conflict["description"]
            .as_str()
            .is_some_and(|d| d.contains("limit_reached")),
        "{conflict}"
    );
    assert_eq!(
        conflict["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
}

/// The resource-service trusting one key, served by a JWKS stand-in.
struct Env {
    address: String,
    client: reqwest::Client,
    signing: SigningKey,
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// An access token for the user `sub`.
    fn token(&self, sub: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now + 300, "iat": now,
            "jti": Uuid::new_v4().to_string(), "sid": Uuid::new_v4().to_string(),
            "role": "user", "email": "user@example.com",
        });
        let header = Header {
            kid: Some("test".into()),
            typ: Some("at+jwt".into()),
            ..Header::new(Algorithm::EdDSA)
        };
        let der = self.signing.to_pkcs8_der().unwrap();
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    }
}

async fn spawn() -> Env {
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    // Jwk::from_encoding_key does not take ed25519-dalek's PKCS#8 form; the
    // raw public key does.
    let public = DecodingKey::from_ed_der(signing.verifying_key().as_bytes());
    let mut jwk = Jwk::from_decoding_key(&public, Some(Algorithm::EdDSA)).unwrap();
    jwk.common.key_id = Some("test".into());
    let jwks = web::Data::new(JwkSet { keys: vec![jwk] });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let jwks_url = format!(
        "http://127.0.0.1:{}/.well-known/jwks.json",
        listener.local_addr().unwrap().port()
    );
    let jwks_server = HttpServer::new(move || {
        App::new().app_data(jwks.clone()).route(
            "/.well-known/jwks.json",
            web::get().to(|jwks: web::Data<JwkSet>| async move {
                HttpResponse::Ok().json(jwks.get_ref())
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(jwks_server);

    let settings = Settings::from_lookup(|var| match var {
        "RESOURCE_BIND" => Some("127.0.0.1:0".into()),
        "AUTH_ISSUER" => Some(ISSUER.into()),
        "TOKEN_AUDIENCE" => Some(AUDIENCE.into()),
        "AUTH_JWKS_URL" => Some(jwks_url.clone()),
        _ => None,
    })
    .unwrap();
    let app = Application::build(settings).await.unwrap();
    let env = Env {
        address: format!("http://127.0.0.1:{}", app.port()),
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        signing,
    };
    tokio::spawn(app.run_until_stopped());
    for _ in 0..200 {
        let ready = env.client.get(env.url("/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return env;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the resource-service did not fetch the keys");
}
