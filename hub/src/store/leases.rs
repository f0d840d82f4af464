//! Delivery leases: which hub instance works each agency's queue.
//!
//! A lease is a row per agency naming its holder and when it lapses. Taking or renewing it is
//! one conditional upsert: it succeeds for the current holder, or for anyone once the lease has
//! lapsed. An instance that dies stops renewing, and another takes the queue over after at most
//! one lease period; what the dead one had sent but not recorded is sent again, with the same
//! idempotency keys (at-least-once, as after any crash).

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::{Result, to_ms};

/// Takes or renews the lease on `agency`'s queue for `holder` until `now + ttl`. Returns
/// whether `holder` holds it.
pub async fn hold(
    conn: &mut AnyConnection,
    agency: &str,
    holder: &str,
    now: DateTime<Utc>,
    ttl: std::time::Duration,
) -> Result<bool> {
    let expires = now + chrono::Duration::from_std(ttl).unwrap_or_default();
    let done = sqlx::query(
        "INSERT INTO delivery_leases (agency, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (agency) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE delivery_leases.holder = excluded.holder OR delivery_leases.expires_at < $4",
    )
    .bind(agency)
    .bind(holder)
    .bind(to_ms(expires))
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Gives the lease up (a clean stop), so another instance need not wait for it to lapse.
pub async fn release(conn: &mut AnyConnection, agency: &str, holder: &str) -> Result<()> {
    sqlx::query("DELETE FROM delivery_leases WHERE agency = $1 AND holder = $2")
        .bind(agency)
        .bind(holder)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
