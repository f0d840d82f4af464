//! One agency's delivery worker.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{DeliveryOutcome, Sink};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use crate::metrics::{self, Metrics};
use crate::store::{self, Store, StoreError, audit::AuditEntry, deliveries::Delivery};
use crate::telemetry::{self, TARGET};

use super::Settings;

/// How many pending deliveries one pass looks at.
const BATCH: i64 = 200;
/// Failed attempts on one delivery after which its agency counts as failing (an `agency_failing`
/// alert): one retry is ordinary, three in a row is a problem operators should hear about.
const FAILING_AFTER_ATTEMPTS: i64 = 3;

/// Outcomes are recorded together once this many are waiting...
const RECORD_EVERY: usize = 64;
/// ...or once the oldest has waited this long, so the store never lags far behind the sink.
const RECORD_WITHIN: Duration = Duration::from_millis(50);

pub(super) struct Worker {
    pub agency: AgencyId,
    /// The sink's adapter (`webhook`, `amqp`...), for spans.
    pub adapter: &'static str,
    pub sink: Arc<dyn Sink>,
    /// Attempts counted and timed per agency, for `/metrics`.
    pub metrics: Arc<Metrics>,
    pub store: Store,
    pub notify: Arc<Notify>,
    pub settings: Settings,
    pub cancel: CancellationToken,
    /// This process's name on the queue's lease (see `store::leases`).
    pub holder: String,
}

