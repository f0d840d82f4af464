//! Source cursors: where a polling source has read up to, per stream, so a restart resumes
//! there rather than at the beginning (a FHIR source keeps one per resource type: the newest
//! `lastUpdated` the hub has committed or quarantined).
//!
//! A cursor is only ever saved after what it points past is durable, so a cursor lost with a
//! crash costs a re-read (deduplicated by message id), never a lost input.

use async_trait::async_trait;
use throughline_adapter_fhir::{CursorError, CursorStore};

use super::{Result, Store, to_ms};

/// The cursor of `source_id`'s `stream`, if one was saved.
pub async fn load(store: &Store, source_id: &str, stream: &str) -> Result<Option<String>> {
    let mut conn = store.acquire().await?;
    let value: Option<String> = sqlx::query_scalar(
        "SELECT cursor_value FROM source_cursors WHERE source_id = $1 AND stream = $2",
    )
    .bind(source_id)
    .bind(stream)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(value)
}

/// Saves the cursor of `source_id`'s `stream`.
pub async fn save(store: &Store, source_id: &str, stream: &str, value: &str) -> Result<()> {
    let mut conn = store.acquire().await?;
    sqlx::query(
        "INSERT INTO source_cursors (source_id, stream, cursor_value, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (source_id, stream) DO UPDATE
         SET cursor_value = excluded.cursor_value, updated_at = excluded.updated_at",
    )
    .bind(source_id)
    .bind(stream)
    .bind(value)
    .bind(to_ms(chrono::Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The FHIR poll source's cursors, kept in the hub's store.
#[derive(Clone)]
pub struct StoreCursors(Store);

impl StoreCursors {
    pub fn new(store: Store) -> Self {
        Self(store)
    }
}

#[async_trait]
impl CursorStore for StoreCursors {
    async fn load(
        &self,
        source_id: &str,
        resource_type: &str,
    ) -> std::result::Result<Option<String>, CursorError> {
        load(&self.0, source_id, resource_type)
            .await
            .map_err(|e| CursorError(e.to_string()))
    }

    async fn save(
        &self,
        source_id: &str,
        resource_type: &str,
        cursor: &str,
    ) -> std::result::Result<(), CursorError> {
        save(&self.0, source_id, resource_type, cursor)
            .await
            .map_err(|e| CursorError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    async fn saved_moved_and_loaded(store: Store) {
        let cursors = StoreCursors::new(store);
        assert_eq!(cursors.load("s1", "Flag").await.unwrap(), None);
        cursors
            .save("s1", "Flag", "2026-01-01T00:00:00Z")
            .await
            .unwrap();
        cursors
            .save("s1", "Flag", "2026-01-02T00:00:00Z")
            .await
            .unwrap();
        cursors
            .save("s2", "Flag", "2026-01-03T00:00:00Z")
            .await
            .unwrap();
        assert_eq!(
            cursors.load("s1", "Flag").await.unwrap().as_deref(),
            Some("2026-01-02T00:00:00Z")
        );
        assert_eq!(cursors.load("s1", "Encounter").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_cursor_is_kept_per_source_and_stream_in_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("hub.db").display());
        saved_moved_and_loaded(Store::connect(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn a_cursor_is_kept_per_source_and_stream_in_postgres() {
        sqlx::any::install_default_drivers();
        let base = std::env::var("THROUGHLINE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let db = format!("throughline_cursors_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        saved_moved_and_loaded(Store::connect(&format!("{prefix}/{db}")).await.unwrap()).await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {db} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
}
