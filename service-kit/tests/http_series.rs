//! The HTTP series in `/metrics`, line by line: their names, help texts,
//! label names and values, buckets and counts, for requests that matched a
//! route, matched a route by another method, matched none, used an invented
//! method, or were answered by CORS before any route ran. Dashboards and
//! alerts are written against this text.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::{test, web, HttpResponse};

const APP: &str = "https://app.example.com";

mod common;
use common::{plumbing, Error};

async fn spawn() -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    let plumbing = plumbing(&[APP]);
    test::init_service(plumbing.app::<Error>(|routes| {
        routes.service(web::resource("/items/{id}").route(web::get().to(HttpResponse::Ok)));
    }))
    .await
}

async fn call(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    request: test::TestRequest,
) -> StatusCode {
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status();
    // The series are recorded when the body is dropped, as a server drops
    // it once sent.
    drop(test::read_body(response).await);
    status
}

fn request(method: &str, path: &str) -> test::TestRequest {
    test::TestRequest::default()
        .method(Method::from_bytes(method.as_bytes()).expect("a method"))
        .uri(path)
}

/// The `http_*` lines of a scrape, with the values that depend on time
/// (sums and all but the `+Inf` bucket) replaced by `T`.
async fn http_series(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) -> String {
    let response =
        test::call_service(app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = test::read_body(response).await;
    let text = String::from_utf8(body.to_vec()).expect("UTF-8");
    let mut out = String::new();
    for line in text.lines() {
        let is_http = line.starts_with("http_")
            || line.starts_with("# HELP http_")
            || line.starts_with("# TYPE http_");
        if !is_http {
            continue;
        }
        let timed = line.starts_with("http_requests_duration_seconds_sum")
            || (line.starts_with("http_requests_duration_seconds_bucket")
                && !line.contains("le=\"+Inf\""));
        match line.rsplit_once(' ') {
            Some((series, _)) if timed => {
                out.push_str(series);
                out.push_str(" T\n");
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The lines of one histogram series: every bucket, the sum and the count.
fn histogram(labels: &str, count: u32) -> String {
    let mut out = String::new();
    for le in [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
    ] {
        out.push_str(&format!(
            "http_requests_duration_seconds_bucket{{{labels},le=\"{le}\"}} T\n"
        ));
    }
    out.push_str(&format!(
        "http_requests_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}\n\
         http_requests_duration_seconds_sum{{{labels}}} T\n\
         http_requests_duration_seconds_count{{{labels}}} {count}\n"
    ));
    out
}

#[actix_web::test]
async fn the_http_series_read_as_they_always_have() {
    let app = spawn().await;
    let preflight = |path: &str| {
        request("OPTIONS", path)
            .insert_header(("origin", APP))
            .insert_header(("access-control-request-method", "GET"))
    };

    for (request, status) in [
        (request("GET", "/items/1"), 200),
        (request("GET", "/items/2"), 200),
        (
            request("GET", "/items/3").insert_header(("origin", APP)),
            200,
        ),
        (request("POST", "/items/1"), 405),
        (request("HEAD", "/items/1"), 405),
        (request("AAAA0001", "/items/1"), 405),
        (request("AAAA0002", "/items/1"), 405),
        (request("GET", "/nowhere/1"), 404),
        (request("GET", "/nowhere/2"), 404),
        (request("AAAA0003", "/nowhere/3"), 404),
        (request("GET", "/docs/swagger-ui.css"), 200),
        (request("GET", "/docs/no-such-file.js"), 404),
        (request("GET", "/healthz"), 200),
        (preflight("/items/4"), 200),
        (preflight("/nowhere/4"), 200),
    ] {
        assert_eq!(call(&app, request).await.as_u16(), status);
    }
    // The first scrape is counted in the second.
    http_series(&app).await;

    let text = http_series(&app).await;

    let series = [
        ("method=\"GET\",route=\"/docs/{file:.*}\",status=\"200\"", 1),
        ("method=\"GET\",route=\"/docs/{file:.*}\",status=\"404\"", 1),
        ("method=\"GET\",route=\"/healthz\",status=\"200\"", 1),
        ("method=\"GET\",route=\"/items/{id}\",status=\"200\"", 3),
        ("method=\"GET\",route=\"/metrics\",status=\"200\"", 1),
        ("method=\"GET\",route=\"unmatched\",status=\"404\"", 2),
        ("method=\"HEAD\",route=\"/items/{id}\",status=\"405\"", 1),
        ("method=\"OPTIONS\",route=\"/items/{id}\",status=\"200\"", 1),
        ("method=\"OPTIONS\",route=\"unmatched\",status=\"200\"", 1),
        ("method=\"OTHER\",route=\"/items/{id}\",status=\"405\"", 2),
        ("method=\"OTHER\",route=\"unmatched\",status=\"404\"", 1),
        ("method=\"POST\",route=\"/items/{id}\",status=\"405\"", 1),
    ];
    let mut expected = String::from(
        "# HELP http_requests_duration_seconds HTTP request duration in seconds for all requests\n\
         # TYPE http_requests_duration_seconds histogram\n",
    );
    for (labels, count) in &series {
        expected.push_str(&histogram(labels, *count));
    }
    expected.push_str(
        "# HELP http_requests_total Total number of HTTP requests\n\
         # TYPE http_requests_total counter\n",
    );
    for (labels, count) in &series {
        expected.push_str(&format!("http_requests_total{{{labels}}} {count}\n"));
    }
    assert_eq!(text, expected);
}