impl Worker {
    pub async fn run(self) {
        tracing::info!(agency = %self.agency, "delivery worker started");
        loop {
            let wait = match self.hold().await {
                // Another instance delivers this queue: look again within a poll interval.
                Ok(false) => Some(self.settings.poll_interval),
                // An operator paused this agency: its queue waits, looked at again each poll.
                Ok(true) if self.paused().await.unwrap_or(false) => {
                    Some(self.settings.poll_interval)
                }
                Ok(true) => self.pass().await.unwrap_or_else(|e| {
                    tracing::error!(agency = %self.agency, error = %e, "delivery pass failed; will retry");
                    Some(self.settings.poll_interval)
                }),
                Err(e) => {
                    tracing::error!(agency = %self.agency, error = %e, "delivery lease unavailable; will retry");
                    Some(self.settings.poll_interval)
                }
            };
            let wait = wait
                .unwrap_or(self.settings.poll_interval)
                .min(self.settings.poll_interval);
            if wait.is_zero() {
                if self.cancel.is_cancelled() {
                    break;
                }
                continue;
            }
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        if let Ok(mut conn) = self.store.pool().acquire().await {
            let _ = store::leases::release(&mut conn, self.agency.as_str(), &self.holder).await;
        }
        tracing::info!(agency = %self.agency, "delivery worker stopped");
    }

    /// Whether an operator paused deliveries to this agency (read once per pass, not per
    /// delivery: a pause takes effect after the batch in hand).
    async fn paused(&self) -> Result<bool, StoreError> {
        let mut conn = self.store.pool().acquire().await?;
        store::agencies::is_paused(&mut conn, self.agency.as_str()).await
    }

    /// Takes or renews this process's lease on the agency's queue.
    async fn hold(&self) -> Result<bool, StoreError> {
        let mut conn = self.store.pool().acquire().await?;
        store::leases::hold(
            &mut conn,
            self.agency.as_str(),
            &self.holder,
            chrono::Utc::now(),
            self.settings.lease,
        )
        .await
    }

    /// Attempts every due delivery once, in queue order, keeping each child's order. Returns how
    /// long until the next one is due: zero if it did work and more may be waiting.
    async fn pass(&self) -> Result<Option<Duration>, StoreError> {
        use futures_util::StreamExt;
        use futures_util::stream::FuturesUnordered;

        let pending = {
            let mut conn = self.store.pool().acquire().await?;
            store::deliveries::pending_for_agency(&mut conn, self.agency.as_str(), BATCH).await?
        };
        let full_batch = pending.len() as i64 == BATCH;
        // Children whose next notification must wait: one is in flight, retrying, or waiting.
        let mut waiting_children: HashSet<Uuid> = HashSet::new();
        let mut in_flight_children: HashSet<Uuid> = HashSet::new();
        let mut deferred = false;
        let mut next_due: Option<Duration> = None;
        let mut attempted = false;
        let mut unrecorded: Vec<(Delivery, DeliveryOutcome)> = Vec::new();
        let mut oldest_unrecorded = Instant::now();
        let mut in_flight = FuturesUnordered::new();
        let concurrency = self.settings.concurrency.max(1);

        let settle = |d: Delivery,
                      outcome: DeliveryOutcome,
                      waiting: &mut HashSet<Uuid>,
                      in_flight_children: &mut HashSet<Uuid>,
                      unrecorded: &mut Vec<(Delivery, DeliveryOutcome)>,
                      next_due: &mut Option<Duration>| {
            in_flight_children.remove(&d.child_id);
            if !matches!(
                outcome,
                DeliveryOutcome::Delivered | DeliveryOutcome::Permanent { .. }
            ) {
                // Later notifications for this child wait behind this one.
                waiting.insert(d.child_id);
                let until = self.settings.backoff.delay(1, None);
                *next_due = Some(next_due.map_or(until, |n| n.min(until)));
            }
            unrecorded.push((d, outcome));
        };

        // Waits for attempts to finish until at most `$limit` are in flight (or shutdown).
        macro_rules! drain_to {
            ($limit:expr) => {
                while in_flight.len() > $limit {
                    let done = tokio::select! {
                        done = in_flight.next() => done,
                        _ = self.cancel.cancelled() => None,
                    };
                    let Some((done, outcome)) = done else { break };
                    settle(
                        done,
                        outcome,
                        &mut waiting_children,
                        &mut in_flight_children,
                        &mut unrecorded,
                        &mut next_due,
                    );
                    if unrecorded.len() == 1 {
                        oldest_unrecorded = Instant::now();
                    }
                }
            };
        }

        let mut lost = false;
        for d in pending {
            if self.cancel.is_cancelled() {
                break;
            }
            if waiting_children.contains(&d.child_id) {
                continue;
            }
            if in_flight_children.contains(&d.child_id) {
                // Its predecessor is still in flight: keep order, try again next pass.
                waiting_children.insert(d.child_id);
                deferred = true;
                continue;
            }
            let now = chrono::Utc::now();
            if d.next_attempt_at > now {
                waiting_children.insert(d.child_id);
                let until = (d.next_attempt_at - now).to_std().unwrap_or_default();
                next_due = Some(next_due.map_or(until, |n| n.min(until)));
                continue;
            }
            drain_to!(concurrency - 1);
            if self.cancel.is_cancelled() {
                break;
            }
            if !unrecorded.is_empty()
                && (unrecorded.len() >= RECORD_EVERY
                    || oldest_unrecorded.elapsed() >= RECORD_WITHIN)
            {
                self.record(std::mem::take(&mut unrecorded)).await?;
                // A long pass renews the queue's lease as it goes; lost (this instance was too
                // slow, and another took over), it stops starting deliveries.
                if !self.hold().await? {
                    lost = true;
                    break;
                }
            }
            attempted = true;
            in_flight_children.insert(d.child_id);
            let sink = &self.sink;
            let span = self.attempt_span(&d);
            let traceparent = telemetry::traceparent(&span);
            let (metrics, agency) = (&self.metrics, &self.agency);
            in_flight.push(async move {
                let started = Instant::now();
                let outcome = sink
                    .deliver_traced(&d.notification, traceparent.as_deref())
                    .instrument(span.clone())
                    .await;
                metrics.attempt(agency, &outcome, started.elapsed());
                record_attempt(&span, &outcome);
                (d, outcome)
            });
        }
        // Everything still in flight is recorded just below, so its timestamp is not needed.
        #[allow(unused_assignments)]
        {
            drain_to!(0);
        }
        self.record(unrecorded).await?;
        if lost {
            tracing::warn!(agency = %self.agency, "delivery lease lost to another instance; this one stops delivering the queue");
            return Ok(Some(self.settings.poll_interval));
        }
        if self.cancel.is_cancelled() || deferred || (attempted && full_batch) {
            return Ok(Some(Duration::ZERO));
        }
        Ok(next_due)
    }

    /// The span of one attempt: a child of the input's `ingest` span through the trace context
    /// stored with the delivery, so every attempt, however much later, is in the input's trace.
    fn attempt_span(&self, d: &Delivery) -> tracing::Span {
        let span = tracing::info_span!(
            target: TARGET,
            "deliver",
            agency = %self.agency,
            adapter = self.adapter,
            delivery_id = %d.id,
            event_id = %d.event_id,
            child_id = %d.child_id,
            kind = d.notification.kind.as_str(),
            attempt = d.attempts + 1,
            outcome = Empty,
            reason = Empty,
            otel.kind = "client",
            otel.status_code = Empty,
        );
        if let Some(parent) = &d.traceparent {
            telemetry::set_parent(&span, parent);
        }
        span
    }

    /// Records a run of attempts' outcomes in one transaction (group commit: one fsync for many
    /// deliveries). Until it commits, a crash only means those notifications are sent again,
    /// with the same idempotency keys.
    async fn record(&self, outcomes: Vec<(Delivery, DeliveryOutcome)>) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let (delivered, others): (Vec<_>, Vec<_>) = outcomes
            .iter()
            .partition(|(_, o)| matches!(o, DeliveryOutcome::Delivered));
        let mut tx = self.store.begin().await?;
        if !delivered.is_empty() {
            let ids: Vec<Uuid> = delivered.iter().map(|(d, _)| d.id).collect();
            store::deliveries::mark_delivered_many(&mut tx, &ids).await?;
            let entries: Vec<AuditEntry> = delivered
                .iter()
                .map(|(d, _)| AuditEntry {
                    actor: "hub".into(),
                    action: "delivery.delivered".into(),
                    event_id: Some(d.event_id),
                    agency: Some(d.agency.clone()),
                    sharing_agreement: Some(d.notification.sharing_agreement.clone()),
                    detail: Some(format!(
                        "notification {} delivered on attempt {}",
                        d.id,
                        d.attempts + 1
                    )),
                    ..Default::default()
                })
                .collect();
            store::audit::append_many(&mut tx, &entries).await?;
            // The agency takes deliveries again: its `agency_failing` alert, if open, resolves.
            store::alerts::resolve(&mut tx, &format!("agency_failing:{}", self.agency)).await?;
            let events: Vec<Uuid> = delivered.iter().map(|(d, _)| d.event_id).collect();
            store::handoffs::mark_delivered(
                &mut tx,
                self.agency.as_str(),
                &events,
                chrono::Utc::now(),
            )
            .await?;
        }
        for (d, outcome) in others {
            self.record_failure(&mut tx, d, outcome).await?;
        }
        tx.commit().await?;
        for (d, _) in delivered {
            tracing::info!(agency = %self.agency, delivery_id = %d.id, event_id = %d.event_id, attempts = d.attempts + 1, "delivered");
        }
        Ok(())
    }

