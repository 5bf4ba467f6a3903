use std::process::ExitCode;

use resource_service::config::Settings;
use resource_service::startup::Application;

#[actix_web::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    // Before anything signs or verifies: jsonwebtoken keeps the first provider.
    shared_claims::install_crypto_provider();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("resource-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match Application::build(settings).await {
        Ok(app) => {
            log::info!("resource-service listening on port {}", app.port());
            app.run_until_stopped().await
        }
        Err(e) => Err(e),
    };
    service_kit::access_log::flush_access_log();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("resource-service: {e}");
            ExitCode::FAILURE
        }
    }
}
