use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::result::ConnectionError;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseUrl;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// PostgreSQL.
    Postgresql(PgConnection),
    /// SQLite.
    Sqlite(SqliteConnection),
}

impl std::fmt::Debug for AnyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AnyConnection::Postgresql(_) => "AnyConnection::Postgresql",
            AnyConnection::Sqlite(_) => "AnyConnection::Sqlite",
        })
    }
}

/// The connection pool.
pub type DbPool = r2d2::Pool<Manager>;

/// Opens connections by the URL's scheme. Diesel's own `AnyConnection::establish`
/// reports a refused PostgreSQL connection as "invalid connection url"; this
/// keeps the real cause.
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

/// A pooled connection, marked broken once it has lost its server so the
/// pool discards it instead of handing it out again.
#[derive(Debug)]
pub struct PooledConnection {
    pub(super) conn: AnyConnection,
    pub(super) broken: bool,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PooledConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<PooledConnection, ConnectionError> {
        self.open().map(|conn| PooledConnection {
            conn,
            broken: false,
        })
    }

    fn is_valid(&self, pooled: &mut PooledConnection) -> Result<(), ConnectionError> {
        diesel::sql_query("SELECT 1")
            .execute(&mut pooled.conn)
            .map(|_| ())
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, pooled: &mut PooledConnection) -> bool {
        pooled.broken
    }
}

impl Manager {
    fn open(&self) -> Result<AnyConnection, ConnectionError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                PgConnection::establish(url).map(AnyConnection::Postgresql)
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // busy_timeout makes concurrent writers wait instead of failing
                // "database is locked"; foreign keys are off by default in
                // SQLite. secure_delete zeroes what a write frees, so a secret
                // that is replaced or deleted (a signing key sealed in place, an
                // old password hash) does not linger in the file's free space.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                switch_to_wal(&mut conn).map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// Puts the file in WAL mode (persistent, so a no-op once done), which lets
/// readers work beside the one writer. Switching a new file takes its write
/// lock; when connections of replicas started together switch it at the same
/// moment, each may hold the read lock while wanting the write lock, and
/// SQLite breaks that deadlock by answering one of them "database is locked"
/// at once instead of waiting out `busy_timeout`. The other one completes the
/// switch, so the loser tries again, for as long as `busy_timeout` would wait.
fn switch_to_wal(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match conn.batch_execute("PRAGMA journal_mode = WAL;") {
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("database is locked")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            done => return done,
        }
    }
}

/// Builds the pool, creating the SQLite file's folder if needed. Fails if the
/// first connection cannot be made, so a bad `DATABASE_URL` stops the start.
pub fn connect(url: &DatabaseUrl) -> Result<DbPool, String> {
    // How long a request waits for a connection before it is answered 503.
    // While PostgreSQL is down every attempt to connect fails at once, but
    // r2d2 keeps retrying until this timeout: keep it short so clients get a
    // prompt 503 instead of a hanging request. SQLite is never "down"; its
    // wait is for a free connection while writers queue on the file lock
    // (busy_timeout), so it may be as long as that.
    let (size, wait) = match url {
        DatabaseUrl::Sqlite(path) => {
            // Owner-only from the start: the file holds password hashes and,
            // without KEY_ENCRYPTION_KEY, the private signing keys; the
            // default umask would make it world-readable. SQLite gives its
            // -wal and -shm files the mode of the database file.
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
            (4, Duration::from_secs(5))
        }
        DatabaseUrl::Postgres(_) => (10, Duration::from_secs(2)),
    };
    r2d2::Pool::builder()
        .max_size(size)
        // No idle minimum: r2d2 would keep opening connections on its own
        // threads to restore it, and one still opening when the process
        // exits races libpq's TLS against OpenSSL's exit-time cleanup (a
        // segfault after a successful command). Connections are opened on
        // demand and then reused.
        .min_idle(Some(0))
        .connection_timeout(wait)
        .test_on_check_out(false)
        .build(Manager { url: url.clone() })
        .map_err(|e| format!("cannot connect to {}: {e}", url.redacted()))
}

/// Applies pending migrations. Replicas that start together take turns
/// instead of racing on the same DDL: an advisory lock on PostgreSQL, the
/// file's write lock on SQLite.
pub fn migrate(conn: &mut AnyConnection) -> Result<(), String> {
    let outcome = match conn {
        AnyConnection::Postgresql(pg) => {
            const LOCK: i64 = 0x6175_7468; // "auth"
            pg.batch_execute(&format!("SELECT pg_advisory_lock({LOCK})"))
                .map_err(|e| e.to_string())?;
            let outcome = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let unlocked = pg.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK})"));
            outcome.and(unlocked.map_err(|e| e.to_string()))
        }
        // The same for processes sharing one SQLite file: the write lock of
        // BEGIN IMMEDIATE, taken before the pending migrations are listed, so
        // the second process finds them applied instead of applying them again.
        AnyConnection::Sqlite(lite) => lite
            .immediate_transaction(|lite| {
                lite.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ())
            })
            .map_err(|e: Box<dyn std::error::Error + Send + Sync>| e.to_string()),
    };
    outcome.map_err(|e| format!("migration failed: {e}"))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;

    /// Replicas started together on a new SQLite file all switch it to WAL at
    /// once. Two connections that both hold the read lock and both want the
    /// write lock deadlock, and SQLite answers one of them "database is
    /// locked" at once, without waiting out `busy_timeout`: opening a
    /// connection must come through that.
    #[test]
    fn connections_opened_together_on_a_new_sqlite_file_all_open() {
        let dir = std::env::temp_dir().join(format!(
            "auth-pool-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for round in 0..100 {
            let url = DatabaseUrl::Sqlite(dir.join(format!("{round}.db")));
            std::fs::File::create(match &url {
                DatabaseUrl::Sqlite(path) => path,
                DatabaseUrl::Postgres(_) => unreachable!(),
            })
            .expect("new file");
            let start = Arc::new(Barrier::new(6));
            let openers: Vec<_> = (0..6)
                .map(|_| {
                    let manager = Manager { url: url.clone() };
                    let start = start.clone();
                    std::thread::spawn(move || {
                        start.wait();
                        manager.open().map(|_| ()).map_err(|e| e.to_string())
                    })
                })
                .collect();
            for opener in openers {
                let opened = opener.join().expect("an opener panicked");
                assert_eq!(opened, Ok(()), "round {round}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
