//! What the shared middleware adds to an answer, header by header: CORS
//! headers only for a listed origin (and only `Vary` otherwise), preflights
//! answered or refused, the request id, and the JSON body of the answers the
//! framework makes. Requests with and without an `Origin` take different
//! paths through the middleware; they must read the same to a client.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::{test, web, HttpResponse};

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example.net";
const PARTNER: &str = "https://partner.example.org";

mod common;
use common::{plumbing, Error};

/// A handler that sets `Vary` itself, as a content-negotiating one would.
async fn negotiated() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("vary", "Accept-Encoding"))
        .body("negotiated")
}

/// A handler that sets a CORS header of its own.
async fn self_cached() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("access-control-max-age", "5"))
        .finish()
}

/// A handler that grants an origin itself.
async fn self_granted() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("access-control-allow-origin", PARTNER))
        .finish()
}

async fn spawn() -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    let plumbing = plumbing(&[APP]);
    test::init_service(plumbing.app::<Error>(|routes| {
        routes
            .service(web::resource("/items/{id}").route(web::get().to(HttpResponse::Ok)))
            .service(web::resource("/negotiated").route(web::get().to(negotiated)))
            .service(web::resource("/self-cached").route(web::get().to(self_cached)))
            .service(web::resource("/self-granted").route(web::get().to(self_granted)));
    }))
    .await
}

/// Status, headers sorted by name and body, one line each. A generated
/// request id reads `<uuid>`; the lists whose order a server may choose are
/// sorted.
async fn answer(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    request: test::TestRequest,
) -> String {
    let response = test::call_service(app, request.to_request()).await;
    let mut lines = vec![response.status().as_u16().to_string()];
    let mut headers: Vec<String> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().expect("visible ASCII");
            let value = match name.as_str() {
                "x-request-id" if uuid::Uuid::parse_str(value).is_ok() => "<uuid>".to_owned(),
                "access-control-expose-headers"
                | "access-control-allow-methods"
                | "access-control-allow-headers" => {
                    let mut items: Vec<&str> = value.split(", ").collect();
                    items.sort_unstable();
                    items.join(", ")
                }
                _ => value.to_owned(),
            };
            format!("{name}: {value}")
        })
        .collect();
    headers.sort();
    lines.extend(headers);
    let body = test::read_body(response).await;
    lines.push(String::from_utf8_lossy(&body).into_owned());
    lines.join("\n")
}

fn request(method: &str, path: &str) -> test::TestRequest {
    test::TestRequest::default()
        .method(Method::from_bytes(method.as_bytes()).expect("a method"))
        .uri(path)
}

fn preflight(origin: Option<&str>, path: &str) -> test::TestRequest {
    let request = request("OPTIONS", path)
        .insert_header(("access-control-request-method", "POST"))
        .insert_header(("access-control-request-headers", "authorization"));
    match origin {
        Some(origin) => request.insert_header(("origin", origin)),
        None => request,
    }
}

const VARY: &str = "vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const GRANTED: &str = "access-control-allow-credentials: true\n\
    access-control-allow-origin: https://app.example.com\n\
    access-control-expose-headers: retry-after, www-authenticate, x-request-id";

#[actix_web::test]
async fn a_request_without_an_origin_gets_only_vary_of_the_cors_headers() {
    let app = spawn().await;

    let text = answer(&app, request("GET", "/items/1")).await;

    assert_eq!(text, format!("200\n{VARY}\nx-request-id: <uuid>\n"));
}

#[actix_web::test]
async fn a_listed_origin_gets_its_cors_headers() {
    let app = spawn().await;

    let text = answer(
        &app,
        request("GET", "/items/1").insert_header(("origin", APP)),
    )
    .await;

    assert_eq!(
        text,
        format!("200\n{GRANTED}\n{VARY}\nx-request-id: <uuid>\n")
    );
}

#[actix_web::test]
async fn an_unlisted_origin_gets_the_same_headers_as_no_origin() {
    let app = spawn().await;

    let text = answer(
        &app,
        request("GET", "/items/1").insert_header(("origin", EVIL)),
    )
    .await;

    assert_eq!(text, format!("200\n{VARY}\nx-request-id: <uuid>\n"));
}

