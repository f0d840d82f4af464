//! Track handoffs: the pipeline step that opens, answers and closes handoffs from the events
//! themselves, inside the input's transaction.
//!
//! | event | effect |
//! |---|---|
//! | `referral.made` | referral handoff, sender → `to_agency`; due by `respond_by` or the deadline |
//! | `referral.accepted` | the receiver's open referral with that id: accepted |
//! | `referral.declined` | declined; names no new owner, so escalated to the local authority now |
//! | `referral.redirected` | redirected; a new referral handoff to the new owner |
//! | `referral.closed` | every referral handoff with that id: closed |
//! | `handoff.acknowledged` | the named handoff (only its receiver may answer): as its outcome says |
//! | `school.left` to a school | transfer handoff to the agency listing that URN, else the local authority |
//! | `school.left`, destination unknown | closure handoff to the local authority: child missing education |
//! | `school.left`, outside the maintained sector | transfer handoff to the local authority (`outside-maintained-sector`); no closure, no alert |
//! | `school.joined` | the open transfer to that school: accepted |
//! | `social_care.referral`, `episode_of_care.opened` | every open referral to the sender: accepted |
//! | `ehc_needs_assessment.requested` | to the local authority, 6 weeks from `received_on` |
//! | `ehc_needs_assessment.decision` | answered; `assess` opens the final-plan clock (20 weeks from the request) |
//! | `ehc_plan.final` | plan clock closed; annual review due 12 months from `issued_on`; a phase transfer when the plan names one |
//! | `ehc_plan.review` | that review and phase transfer closed; the next review due 12 months on (unless ceasing) |
//! | `ehc_plan.ceased` | the annual review and phase transfer closed |
//!
//! After any event that can end an involvement, a child with no active involvement left is
//! handed to the local authority as a closure (and alerted; more loudly with an EHC plan or a
//! child protection plan).
//!
//! An event that restates the child's past (`Context::history`, see `pipeline::history`) still
//! answers and closes handoffs, but opens none, escalates nothing and sends no notice; only a
//! statutory clock from the plan's own dates whose deadline is still ahead is opened for it.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::AnyConnection;
use throughline_calendar::Period;
use throughline_calendar::deadline::MAX_COUNT;
use throughline_contracts::AgencyId;
use throughline_contracts::event::{Event, FieldProblem};
use throughline_contracts::kind::{
    AssessmentDecision, Destination, EscalationReason, EventBody, HandoffOutcome, NoLeadReason,
    ReviewOutcome,
};
use uuid::Uuid;

use super::{HandoffKind, annual_review, lead, notice, phase_transfer};
use crate::config::Validated;
use crate::store::handoffs::{Handoff, NewHandoff, state};
use crate::store::{self, StoreError, audit::AuditEntry};

/// Why tracking stopped the input.
pub enum TrackError {
    Store(StoreError),
    /// The event refers to a handoff it may not answer: the input is quarantined.
    Reject(FieldProblem),
}

impl From<StoreError> for TrackError {
    fn from(e: StoreError) -> Self {
        TrackError::Store(e)
    }
}

/// The reference of the transfer handoff to the local authority for a pupil who left for a
/// school outside the maintained sector.
pub const OUTSIDE_MAINTAINED_SECTOR: &str = "outside-maintained-sector";

/// What tracking needs to know about the event being committed.
pub struct Context<'a> {
    pub config: &'a Validated,
    pub child: Uuid,
    pub identifiers: &'a [(String, String)],
    pub event: &'a Event,
    /// The event restates the child's past: it opens no handoff and sends no notice.
    pub history: bool,
    /// Audit entries the step makes, for the commit to write with its other rows.
    /// (A mutex only because the context is shared across awaits; nothing contends for it.)
    pub audit: std::sync::Mutex<Vec<AuditEntry>>,
}

impl Context<'_> {
    pub(super) fn source(&self) -> &AgencyId {
        &self.event.source.agency
    }

    pub(super) fn period(&self, kind: HandoffKind) -> Period {
        self.config.handoffs.deadline(kind)
    }
}

