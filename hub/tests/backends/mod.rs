//! Test backends shared by the store-level suites: a SQLite file, and a database of its own on
//! the PostgreSQL server at `THROUGHLINE_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`).

use throughline_hub::store::Store;
use uuid::Uuid;

/// A store on a fresh backend, and how to tidy it away afterwards.
pub struct Backend {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    pg_db: Option<(String, String)>,
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    Backend {
        store: Store::connect(&url).await.unwrap(),
        _dir: Some(dir),
        pg_db: None,
    }
}

pub async fn postgres() -> Backend {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let base = std::env::var("THROUGHLINE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("throughline_test_{}", Uuid::now_v7().simple());
    let mut admin = sqlx::AnyConnection::connect(&base)
        .await
        .expect("PostgreSQL on THROUGHLINE_TEST_PG_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let store = Store::connect(&format!("{prefix}/{db}")).await.unwrap();
    Backend {
        store,
        _dir: None,
        pg_db: Some((base, db)),
    }
}

impl Backend {
    pub async fn tidy(self) {
        self.store.pool().close().await;
        if let Some((base, db)) = self.pg_db {
            use sqlx::Connection;
            let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap();
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
                .execute(&mut admin)
                .await;
        }
    }
}

/// Runs each named test function (taking `&Store`) against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            pub async fn sqlite() {
                let b = $crate::backends::sqlite().await;
                super::$name(&b.store).await;
                b.tidy().await;
            }
            #[tokio::test]
            pub async fn postgres() {
                let b = $crate::backends::postgres().await;
                super::$name(&b.store).await;
                b.tidy().await;
            }
        }
    )*};
}
