//! The periodic evaluator: resolves alerts whose condition no longer holds.
//!
//! Why an evaluator rather than a hook at each place a condition clears: dead letters leave the
//! dead state through the API, the CLI, the dashboard and retention; handoffs stop being overdue
//! when answered, closed or paused; a held input stops being held when replayed or discarded.
//! A hook in each of those paths would be easy to miss in the next one added. The evaluator
//! asks the store the same question the alert asked, once per notifier tick, only for alerts
//! that are open (few), so it is cheap. The one condition with a natural single hook, an agency
//! delivering again (`agency_failing`), is resolved by the delivery worker at that moment.
//!
//! Alerts about the configuration (an uncovered recipient, an unknown agency, an agency with no
//! sink) resolve when the running configuration no longer has the problem: after a fixed
//! configuration is deployed, the first tick resolves them. Inputs denied before stay denied
//! (they are in the audit log); the alert is about the configuration, which is now right.

use std::str::FromStr;

use sqlx::{AnyConnection, Row};
use throughline_contracts::AgencyId;
use throughline_contracts::kind::EventKind;

use crate::config::Validated;
use crate::store::{self, Store, StoreError, to_ms};

/// Resolves every open alert whose condition has cleared.
pub async fn run(store: &Store, config: &Validated) -> Result<(), StoreError> {
    let cleared = {
        let mut conn = store.acquire().await?;
        cleared(&mut conn, config).await?
    };
    // Each in its own transaction: the alert's status and its "resolved" notice together.
    for key in cleared {
        let mut tx = store.begin().await?;
        store::alerts::resolve(&mut tx, &key).await?;
        tx.commit().await?;
    }
    possible_matches(store).await
}

/// Possible matches waiting for a person to decide are one alert, `possible_matches_waiting`:
/// opened when the first is waiting, resolved when none is. One alert for all of them, not one
/// each, because a bulk import can propose many at once and each is already listed on the
/// dashboard's identity review page; operators need to hear that the queue is not empty.
async fn possible_matches(store: &Store) -> Result<(), StoreError> {
    const KEY: &str = "possible_matches_waiting";
    let (waiting, open) = {
        let mut conn = store.acquire().await?;
        let waiting = sqlx::query(
            "SELECT COUNT(*) AS n FROM identity_reviews WHERE kind = 'possible_match' AND status = 'open'",
        )
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("n")?;
        let open = !store::alerts::open_of_kind(&mut conn, KEY)
            .await?
            .is_empty();
        (waiting, open)
    };
    if waiting > 0 && !open {
        let mut tx = store.begin().await?;
        store::alerts::raise(
            &mut tx,
            KEY,
            KEY,
            None,
            &format!("{waiting} possible match(es) wait for review on the identity review page"),
        )
        .await?;
        tx.commit().await?;
    } else if waiting == 0 && open {
        let mut tx = store.begin().await?;
        store::alerts::resolve(&mut tx, KEY).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The keys of the open alerts whose condition no longer holds.
async fn cleared(conn: &mut AnyConnection, config: &Validated) -> Result<Vec<String>, StoreError> {
    let mut cleared = configuration(conn, config).await?;
    for alert in store::alerts::open_of_kind(conn, "dead_letter").await? {
        let Some(agency) = alert.agency.as_deref() else {
            continue;
        };
        if count(
            conn,
            "SELECT COUNT(*) AS n FROM deliveries WHERE agency = $1 AND status = 'dead'",
            agency,
        )
        .await?
            == 0
        {
            cleared.push(alert.dedupe_key);
        }
    }
    for alert in store::alerts::open_of_kind(conn, "handoff_overdue").await? {
        let Some(agency) = alert.agency.as_deref() else {
            continue;
        };
        let overdue = sqlx::query(
            "SELECT COUNT(*) AS n FROM handoffs
             WHERE to_agency = $1 AND state IN ('made', 'delivered') AND due_at < $2",
        )
        .bind(agency)
        .bind(to_ms(chrono::Utc::now()))
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("n")?;
        if overdue == 0 {
            cleared.push(alert.dedupe_key);
        }
    }
    for alert in store::alerts::open_of_kind(conn, "identity_conflict").await? {
        let Some(input) = alert.dedupe_key.strip_prefix("identity_conflict:") else {
            continue;
        };
        if count(
            conn,
            "SELECT COUNT(*) AS n FROM quarantine WHERE id = $1 AND status = 'held'",
            input,
        )
        .await?
            == 0
        {
            cleared.push(alert.dedupe_key);
        }
    }
    Ok(cleared)
}

/// Alerts whose problem was in the configuration.
async fn configuration(
    conn: &mut AnyConnection,
    config: &Validated,
) -> Result<Vec<String>, StoreError> {
    let mut cleared = Vec::new();
    let today = chrono::Utc::now().date_naive();
    let agency = |id: &str| {
        AgencyId::parse(id)
            .ok()
            .and_then(|a| config.agencies.get(&a))
    };
    for alert in store::alerts::open_of_kind(conn, "no_sharing_agreement").await? {
        // `no_sharing_agreement:<agency>:<kind>`
        let mut parts = alert.dedupe_key.splitn(3, ':').skip(1);
        let (Some(id), Some(kind)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(kind) = EventKind::from_str(kind) else {
            continue;
        };
        let covered = agency(id).is_some_and(|a| {
            config
                .agreements
                .iter()
                .any(|g| g.agency == a.id && g.covers(kind, today))
        });
        if covered {
            cleared.push(alert.dedupe_key);
        }
    }
    for alert in store::alerts::open_of_kind(conn, "unknown_agency").await? {
        let id = alert.dedupe_key.trim_start_matches("unknown_agency:");
        if agency(id).is_some() {
            cleared.push(alert.dedupe_key);
        }
    }
    for alert in store::alerts::open_of_kind(conn, "no_sink").await? {
        let id = alert.dedupe_key.trim_start_matches("no_sink:");
        if agency(id).is_some_and(|a| a.sink.is_some()) {
            cleared.push(alert.dedupe_key);
        }
    }
    Ok(cleared)
}

async fn count(
    conn: &mut AnyConnection,
    sql: &'static str,
    value: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(sql)
        .bind(value)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("n")?)
}