    /// Records a failed attempt: a retry scheduled, or a dead letter.
    async fn record_failure(
        &self,
        tx: &mut sqlx::AnyConnection,
        d: &Delivery,
        outcome: &DeliveryOutcome,
    ) -> Result<(), StoreError> {
        let attempts = d.attempts + 1;
        match outcome {
            // Recorded together, in one statement, by `record`.
            DeliveryOutcome::Delivered => {}
            DeliveryOutcome::Retryable {
                reason,
                retry_after,
            } if attempts < self.settings.max_attempts => {
                let delay = self.settings.backoff.delay(attempts as u32, *retry_after);
                let next =
                    chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                store::deliveries::schedule_retry(tx, d.id, attempts, next, reason).await?;
                if attempts >= FAILING_AFTER_ATTEMPTS {
                    store::alerts::raise(
                        tx,
                        &format!("agency_failing:{}", self.agency),
                        "agency_failing",
                        Some(self.agency.as_str()),
                        &format!(
                            "deliveries to `{}` keep failing ({attempts} attempts so far); last: {reason}",
                            self.agency
                        ),
                    )
                    .await?;
                }
                tracing::warn!(agency = %self.agency, delivery_id = %d.id, attempts, retry_in_ms = delay.as_millis() as u64, reason = %reason, "delivery failed; will retry");
            }
            DeliveryOutcome::Retryable { reason, .. } => {
                let reason = format!("gave up after {attempts} attempts: {reason}");
                dead_letter(tx, d, attempts, &reason).await?;
            }
            DeliveryOutcome::Permanent { reason } => {
                dead_letter(tx, d, attempts, reason).await?;
            }
        }
        Ok(())
    }
}

/// Dead-letters a delivery: marks it dead with the reason, audits it and raises the agency's
/// `dead_letter` alert, in the caller's transaction. The worker calls it when a sink gives up;
/// the MESH report reader when MESH says a message it had accepted was never collected.
pub(super) async fn dead_letter(
    conn: &mut sqlx::AnyConnection,
    d: &Delivery,
    attempts: i64,
    reason: &str,
) -> Result<(), StoreError> {
    store::deliveries::mark_dead(conn, d.id, attempts, reason).await?;
    store::audit::append(
        conn,
        &AuditEntry {
            actor: "hub".into(),
            action: "delivery.dead_lettered".into(),
            event_id: Some(d.event_id),
            agency: Some(d.agency.clone()),
            detail: Some(format!("notification {}: {reason}", d.id)),
            ..Default::default()
        },
    )
    .await?;
    store::alerts::raise(
        conn,
        &format!("dead_letter:{}", d.agency),
        "dead_letter",
        Some(&d.agency),
        &format!(
            "deliveries to `{}` are going to dead letter; last: {reason}",
            d.agency
        ),
    )
    .await?;
    tracing::error!(agency = %d.agency, delivery_id = %d.id, attempts, reason = %reason, "delivery dead-lettered");
    Ok(())
}

/// What the sink answered, on the attempt's span. A failure's reason is the sink's own summary
/// (a status line, a kind of failure), which sinks keep free of child data.
fn record_attempt(span: &tracing::Span, outcome: &DeliveryOutcome) {
    if span.is_disabled() {
        return;
    }
    span.record("outcome", metrics::attempt_outcome(outcome));
    if let DeliveryOutcome::Retryable { reason, .. } | DeliveryOutcome::Permanent { reason } =
        outcome
    {
        span.record("reason", reason.as_str());
        span.record("otel.status_code", "error");
    }
}
