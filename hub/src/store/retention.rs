//! Retention: delivered data ages out; nothing undelivered, dead-lettered or quarantined does.

use sqlx::AnyConnection;

use super::{Result, to_ms};

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub deliveries: u64,
    pub events: u64,
}

/// Removes deliveries delivered before `cutoff`, then events received before `cutoff` that have
/// no delivery left in any other state. Pending and dead deliveries, their events, events that
/// made a handoff still waiting for its answer, the quarantine and the audit log are never
/// touched.
pub async fn prune(
    conn: &mut AnyConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> Result<Pruned> {
    let cutoff = to_ms(cutoff);
    let deliveries =
        sqlx::query("DELETE FROM deliveries WHERE status = 'delivered' AND delivered_at < $1")
            .bind(cutoff)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    let events = sqlx::query(
        "DELETE FROM events WHERE received_at < $1
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)
         AND NOT EXISTS (SELECT 1 FROM handoffs h WHERE h.event_id = events.id AND h.state IN ('made', 'delivered'))",
    )
    .bind(cutoff)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // An event's body digest goes with it: a pruned id is unknown again, as it was before.
    sqlx::query(
        "DELETE FROM event_digests
         WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = event_digests.event_id)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(Pruned { deliveries, events })
}
