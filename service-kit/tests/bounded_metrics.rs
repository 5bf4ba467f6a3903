//! API.md §1: `/metrics` holds a bounded set of series. Invented methods and
//! unknown paths are counted under one shared label each, so an anonymous
//! client cannot grow the registry one series per request.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::{test, web, HttpResponse};
use service_kit::metrics::{OTHER_METHOD, UNMATCHED_ROUTE};

mod common;
use common::{plumbing, Error};

async fn spawn() -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    let plumbing = plumbing(&[]);
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
    method: Method,
    path: &str,
) -> StatusCode {
    let request = test::TestRequest::default()
        .method(method)
        .uri(path)
        .to_request();
    test::call_service(app, request).await.status()
}

/// The series lines of the rendered metrics (comments left out).
async fn series(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
) -> Vec<String> {
    let response =
        test::call_service(app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = test::read_body(response).await;
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn invented(i: usize) -> Method {
    Method::from_bytes(format!("AAAA{i:04}").as_bytes()).expect("a valid method token")
}

#[actix_web::test]
async fn fifty_invented_methods_and_fifty_unknown_paths_add_a_constant_number_of_series() {
    let app = spawn().await;
    // One of each kind first, so that what follows can only add series if
    // the labels grow with the requests.
    call(&app, invented(0), "/items/1").await;
    call(&app, invented(0), "/nowhere/0").await;
    call(&app, Method::GET, "/nowhere/0").await;
    series(&app).await;
    let before = series(&app).await;

    for i in 1..=50 {
        assert_eq!(
            call(&app, invented(i), "/items/1").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            call(&app, invented(i), &format!("/nowhere/{i}")).await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&app, Method::GET, &format!("/nowhere/{i}")).await,
            StatusCode::NOT_FOUND
        );
    }
    let after = series(&app).await;

    // Scrapes count too, each under the labels of the first.
    let added: Vec<&String> = after
        .iter()
        .filter(|line| !before.iter().any(|b| same_series(b, line)))
        .collect();
    assert!(added.is_empty(), "series added: {added:#?}");
    let text = after.join("\n");
    assert!(!text.contains("AAAA"), "{text}");
    assert!(!text.contains("/nowhere"), "{text}");
    assert!(
        text.contains(&format!(
            "http_requests_total{{method=\"{OTHER_METHOD}\",route=\"/items/{{id}}\",status=\"405\"}} 51"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "http_requests_total{{method=\"{OTHER_METHOD}\",route=\"{UNMATCHED_ROUTE}\",status=\"404\"}} 51"
        )),
        "{text}"
    );
}

#[actix_web::test]
async fn standard_methods_keep_their_own_label() {
    let app = spawn().await;

    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        call(&app, method, "/items/1").await;
    }
    let text = series(&app).await.join("\n");

    for method in ["GET", "PATCH", "DELETE"] {
        assert!(
            text.contains(&format!(
                "http_requests_total{{method=\"{method}\",route=\"/items/{{id}}\""
            )),
            "{method}: {text}"
        );
    }
    assert!(!text.contains(OTHER_METHOD), "{text}");
}

/// Whether two lines are the same series: the same name and labels, whatever
/// the value.
fn same_series(a: &str, b: &str) -> bool {
    let key = |line: &str| line.rsplit_once(' ').map_or(line, |(k, _)| k).to_owned();
    key(a) == key(b)
}