#[actix_web::test]
async fn framework_errors_carry_vary_and_a_json_body_with_or_without_an_origin() {
    let app = spawn().await;
    let not_found = "{\"error\":\"not_found\",\"error_description\":\"Not Found\"}";
    let not_allowed =
        "{\"error\":\"method_not_allowed\",\"error_description\":\"Method Not Allowed\"}";

    let plain_404 = answer(&app, request("GET", "/nowhere")).await;
    let listed_404 = answer(
        &app,
        request("GET", "/nowhere").insert_header(("origin", APP)),
    )
    .await;
    let plain_405 = answer(&app, request("POST", "/items/1")).await;
    let invented_405 = answer(&app, request("AAAA0001", "/items/1")).await;
    let options_405 = answer(&app, request("OPTIONS", "/items/1")).await;

    let json = "content-type: application/json";
    assert_eq!(
        plain_404,
        format!("404\n{json}\n{VARY}\nx-request-id: <uuid>\n{not_found}")
    );
    assert_eq!(
        listed_404,
        format!("404\n{GRANTED}\n{json}\n{VARY}\nx-request-id: <uuid>\n{not_found}")
    );
    for text in [plain_405, invented_405, options_405] {
        assert_eq!(
            text,
            format!("405\nallow: GET\n{json}\n{VARY}\nx-request-id: <uuid>\n{not_allowed}")
        );
    }
}

#[actix_web::test]
async fn a_handlers_own_vary_is_kept_and_extended() {
    let app = spawn().await;

    let plain = answer(&app, request("GET", "/negotiated")).await;
    let listed = answer(
        &app,
        request("GET", "/negotiated").insert_header(("origin", APP)),
    )
    .await;

    let vary = "vary: Accept-Encoding, Origin, Access-Control-Request-Method, \
                Access-Control-Request-Headers";
    assert_eq!(
        plain,
        format!("200\n{vary}\nx-request-id: <uuid>\nnegotiated")
    );
    assert_eq!(
        listed,
        format!("200\n{GRANTED}\n{vary}\nx-request-id: <uuid>\nnegotiated")
    );
}

#[actix_web::test]
async fn cors_headers_a_handler_sets_reach_only_listed_origins() {
    let app = spawn().await;

    let plain = answer(&app, request("GET", "/self-cached")).await;
    let listed = answer(
        &app,
        request("GET", "/self-cached").insert_header(("origin", APP)),
    )
    .await;

    assert_eq!(plain, format!("200\n{VARY}\nx-request-id: <uuid>\n"));
    assert_eq!(
        listed,
        format!("200\n{GRANTED}\naccess-control-max-age: 5\n{VARY}\nx-request-id: <uuid>\n")
    );
}

#[actix_web::test]
async fn an_answer_that_grants_an_origin_itself_gets_the_rest_of_the_cors_headers() {
    let app = spawn().await;

    let plain = answer(&app, request("GET", "/self-granted")).await;
    let unlisted = answer(
        &app,
        request("GET", "/self-granted").insert_header(("origin", EVIL)),
    )
    .await;
    let listed = answer(
        &app,
        request("GET", "/self-granted").insert_header(("origin", APP)),
    )
    .await;

    let rest = "access-control-expose-headers: retry-after, www-authenticate, x-request-id";
    for text in [plain, unlisted] {
        assert_eq!(
            text,
            format!(
                "200\n\
                 access-control-allow-credentials: true\n\
                 access-control-allow-origin: {PARTNER}\n\
                 {rest}\n{VARY}\nx-request-id: <uuid>\n"
            )
        );
    }
    assert_eq!(
        listed,
        format!("200\n{GRANTED}\n{VARY}\nx-request-id: <uuid>\n")
    );
}

#[actix_web::test]
async fn preflights_are_answered_for_listed_origins_only() {
    let app = spawn().await;
    let refused = "{\"error\":\"invalid_request\",\"error_description\":\"Bad Request\"}";

    let listed = answer(&app, preflight(Some(APP), "/items/1")).await;
    let unlisted = answer(&app, preflight(Some(EVIL), "/items/1")).await;
    let no_origin = answer(&app, preflight(None, "/items/1")).await;
    let unknown_path = answer(&app, preflight(Some(APP), "/nowhere")).await;

    let granted = "200\n\
        access-control-allow-credentials: true\n\
        access-control-allow-headers: accept, authorization, content-type, dpop, x-request-id\n\
        access-control-allow-methods: DELETE, GET, POST, PUT\n\
        access-control-allow-origin: https://app.example.com\n\
        access-control-max-age: 3600";
    assert_eq!(listed, format!("{granted}\n{VARY}\nx-request-id: <uuid>\n"));
    assert_eq!(unknown_path, listed);
    for text in [unlisted, no_origin] {
        assert_eq!(
            text,
            format!("400\ncontent-type: application/json\nx-request-id: <uuid>\n{refused}")
        );
    }
}

#[actix_web::test]
async fn a_sane_request_id_is_echoed_and_another_replaced() {
    let app = spawn().await;

    let kept = answer(
        &app,
        request("GET", "/items/1").insert_header(("x-request-id", "abc-123")),
    )
    .await;
    let replaced = answer(
        &app,
        request("GET", "/items/1").insert_header(("x-request-id", "a b")),
    )
    .await;

    assert_eq!(kept, format!("200\n{VARY}\nx-request-id: abc-123\n"));
    assert_eq!(replaced, format!("200\n{VARY}\nx-request-id: <uuid>\n"));
}
