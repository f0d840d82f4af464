//! Commit: one transaction per input. Inside it, each event's identity is resolved, involvements
//! updated and recipients routed, then the event, its deliveries, audit entries and alerts are
//! written. Either all of an input's events commit, or none does.
//!
//! Transactions are serialised within the process (the caller holds the commit lock), so two
//! inputs about the same new child cannot both create it.

use std::collections::{BTreeSet, HashMap};

use sqlx::AnyConnection;
use throughline_contracts::AgencyId;
use throughline_contracts::event::Event;
use tracing::Instrument;
use uuid::Uuid;

use crate::config::Validated;
use crate::handoff;
use crate::store::{self, Store, StoreError, audit::AuditEntry, deliveries::NewDelivery};
use crate::telemetry::TARGET;

use super::{Stop, history, idempotency, identity, involvement, route};

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
    /// The canonical body's SHA-256 of each event with a sender-chosen id
    /// (`pipeline::idempotency`): a resubmitted id is a duplicate only with the same body.
    pub digests: HashMap<Uuid, String>,
    /// The whole input's canonical SHA-256, recorded with its message id.
    pub body_sha256: String,
}

/// Rows an input's commit appends and nothing in the same transaction reads back (audit
/// entries, deliveries, message ids), held until the end of the transaction and written a few
/// hundred rows per statement. On SQLite every statement is a round trip to the database's
/// worker thread; these were most of an input's statements.
#[derive(Default)]
pub(super) struct Writes {
    audit: Vec<AuditEntry>,
    deliveries: Vec<NewDelivery>,
    inputs: Vec<store::inputs::Received>,
    /// Message ids known to be committed: read up front for a group, and added as inputs are
    /// written, so a redelivery inside the same group is still answered as a duplicate.
    known: HashMap<(String, String), store::inputs::Seen>,
    /// Digests of events with sender-chosen ids committed in this transaction, not yet written.
    event_digests: HashMap<Uuid, String>,
    /// The source whose message ids were all read up front: a miss there needs no query.
    prefetched: Option<String>,
}

impl Writes {
    /// Reads which of a group's message ids are already committed, in one statement.
    pub(super) async fn prefetch(
        &mut self,
        tx: &mut AnyConnection,
        source_id: &str,
        message_ids: &[&str],
    ) -> Result<(), StoreError> {
        for (mid, seen) in store::inputs::seen_many(tx, source_id, message_ids).await? {
            self.known.insert((source_id.to_owned(), mid), seen);
        }
        self.prefetched = Some(source_id.to_owned());
        Ok(())
    }

    async fn seen(
        &self,
        tx: &mut AnyConnection,
        source_id: &str,
        mid: &str,
    ) -> Result<Option<store::inputs::Seen>, StoreError> {
        if let Some(seen) = self.known.get(&(source_id.to_owned(), mid.to_owned())) {
            return Ok(Some(seen.clone()));
        }
        if self.prefetched.as_deref() == Some(source_id) {
            return Ok(None);
        }
        store::inputs::seen(tx, source_id, mid).await
    }

    /// Writes everything held, in order: deliveries after the events they reference.
    pub(super) async fn flush(&mut self, tx: &mut AnyConnection) -> Result<(), StoreError> {
        store::deliveries::insert_many(tx, &self.deliveries).await?;
        store::audit::append_many(tx, &self.audit).await?;
        store::inputs::record_many(tx, &self.inputs).await?;
        let digests: Vec<(Uuid, String)> = self.event_digests.drain().collect();
        store::digests::record_many(tx, &digests).await?;
        self.deliveries.clear();
        self.audit.clear();
        self.inputs.clear();
        Ok(())
    }
}

