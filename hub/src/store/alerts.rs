//! Operator alerts, one per open problem, each with a lifecycle: opened, then resolved.
//!
//! A problem that recurs (every referral to an agency with no sharing agreement, say) updates
//! its open alert's count and time instead of raising a new one: operators see one alert per
//! problem, not a flood. Opening and resolving each write one notice to the outbox
//! (`store::alert_notices`) in the caller's transaction, so operators' channels get exactly one
//! "opened" and one "resolved" notice per episode, however often the problem recurs.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, alert_notices, from_ms, to_ms};

/// Status of an alert whose problem is still there.
pub const OPEN: &str = "open";
/// Status of an alert whose problem cleared.
pub const RESOLVED: &str = "resolved";

#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    pub id: String,
    pub dedupe_key: String,
    pub kind: String,
    pub agency: Option<String>,
    pub detail: String,
    pub status: String,
    pub first_at: chrono::DateTime<chrono::Utc>,
    pub last_at: chrono::DateTime<chrono::Utc>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub occurrences: i64,
}

const COLUMNS: &str =
    "id, dedupe_key, kind, agency, detail, status, first_at, last_at, resolved_at, occurrences";

/// Raises an alert, or counts another occurrence of the open one with the same `dedupe_key`.
/// A new alert queues an "opened" notice.
pub async fn raise(
    conn: &mut AnyConnection,
    dedupe_key: &str,
    kind: &str,
    agency: Option<&str>,
    detail: &str,
) -> Result<()> {
    let now = to_ms(chrono::Utc::now());
    let updated = sqlx::query(
        "UPDATE alerts SET occurrences = occurrences + 1, last_at = $1, detail = $2
         WHERE dedupe_key = $3 AND status = 'open'",
    )
    .bind(now)
    .bind(detail)
    .bind(dedupe_key)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() > 0 {
        return Ok(());
    }
    let id = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO alerts (id, dedupe_key, kind, agency, detail, status, first_at, last_at, occurrences)
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $6, 1)",
    )
    .bind(&id)
    .bind(dedupe_key)
    .bind(kind)
    .bind(agency.map(str::to_owned))
    .bind(detail)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    alert_notices::queue(conn, &id, alert_notices::OPENED, now).await?;
    tracing::warn!(alert = kind, agency = agency.unwrap_or(""), "{detail}");
    Ok(())
}

/// Resolves the open alert with `dedupe_key`, if there is one: its problem cleared. Returns
/// whether one was resolved (and so a "resolved" notice was queued). Cheap when none is open
/// (one indexed UPDATE), so callers may call it on every success.
pub async fn resolve(conn: &mut AnyConnection, dedupe_key: &str) -> Result<bool> {
    let now = to_ms(chrono::Utc::now());
    let rows = sqlx::query(
        "UPDATE alerts SET status = 'resolved', resolved_at = $1
         WHERE dedupe_key = $2 AND status = 'open' RETURNING id, kind",
    )
    .bind(now)
    .bind(dedupe_key)
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        let id: String = r.try_get("id")?;
        let kind: String = r.try_get("kind")?;
        alert_notices::queue(conn, &id, alert_notices::RESOLVED, now).await?;
        tracing::info!(alert = %kind, alert_id = %id, "alert resolved");
    }
    Ok(!rows.is_empty())
}

/// Open alerts, most recent first.
pub async fn open(conn: &mut AnyConnection) -> Result<Vec<Alert>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE status = 'open' ORDER BY last_at DESC"
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(alert).collect()
}

/// Open alerts of one kind (for the periodic evaluator, which checks whether each still holds).
pub async fn open_of_kind(conn: &mut AnyConnection, kind: &str) -> Result<Vec<Alert>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE status = 'open' AND kind = $1"
    )))
    .bind(kind)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(alert).collect()
}

/// The `limit` most recently resolved alerts, newest first.
pub async fn recently_resolved(conn: &mut AnyConnection, limit: i64) -> Result<Vec<Alert>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE status = 'resolved' ORDER BY resolved_at DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(alert).collect()
}

/// One alert by id.
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Alert>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(alert).transpose()
}

fn alert(r: &sqlx::any::AnyRow) -> Result<Alert> {
    Ok(Alert {
        id: r.try_get("id")?,
        dedupe_key: r.try_get("dedupe_key")?,
        kind: r.try_get("kind")?,
        agency: r.try_get("agency")?,
        detail: r.try_get("detail")?,
        status: r.try_get("status")?,
        first_at: from_ms(r.try_get("first_at")?),
        last_at: from_ms(r.try_get("last_at")?),
        resolved_at: r.try_get::<Option<i64>, _>("resolved_at")?.map(from_ms),
        occurrences: r.try_get("occurrences")?,
    })
}
