//! The handoff clock: past a deadline, walk the escalation chain.
//!
//! Timers are rows, not tasks: each open handoff's `next_check_at` says when it next needs
//! attention, so nothing is lost on a restart, and a timer that fell due while the hub was down
//! fires at the first tick after start-up. Each step is sent in one transaction with its
//! `handoff_escalations` row, whose primary key is (handoff, step): a step fires once, ever.
//!
//! [`tick`] takes the time as an argument. The running hub passes the wall clock every
//! `handoffs.tick_ms`; tests and the county-year simulation pass a clock of their own.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use throughline_contracts::AgencyId;
use throughline_contracts::kind::{EscalationReason, EventBody, HandoffNotice};
use tokio_util::sync::CancellationToken;

use super::{Party, notice};
use crate::pipeline::Pipeline;
use crate::store::handoffs::{Handoff, state};
use crate::store::{self, StoreError, audit::AuditEntry};

/// How many due handoffs one pass takes; a tick keeps passing until none is left.
const PASS: i64 = 256;

/// The payload of a notice about handoff `h`.
pub fn notice_payload(h: &Handoff, reason: EscalationReason, step: u32) -> HandoffNotice {
    HandoffNotice {
        handoff_id: h.id,
        handoff_kind: h.kind.clone(),
        reference: h.reference.clone(),
        // Stored agency ids were validated when the handoff was made.
        from_agency: AgencyId::parse(&h.from_agency).unwrap_or_else(|_| unreachable!()),
        to_agency: AgencyId::parse(&h.to_agency).unwrap_or_else(|_| unreachable!()),
        made_at: h.made_at,
        due_at: h.due_at,
        reason,
        step,
    }
}

/// What one tick did.
#[derive(Debug, Default, Clone)]
pub struct TickReport {
    /// Escalation steps sent.
    pub steps: usize,
}

/// Sends the escalation steps due at `now`: at most one per handoff, so a handoff whose later
/// steps also fell due while the hub was down gets them one tick apart, in order, rather than
/// all at once.
pub async fn tick(pipeline: &Pipeline, now: DateTime<Utc>) -> Result<TickReport, StoreError> {
    let mut report = TickReport::default();
    let mut seen = BTreeSet::new();
    loop {
        let due = {
            let mut conn = pipeline.store().acquire().await?;
            store::handoffs::due(&mut conn, now, PASS).await?
        };
        let fresh: Vec<&Handoff> = due.iter().filter(|h| !seen.contains(&h.id)).collect();
        if fresh.is_empty() {
            return Ok(report);
        }
        let mut wake = BTreeSet::new();
        for h in fresh {
            seen.insert(h.id);
            if step(pipeline, h, now, &mut wake).await? {
                report.steps += 1;
            }
        }
        pipeline.wake_agencies(wake);
        if (due.len() as i64) < PASS {
            return Ok(report);
        }
    }
}

/// Sends handoff `seen`'s next escalation step, unless something answered it or sent the step
/// since it was read. Returns whether a step was sent.
async fn step(
    pipeline: &Pipeline,
    seen: &Handoff,
    now: DateTime<Utc>,
    wake: &mut BTreeSet<AgencyId>,
) -> Result<bool, StoreError> {
    let config = pipeline.config();
    let chain = &config.handoffs.escalation;
    // The commit lock keeps an acknowledgement from landing between the check and the send.
    let _serial = pipeline.commit_guard().await;
    let mut tx = pipeline.store().begin().await?;
    let Some(h) = store::handoffs::get(&mut tx, seen.id).await? else {
        return Ok(false);
    };
    let current = h.escalation_step == seen.escalation_step
        && state::is_open(&h.state)
        && h.next_check_at.is_some_and(|t| t <= now);
    if !current {
        tx.rollback().await?;
        return Ok(false);
    }
    let index = h.escalation_step as usize;
    let scheduled_at = h.next_check_at.unwrap_or(now);
    let Some(this) = chain.get(index) else {
        // The chain is done (it was shortened since): stop the timer.
        store::handoffs::advance(&mut tx, h.id, h.escalation_step, None, now).await?;
        tx.commit().await?;
        return Ok(false);
    };
    let number = index as i64 + 1;
    let la = config.handoffs.local_authority.clone();
    let recipient: Option<AgencyId> = match this.notify {
        Party::Receiver => AgencyId::parse(&h.to_agency).ok(),
        Party::Sender => AgencyId::parse(&h.from_agency).ok(),
        Party::LocalAuthority => la,
    };
    let recipient_name = recipient
        .as_ref()
        .map_or("operators".to_owned(), ToString::to_string);
    if !store::handoffs::claim_step(
        &mut tx,
        h.id,
        number,
        &recipient_name,
        "deadline_passed",
        scheduled_at,
        now,
    )
    .await?
    {
        tx.rollback().await?;
        return Ok(false);
    }
    let last = index + 1 == chain.len();
    let alert = if last {
        "handoff_escalated"
    } else {
        "handoff_overdue"
    };
    store::alerts::raise(
        &mut tx,
        &format!("{alert}:{}", h.to_agency),
        alert,
        Some(&h.to_agency),
        &format!(
            "a {} handoff to `{}` is past its deadline without an answer (step {number} of {}: {})",
            h.kind,
            h.to_agency,
            chain.len(),
            this.notify.as_str()
        ),
    )
    .await?;
    store::audit::append(
        &mut tx,
        &AuditEntry {
            actor: "hub".into(),
            action: "handoff.escalation_sent".into(),
            event_id: Some(h.event_id),
            agency: Some(recipient_name.clone()),
            detail: Some(format!(
                "{} handoff {}: step {number} ({}) sent",
                h.kind,
                h.id,
                this.notify.as_str()
            )),
            ..Default::default()
        },
    )
    .await?;
    if let Some(to) = recipient {
        let payload = notice_payload(&h, EscalationReason::DeadlinePassed, number as u32);
        let body = match this.notify {
            Party::Receiver => EventBody::HandoffReminder(payload),
            Party::Sender => EventBody::HandoffNotPickedUp(payload),
            Party::LocalAuthority => EventBody::HandoffEscalated(payload),
        };
        let identifiers = store::identity::identifiers_of(&mut tx, h.child_id).await?;
        let sent = notice::send(
            &mut tx,
            config,
            h.child_id,
            &identifiers,
            body,
            &to,
            now,
            Some(h.event_id),
        )
        .await?;
        if sent.queued {
            wake.insert(to);
        }
    }
    let next = chain.get(index + 1).and_then(|n| {
        h.due_at.and_then(|due| {
            throughline_calendar::due(&n.after, due, &config.handoffs.calendar, &[])
        })
    });
    store::handoffs::advance(&mut tx, h.id, number, next, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Runs the clock on the wall clock until cancelled.
pub async fn run(pipeline: Arc<Pipeline>, cancel: CancellationToken) {
    let every = pipeline.config().handoffs.tick;
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        match tick(&pipeline, Utc::now()).await {
            Ok(r) if r.steps > 0 => tracing::info!(steps = r.steps, "handoff escalations sent"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "handoff scheduler could not run; will retry"),
        }
    }
}