pub(super) async fn commit(
    store: &Store,
    config: &Validated,
    source_id: &str,
    message_id: Option<&str>,
    events: &Events,
    traceparent: Option<&str>,
) -> Result<Committed, Stop> {
    let mut tx = store.begin().await?;
    let mut writes = Writes::default();
    let committed = commit_input(
        &mut tx,
        config,
        source_id,
        message_id,
        events,
        traceparent,
        &mut writes,
    )
    .await;
    match committed {
        Ok(c) => {
            writes.flush(&mut tx).await?;
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
/// commit (group commit). The caller rolls back on any error. Each delivery keeps
/// `traceparent`, the input's trace context, so its attempts join the input's trace.
pub(super) async fn commit_input(
    tx: &mut AnyConnection,
    config: &Validated,
    source_id: &str,
    message_id: Option<&str>,
    events: &Events,
    traceparent: Option<&str>,
    writes: &mut Writes,
) -> Result<Committed, Stop> {
    if let Some(mid) = message_id
        && let Some(seen) = writes.seen(tx, source_id, mid).await?
    {
        if let Some(committed) = seen.body_sha256
            && committed != events.body_sha256
        {
            return Err(Stop::Reject(
                super::step::IDEMPOTENCY,
                vec![idempotency::conflict(
                    "idempotency_key",
                    "this idempotency key (HTTP Idempotency-Key, or the broker's message id)",
                    &committed,
                    &events.body_sha256,
                )],
            ));
        }
        return Ok(Committed {
            event_ids: seen.event_ids,
            duplicate: true,
            wake: BTreeSet::new(),
        });
    }
    let Events {
        events,
        supplied_ids,
        digests,
        body_sha256,
    } = events;
    let mut event_ids = Vec::with_capacity(events.len());
    let mut duplicates = 0;
    let mut wake = BTreeSet::new();
    for (i, event) in events.iter().enumerate() {
        event_ids.push(event.id);
        if supplied_ids.contains(&event.id) && store::events::exists(tx, event.id).await? {
            let committed = match writes.event_digests.get(&event.id) {
                Some(d) => Some(d.clone()),
                None => store::digests::of_event(tx, event.id).await?,
            };
            if let (Some(committed), Some(presented)) = (committed, digests.get(&event.id))
                && committed != *presented
            {
                let field = if events.len() > 1 {
                    format!("[{i}].id")
                } else {
                    "id".to_owned()
                };
                return Err(Stop::Reject(
                    super::step::IDEMPOTENCY,
                    vec![idempotency::conflict(
                        &field,
                        "this event id",
                        &committed,
                        presented,
                    )],
                ));
            }
            duplicates += 1;
            continue;
        }
        if let Some(d) = digests.get(&event.id) {
            writes.event_digests.insert(event.id, d.clone());
        }
        // Spans name the event and, once resolved, the hub's own (pseudonymous) child id: never
        // an identifier or demographic from the event.
        let span = tracing::info_span!(target: TARGET, "identity", event_id = %event.id, kind = event.kind().as_str(), child_id = tracing::field::Empty, outcome = tracing::field::Empty);
        let resolved = identity::resolve(tx, event)
            .instrument(span.clone())
            .await?;
        let (child, identifiers) = match resolved {
            identity::Resolution::Child(c, ids) => (c, ids),
            identity::Resolution::Conflict(detail) => {
                span.record("outcome", "conflict");
                return Err(Stop::Conflict(detail));
            }
        };
        span.record("child_id", tracing::field::display(child));
        // Decided before the event is written, so it is not taken for its own restatement.
        let history = history::is_history(tx, config, child, event).await?;
        involvement::update(tx, child, event)
            .instrument(tracing::info_span!(target: TARGET, "involvement", event_id = %event.id, child_id = %child))
            .await?;
        let cx = handoff::track::Context {
            config,
            child,
            identifiers: &identifiers,
            event,
            history,
            audit: Default::default(),
        };
        let tracked = handoff::track::track(tx, &cx)
            .instrument(tracing::info_span!(target: TARGET, "handoff", event_id = %event.id))
            .await;
        writes.audit.append(
            &mut cx
                .audit
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        match tracked {
            Ok(noticed) => wake.extend(noticed),
            Err(handoff::track::TrackError::Store(e)) => return Err(Stop::Store(e)),
            Err(handoff::track::TrackError::Reject(problem)) => {
                return Err(Stop::Reject(super::step::HANDOFF, vec![problem]));
            }
        }
        let route_span = tracing::info_span!(target: TARGET, "route", event_id = %event.id, recipients = tracing::field::Empty, history);
        // History is routed to nobody: agencies are told what is new, not the child's past again.
        let notifications = if history {
            writes.audit.push(AuditEntry {
                actor: "hub".into(),
                action: "route.none".into(),
                event_id: Some(event.id),
                detail: Some(format!(
                    "{}: history (restates the child's past), no recipient",
                    event.kind()
                )),
                ..Default::default()
            });
            Vec::new()
        } else {
            route::route(tx, config, child, &identifiers, event, &mut writes.audit)
                .instrument(route_span.clone())
                .await?
        };
        route_span.record("recipients", notifications.len());
        store::events::insert_marked(tx, event, source_id, child, history).await?;
        for n in notifications {
            wake.insert(n.recipient.clone());
            writes.deliveries.push(NewDelivery {
                notification: n,
                traceparent: traceparent.map(str::to_owned),
            });
        }
    }
    if let Some(mid) = message_id {
        writes.known.insert(
            (source_id.to_owned(), mid.to_owned()),
            store::inputs::Seen {
                event_ids: event_ids.clone(),
                body_sha256: Some(body_sha256.clone()),
            },
        );
        writes.inputs.push((
            source_id.to_owned(),
            mid.to_owned(),
            event_ids.clone(),
            body_sha256.clone(),
        ));
    }
    Ok(Committed {
        event_ids,
        // An input whose every record was filtered (a mapping's `only_if`) has no events: it is
        // accepted, not a duplicate, the first time; its message id is still recorded above.
        duplicate: !events.is_empty() && duplicates == events.len(),
        wake,
    })
}
