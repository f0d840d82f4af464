//! The routing core: one pipeline, each step its own module, run in this order:
//!
//! receive → normalise → validate → authorise → resolve identity → update involvements → route → commit →
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

pub mod authorise;
mod commit;
pub mod history;
pub mod idempotency;
pub mod identity;
pub mod involvement;
pub mod normalise;
pub mod receive;
pub mod route;
pub mod validate;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{InputOutcome, NormaliseContext, RawInput};
use throughline_contracts::event::FieldProblem;
use tokio::sync::Mutex;
use tracing::field::Empty;
use tracing::{Instrument, Span};
use uuid::Uuid;

use crate::config::{self, Validated};
use crate::deliver::Wakers;
use crate::metrics::{self, Metrics};
use crate::store::{self, Store, StoreError};
use crate::telemetry::{self, TARGET};

/// Pipeline steps, as recorded in quarantine.
pub mod step {
    pub const RECEIVE: &str = "receive";
    pub const NORMALISE: &str = "normalise";
    pub const VALIDATE: &str = "validate";
    /// A source asserted what is not its own to say (`pipeline::authorise`).
    pub const AUTHORISE: &str = "authorise";
    /// An event id or idempotency key already used for a different body.
    pub const IDEMPOTENCY: &str = "idempotency";
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
    /// Inputs and delivery attempts counted per source and agency, for `/metrics`.
    metrics: Arc<Metrics>,
}

