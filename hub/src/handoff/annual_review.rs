//! The annual review of an EHC plan: the local authority must review the plan at least every
//! 12 months, from the date the plan was issued and then from each review (Children and
//! Families Act 2014, s. 44(1); SEND Regulations 2014, reg. 18-20).
//!
//! The clock runs from the plan's own dates (`issued_on`, then `reviewed_on`), never from when
//! the hub heard of them: a transfer file restating a plan issued five years ago is not a plan
//! due for review next year. A clock whose deadline has already passed is not opened at all,
//! whether the event is news or history: it would only send reminders about a review the hub
//! cannot know was missed (the records of the reviews since are elsewhere). One whose deadline
//! is still ahead is opened even from history: it is a duty still to come.
//!
//! Once per plan: a plan restated by another file (`ehc_plan.final` again) opens no second
//! review, and while a review is open no other opens for the same plan.

use chrono::NaiveDate;
use sqlx::AnyConnection;
use throughline_contracts::AgencyId;
use throughline_contracts::event::FieldProblem;

use super::HandoffKind;
use super::track::{Context, TrackError, audit, open_clock, start_of};
use crate::store::{self, handoffs::state};

/// Opens the plan's next annual review, counted from `on`, unless one is open for the plan or
/// its deadline has passed (as at the event's arrival). `first` is for the plan's issue: a plan
/// that has had any review clock before opens none again.
pub(super) async fn open(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    plan_id: &str,
    on: NaiveDate,
    first: bool,
) -> Result<(), TrackError> {
    let kind = HandoffKind::AnnualReview;
    let earlier: Vec<_> = store::handoffs::for_child(conn, cx.child)
        .await?
        .into_iter()
        .filter(|h| h.kind == kind.as_str() && h.reference == plan_id)
        .collect();
    if earlier.iter().any(|h| state::is_open(&h.state)) || (first && !earlier.is_empty()) {
        // The plan's review clock is already running, or ran (a transfer file repeats the plan).
        return Ok(());
    }
    let start = start_of(on);
    let period = cx.period(kind);
    let h = &cx.config.handoffs;
    let field = if first {
        "payload.issued_on"
    } else {
        "payload.reviewed_on"
    };
    let due = throughline_calendar::checked_due(&period, start, &h.calendar, &[])
        .map_err(|e| TrackError::Reject(FieldProblem::new(field, e.to_string())))?;
    let owner = h
        .local_authority
        .as_ref()
        .map_or(cx.source().as_str(), AgencyId::as_str)
        .to_owned();
    if due.is_none_or(|due| due <= cx.event.received_at) {
        audit(
            cx,
            "handoff.not_opened",
            &owner,
            format!("{kind}: its deadline had already passed when the plan's date arrived"),
        );
        return Ok(());
    }
    open_clock(conn, cx, kind, plan_id, &owner, &owner, start, period, None).await?;
    Ok(())
}
