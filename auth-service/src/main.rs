use std::process::ExitCode;

use auth_service::cli::Cli;
use auth_service::config::Settings;
use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    // Before anything signs or verifies: jsonwebtoken keeps the first provider.
    shared_claims::install_crypto_provider();
    let cli = Cli::parse();
    let outcome = match Settings::from_env() {
        Ok(settings) => cli.run(settings).await,
        Err(e) => Err(e.to_string()),
    };
    service_kit::access_log::flush_access_log();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("auth-service: {message}");
            ExitCode::FAILURE
        }
    }
}