/// The start of a day named by a payload date, as the clock's start.
/// A referral answer's (referral id, outcome, new owner), for the events that answer one.
fn referral_answer(body: &EventBody) -> Option<(&str, &'static str, Option<&AgencyId>)> {
    match body {
        EventBody::ReferralAccepted(p) => Some((&p.referral_id, state::ACCEPTED, None)),
        EventBody::ReferralDeclined(p) => Some((&p.referral_id, state::DECLINED, None)),
        EventBody::ReferralRedirected(p) => {
            Some((&p.referral_id, state::REDIRECTED, Some(&p.to_agency)))
        }
        _ => None,
    }
}

pub(super) fn start_of(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

/// Runs the step. Returns the agencies whose queues got a notice.
pub async fn track(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
) -> Result<BTreeSet<AgencyId>, TrackError> {
    let mut wake = BTreeSet::new();
    let event = cx.event;
    let source = cx.source().as_str();
    let la = cx.config.handoffs.local_authority.clone();
    let mut missing_education = false;
    // A leaver the local authority was told of as such: not a child newly without a lead.
    let mut told_local_authority = false;
    if let Some((reference, outcome, new_owner)) = referral_answer(&event.body) {
        answer(
            conn,
            cx,
            HandoffKind::Referral,
            reference,
            outcome,
            new_owner,
            &mut wake,
        )
        .await?;
    }
    match &event.body {
        EventBody::ReferralMade(p) => {
            // A referral naming its own date is due then: as calendar days from the clock.
            // Otherwise its urgency sets the deadline (`[handoffs.urgency]`).
            let period = match p.respond_by {
                Some(d) => {
                    let start = throughline_calendar::london::civil_date(event.occurred_at);
                    let days = (d - start).num_days().clamp(0, i64::from(MAX_COUNT));
                    Period::Days(u32::try_from(days).unwrap_or(MAX_COUNT))
                }
                None => cx.config.handoffs.referral_deadline(p.urgency),
            };
            open(
                conn,
                cx,
                HandoffKind::Referral,
                &p.referral_id,
                source,
                p.to_agency.as_str(),
                event.occurred_at,
                period,
                None,
            )
            .await?;
        }
        EventBody::ReferralClosed(p) => {
            store::handoffs::close(
                conn,
                cx.child,
                HandoffKind::Referral.as_str(),
                Some(p.referral_id.as_str()),
                source,
                event.received_at,
            )
            .await?;
        }
        EventBody::HandoffAcknowledged(p) => {
            let handoff = store::handoffs::get(conn, p.handoff_id).await?;
            let Some(h) = handoff.filter(|h| h.child_id == cx.child && h.to_agency == source)
            else {
                return Err(TrackError::Reject(FieldProblem::new(
                    "payload.handoff_id",
                    "no handoff with this id about this child is addressed to this agency",
                )));
            };
            if !state::is_open(&h.state) {
                return Err(TrackError::Reject(FieldProblem::new(
                    "payload.handoff_id",
                    format!("this handoff was already answered ({})", h.state),
                )));
            }
            let answered = match p.outcome {
                HandoffOutcome::Accepted => state::ACCEPTED,
                HandoffOutcome::Declined => state::DECLINED,
                HandoffOutcome::Redirected => state::REDIRECTED,
            };
            let new_owner = match p.outcome {
                HandoffOutcome::Accepted => None,
                _ => p.new_owner.as_ref(),
            };
            settle(conn, cx, &h, answered, new_owner, &mut wake).await?;
        }
        EventBody::SchoolLeft(p) => match &p.destination {
            Destination::School { school_urn } => {
                let to = cx
                    .config
                    .agency_for_school(school_urn)
                    .map(|a| a.id.clone())
                    .or(la.clone());
                if to.is_none() {
                    lead::no_local_authority(conn, "a pupil left for a school no agency lists")
                        .await?;
                }
                if let Some(to) = to {
                    let period = cx.period(HandoffKind::Transfer);
                    open(
                        conn,
                        cx,
                        HandoffKind::Transfer,
                        school_urn,
                        source,
                        to.as_str(),
                        start_of(p.left_on),
                        period,
                        None,
                    )
                    .await?;
                }
            }
            Destination::Unknown => missing_education = true,
            // `MMM`/`MMMM` in a CTF (DfE School to School guidance, 2019, p. 15): the pupil left
            // for a school outside the maintained sector in England and Wales (abroad,
            // independent). The destination is known, so the child is not missing education,
            // but no agency here will answer for the pupil: the local authority is told with a
            // tracked transfer, which makes it involved.
            Destination::OutsideMaintainedSector => {
                told_local_authority = true;
                match &la {
                    None => {
                        lead::no_local_authority(
                            conn,
                            "a pupil left for a school outside the maintained sector",
                        )
                        .await?;
                    }
                    Some(to) => {
                        let period = cx.period(HandoffKind::Transfer);
                        open(
                            conn,
                            cx,
                            HandoffKind::Transfer,
                            OUTSIDE_MAINTAINED_SECTOR,
                            source,
                            to.as_str(),
                            start_of(p.left_on),
                            period,
                            None,
                        )
                        .await?;
                    }
                }
            }
            _ => {}
        },
        EventBody::SchoolJoined(p) => {
            answer(
                conn,
                cx,
                HandoffKind::Transfer,
                &p.school_urn,
                state::ACCEPTED,
                None,
                &mut wake,
            )
            .await?;
        }
        // The receiver's own system recording the work is an answer too: children's social care
        // logging the referral it was sent, a health service opening an episode of care.
        EventBody::SocialCareReferral(_) | EventBody::EpisodeOfCareOpened(_) => {
            let open: Vec<Handoff> = store::handoffs::for_child(conn, cx.child)
                .await?
                .into_iter()
                .filter(|h| {
                    h.kind == HandoffKind::Referral.as_str()
                        && h.to_agency == source
                        && state::is_open(&h.state)
                })
                .collect();
            for h in open {
                settle(conn, cx, &h, state::ACCEPTED, None, &mut wake).await?;
            }
        }
        EventBody::EhcNeedsAssessmentRequested(p) => {
            if la.is_none() {
                lead::no_local_authority(conn, "an EHC needs assessment request").await?;
            }
            if let Some(la) = &la {
                let start = start_of(p.received_on);
                let period = cx.period(HandoffKind::EhcNeedsAssessment);
                open(
                    conn,
                    cx,
                    HandoffKind::EhcNeedsAssessment,
                    &p.request_id,
                    source,
                    la.as_str(),
                    start,
                    period,
                    None,
                )
                .await?;
            }
        }
        EventBody::EhcNeedsAssessmentDecision(p) => {
            let request = store::handoffs::find_open(
                conn,
                cx.child,
                HandoffKind::EhcNeedsAssessment.as_str(),
                &p.request_id,
                Some(source),
            )
            .await?;
            if let Some(h) = request {
                let outcome = match p.decision {
                    AssessmentDecision::Assess => state::ACCEPTED,
                    // A refusal is a decision, with appeal rights: the clock is met, not escalated.
                    AssessmentDecision::Refuse => state::CLOSED,
                };
                store::handoffs::acknowledge(
                    conn,
                    h.id,
                    outcome,
                    event.id,
                    None,
                    event.received_at,
                )
                .await?;
                if p.decision == AssessmentDecision::Assess {
                    let period = cx.period(HandoffKind::EhcPlan);
                    open(
                        conn,
                        cx,
                        HandoffKind::EhcPlan,
                        &p.request_id,
                        &h.to_agency,
                        &h.to_agency,
                        h.clock_start,
                        period,
                        Some(h.id),
                    )
                    .await?;
                }
            }
        }
        EventBody::EhcPlanFinal(p) => {
            store::handoffs::close(
                conn,
                cx.child,
                HandoffKind::EhcPlan.as_str(),
                None,
                source,
                event.received_at,
            )
            .await?;
            store::identity::set_plans(conn, cx.child, Some(true), None).await?;
            annual_review::open(conn, cx, &p.plan_id, p.issued_on, true).await?;
            if let Some(transfer) = &p.phase_transfer {
                phase_transfer::open(conn, cx, &p.plan_id, p.issued_on, transfer).await?;
            }
        }
        EventBody::EhcPlanReview(p) => {
            store::handoffs::close(
                conn,
                cx.child,
                HandoffKind::AnnualReview.as_str(),
                Some(p.plan_id.as_str()),
                source,
                event.received_at,
            )
            .await?;
            // The review before a move between phases is this review (reg. 18).
            phase_transfer::close(conn, cx, &p.plan_id).await?;
            if p.outcome != ReviewOutcome::Cease {
                annual_review::open(conn, cx, &p.plan_id, p.reviewed_on, false).await?;
            }
        }
        EventBody::EhcPlanCeased(p) => {
            store::handoffs::close(
                conn,
                cx.child,
                HandoffKind::AnnualReview.as_str(),
                Some(p.plan_id.as_str()),
                source,
                event.received_at,
            )
            .await?;
            phase_transfer::close(conn, cx, &p.plan_id).await?;
            store::identity::set_plans(conn, cx.child, Some(false), None).await?;
        }
        EventBody::SocialCareChildProtectionPlanStarted(_) => {
            store::identity::set_plans(conn, cx.child, None, Some(true)).await?;
        }
        EventBody::SocialCareChildProtectionPlanEnded(_) => {
            store::identity::set_plans(conn, cx.child, None, Some(false)).await?;
        }
        _ => {}
    }
    if cx.history {
        // The past is not a child newly without a lead: no closure, no notice.
    } else if told_local_authority {
        // Handed to the local authority above: neither missing education nor without a lead.
    } else if missing_education {
        lead::closure(conn, cx, NoLeadReason::MissingEducation, &mut wake).await?;
    } else if lead::can_end_involvement(&event.body) && !lead::has_lead(conn, cx).await? {
        lead::closure(conn, cx, NoLeadReason::LastInvolvementEnded, &mut wake).await?;
    }
    Ok(wake)
}

/// Opens a handoff made by this event, unless the event is history (`None`): the past opens no
/// handoff.
#[allow(clippy::too_many_arguments)]
pub(super) async fn open(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    kind: HandoffKind,
    reference: &str,
    from: &str,
    to: &str,
    clock_start: DateTime<Utc>,
    period: Period,
    parent_id: Option<Uuid>,
) -> Result<Option<Uuid>, StoreError> {
    if cx.history {
        return Ok(None);
    }
    open_clock(
        conn,
        cx,
        kind,
        reference,
        from,
        to,
        clock_start,
        period,
        parent_id,
    )
    .await
    .map(Some)
}

/// Opens a handoff whatever the event: for a statutory clock counted from the plan's own dates,
/// which its caller opens only while its deadline is still ahead (see `annual_review`).
#[allow(clippy::too_many_arguments)]
pub(super) async fn open_clock(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    kind: HandoffKind,
    reference: &str,
    from: &str,
    to: &str,
    clock_start: DateTime<Utc>,
    period: Period,
    parent_id: Option<Uuid>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    let h = &cx.config.handoffs;
    let due_at = throughline_calendar::due(&period, clock_start, &h.calendar, &[]);
    let next_check_at = due_at.and_then(|due| {
        h.escalation
            .first()
            .and_then(|s| throughline_calendar::due(&s.after, due, &h.calendar, &[]))
    });
    store::handoffs::insert(
        conn,
        &NewHandoff {
            id,
            kind: kind.as_str(),
            reference,
            child_id: cx.child,
            from_agency: from,
            to_agency: to,
            event_id: cx.event.id,
            clock_start,
            period: period.to_string(),
            due_at,
            next_check_at,
            made_at: cx.event.received_at,
            parent_id,
        },
    )
    .await?;
    // The receiver is involved from now on: it hears what happens next, and a child handed to
    // it is not a child without a lead. (The involvement step has already done so for a
    // referral's receiver.)
    if kind != HandoffKind::Referral || parent_id.is_some() {
        store::involvements::start(conn, cx.child, to, &cx.event.id.to_string()).await?;
    }
    audit(
        cx,
        "handoff.made",
        to,
        format!("{kind} handoff {id} from `{from}` to `{to}`"),
    );
    Ok(id)
}

pub(super) fn audit(cx: &Context<'_>, action: &str, agency: &str, detail: String) {
    cx.audit
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(AuditEntry {
            actor: "hub".into(),
            action: action.into(),
            event_id: Some(cx.event.id),
            agency: Some(agency.to_owned()),
            detail: Some(detail),
            ..Default::default()
        });
}

/// Answers the open handoff of `kind` and `reference` addressed to the event's sender, if there
/// is one (an answer to a handoff the hub never saw is routed, not tracked).
#[allow(clippy::too_many_arguments)]
async fn answer(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    kind: HandoffKind,
    reference: &str,
    outcome: &str,
    new_owner: Option<&AgencyId>,
    wake: &mut BTreeSet<AgencyId>,
) -> Result<(), StoreError> {
    let open = store::handoffs::find_open(
        conn,
        cx.child,
        kind.as_str(),
        reference,
        Some(cx.source().as_str()),
    )
    .await?;
    if let Some(h) = open {
        settle(conn, cx, &h, outcome, new_owner, wake).await?;
    }
    Ok(())
}

/// Records the receiver's answer. A decline or redirect passes the handoff on to the new owner
/// when one is named, and escalates to the local authority at once when none is.
async fn settle(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    h: &Handoff,
    outcome: &str,
    new_owner: Option<&AgencyId>,
    wake: &mut BTreeSet<AgencyId>,
) -> Result<(), StoreError> {
    let at = cx.event.received_at;
    store::handoffs::acknowledge(
        conn,
        h.id,
        outcome,
        cx.event.id,
        new_owner.map(AgencyId::as_str),
        at,
    )
    .await?;
    audit(
        cx,
        "handoff.acknowledged",
        &h.to_agency,
        format!("{} handoff {}: {outcome}", h.kind, h.id),
    );
    if outcome == state::ACCEPTED {
        return Ok(());
    }
    match new_owner {
        Some(owner) => {
            let kind = h
                .kind
                .parse::<HandoffKind>()
                .unwrap_or(HandoffKind::Referral);
            let period = redirect_period(cx, h, kind);
            open(
                conn,
                cx,
                kind,
                &h.reference,
                &h.to_agency,
                owner.as_str(),
                cx.event.occurred_at,
                period,
                Some(h.id),
            )
            .await?;
        }
        // The past answered: nobody is told again.
        None if cx.history => {}
        None => {
            let reason = if outcome == state::DECLINED {
                EscalationReason::DeclinedWithoutNewOwner
            } else {
                EscalationReason::RedirectedWithoutNewOwner
            };
            escalate_now(conn, cx, h, reason, wake).await?;
        }
    }
    Ok(())
}

/// Step 0 of a handoff's escalations: sent at once, to the local authority (or, without one,
/// to operators only), because nobody holds the child's need any more.
async fn escalate_now(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    h: &Handoff,
    reason: EscalationReason,
    wake: &mut BTreeSet<AgencyId>,
) -> Result<(), StoreError> {
    let at = cx.event.received_at;
    let recipient = cx.config.handoffs.local_authority.clone();
    let recipient_name = recipient.as_ref().map_or("operators", AgencyId::as_str);
    let reason_name = serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    if !store::handoffs::claim_step(conn, h.id, 0, recipient_name, &reason_name, at, at).await? {
        return Ok(());
    }
    store::alerts::raise(
        conn,
        &format!("handoff_escalated:{}", h.to_agency),
        "handoff_escalated",
        Some(&h.to_agency),
        &format!(
            "a {} handoff to `{}` was {} with no new owner",
            h.kind,
            h.to_agency,
            if reason == EscalationReason::DeclinedWithoutNewOwner {
                "declined"
            } else {
                "redirected"
            }
        ),
    )
    .await?;
    store::handoffs::mark_escalated(conn, h.id, at).await?;
    audit(
        cx,
        "handoff.escalation_sent",
        recipient_name,
        format!(
            "{} handoff {}: escalated at once ({reason_name})",
            h.kind, h.id
        ),
    );
    if let Some(la) = recipient {
        let body = EventBody::HandoffEscalated(super::scheduler::notice_payload(h, reason, 0));
        let sent = notice::send(
            conn,
            cx.config,
            cx.child,
            cx.identifiers,
            body,
            &la,
            at,
            Some(cx.event.id),
        )
        .await?;
        if sent.queued {
            wake.insert(la);
        }
    }
    Ok(())
}

/// The deadline a handoff passed to a new owner runs for: the configured one, except that a
/// referral keeps its urgency (an emergency stays an emergency when redirected). A referral's
/// own `respond_by` was for the first receiver only.
fn redirect_period(cx: &Context<'_>, h: &Handoff, kind: HandoffKind) -> Period {
    let handoffs = &cx.config.handoffs;
    if kind == HandoffKind::Referral {
        use throughline_contracts::kind::Urgency;
        let parent = h.period.parse::<Period>().ok();
        for urgency in [Urgency::Emergency, Urgency::Urgent] {
            let period = handoffs.referral_deadline(urgency);
            if parent == Some(period) {
                return period;
            }
        }
        return handoffs.referral_deadline(Urgency::Routine);
    }
    cx.period(kind)
}
