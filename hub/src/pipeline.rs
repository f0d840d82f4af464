//! The routing core: one pipeline, each step its own module, run in this order:
//!
//! receive → normalise → validate → resolve identity → update involvements → route → commit →
//! acknowledge the source → (the `deliver` module) deliver → record the outcome.
//!
//! Receive checks the raw input (a known source; the API has already authenticated it and
//! bounded its size). Validation runs on the normalised submissions, because what it checks
//! (envelope version, a source speaking for its own agency, agencies named in payloads) is only
//! expressible once the native format is read.
//!
//! [`Pipeline::process`] takes one raw input from any source and returns what became of it. It
//! either commits every event in the input, with all their deliveries, audit entries and alerts,
//! in one transaction; or it keeps the input whole in quarantine with the step and the specific
//! reasons. Only then does the caller acknowledge its source. An input is the unit: a CSV extract
//! with one bad row is quarantined whole, so an operator replays one thing, not half of one.

mod commit;
pub mod identity;
pub mod involvement;
pub mod normalise;
pub mod receive;
pub mod route;
pub mod validate;

use std::collections::BTreeSet;
use std::sync::Arc;

use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{InputOutcome, NormaliseContext, RawInput};
use throughline_contracts::event::FieldProblem;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::config::{self, Validated};
use crate::deliver::Wakers;
use crate::store::{self, Store, StoreError};

/// Pipeline steps, as recorded in quarantine.
pub mod step {
    pub const RECEIVE: &str = "receive";
    pub const NORMALISE: &str = "normalise";
    pub const VALIDATE: &str = "validate";
    pub const IDENTITY: &str = "identity";
    pub const HANDOFF: &str = "handoff";
}

/// What a replayed or fresh input is: where a rejection goes.
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    /// A new input: a rejection creates a quarantine item.
    Fresh,
    /// A replay of this quarantine item: a rejection updates it instead.
    Replay(Uuid),
}

/// An input that passed every step before commit.
struct Prepared<'c> {
    source: &'c config::Source,
    events: commit::Events,
}

pub struct Pipeline {
    config: Arc<Validated>,
    store: Store,
    wakers: Wakers,
    /// Serialises identity resolution and commit within this process, so two inputs about the
    /// same new child cannot both create it.
    commit_lock: Mutex<()>,
}

/// Why an input stopped before commit.
pub(crate) enum Stop {
    Reject(&'static str, Vec<FieldProblem>),
    Conflict(String),
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Store(e.into())
    }
}

impl Pipeline {
    pub fn new(config: Arc<Validated>, store: Store, wakers: Wakers) -> Self {
        Self {
            config,
            store,
            wakers,
            commit_lock: Mutex::new(()),
        }
    }

