//! The command line of API.md §6.

use std::io::Read;

use clap::{Parser, Subcommand};
use shared_claims::Role;

use crate::config::Settings;
use crate::db;
use crate::domain::{Email, Password};
use crate::passwords::Hasher;
use crate::service;
use crate::startup::Application;

/// The auth-service: users, sessions, refresh-token rotation and EdDSA access tokens.
#[derive(Debug, Parser)]
#[command(name = "auth-service", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default); migrations are applied at start.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage confidential clients.
    #[command(subcommand)]
    Client(ClientCommand),
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register a confidential client; prints its id and secret as JSON.
    /// The secret is shown only now.
    Create {
        /// What the client is, for the operator.
        #[arg(long)]
        name: String,
    },
    /// Print every client as a JSON array.
    List,
    /// Delete a client: it can no longer authenticate.
    Delete {
        /// The client's id.
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a new signing key. The JWKS lists it at once, running instances
    /// sign with it within 60 seconds, and the old key stays published until
    /// every token it signed has expired.
    Rotate,
    /// Revoke a compromised key: it leaves the JWKS at once and nothing
    /// signs with it again (a new key is made first if it was the signing
    /// key); the auth-service refuses its tokens at once.
    Revoke {
        /// The key's id. A kid is base64url and may begin with `-`: it is
        /// taken as the value, not as another option.
        #[arg(long, allow_hyphen_values = true)]
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user, reading the password from standard input.
    Create {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// The role: user or admin.
        #[arg(long, default_value = "user", value_parser = parse_role)]
        role: Role,
        /// Read the password from standard input (one trailing newline is dropped).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role; it shows in their next access token.
    SetRole {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// The role: user or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Delete a user; their sessions die with them, so they cannot refresh.
    Delete {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse()
        .map_err(|e: shared_claims::ParseRoleError| e.to_string())
}

impl Cli {
    /// Runs the command. The error is one line for the operator.
    pub async fn run(self, settings: Settings) -> Result<(), String> {
        match self.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                let app = Application::build(settings).await?;
                app.run_until_stopped().await.map_err(|e| e.to_string())
            }
            Command::Migrate => {
                db::open(&settings.database).await?;
                println!("migrations applied to {}", settings.database.redacted());
                Ok(())
            }
            Command::User(UserCommand::Create {
                email,
                role,
                password_stdin,
            }) => {
                if !password_stdin {
                    return Err(
                        "user create reads the password from standard input: pass --password-stdin"
                            .into(),
                    );
                }
                let email = Email::parse(&email).map_err(|e| format!("--email: {e}"))?;
                let password =
                    Password::parse(read_password()?).map_err(|e| format!("password: {e}"))?;
                let pool = db::open(&settings.database).await?;
                let hasher = Hasher::new();
                let user = service::create_user(
                    &pool,
                    &hasher,
                    settings.bcrypt_cost,
                    email,
                    password,
                    role,
                )
                .await
                .map_err(|e| match e {
                    crate::error::Error::EmailTaken => "a user with this email exists".to_owned(),
                    other => other.to_string(),
                })?;
                println!(
                    "created user {} <{}> with role {}",
                    user.id, user.email, user.role
                );
                Ok(())
            }
            Command::User(UserCommand::SetRole { email, role }) => {
                let pool = db::open(&settings.database).await?;
                let user = service::set_role_by_email(&pool, &email, role)
                    .await
                    .map_err(|e| explain(e, &email))?;
                println!("user <{}> now has role {}", user.email, user.role);
                Ok(())
            }
            Command::User(UserCommand::Delete { email }) => {
                let pool = db::open(&settings.database).await?;
                let user = service::delete_user_by_email(&pool, &email)
                    .await
                    .map_err(|e| explain(e, &email))?;
                println!(
                    "deleted user {} <{}> and their sessions",
                    user.id, user.email
                );
                Ok(())
            }
            Command::Client(command) => run_client_command(&settings, command).await,
            Command::Keys(KeysCommand::Rotate) => {
                let pool = db::open(&settings.database).await?;
                let (kid, pruned) =
                    service::rotate_keys(&pool, settings.key_encryption_key.as_ref())
                        .await
                        .map_err(key_error)?;
                println!("new signing key {kid}; {pruned} expired key(s) removed");
                Ok(())
            }
            Command::Keys(KeysCommand::Revoke { kid }) => {
                let pool = db::open(&settings.database).await?;
                match service::revoke_key(&pool, &kid, settings.key_encryption_key.as_ref()).await {
                    Ok(made) => {
                        match made {
                            Some(new) => println!("revoked key {kid}; new signing key {new}"),
                            None => println!("revoked key {kid}"),
                        }
                        Ok(())
                    }
                    Err(crate::error::Error::NotFound) => {
                        Err(format!("no signing key with kid {kid:?}"))
                    }
                    Err(other) => Err(key_error(other)),
                }
            }
        }
    }
}

async fn run_client_command(settings: &Settings, command: ClientCommand) -> Result<(), String> {
    let pool = db::open(&settings.database).await?;
    match command {
        ClientCommand::Create { name } => {
            let (client, secret) = service::create_client(&pool, &name)
                .await
                .map_err(|e| format!("--name: {e}"))?;
            let created = serde_json::json!({
                "client_id": client.id,
                "client_secret": secret.expose(),
            });
            println!("{created}");
        }
        ClientCommand::List => {
            let clients = service::list_clients(&pool)
                .await
                .map_err(|e| e.to_string())?;
            let listed: Vec<_> = clients
                .into_iter()
                .map(|c| {
                    serde_json::json!({
                        "client_id": c.id,
                        "name": c.name,
                        "created_at": chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(
                            c.created_at,
                            chrono::Utc,
                        ),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(listed));
        }
        ClientCommand::Delete { id } => {
            service::delete_client(&pool, &id)
                .await
                .map_err(|e| match e {
                    crate::error::Error::NotFound => format!("no client with id {id:?}"),
                    other => other.to_string(),
                })?;
            println!("deleted client {id}");
        }
    }
    Ok(())
}

/// One line for a failed key command: a refused `KEY_ENCRYPTION_KEY` names it.
fn key_error(error: crate::error::Error) -> String {
    match error {
        crate::error::Error::Internal(line) => line,
        other => other.to_string(),
    }
}

/// One line for a failed user command.
fn explain(error: crate::error::Error, email: &str) -> String {
    match error {
        crate::error::Error::NotFound => format!("no user with email {email:?}"),
        crate::error::Error::InvalidEmail(_) => {
            format!("--email: {email:?} is not a valid email address")
        }
        other => other.to_string(),
    }
}

fn read_password() -> Result<String, String> {
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    if let Some(stripped) = raw.strip_suffix('\n') {
        raw = stripped.strip_suffix('\r').unwrap_or(stripped).to_owned();
    }
    Ok(raw)
}
