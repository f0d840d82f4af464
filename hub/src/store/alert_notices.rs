//! The outbox of operator notices: one row per alert transition (opened, resolved), sent to
//! every operator channel by the notifier (`crate::alerting`).
//!
//! Rows are written in the transaction that opens or resolves the alert, so a notice exists if
//! and only if the transition happened. Which channels already have a notice is recorded per
//! channel, so a retry after one channel failed does not send the others a second copy. A
//! notice is claimed (`claimed_until`) before sending, so two hub instances do not both send it;
//! the same column holds the next retry's time after a failure.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, from_ms, to_ms};

pub const OPENED: &str = "opened";
pub const RESOLVED: &str = "resolved";

/// A notice waiting to be sent, with what it is about.
#[derive(Debug, Clone)]
pub struct PendingNotice {
    pub id: String,
    pub alert_id: String,
    pub transition: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub attempts: i64,
}

/// Queues a notice for `alert_id` (in the caller's transaction).
pub async fn queue(
    conn: &mut AnyConnection,
    alert_id: &str,
    transition: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO alert_notices (id, alert_id, transition, created_at, attempts)
         VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(alert_id)
    .bind(transition)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notices not yet sent everywhere and not held by a notifier (nor waiting for a retry), oldest
/// first. A notice waits while an earlier one for the same alert is unsent, so no channel hears
/// "resolved" before "opened".
pub async fn due(
    conn: &mut AnyConnection,
    now: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<PendingNotice>> {
    let rows = sqlx::query(
        "SELECT n.id, n.alert_id, n.transition, n.created_at, n.attempts FROM alert_notices n
         WHERE n.done_at IS NULL AND (n.claimed_until IS NULL OR n.claimed_until <= $1)
           AND NOT EXISTS (SELECT 1 FROM alert_notices p
                           WHERE p.alert_id = n.alert_id AND p.done_at IS NULL AND p.id < n.id)
         ORDER BY n.id LIMIT $2",
    )
    .bind(to_ms(now))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PendingNotice {
                id: r.try_get("id")?,
                alert_id: r.try_get("alert_id")?,
                transition: r.try_get("transition")?,
                created_at: from_ms(r.try_get("created_at")?),
                attempts: r.try_get("attempts")?,
            })
        })
        .collect()
}

/// Claims a due notice until `until`; `false` if another notifier got it first.
pub async fn claim(
    conn: &mut AnyConnection,
    id: &str,
    now: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE alert_notices SET claimed_until = $1
         WHERE id = $2 AND done_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $3)",
    )
    .bind(to_ms(until))
    .bind(id)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The channels that already have notice `id`.
pub async fn sent_to(conn: &mut AnyConnection, id: &str) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT channel FROM alert_notice_sends WHERE notice_id = $1")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("channel")?)).collect()
}

/// Records that `channel` has notice `id`.
pub async fn record_sent(conn: &mut AnyConnection, id: &str, channel: &str) -> Result<()> {
    sqlx::query("INSERT INTO alert_notice_sends (notice_id, channel, sent_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(channel)
        .bind(to_ms(chrono::Utc::now()))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every configured channel has notice `id`.
pub async fn finish(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("UPDATE alert_notices SET done_at = $1, claimed_until = NULL WHERE id = $2")
        .bind(to_ms(chrono::Utc::now()))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A channel failed: count the attempt, keep the reason (a status line or kind of failure, never
/// a body) and hold the notice until `retry_at`.
pub async fn failed(
    conn: &mut AnyConnection,
    id: &str,
    reason: &str,
    retry_at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE alert_notices SET attempts = attempts + 1, last_error = $1, claimed_until = $2
         WHERE id = $3",
    )
    .bind(reason)
    .bind(to_ms(retry_at))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notices not yet sent everywhere (for `/readyz`-style visibility and the dashboard).
pub async fn unsent_count(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM alert_notices WHERE done_at IS NULL")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("n")?)
}

/// Deletes notices sent everywhere before `before`, with their per-channel records: the alert
/// itself stays, so the outbox does not grow without bound (lessons.md, item 4).
pub async fn prune_done(
    conn: &mut AnyConnection,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    let before = to_ms(before);
    sqlx::query(
        "DELETE FROM alert_notice_sends WHERE notice_id IN
           (SELECT id FROM alert_notices WHERE done_at IS NOT NULL AND done_at < $1)",
    )
    .bind(before)
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query("DELETE FROM alert_notices WHERE done_at IS NOT NULL AND done_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
