//! The database of one test: a new SQLite file, or a new database on the
//! PostgreSQL server the run uses.

use std::path::PathBuf;
use std::sync::OnceLock;

use auth_service::config::DatabaseUrl;
use diesel::{Connection, PgConnection, RunQueryDsl};

use super::{no_postgres, postgres_answers, postgres_host, Backend, PrivatePostgres};

/// A database that exists for one test and is removed after it.
#[derive(Debug)]
pub struct TestDb {
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// The test owns the database's lifetime itself (a [`PrivatePostgres`]).
    None,
    File(PathBuf),
    Postgres {
        admin_url: String,
        name: String,
    },
}

/// The PostgreSQL server the tests create their databases on: the one at
/// `TEST_DATABASE_URL` (127.0.0.1:5432 when unset) when anything answers
/// there, else a private cluster started once for this test binary, so the
/// tests pass on a machine that has PostgreSQL's binaries but runs no
/// server. With neither, every PostgreSQL test fails with one line saying
/// what to install.
pub fn postgres_admin_url() -> String {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let configured = std::env::var("TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            if postgres_answers(&configured) {
                return Ok(configured);
            }
            PrivatePostgres::start_for_this_process()
                .ok_or_else(|| no_postgres(&postgres_host(&configured)))
        })
        .clone()
        .unwrap_or_else(|message| panic!("{message}"))
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("auth-test-{id}.db"));
                TestDb {
                    url: DatabaseUrl::Sqlite(path.clone()),
                    cleanup: Cleanup::File(path),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("auth_test_{id}");
                let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin_url} is needed for the tests (set TEST_DATABASE_URL): {e}")
                });
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .expect("database URL has a path");
                TestDb {
                    url: DatabaseUrl::Postgres(format!("{base}/{name}")),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
        }
    }

    /// A database whose lifetime the test manages itself.
    pub fn at(url: DatabaseUrl) -> Self {
        TestDb {
            url,
            cleanup: Cleanup::None,
        }
    }

    /// Drops a PostgreSQL test database now, connections and all.
    pub fn drop_postgres_now(&self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Postgres { .. } => self.drop_postgres_now(),
            Cleanup::None => {}
        }
    }
}
