//! Exemptions: pausing a handoff's clock.
//!
//! Statute excuses some delays (SEND Regulations 2014: the child away for four weeks or more,
//! exceptional personal circumstances, an institution closed for four weeks or more). While an
//! exemption runs the clock stops; when it ends, the deadline moves on by the time it ran (see
//! `throughline_calendar::due` for how a pause counts against each kind of period). An open
//! exemption means no deadline at all, so nothing escalates until it ends.
//!
//! Only the receiver (whose clock it is) or the local authority may declare or end one. Both
//! are audited, and recompute the deadline and the scheduler's timer in the same transaction.

use chrono::{DateTime, Utc};
use throughline_calendar::{Pause, Period};
use throughline_contracts::AgencyId;
use uuid::Uuid;

use crate::pipeline::Pipeline;
use crate::store::handoffs::{Handoff, state};
use crate::store::{self, StoreError, audit::AuditEntry};

/// Why a clock is paused: the statutory exemptions, by code, so no free text (which could name
/// the child's circumstances) reaches the audit log.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Exemption {
    /// The child or young person is away for four weeks or more.
    ChildAway,
    /// Exceptional personal circumstances of the child or family.
    ExceptionalCircumstances,
    /// The school or institution is closed for four weeks or more.
    InstitutionClosed,
    /// The child missed an appointment (the 6-week partner advice duty only).
    MissedAppointment,
    /// Agreed locally; see the sending agency's record.
    Other,
}

impl Exemption {
    pub fn as_str(self) -> &'static str {
        match self {
            Exemption::ChildAway => "child_away",
            Exemption::ExceptionalCircumstances => "exceptional_circumstances",
            Exemption::InstitutionClosed => "institution_closed",
            Exemption::MissedAppointment => "missed_appointment",
            Exemption::Other => "other",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExemptionError {
    #[error("no handoff with this id")]
    NotFound,
    #[error("only the receiving agency or the local authority may pause or resume this clock")]
    NotAllowed,
    #[error("the handoff was already answered: there is no clock to pause")]
    NotOpen,
    #[error("an exemption is already running; end it first")]
    AlreadyPaused,
    #[error("no exemption is running")]
    NotPaused,
    #[error("`until` must be after `from`")]
    Backwards,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts an exemption from `from`, ending at `until` when known.
pub async fn pause(
    pipeline: &Pipeline,
    id: Uuid,
    by: &AgencyId,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    reason: Exemption,
) -> Result<Handoff, ExemptionError> {
    if until.is_some_and(|u| u <= from) {
        return Err(ExemptionError::Backwards);
    }
    change(
        pipeline,
        id,
        by,
        "handoff.clock_paused",
        reason.as_str(),
        |pauses| {
            if pauses.iter().any(|p| p.until.is_none()) {
                return Err(ExemptionError::AlreadyPaused);
            }
            pauses.push(Pause { from, until });
            Ok(())
        },
    )
    .await
}

/// Ends the running exemption at `at`.
pub async fn resume(
    pipeline: &Pipeline,
    id: Uuid,
    by: &AgencyId,
    at: DateTime<Utc>,
) -> Result<Handoff, ExemptionError> {
    change(pipeline, id, by, "handoff.clock_resumed", "", |pauses| {
        let open = pauses
            .iter_mut()
            .find(|p| p.until.is_none())
            .ok_or(ExemptionError::NotPaused)?;
        if at <= open.from {
            return Err(ExemptionError::Backwards);
        }
        open.until = Some(at);
        Ok(())
    })
    .await
}

async fn change(
    pipeline: &Pipeline,
    id: Uuid,
    by: &AgencyId,
    action: &str,
    reason: &str,
    edit: impl FnOnce(&mut Vec<Pause>) -> Result<(), ExemptionError>,
) -> Result<Handoff, ExemptionError> {
    let config = pipeline.config();
    let settings = &config.handoffs;
    let _serial = pipeline.commit_guard().await;
    let mut tx = pipeline.store().begin().await?;
    let mut h = store::handoffs::get(&mut tx, id)
        .await?
        .ok_or(ExemptionError::NotFound)?;
    let is_la = settings.local_authority.as_ref() == Some(by);
    if h.to_agency != by.as_str() && !is_la {
        return Err(ExemptionError::NotAllowed);
    }
    if !state::is_open(&h.state) {
        return Err(ExemptionError::NotOpen);
    }
    edit(&mut h.pauses)?;
    let period: Period = h
        .period
        .parse()
        .map_err(|_| StoreError::Corrupt("handoffs.period".into()))?;
    h.due_at = throughline_calendar::due(&period, h.clock_start, &settings.calendar, &h.pauses);
    let step = usize::try_from(h.escalation_step).unwrap_or(usize::MAX);
    h.next_check_at = h.due_at.and_then(|due| {
        settings
            .escalation
            .get(step)
            .and_then(|s| throughline_calendar::due(&s.after, due, &settings.calendar, &[]))
    });
    store::handoffs::set_pauses(&mut tx, h.id, &h.pauses, h.due_at, h.next_check_at).await?;
    store::audit::append(
        &mut tx,
        &AuditEntry {
            actor: format!("agency:{by}"),
            action: action.into(),
            event_id: Some(h.event_id),
            agency: Some(by.to_string()),
            detail: Some(format!(
                "{} handoff {}: deadline now {}{}",
                h.kind,
                h.id,
                h.due_at.map_or("paused".to_owned(), |d| d.to_rfc3339()),
                if reason.is_empty() {
                    String::new()
                } else {
                    format!("; exemption: {reason}")
                }
            )),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(h)
}
