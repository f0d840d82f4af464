//! What the operators' overview reads, once a second while someone watches it.
//!
//! Every query here is answered from an index, never by reading the deliveries table row by
//! row: with 100,000 deliveries in the store the overview must stay cheap, and on SQLite it
//! shares the one connection with the pipeline. `hub/tests/dashboard_store.rs` checks the query plans.

use sqlx::{AnyConnection, Row};

use super::{Result, from_ms, to_ms};

// The statements, public so that the store tests can check their query plans.
pub const EVENTS_PER_MINUTE_SQL: &str = "SELECT received_at / 60000 AS m, COUNT(*) AS n FROM events
     WHERE received_at >= $1 GROUP BY received_at / 60000 ORDER BY m";
pub const NOTIFICATIONS_PER_MINUTE_SQL: &str = "SELECT delivered_at / 60000 AS m, COUNT(*) AS n FROM deliveries
     WHERE delivered_at IS NOT NULL AND delivered_at >= $1 GROUP BY delivered_at / 60000 ORDER BY m";
pub const CREATED_PER_MINUTE_SQL: &str =
    "SELECT created_at / 60000 AS m, COUNT(*) AS n FROM deliveries
     WHERE created_at >= $1 GROUP BY created_at / 60000 ORDER BY m";
pub const LEFT_UNSENT_PER_MINUTE_SQL: &str =
    "SELECT updated_at / 60000 AS m, COUNT(*) AS n FROM deliveries
     WHERE status IN ('dead', 'discarded') AND updated_at >= $1
     GROUP BY updated_at / 60000 ORDER BY m";
pub const BY_AGENCY_AND_STATUS_SQL: &str = "SELECT agency, status, COUNT(*) AS n FROM deliveries
     GROUP BY agency, status ORDER BY agency, status";
pub const OLDEST_PENDING_SQL: &str = "SELECT created_at FROM deliveries
     WHERE agency = $1 AND status = 'pending' ORDER BY seq LIMIT 1";

/// Deliveries of one agency in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    pub agency: String,
    pub status: String,
    pub n: i64,
}

/// Counts per minute since a time: (minute start, count), oldest first, minutes with none left
/// out.
pub type PerMinute = Vec<(chrono::DateTime<chrono::Utc>, i64)>;

fn per_minute(rows: &[sqlx::any::AnyRow]) -> Result<PerMinute> {
    rows.iter()
        .map(|r| {
            let m: i64 = r.try_get("m")?;
            Ok((from_ms(m * 60_000), r.try_get("n")?))
        })
        .collect()
}

/// Events committed per minute since `since` (index `events_received`).
pub async fn events_per_minute(
    conn: &mut AnyConnection,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<PerMinute> {
    let rows = sqlx::query(EVENTS_PER_MINUTE_SQL)
        .bind(to_ms(since))
        .fetch_all(&mut *conn)
        .await?;
    per_minute(&rows)
}

/// Notifications delivered per minute since `since` (index `deliveries_delivered_at`).
pub async fn notifications_per_minute(
    conn: &mut AnyConnection,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<PerMinute> {
    let rows = sqlx::query(NOTIFICATIONS_PER_MINUTE_SQL)
        .bind(to_ms(since))
        .fetch_all(&mut *conn)
        .await?;
    per_minute(&rows)
}

/// Notifications made per minute since `since` (index `deliveries_created_at`).
pub async fn created_per_minute(
    conn: &mut AnyConnection,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<PerMinute> {
    let rows = sqlx::query(CREATED_PER_MINUTE_SQL)
        .bind(to_ms(since))
        .fetch_all(&mut *conn)
        .await?;
    per_minute(&rows)
}

/// Notifications that left the queue undelivered per minute since `since`: dead, or discarded,
/// by their last change (index `deliveries_left_unsent`). A dead letter discarded later counts
/// at its discard; one requeued is pending again and counts nowhere here.
pub async fn left_unsent_per_minute(
    conn: &mut AnyConnection,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<PerMinute> {
    let rows = sqlx::query(LEFT_UNSENT_PER_MINUTE_SQL)
        .bind(to_ms(since))
        .fetch_all(&mut *conn)
        .await?;
    per_minute(&rows)
}

/// Deliveries by agency and status (index `deliveries_queue`, read whole but never the table).
pub async fn by_agency_and_status(conn: &mut AnyConnection) -> Result<Vec<StatusCount>> {
    let rows = sqlx::query(BY_AGENCY_AND_STATUS_SQL)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(StatusCount {
                agency: r.try_get("agency")?,
                status: r.try_get("status")?,
                n: r.try_get("n")?,
            })
        })
        .collect()
}

/// When the oldest notification still waiting for `agency` was made (the head of its queue).
pub async fn oldest_pending(
    conn: &mut AnyConnection,
    agency: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let row = sqlx::query(OLDEST_PENDING_SQL)
        .bind(agency)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok(from_ms(r.try_get("created_at")?)))
        .transpose()
}
