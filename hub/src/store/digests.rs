//! The SHA-256 of each sender-chosen event id's canonical body, so a resubmission under the same
//! id is a duplicate only when the body is the same (`pipeline::commit`, issue 13). Kept beside
//! `events` rather than in it: the row is written once, with the event, and read only when an
//! id comes again. Retention removes a digest with its event.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::Result;

/// The digest recorded for this event id, if any (events committed before digests were kept,
/// or whose id the hub chose, have none).
pub async fn of_event(conn: &mut AnyConnection, event_id: Uuid) -> Result<Option<String>> {
    let row = sqlx::query("SELECT body_sha256 FROM event_digests WHERE event_id = $1")
        .bind(event_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("body_sha256")).transpose()?)
}

/// Records the digests of events just committed, one statement per few hundred.
pub async fn record_many(conn: &mut AnyConnection, digests: &[(Uuid, String)]) -> Result<()> {
    for chunk in digests.chunks(256) {
        let mut sql = String::from("INSERT INTO event_digests (event_id, body_sha256) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, digest) in chunk {
            q = q.bind(id.to_string()).bind(digest.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
