//! A child's timeline for the dashboard: every event about the child, every delivery of
//! those events and every handoff, in the hub's own view (the API's timeline is an agency's
//! view, narrowed by sharing agreements). Reads go through `events_child` and
//! `deliveries_event`, so a child's page costs the same however large the store is.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, from_ms};

/// Events listed on one child's page, newest first.
pub const LIMIT: i64 = 500;

/// An event as the timeline lists it; `body` is the whole event (child data: mask it).
pub struct TimelineEvent {
    pub id: String,
    pub kind: String,
    pub source_agency: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub body: String,
}

pub async fn events(conn: &mut AnyConnection, child: Uuid) -> Result<Vec<TimelineEvent>> {
    let rows = sqlx::query(
        "SELECT id, kind, source_agency, occurred_at, received_at, body FROM events
         WHERE child_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2",
    )
    .bind(child.to_string())
    .bind(LIMIT)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TimelineEvent {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                source_agency: r.try_get("source_agency")?,
                occurred_at: from_ms(r.try_get("occurred_at")?),
                received_at: from_ms(r.try_get("received_at")?),
                body: r.try_get("body")?,
            })
        })
        .collect()
}

/// A delivery of one of the child's events: where it went and how it stands.
pub struct TimelineDelivery {
    pub id: String,
    pub event_id: String,
    pub agency: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn deliveries(conn: &mut AnyConnection, child: Uuid) -> Result<Vec<TimelineDelivery>> {
    let rows = sqlx::query(
        "SELECT id, event_id, agency, status, attempts, created_at FROM deliveries
         WHERE event_id IN (SELECT id FROM events WHERE child_id = $1)
         ORDER BY seq DESC LIMIT $2",
    )
    .bind(child.to_string())
    .bind(LIMIT)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TimelineDelivery {
                id: r.try_get("id")?,
                event_id: r.try_get("event_id")?,
                agency: r.try_get("agency")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                created_at: from_ms(r.try_get("created_at")?),
            })
        })
        .collect()
}

/// Whether the hub knows this child (a merged-away id still names a row, with nothing on it).
pub async fn exists(conn: &mut AnyConnection, child: Uuid) -> Result<bool> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM children WHERE id = $1")
        .bind(child.to_string())
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    Ok(n > 0)
}