/// How many event ids an `ingest` span lists; a larger input (a CSV extract) gives its count.
const SPAN_EVENT_IDS: usize = 16;

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
            metrics: Arc::new(Metrics::from_config(&config)),
            config,
            store,
            wakers,
            commit_lock: Mutex::new(()),
        }
    }

    /// The counters and histograms this pipeline (and its delivery workers) keep.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn config(&self) -> &Validated {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs one input through every step up to commit, and says what became of it.
    pub async fn process(&self, raw: &RawInput, format: &str, origin: Origin) -> InputOutcome {
        let span = self.ingest_span(raw, format);
        self.process_in(raw, format, origin, span, Instant::now())
            .await
    }

    /// The `ingest` span of one input: the root of its trace, or a child of the caller's span
    /// (HTTP ingest with a `traceparent`). Its fields come from the configuration, never from
    /// the input: an unknown source is `unknown`.
    fn ingest_span(&self, raw: &RawInput, format: &str) -> Span {
        let (source_id, adapter) = match self.config.sources.get(&raw.source_id) {
            Some(s) => (s.id.as_str(), s.transport.adapter()),
            None => (metrics::UNKNOWN_SOURCE, metrics::UNKNOWN_SOURCE),
        };
        tracing::info_span!(
            target: TARGET,
            "ingest",
            source_id,
            adapter,
            format,
            outcome = Empty,
            events = Empty,
            event_ids = Empty,
            quarantine_id = Empty,
            step = Empty,
            otel.status_code = Empty,
        )
    }

    /// Runs one input inside its `ingest` span, then records its outcome there and in the
    /// metrics. `started` is when the input's processing began (a group's start, for a group).
    async fn process_in(
        &self,
        raw: &RawInput,
        format: &str,
        origin: Origin,
        span: Span,
        started: Instant,
    ) -> InputOutcome {
        let traceparent = telemetry::traceparent(&span);
        let outcome = self
            .run(raw, format, origin, traceparent.as_deref())
            .instrument(span.clone())
            .await;
        self.finish(raw, &span, &outcome, started);
        outcome
    }

    /// Records what became of an input on its span and in the metrics.
    fn finish(&self, raw: &RawInput, span: &Span, outcome: &InputOutcome, started: Instant) {
        self.metrics
            .input(&raw.source_id, outcome, started.elapsed());
        if span.is_disabled() {
            return;
        }
        span.record("outcome", metrics::input_outcome(outcome));
        match outcome {
            InputOutcome::Committed { event_ids, .. } => {
                span.record("events", event_ids.len());
                let listed: Vec<String> = event_ids
                    .iter()
                    .take(SPAN_EVENT_IDS)
                    .map(Uuid::to_string)
                    .collect();
                span.record("event_ids", listed.join(","));
            }
            InputOutcome::Quarantined {
                quarantine_id,
                step,
                ..
            } => {
                span.record("quarantine_id", tracing::field::display(quarantine_id));
                span.record("step", step.as_str());
            }
            InputOutcome::Unavailable { .. } => {
                span.record("otel.status_code", "error");
            }
        }
    }

    async fn run(
        &self,
        raw: &RawInput,
        format: &str,
        origin: Origin,
        traceparent: Option<&str>,
    ) -> InputOutcome {
        match self.try_process(raw, format, traceparent).await {
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
        let started = Instant::now();
        let span = self.ingest_span(raw, format);
        let outcome = self
            .quarantine(raw, format, step, problems, Origin::Fresh, None)
            .instrument(span.clone())
            .await;
        self.finish(raw, &span, &outcome, started);
        outcome
    }

    /// Receive, normalise and validate: everything before the transaction. Each step is a span
    /// under the current (`ingest`) span; a rejection records how many problems, not which values.
    fn prepare<'c>(&'c self, raw: &RawInput, format: &str) -> Result<Prepared<'c>, Stop> {
        let span = tracing::info_span!(target: TARGET, "receive", problems = Empty);
        let source = span
            .in_scope(|| receive::source_of(&self.config, raw))
            .map_err(|p| {
                span.record("problems", p.len());
                Stop::Reject(step::RECEIVE, p)
            })?;
        let ctx = NormaliseContext {
            source_id: source.id.clone(),
            agency: source.agency.clone(),
            system: source.system.clone(),
            adapter: source.transport.adapter().into(),
        };
        let span = tracing::info_span!(target: TARGET, "normalise", format, submissions = Empty, problems = Empty);
        let submissions = span
            .in_scope(|| normalise::normalise(&self.config.normalisers, raw, format, &ctx))
            .map_err(|r| {
                span.record("problems", r.problems.len());
                Stop::Reject(step::NORMALISE, r.problems)
            })?;
        span.record("submissions", submissions.len());
        let span = tracing::info_span!(target: TARGET, "validate", problems = Empty);
        span.in_scope(|| {
            validate::validate(&self.config, source, &submissions, chrono::Utc::now())
        })
        .map_err(|p| {
            span.record("problems", p.len());
            Stop::Reject(step::VALIDATE, p)
        })?;
        let span = tracing::info_span!(target: TARGET, "authorise", problems = Empty);
        span.in_scope(|| authorise::authorise(source, &submissions))
            .map_err(|p| {
                span.record("problems", p.len());
                Stop::Reject(step::AUTHORISE, p)
            })?;
        let supplied_ids = submissions.iter().filter_map(|s| s.id).collect();
        let digests = submissions
            .iter()
            .filter_map(|s| Some((s.id?, idempotency::canonical_sha256(s))))
            .collect();
        let body_sha256 = idempotency::input_sha256(&submissions);
        let events = submissions
            .into_iter()
            .map(|s| s.into_event(raw.received_at))
            .collect();
        Ok(Prepared {
            source,
            events: commit::Events {
                events,
                supplied_ids,
                digests,
                body_sha256,
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
        let started = Instant::now();
        // One trace per input, even committed together: each has its own `ingest` span, and its
        // own `commit` span inside the group's transaction.
        let spans: Vec<Span> = raws.iter().map(|r| self.ingest_span(r, format)).collect();
        let traces: Vec<Option<String>> = spans.iter().map(telemetry::traceparent).collect();
        let prepared: Vec<Result<Prepared, Stop>> = raws
            .iter()
            .zip(&spans)
            .map(|(r, span)| span.in_scope(|| self.prepare(r, format)))
            .collect();
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
            for (i, (raw, p)) in raws.iter().zip(&prepared).enumerate() {
                let Ok(Prepared { source, events }) = p else {
                    results.push(None);
                    continue;
                };
                let span = tracing::info_span!(target: TARGET, parent: &spans[i], "commit", events = events.events.len(), group = raws.len());
                match commit::commit_input(
                    &mut tx,
                    &self.config,
                    &source.id,
                    raw.message_id.as_deref(),
                    events,
                    traces[i].as_deref(),
                    &mut writes,
                )
                .instrument(span)
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
                    .zip(&spans)
                    .map(|(raw, span)| {
                        let outcome = InputOutcome::Unavailable {
                            reason: "the hub's store is unavailable; retry later".into(),
                        };
                        self.finish(raw, span, &outcome, started);
                        outcome
                    })
                    .collect();
            }
            Err(_) => {
                // A conflict in one input: give each its own transaction (in its same trace).
                let mut out = Vec::with_capacity(raws.len());
                for (raw, span) in raws.iter().zip(spans) {
                    out.push(
                        self.process_in(raw, format, Origin::Fresh, span, started)
                            .await,
                    );
                }
                return out;
            }
        };
        let mut outcomes = Vec::with_capacity(raws.len());
        let mut wake = BTreeSet::new();
        for ((raw, p), c) in raws.iter().zip(prepared).zip(committed) {
            let span = &spans[outcomes.len()];
            let outcome = match (p, c) {
                (_, Some(c)) => {
                    wake.extend(c.wake);
                    InputOutcome::Committed {
                        event_ids: c.event_ids,
                        duplicate: c.duplicate,
                    }
                }
                (Err(Stop::Reject(step, problems)), None) => {
                    self.quarantine(raw, format, step, problems, Origin::Fresh, None)
                        .instrument(span.clone())
                        .await
                }
                (Err(Stop::Conflict(detail)), None) => {
                    let problems = vec![FieldProblem::new("subject.identifiers", detail.clone())];
                    self.quarantine(
                        raw,
                        format,
                        step::IDENTITY,
                        problems,
                        Origin::Fresh,
                        Some(detail),
                    )
                    .instrument(span.clone())
                    .await
                }
                _ => InputOutcome::Unavailable {
                    reason: "the hub's store is unavailable; retry later".into(),
                },
            };
            self.finish(raw, span, &outcome, started);
            outcomes.push(outcome);
        }
        tracing::info!(inputs = raws.len(), "inputs committed together");
        self.wake_agencies(wake);
        outcomes
    }

    async fn try_process(
        &self,
        raw: &RawInput,
        format: &str,
        traceparent: Option<&str>,
    ) -> Result<(Vec<Uuid>, bool), Stop> {
        let Prepared { source, events } = self.prepare(raw, format)?;

        let span = tracing::info_span!(target: TARGET, "commit", events = events.events.len());
        let committed = async {
            let _serial = self.commit_lock.lock().await;
            commit::commit(
                &self.store,
                &self.config,
                &source.id,
                raw.message_id.as_deref(),
                &events,
                traceparent,
            )
            .await
        }
        .instrument(span)
        .await?;
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
        let span = tracing::info_span!(target: TARGET, "quarantine", step);
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
            if step == step::AUTHORISE || step == step::IDEMPOTENCY {
                audit_refusal(&mut tx, &raw.source_id, id, step, &problems).await?;
            }
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
        .instrument(span)
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

/// Every refusal is audited (house rule: deny by default, audit every refusal): one entry per
/// problem, naming the source, the field and the rule, never a value.
async fn audit_refusal(
    tx: &mut sqlx::AnyConnection,
    source_id: &str,
    quarantine_id: Uuid,
    step: &str,
    problems: &[FieldProblem],
) -> Result<(), StoreError> {
    let action = if step == step::AUTHORISE {
        "assertion.refused"
    } else {
        "idempotency.conflict"
    };
    for p in problems {
        store::audit::append(
            tx,
            &store::audit::AuditEntry {
                actor: source_id.to_owned(),
                action: action.into(),
                fields: Some(vec![p.field.clone()]),
                detail: Some(format!(
                    "{}: {} (quarantine item {quarantine_id})",
                    p.field, p.reason
                )),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(())
}
