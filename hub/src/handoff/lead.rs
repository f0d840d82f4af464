//! No child without a lead agency: when the last agency leading on a child lets go, or a pupil
//! leaves school for nowhere, the child is handed to the local authority's designated team as a
//! closure handoff, and operators are alerted (more loudly with an EHC plan or a child
//! protection plan, which oblige someone to lead).

use std::collections::BTreeSet;

use sqlx::AnyConnection;
use throughline_contracts::AgencyId;
use throughline_contracts::kind::{EventBody, HandoffOutcome, NoLeadAgency, NoLeadReason};

use super::track::{Context, open};
use super::{HandoffKind, notice};
use crate::store::handoffs::state;
use crate::store::{self, StoreError};

/// Whether an agency other than the local authority's designated team is actively involved.
/// The team is the safety net every closure and escalation lands on, not a lead: counting it
/// would mean a child handed to it once could never be found without a lead again.
pub(super) async fn has_lead(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
) -> Result<bool, StoreError> {
    let la = cx.config.handoffs.local_authority.as_ref();
    Ok(store::involvements::active(conn, cx.child)
        .await?
        .iter()
        .any(|a| la.is_none_or(|la| la.as_str() != a)))
}

pub(super) fn can_end_involvement(body: &EventBody) -> bool {
    matches!(
        body,
        EventBody::ReferralDeclined(_)
            | EventBody::ReferralRedirected(_)
            | EventBody::EpisodeOfCareClosed(_)
            | EventBody::SocialCareCaseClosed(_)
            | EventBody::SchoolLeft(_)
            | EventBody::InvolvementEnded(_)
    ) || matches!(body, EventBody::HandoffAcknowledged(p) if p.outcome != HandoffOutcome::Accepted)
}

/// The child has no lead agency (or is missing education): hand them to the local authority,
/// and tell operators. With an EHC plan or a child protection plan this is a statutory concern
/// and gets its own alert.
pub(super) async fn closure(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    reason: NoLeadReason,
    wake: &mut BTreeSet<AgencyId>,
) -> Result<(), StoreError> {
    let (ehc_plan, cp_plan) = store::identity::plans(conn, cx.child).await?;
    let source = cx.source().as_str().to_owned();
    let what = match reason {
        NoLeadReason::MissingEducation => "left school with no known destination",
        NoLeadReason::LastInvolvementEnded => "has no agency involved any more",
    };
    store::alerts::raise(
        conn,
        &format!("no_lead_agency:{}", cx.child),
        "no_lead_agency",
        None,
        &format!("child {} {what} (last: `{source}`)", cx.child),
    )
    .await?;
    if ehc_plan || cp_plan {
        store::alerts::raise(
            conn,
            &format!("lead_agency_lost:{}", cx.child),
            "lead_agency_lost",
            None,
            &format!(
                "child {} has {} and {what}: a lead agency is required",
                cx.child,
                if ehc_plan {
                    "an EHC plan"
                } else {
                    "a child protection plan"
                }
            ),
        )
        .await?;
    }
    let Some(la) = cx.config.handoffs.local_authority.clone() else {
        return Ok(());
    };
    let open_closure = store::handoffs::for_child(conn, cx.child)
        .await?
        .into_iter()
        .any(|h| h.kind == HandoffKind::Closure.as_str() && state::is_open(&h.state));
    if open_closure {
        // The local authority already holds an unanswered closure for this child; the alert
        // above counts the new occurrence.
        return Ok(());
    }
    let reference = format!("closure:{}", cx.event.id);
    let period = cx.period(HandoffKind::Closure);
    let Some(id) = open(
        conn,
        cx,
        HandoffKind::Closure,
        &reference,
        &source,
        la.as_str(),
        cx.event.occurred_at,
        period,
        None,
    )
    .await?
    else {
        // History opens no closure (the caller does not ask for one).
        return Ok(());
    };
    let body = EventBody::ChildNoLeadAgency(NoLeadAgency {
        reason,
        last_agency: cx.source().clone(),
        ehc_plan,
        child_protection_plan: cp_plan,
        handoff_id: id,
    });
    let sent = notice::send(
        conn,
        cx.config,
        cx.child,
        cx.identifiers,
        body,
        &la,
        cx.event.received_at,
        Some(cx.event.id),
    )
    .await?;
    // The closure's own notification is the notice: its delivery marks the handoff delivered.
    store::handoffs::set_event(conn, id, sent.event_id).await?;
    if sent.queued {
        wake.insert(la);
    }
    Ok(())
}

/// A handoff to the local authority with none configured: not tracked, so operators are told.
pub(super) async fn no_local_authority(
    conn: &mut AnyConnection,
    what: &str,
) -> Result<(), StoreError> {
    store::alerts::raise(
        conn,
        "no_local_authority",
        "no_local_authority",
        None,
        &format!(
            "{what} needs the local authority, but handoffs.local_authority is not set: not tracked"
        ),
    )
    .await
}
