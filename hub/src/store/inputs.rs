//! Inputs already committed, by source and upstream message id.
//!
//! Brokers redeliver (after a reconnect an old delivery cannot be acknowledged), HTTP clients
//! retry after a lost answer: the same input arrives twice. Recording the message id in the same
//! transaction as the input's events makes the second arrival a no-op that answers with the
//! original event ids. The SHA-256 of the input's canonical body is kept with it, so a message id
//! reused for a different body is told apart from a redelivery (`pipeline::commit`).

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, StoreError, to_ms};

/// An input already committed under a message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The event ids it was committed as.
    pub event_ids: Vec<Uuid>,
    /// The SHA-256 (hex) of its canonical body; `None` for inputs committed before digests were
    /// kept.
    pub body_sha256: Option<String>,
}

/// The input committed with this message id, if one was.
pub async fn seen(
    conn: &mut AnyConnection,
    source_id: &str,
    message_id: &str,
) -> Result<Option<Seen>> {
    let row = sqlx::query(
        "SELECT event_ids, body_sha256 FROM received_inputs WHERE source_id = $1 AND message_id = $2",
    )
    .bind(source_id)
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let ids: String = r.try_get("event_ids")?;
        Ok(Seen {
            event_ids: parse_ids(&ids)?,
            body_sha256: r.try_get("body_sha256")?,
        })
    })
    .transpose()
}

/// One input to record: source, message id, event ids and the body's SHA-256 (hex).
pub type Received = (String, String, Vec<Uuid>, String);

fn parse_ids(ids: &str) -> Result<Vec<Uuid>> {
    ids.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            Uuid::parse_str(s).map_err(|_| StoreError::Corrupt("received_inputs.event_ids".into()))
        })
        .collect()
}

/// [`seen`] for several message ids of one source in one statement: the ones already committed.
pub async fn seen_many(
    conn: &mut AnyConnection,
    source_id: &str,
    message_ids: &[&str],
) -> Result<std::collections::HashMap<String, Seen>> {
    let mut out = std::collections::HashMap::new();
    for chunk in message_ids.chunks(512) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT message_id, event_ids, body_sha256 FROM received_inputs WHERE source_id = $1 AND message_id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(source_id.to_owned());
        for m in chunk {
            q = q.bind((*m).to_owned());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let ids: String = r.try_get("event_ids")?;
            out.insert(
                r.try_get("message_id")?,
                Seen {
                    event_ids: parse_ids(&ids)?,
                    body_sha256: r.try_get("body_sha256")?,
                },
            );
        }
    }
    Ok(out)
}

/// Records inputs as committed, one statement per few hundred.
pub async fn record_many(conn: &mut AnyConnection, inputs: &[Received]) -> Result<()> {
    let now = to_ms(chrono::Utc::now());
    for chunk in inputs.chunks(200) {
        let mut sql = String::from(
            "INSERT INTO received_inputs (source_id, message_id, event_ids, body_sha256, received_at) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, $1)",
                4 * i + 2,
                4 * i + 3,
                4 * i + 4,
                4 * i + 5
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for (source, mid, ids, digest) in chunk {
            q = q
                .bind(source.clone())
                .bind(mid.clone())
                .bind(
                    ids.iter()
                        .map(Uuid::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                )
                .bind(digest.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
