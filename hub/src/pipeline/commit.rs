//! Commit: one transaction per input. Inside it, each event's identity is resolved, involvements
//! updated and recipients routed, then the event, its deliveries, audit entries and alerts are
//! written. Either all of an input's events commit, or none does.
//!
//! Transactions are serialised within the process (the caller holds the commit lock), so two
//! inputs about the same new child cannot both create it.

use std::collections::BTreeSet;

use throughline_contracts::AgencyId;
use throughline_contracts::event::Event;
use uuid::Uuid;

use crate::config::Validated;
use crate::store::{self, Store};

use super::{Stop, identity, involvement, route};

pub(super) struct Committed {
    pub event_ids: Vec<Uuid>,
    /// Every event (or the whole input, by message id) was already committed.
    pub duplicate: bool,
    /// Agencies with new deliveries: their workers are woken.
    pub wake: BTreeSet<AgencyId>,
}

pub(super) async fn commit(
    store: &Store,
    config: &Validated,
    source_id: &str,
    message_id: Option<&str>,
    events: &[Event],
) -> Result<Committed, Stop> {
    let mut tx = store.begin().await?;
    if let Some(mid) = message_id
        && let Some(event_ids) = store::inputs::seen(&mut tx, source_id, mid).await?
    {
        return Ok(Committed {
            event_ids,
            duplicate: true,
            wake: BTreeSet::new(),
        });
    }
    let mut event_ids = Vec::with_capacity(events.len());
    let mut duplicates = 0;
    let mut wake = BTreeSet::new();
    for event in events {
        event_ids.push(event.id);
        if store::events::exists(&mut tx, event.id).await? {
            duplicates += 1;
            continue;
        }
        let child = match identity::resolve(&mut tx, event).await? {
            identity::Resolution::Child(c) => c,
            identity::Resolution::Conflict(detail) => {
                tx.rollback().await?;
                return Err(Stop::Conflict(detail));
            }
        };
        involvement::update(&mut tx, child, event).await?;
        let notifications = route::route(&mut tx, config, child, event).await?;
        store::events::insert(&mut tx, event, source_id, child).await?;
        for n in &notifications {
            store::deliveries::insert(&mut tx, n).await?;
            wake.insert(n.recipient.clone());
        }
    }
    if let Some(mid) = message_id {
        store::inputs::record(&mut tx, source_id, mid, &event_ids).await?;
    }
    tx.commit().await?;
    Ok(Committed {
        event_ids,
        duplicate: duplicates == events.len(),
        wake,
    })
}
