//! Integration tests: the real auth-service (and resource-service) over HTTP
//! on 127.0.0.1, each scenario on SQLite and on PostgreSQL.

mod helpers;

mod attacks;
mod bound_refresh;
mod browser;
mod cli;
mod clients;
mod cors;
mod cross_service;
mod dpop;
mod grace_and_throttling;
mod guarantees;
mod hostile;
mod introspection;
mod jwks;
mod key_lifecycle;
mod keys;
mod keys_at_rest;
mod live_privileges;
mod logs;
mod oauth;
mod observability;
mod openapi;
mod origins;
mod password_hygiene;
mod proxies;
mod registration_and_login;
mod reliability;
mod rotation;
mod service;
mod session_checked;
mod session_history;
mod sessions;
mod shutdown;
mod web_client;
