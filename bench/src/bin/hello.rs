//! The ceiling for any actix-web route on this machine: the same actix-web,
//! the same release profile, the same worker count as the resource-service,
//! and a handler that does nothing.
//!
//! `HELLO_BIND` (default `127.0.0.1:18082`), `HELLO_WORKERS` (default: the
//! number of cores, as actix-web chooses).

use actix_web::{web, App, HttpResponse, HttpServer};

async fn hello() -> HttpResponse {
    HttpResponse::Ok().body("hello")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("HELLO_BIND").unwrap_or_else(|_| "127.0.0.1:18082".to_owned());
    let workers = std::env::var("HELLO_WORKERS")
        .ok()
        .and_then(|w| w.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    HttpServer::new(|| App::new().route("/", web::get().to(hello)))
        .workers(workers)
        .bind(&bind)?
        .run()
        .await
}