    pub fn config(&self) -> &Validated {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs one input through every step up to commit, and says what became of it.
    pub async fn process(&self, raw: &RawInput, format: &str, origin: Origin) -> InputOutcome {
        match self.try_process(raw, format).await {
            Ok((event_ids, duplicate)) => {
                if let Origin::Replay(qid) = origin
                    && let Err(e) = self.mark_replayed(qid, &event_ids).await
                {
                    tracing::error!(quarantine_id = %qid, error = %e, "replay committed but could not mark the quarantine item");
                }
                InputOutcome::Committed {
                    event_ids,
                    duplicate,
                }
            }
            Err(Stop::Reject(step, problems)) => {
                self.quarantine(raw, format, step, problems, origin, None)
                    .await
            }
            Err(Stop::Conflict(detail)) => {
                let problems = vec![FieldProblem::new("subject.identifiers", detail.clone())];
                self.quarantine(raw, format, step::IDENTITY, problems, origin, Some(detail))
                    .await
            }
            Err(Stop::Store(e)) => {
                tracing::error!(source_id = %raw.source_id, error = %e, "store unavailable; input not acknowledged");
                InputOutcome::Unavailable {
                    reason: "the hub's store is unavailable; retry later".into(),
                }
            }
        }
    }

    /// Keeps a fresh input in quarantine that was rejected before it could enter the pipeline:
    /// a reader that splits one file into many inputs (a CTF, pupil by pupil) finds some of
    /// them unreadable itself, and each still belongs in quarantine alone, with its problems.
    pub async fn quarantine_input(
        &self,
        raw: &RawInput,
        format: &str,
        step: &'static str,
        problems: Vec<FieldProblem>,
    ) -> InputOutcome {
        self.quarantine(raw, format, step, problems, Origin::Fresh, None)
            .await
    }

    /// Receive, normalise and validate: everything before the transaction.
    fn prepare<'c>(&'c self, raw: &RawInput, format: &str) -> Result<Prepared<'c>, Stop> {
        let source =
            receive::source_of(&self.config, raw).map_err(|p| Stop::Reject(step::RECEIVE, p))?;
        let ctx = NormaliseContext {
            source_id: source.id.clone(),
            agency: source.agency.clone(),
            system: source.system.clone(),
            adapter: source.transport.adapter().into(),
        };
        let submissions = normalise::normalise(raw, format, &ctx)
            .map_err(|r| Stop::Reject(step::NORMALISE, r.problems))?;
        validate::validate(&self.config, source, &submissions, chrono::Utc::now())
            .map_err(|p| Stop::Reject(step::VALIDATE, p))?;
        let supplied_ids = submissions.iter().filter_map(|s| s.id).collect();
        let events = submissions
            .into_iter()
            .map(|s| s.into_event(raw.received_at))
            .collect();
        Ok(Prepared {
            source,
            events: commit::Events {
                events,
                supplied_ids,
            },
        })
    }

    /// Runs several inputs from one source through the pipeline, committing all that pass
    /// validation in ONE transaction (group commit), and returns each one's outcome in order.
    /// Each input is still all-or-nothing: an identity conflict in any of them rolls the group
    /// back and the inputs are processed one at a time instead.
    pub async fn process_batch(&self, raws: &[RawInput], format: &str) -> Vec<InputOutcome> {
        if raws.len() == 1 {
            return vec![self.process(&raws[0], format, Origin::Fresh).await];
        }
        let prepared: Vec<Result<Prepared, Stop>> =
            raws.iter().map(|r| self.prepare(r, format)).collect();
        let group: Result<Vec<Option<commit::Committed>>, Stop> = async {
            let _serial = self.commit_lock.lock().await;
            let mut tx = self.store.begin().await?;
            let mut writes = commit::Writes::default();
            // One source per group (see receive::run_source): its message ids in one read.
            if let Some(first) = raws.first() {
                let mids: Vec<&str> = raws
                    .iter()
                    .filter_map(|r| r.message_id.as_deref())
                    .collect();
                if raws.iter().all(|r| r.source_id == first.source_id) && !mids.is_empty() {
                    writes.prefetch(&mut tx, &first.source_id, &mids).await?;
                }
            }
            let mut results = Vec::with_capacity(raws.len());
            for (raw, p) in raws.iter().zip(&prepared) {
                let Ok(Prepared { source, events }) = p else {
                    results.push(None);
                    continue;
                };
                match commit::commit_input(
                    &mut tx,
                    &self.config,
                    &source.id,
                    raw.message_id.as_deref(),
                    events,
                    &mut writes,
                )
                .await
                {
                    Ok(c) => results.push(Some(c)),
                    Err(stop) => {
                        tx.rollback().await?;
                        return Err(stop);
                    }
                }
            }
            writes.flush(&mut tx).await?;
            tx.commit().await?;
            Ok(results)
        }
        .await;
        let committed = match group {
            Ok(c) => c,
            Err(Stop::Store(e)) => {
                tracing::error!(error = %e, "store unavailable; inputs not acknowledged");
                return raws
                    .iter()
                    .map(|_| InputOutcome::Unavailable {
                        reason: "the hub's store is unavailable; retry later".into(),
                    })
                    .collect();
            }
            Err(_) => {
                // A conflict in one input: give each its own transaction.
                let mut out = Vec::with_capacity(raws.len());
                for raw in raws {
                    out.push(self.process(raw, format, Origin::Fresh).await);
                }
                return out;
            }
        };
        let mut outcomes = Vec::with_capacity(raws.len());
        let mut wake = BTreeSet::new();
        for ((raw, p), c) in raws.iter().zip(prepared).zip(committed) {
            match (p, c) {
                (_, Some(c)) => {
                    wake.extend(c.wake);
                    outcomes.push(InputOutcome::Committed {
                        event_ids: c.event_ids,
                        duplicate: c.duplicate,
                    });
                }
                (Err(Stop::Reject(step, problems)), None) => {
                    outcomes.push(
                        self.quarantine(raw, format, step, problems, Origin::Fresh, None)
                            .await,
                    );
                }
                (Err(Stop::Conflict(detail)), None) => {
                    let problems = vec![FieldProblem::new("subject.identifiers", detail.clone())];
                    outcomes.push(
                        self.quarantine(
                            raw,
                            format,
                            step::IDENTITY,
                            problems,
                            Origin::Fresh,
                            Some(detail),
                        )
                        .await,
                    );
                }
                _ => outcomes.push(InputOutcome::Unavailable {
                    reason: "the hub's store is unavailable; retry later".into(),
                }),
            }
        }
        tracing::info!(inputs = raws.len(), "inputs committed together");
        self.wake_agencies(wake);
        outcomes
    }

    async fn try_process(&self, raw: &RawInput, format: &str) -> Result<(Vec<Uuid>, bool), Stop> {
        let Prepared { source, events } = self.prepare(raw, format)?;

        let committed = {
            let _serial = self.commit_lock.lock().await;
            commit::commit(
                &self.store,
                &self.config,
                &source.id,
                raw.message_id.as_deref(),
                &events,
            )
            .await?
        };
        tracing::info!(
            source_id = %source.id,
            events = committed.event_ids.len(),
            duplicate = committed.duplicate,
            "input committed"
        );
        self.wake_agencies(committed.wake);
        Ok((committed.event_ids, committed.duplicate))
    }

    /// Holds the commit lock: for work outside the pipeline (the handoff clock) that must not
    /// interleave with a commit.
    pub(crate) async fn commit_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.commit_lock.lock().await
    }

    /// Wakes the delivery workers of agencies with new deliveries.
    pub(crate) fn wake_agencies(&self, agencies: BTreeSet<AgencyId>) {
        for a in agencies {
            self.wakers.wake(&a);
        }
    }

    async fn quarantine(
        &self,
        raw: &RawInput,
        format: &str,
        step: &'static str,
        problems: Vec<FieldProblem>,
        origin: Origin,
        conflict: Option<String>,
    ) -> InputOutcome {
        let result: Result<Uuid, StoreError> = async {
            let mut tx = self.store.begin().await?;
            let id = match origin {
                Origin::Fresh => {
                    store::quarantine::insert(&mut tx, raw, format, step, &problems).await?
                }
                Origin::Replay(id) => {
                    store::quarantine::update_reasons(&mut tx, id, step, &problems).await?;
                    id
                }
            };
            if let Some(detail) = &conflict {
                store::identity::open_review(
                    &mut tx,
                    "conflict",
                    None,
                    None,
                    None,
                    Some(id),
                    detail,
                )
                .await?;
                store::alerts::raise(
                    &mut tx,
                    &format!("identity_conflict:{id}"),
                    "identity_conflict",
                    None,
                    &format!("conflicting identifiers: input {id} held for review"),
                )
                .await?;
            }
            tx.commit().await?;
            Ok(id)
        }
        .await;
        match result {
            Ok(quarantine_id) => {
                tracing::warn!(
                    source_id = %raw.source_id,
                    %quarantine_id,
                    step,
                    fields = %problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>().join(","),
                    "input rejected and quarantined"
                );
                InputOutcome::Quarantined {
                    quarantine_id,
                    step: step.to_owned(),
                    problems,
                }
            }
            Err(e) => {
                tracing::error!(source_id = %raw.source_id, error = %e, "could not quarantine; input not acknowledged");
                InputOutcome::Unavailable {
                    reason: "the hub's store is unavailable; retry later".into(),
                }
            }
        }
    }

    async fn mark_replayed(&self, qid: Uuid, event_ids: &[Uuid]) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        store::quarantine::resolve(&mut tx, qid, "replayed", "operator", Some(event_ids)).await?;
        store::audit::append(
            &mut tx,
            &store::audit::AuditEntry {
                actor: "operator".into(),
                action: "quarantine.replayed".into(),
                detail: Some(format!(
                    "quarantine item {qid} replayed into {} event(s)",
                    event_ids.len()
                )),
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
