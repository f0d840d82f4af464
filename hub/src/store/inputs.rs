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

fn parse_ids(ids: &str) -> Result<Vec<Uuid>> {
    ids.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            Uuid::parse_str(s).map_err(|_| StoreError::Corrupt("received_inputs.event_ids".into()))
        })
        .collect()
}

/// [`seen`] for several message ids of one source in one statement: the ones already committed,
/// with their event ids.
pub async fn seen_many(
    conn: &mut AnyConnection,
    source_id: &str,
    message_ids: &[&str],
) -> Result<std::collections::HashMap<String, Vec<Uuid>>> {
    let mut out = std::collections::HashMap::new();
    for chunk in message_ids.chunks(512) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT message_id, event_ids FROM received_inputs WHERE source_id = $1 AND message_id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(source_id.to_owned());
        for m in chunk {
            q = q.bind((*m).to_owned());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let ids: String = r.try_get("event_ids")?;
            out.insert(r.try_get("message_id")?, parse_ids(&ids)?);
        }
    }
    Ok(out)
}

/// [`record`] for several inputs in one statement per few hundred.
pub async fn record_many(
    conn: &mut AnyConnection,
    inputs: &[(String, String, Vec<Uuid>)],
) -> Result<()> {
    let now = to_ms(chrono::Utc::now());
    for chunk in inputs.chunks(256) {
        let mut sql = String::from(
            "INSERT INTO received_inputs (source_id, message_id, event_ids, received_at) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, $1)",
                3 * i + 2,
                3 * i + 3,
                3 * i + 4
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for (source, mid, ids) in chunk {
            q = q.bind(source.clone()).bind(mid.clone()).bind(
                ids.iter()
                    .map(Uuid::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
