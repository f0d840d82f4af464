//! Commit: one transaction per input. Inside it, each event's identity is resolved, involvements
//! updated and recipients routed, then the event, its deliveries, audit entries and alerts are
//! written. Either all of an input's events commit, or none does.
//!
//! Transactions are serialised within the process (the caller holds the commit lock), so two
//! inputs about the same new child cannot both create it.

use std::collections::BTreeSet;

use sqlx::AnyConnection;
use throughline_contracts::AgencyId;
use throughline_contracts::event::Event;
use uuid::Uuid;

use crate::config::Validated;
use crate::handoff;
use crate::store::{self, Store};

use super::{Stop, identity, involvement, route};

pub(super) struct Committed {
    pub event_ids: Vec<Uuid>,
    /// Every event (or the whole input, by message id) was already committed.
    pub duplicate: bool,
    /// Agencies with new deliveries: their workers are woken.
    pub wake: BTreeSet<AgencyId>,
}

/// An input's events, with the ids their sender chose: only those can already be committed (a
/// resubmission after a lost answer); an id the hub generated just now cannot.
pub(super) struct Events {
    pub events: Vec<Event>,
    pub supplied_ids: BTreeSet<Uuid>,
}

pub(super) async fn commit(
    store: &Store,
    config: &Validated,
    source_id: &str,
    message_id: Option<&str>,
    events: &Events,
) -> Result<Committed, Stop> {
    let mut tx = store.begin().await?;
    let committed = commit_input(&mut tx, config, source_id, message_id, events).await;
    match committed {
        Ok(c) => {
            tx.commit().await?;
            Ok(c)
        }
        Err(stop) => {
            tx.rollback().await?;
            Err(stop)
        }
    }
}

/// Writes one input inside a transaction the caller owns, so several inputs can share one
/// commit (group commit). The caller rolls back on any error.
pub(super) async fn commit_input(
    tx: &mut AnyConnection,
    config: &Validated,
    source_id: &str,
    message_id: Option<&str>,
    events: &Events,
) -> Result<Committed, Stop> {
    if let Some(mid) = message_id
        && let Some(event_ids) = store::inputs::seen(tx, source_id, mid).await?
    {
        return Ok(Committed {
            event_ids,
            duplicate: true,
            wake: BTreeSet::new(),
        });
    }
    let Events {
        events,
        supplied_ids,
    } = events;
    let mut event_ids = Vec::with_capacity(events.len());
    let mut duplicates = 0;
    let mut wake = BTreeSet::new();
    for event in events {
        event_ids.push(event.id);
        if supplied_ids.contains(&event.id) && store::events::exists(tx, event.id).await? {
            duplicates += 1;
            continue;
        }
        let (child, identifiers) = match identity::resolve(tx, event).await? {
            identity::Resolution::Child(c, ids) => (c, ids),
            identity::Resolution::Conflict(detail) => return Err(Stop::Conflict(detail)),
        };
        involvement::update(tx, child, event).await?;
        let cx = handoff::track::Context {
            config,
            child,
            identifiers: &identifiers,
            event,
        };
        match handoff::track::track(tx, &cx).await {
            Ok(noticed) => wake.extend(noticed),
            Err(handoff::track::TrackError::Store(e)) => return Err(Stop::Store(e)),
            Err(handoff::track::TrackError::Reject(problem)) => {
                return Err(Stop::Reject(super::step::HANDOFF, vec![problem]));
            }
        }
        let notifications = route::route(tx, config, child, &identifiers, event).await?;
        store::events::insert(tx, event, source_id, child).await?;
        for n in &notifications {
            store::deliveries::insert(tx, n).await?;
            wake.insert(n.recipient.clone());
        }
    }
    if let Some(mid) = message_id {
        store::inputs::record(tx, source_id, mid, &event_ids).await?;
    }
    Ok(Committed {
        event_ids,
        duplicate: duplicates == events.len(),
        wake,
    })
}
