//! Committed events.

use sqlx::{AnyConnection, Row};
use throughline_contracts::event::Event;
use uuid::Uuid;

use super::{Result, StoreError, to_ms};

/// Whether an event with this id is already committed (sources resubmit after a lost ack).
pub async fn exists(conn: &mut AnyConnection, id: Uuid) -> Result<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

pub async fn insert(
    conn: &mut AnyConnection,
    event: &Event,
    source_id: &str,
    child_id: Uuid,
) -> Result<()> {
    let body = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO events (id, kind, source_id, source_agency, child_id, occurred_at, received_at, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.id.to_string())
    .bind(event.kind().as_str())
    .bind(source_id)
    .bind(event.source.agency.as_str())
    .bind(child_id.to_string())
    .bind(to_ms(event.occurred_at))
    .bind(to_ms(event.received_at))
    .bind(body)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Event>> {
    let row = sqlx::query("SELECT body FROM events WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        let body: String = r.try_get("body")?;
        serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("event body: {e}")))
    })
    .transpose()
}

/// Every event about a child, oldest first.
pub async fn for_child(conn: &mut AnyConnection, child: Uuid) -> Result<Vec<Event>> {
    let rows = sqlx::query("SELECT body FROM events WHERE child_id = $1 ORDER BY received_at, id")
        .bind(child.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get("body")?;
            serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("event body: {e}")))
        })
        .collect()
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM events")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("n")?)
}
