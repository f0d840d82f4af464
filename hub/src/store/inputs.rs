//! Inputs already committed, by source and upstream message id.
//!
//! Brokers redeliver (after a reconnect an old delivery cannot be acknowledged), HTTP clients
//! retry after a lost answer: the same input arrives twice. Recording the message id in the same
//! transaction as the input's events makes the second arrival a no-op that answers with the
//! original event ids.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, StoreError, to_ms};

/// The event ids an input with this message id was committed as, if it was.
pub async fn seen(
    conn: &mut AnyConnection,
    source_id: &str,
    message_id: &str,
) -> Result<Option<Vec<Uuid>>> {
    let row = sqlx::query(
        "SELECT event_ids FROM received_inputs WHERE source_id = $1 AND message_id = $2",
    )
    .bind(source_id)
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let ids: String = r.try_get("event_ids")?;
        ids.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                Uuid::parse_str(s)
                    .map_err(|_| StoreError::Corrupt("received_inputs.event_ids".into()))
            })
            .collect()
    })
    .transpose()
}

pub async fn record(
    conn: &mut AnyConnection,
    source_id: &str,
    message_id: &str,
    event_ids: &[Uuid],
) -> Result<()> {
    sqlx::query("INSERT INTO received_inputs (source_id, message_id, event_ids, received_at) VALUES ($1, $2, $3, $4)")
        .bind(source_id)
        .bind(message_id)
        .bind(event_ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(","))
        .bind(to_ms(chrono::Utc::now()))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
