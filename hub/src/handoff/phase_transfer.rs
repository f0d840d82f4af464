//! Phase transfer: an EHC plan reviewed and amended before the child moves between phases of
//! education, as its own clock, apart from the annual review.
//!
//! The law: where a child or young person is within 12 months of a transfer between phases of
//! education, the local authority must review and amend the plan, naming the new setting,
//! - by **15 February** in the calendar year of the transfer, for a move into or between schools
//!   (early years to school, infant to junior, primary to middle or secondary, middle to
//!   secondary);
//! - by **31 March** in the calendar year of the transfer, for a move from secondary school to a
//!   post-16 institution.
//!
//! Special Educational Needs and Disability Regulations 2014 (SI 2014/1530), reg. 18(1); the
//! phases are defined in reg. 2(1). The 31 March date for a move into post-16 is reg. 18 as
//! amended by the Special Educational Needs and Disability (Amendment) Regulations 2015
//! (SI 2015/359). A move between two post-16 institutions (reg. 18(2): at least five months
//! before it) has no fixed date and is not modelled here.
//!
//! Why its own clock: the ordinary `next 15 February` period would misapply it to any transfer,
//! and an annual review due in June does not meet a 15 February deadline. The clock is opened
//! from the plan's `phase_transfer` field; it starts when the duty does (1 September of the year
//! before the move: within 12 months of a September move), or at the plan's issue if later, so
//! the stored period (`next 15 February`, `next 31 March`) lands on the transfer year's date. It
//! is owned by the local authority, closed by a review of the plan (`ehc_plan.review`, which is
//! how an amendment after review arrives) or by the plan ceasing, and escalates like any
//! handoff, its notices naming `phase_transfer`. Like the annual review, it is opened only while
//! its deadline is still ahead, whether the plan is news or history, and once per plan and year.

use chrono::{Datelike, NaiveDate};
use sqlx::AnyConnection;
use throughline_calendar::{AnnualDate, Period};
use throughline_contracts::AgencyId;
use throughline_contracts::event::FieldProblem;
use throughline_contracts::kind::{PhaseTransfer, TransferPhase};

use super::HandoffKind;
use super::track::{Context, TrackError, audit, open_clock, start_of};
use crate::store::{self, StoreError};

/// 15 February: a move into or between schools (reg. 18(1)).
pub fn school_deadline() -> Period {
    Period::Next(AnnualDate::new(15, 2).expect("15 February occurs every year"))
}

/// 31 March: a move from secondary school into post-16 (reg. 18(1) as amended).
pub fn post_16_deadline() -> Period {
    Period::Next(AnnualDate::new(31, 3).expect("31 March occurs every year"))
}

/// The period for a move into `phase`.
pub fn deadline(phase: TransferPhase) -> Period {
    match phase {
        TransferPhase::School => school_deadline(),
        TransferPhase::Post16 => post_16_deadline(),
    }
}

/// When the clock starts for a move in `year`: 1 September of the year before (the duty arises
/// within 12 months of a September move), or the plan's issue when that is later. `None` for a
/// year with no such date.
pub fn clock_start(year: u16, issued_on: NaiveDate) -> Option<NaiveDate> {
    let duty = NaiveDate::from_ymd_opt(i32::from(year) - 1, 9, 1)?;
    Some(duty.max(issued_on))
}

/// Opens the plan's phase-transfer clock for `transfer`, unless its deadline has passed or the
/// plan already has one for that year.
pub(super) async fn open(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    plan_id: &str,
    issued_on: NaiveDate,
    transfer: &PhaseTransfer,
) -> Result<(), TrackError> {
    let kind = HandoffKind::PhaseTransfer;
    let out_of_range = || {
        TrackError::Reject(FieldProblem::new(
            "payload.phase_transfer.year",
            "expected a year from 2 to 9999",
        ))
    };
    let start_date = clock_start(transfer.year, issued_on).ok_or_else(out_of_range)?;
    let start = start_of(start_date);
    let period = deadline(transfer.into);
    let h = &cx.config.handoffs;
    let due = throughline_calendar::checked_due(&period, start, &h.calendar, &[])
        .map_err(|_| out_of_range())?;
    let owner = h
        .local_authority
        .as_ref()
        .map_or(cx.source().as_str(), AgencyId::as_str)
        .to_owned();
    // A plan issued after the transfer year's date: the deadline was missed before the plan
    // existed (the next such date would be a year late, so it is not the one).
    let in_transfer_year = due.is_some_and(|due| {
        throughline_calendar::london::civil_date(due).year() == i32::from(transfer.year)
    });
    if !in_transfer_year || due.is_none_or(|due| due <= cx.event.received_at) {
        audit(
            cx,
            "handoff.not_opened",
            &owner,
            format!("{kind}: its deadline had already passed when the plan arrived"),
        );
        return Ok(());
    }
    let already = store::handoffs::for_child(conn, cx.child)
        .await?
        .into_iter()
        .any(|x| x.kind == kind.as_str() && x.reference == plan_id && x.due_at == due);
    if already {
        return Ok(());
    }
    open_clock(conn, cx, kind, plan_id, &owner, &owner, start, period, None).await?;
    Ok(())
}

/// Closes the plan's open phase-transfer clock: the plan was reviewed (and amended), or ceased.
pub(super) async fn close(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    plan_id: &str,
) -> Result<(), StoreError> {
    store::handoffs::close(
        conn,
        cx.child,
        HandoffKind::PhaseTransfer.as_str(),
        Some(plan_id),
        cx.source().as_str(),
        cx.event.received_at,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_clock_starts_twelve_months_before_a_september_move_or_at_a_later_plan() {
        assert_eq!(clock_start(2027, date(2020, 5, 1)), Some(date(2026, 9, 1)));
        assert_eq!(
            clock_start(2027, date(2026, 11, 3)),
            Some(date(2026, 11, 3))
        );
    }

    #[test]
    fn the_period_names_the_transfer_years_date_from_the_clock_start() {
        let calendar = throughline_calendar::WorkingCalendar::england_and_wales();
        let start = start_of(clock_start(2027, date(2020, 5, 1)).unwrap());
        // "by 15 February in the calendar year of the transfer": the end of that day.
        assert_eq!(
            throughline_calendar::due(&deadline(TransferPhase::School), start, &calendar, &[]),
            Some("2027-02-15T23:59:59.999Z".parse().unwrap())
        );
        // "31st March ... transfer from secondary school to a post-16 institution" (BST).
        assert_eq!(
            throughline_calendar::due(&deadline(TransferPhase::Post16), start, &calendar, &[]),
            Some("2027-03-31T22:59:59.999Z".parse().unwrap())
        );
    }
}
