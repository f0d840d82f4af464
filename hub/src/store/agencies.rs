//! Agencies as operators see them: paused deliveries, and each queue's recent health.
//!
//! A pause is a row, so it survives a restart and holds on every instance sharing the store;
//! the delivery worker reads it once per pass (not per delivery).

use sqlx::{AnyConnection, Row};

use super::{Result, from_ms, to_ms};

#[derive(Debug, Clone)]
pub struct Pause {
    pub agency: String,
    pub paused_at: chrono::DateTime<chrono::Utc>,
    pub paused_by: String,
    pub reason: String,
}

/// Pauses deliveries to `agency`; `false` if already paused.
pub async fn pause(conn: &mut AnyConnection, agency: &str, by: &str, reason: &str) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO agency_pauses (agency, paused_at, paused_by, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (agency) DO NOTHING",
    )
    .bind(agency)
    .bind(to_ms(chrono::Utc::now()))
    .bind(by)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Resumes deliveries to `agency`; `false` if it was not paused.
pub async fn resume(conn: &mut AnyConnection, agency: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM agency_pauses WHERE agency = $1")
        .bind(agency)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn is_paused(conn: &mut AnyConnection, agency: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM agency_pauses WHERE agency = $1")
            .bind(agency)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

pub async fn pauses(conn: &mut AnyConnection) -> Result<Vec<Pause>> {
    let rows = sqlx::query(
        "SELECT agency, paused_at, paused_by, reason FROM agency_pauses ORDER BY agency",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Pause {
                agency: r.try_get("agency")?,
                paused_at: from_ms(r.try_get("paused_at")?),
                paused_by: r.try_get("paused_by")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}

/// One agency's queue health.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueHealth {
    /// When its most recently queued delivered notification was delivered.
    pub last_success: Option<chrono::DateTime<chrono::Utc>>,
    /// Pending notifications that have failed at least once and wait for a retry.
    pub retrying: i64,
    /// Attempts that failed, and all attempts, over its deliveries among the hub's most recent
    /// [`RECENT_WINDOW`] (a bounded read, whatever the store's size).
    pub failed_attempts: i64,
    pub attempts: i64,
}

/// How many of the hub's newest deliveries the failure rate looks at.
pub const RECENT_WINDOW: i64 = 2_000;

pub async fn queue_health(conn: &mut AnyConnection, agency: &str) -> Result<QueueHealth> {
    let last = sqlx::query(
        "SELECT delivered_at FROM deliveries WHERE agency = $1 AND status = 'delivered'
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(agency)
    .fetch_optional(&mut *conn)
    .await?;
    let last_success = match last {
        Some(r) => r.try_get::<Option<i64>, _>("delivered_at")?.map(from_ms),
        None => None,
    };
    let retrying: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM deliveries WHERE agency = $1 AND status = 'pending' AND attempts > 0",
    )
    .bind(agency)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let top: Option<i64> = sqlx::query("SELECT MAX(seq) AS top FROM deliveries")
        .fetch_one(&mut *conn)
        .await?
        .try_get("top")?;
    let rows = sqlx::query(
        "SELECT status, attempts FROM deliveries WHERE seq > $1 AND agency = $2 AND attempts > 0",
    )
    .bind(top.unwrap_or(0) - RECENT_WINDOW)
    .bind(agency)
    .fetch_all(&mut *conn)
    .await?;
    let mut health = QueueHealth {
        last_success,
        retrying,
        ..Default::default()
    };
    for r in &rows {
        let status: String = r.try_get("status")?;
        let attempts: i64 = r.try_get("attempts")?;
        health.attempts += attempts;
        health.failed_attempts += if status == "delivered" {
            attempts - 1
        } else {
            attempts
        };
    }
    Ok(health)
}
