//! The hub's durable state, over sqlx: a SQLite file (WAL) by default, PostgreSQL at scale.
//!
//! One implementation serves both, through sqlx's `Any` driver: SQL is written once with `$n`
//! placeholders, timestamps are milliseconds since the epoch and JSON is TEXT, which both
//! dialects store alike. Only the migrations differ (`migrations/sqlite`, `migrations/postgres`).
//!
//! SQLite allows one writer at a time, and a transaction that reads then writes can fail rather
//! than wait when another writer got there first. The SQLite pool therefore holds a single
//! connection: every transaction is serialised in the process, none ever sees `SQLITE_BUSY`.
//! PostgreSQL gets a real pool.
//!
//! Functions that must compose into one transaction take `&mut AnyConnection`, so the pipeline
//! can commit an event, its deliveries, audit entries and alerts atomically.

pub mod agencies;
pub mod alert_notices;
pub mod alerts;
pub mod audit;
pub mod audit_search;
pub mod cursors;
pub mod deliveries;
pub mod digests;
pub mod events;
pub mod handoffs;
pub mod identity;
pub mod inputs;
pub mod involvements;
pub mod leases;
pub mod operators;
pub mod overview;
pub mod quarantine;
pub mod retention;
pub mod reviews;
pub mod timeline;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

/// Why the store could not do what was asked. Messages never contain child data: queries bind
/// values as parameters, and database errors name constraints and tables, not values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL must start with sqlite: or postgres:")]
    UnsupportedUrl,
    #[error("cannot create the directory for the SQLite file: {0}")]
    CreateDir(std::io::Error),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
}

impl Store {
    /// Connects to `url`, creating the SQLite file (and its directory) if needed, and applies
    /// the embedded migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (dialect, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let file = path.split('?').next().unwrap_or_default();
            if let Some(dir) = std::path::Path::new(file).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(StoreError::CreateDir)?;
            }
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = if path.contains("mode=") {
                format!("sqlite://{path}")
            } else {
                format!("sqlite://{path}{sep}mode=rwc")
            };
            (Dialect::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Dialect::Postgres, url.to_owned())
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = match dialect {
            Dialect::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // The busy timeout first: the journal mode pragma itself takes a
                            // lock, and without a timeout a CLI connecting while the hub writes
                            // fails at once with "database is locked".
                            sqlx::query("PRAGMA busy_timeout = 10000")
                                .execute(&mut *conn)
                                .await?;
                            // WAL lets readers outside the process (the CLI) run beside the hub;
                            // synchronous=FULL keeps every commit on disk before it is reported.
                            sqlx::query("PRAGMA journal_mode = WAL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA synchronous = FULL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA foreign_keys = ON")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Dialect::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?
            }
        };
        match dialect {
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Dialect::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        Ok(Self { pool, dialect })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// One connection from the pool, for reads outside a transaction.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// On SQLite every transaction takes the write lock as it begins (`BEGIN IMMEDIATE`). A
    /// deferred transaction that reads and then writes cannot wait for another process's writer:
    /// SQLite fails its upgrade at once with SQLITE_BUSY_SNAPSHOT, whatever the busy timeout.
    /// The hub holds one connection, so its own transactions are serial anyway; what this
    /// changes is that a CLI command run beside a busy hub waits its turn instead of failing
    /// with "database is locked".
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }

    /// Whether the store answers: used by `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Milliseconds since the epoch: how the store keeps time.
pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
