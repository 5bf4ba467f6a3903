use std::process::ExitCode;

use auth_service::cli::Cli;
use auth_service::config::Settings;
use clap::Parser;

fn main() -> ExitCode {
    // Started by the service as its bcrypt process: that, and nothing else.
    if let Some(code) = auth_service::passwords::serve_if_asked() {
        return code;
    }
    auth_service::passwords::offer_this_executable();
    actix_web::rt::System::new().block_on(run())
}

async fn run() -> ExitCode {
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
