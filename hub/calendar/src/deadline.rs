//! Deadlines: when a clock started at an instant, running for a [`Period`], falls due.
//!
//! Why one function for every kind of clock: handoff agreements (working days) and statutory SEND
//! steps (calendar weeks, months, fixed dates) are stored the same way — `clock_start`, `deadline`,
//! the pauses — and the hub emits the same `sla.warning`/`sla.breached` events for both. Keeping the
//! counting rules in [`due`] means config, API and reports can never disagree about a date.
//!
//! The rules:
//! - Day-based periods count from the London date of `clock_start`, and the start day never counts,
//!   so it does not matter what time of day the request arrived.
//! - A deadline on a day is the end of that day in London (see [`crate::london::end_of_day`]).
//! - Hours are exact from `clock_start`; working hours count only the calendar's working hours
//!   (see [`crate::working_hours`]), and the deadline is that instant, not the end of a day.
//! - Pauses (exemptions) stop the clock. Calendar periods gain the paused time rounded up to whole
//!   days; working-day periods gain the working days inside each pause; hours gain the exact paused
//!   time; working hours gain the working time inside each pause. While a pause is open there is
//!   no deadline.

mod pause;
mod period;

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeDelta, Utc};

use crate::london;
use crate::working_days::WorkingCalendar;

pub use pause::Pause;
pub use period::{AnnualDate, MAX_COUNT, Period, PeriodError};

/// The years a clock may start in, or a pause begin or end in, for [`checked_due`]: those a
/// four-digit date names. With every period bounded by [`MAX_COUNT`], a deadline from any of
/// them is far inside chrono's range, so no date arithmetic below can overflow.
pub const CLOCK_YEARS: RangeInclusive<i32> = 1..=9999;

/// A clock's start or a pause is outside [`CLOCK_YEARS`]: no deadline can be counted from it.
/// Dates come from inputs (a plan issued in the year 200000), so this is an answer, not a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected a date in the years 1 to 9999 to count a deadline from")]
pub struct OutOfRange;

/// As [`due`], for a clock whose start or pauses come from input: `Err(OutOfRange)` instead of a
/// panic when any of them is outside [`CLOCK_YEARS`].
pub fn checked_due(
    period: &Period,
    clock_start: DateTime<Utc>,
    calendar: &WorkingCalendar,
    paused: &[Pause],
) -> Result<Option<DateTime<Utc>>, OutOfRange> {
    let in_range = |t: DateTime<Utc>| CLOCK_YEARS.contains(&t.year());
    let pauses_in_range = paused
        .iter()
        .all(|p| in_range(p.from) && p.until.is_none_or(in_range));
    if !in_range(clock_start) || !pauses_in_range {
        return Err(OutOfRange);
    }
    Ok(due(period, clock_start, calendar, paused))
}

/// The instant a clock started at `clock_start` and running for `period` falls due, or `None`
/// while an exemption in `paused` is still open.
///
/// Pauses are merged first so overlapping exemptions are not counted twice. A pause counts only
/// if it began before the deadline as extended by the pauses before it: once a deadline has
/// passed, a later exemption cannot un-breach it, and an open pause that began after the
/// deadline does not hide the breach.
///
/// Pauses extend every period, including a fixed date (`next 15 February`), because the
/// exemption stops the clock whatever its shape; callers that want a fixed date to hold
/// regardless should pass no pauses.
///
/// # Panics
///
/// If the deadline is beyond chrono's date range; periods parsed from config are bounded by
/// [`MAX_COUNT`], which keeps every deadline far inside it for a clock started in
/// [`CLOCK_YEARS`]. Use [`checked_due`] for a start that comes from input.
pub fn due(
    period: &Period,
    clock_start: DateTime<Utc>,
    calendar: &WorkingCalendar,
    paused: &[Pause],
) -> Option<DateTime<Utc>> {
    let clock = Clock {
        period: *period,
        start: clock_start,
        start_date: london::civil_date(clock_start),
        calendar,
    };
    let mut stopped = Stopped::default();
    let mut deadline = clock.deadline(&stopped);
    for pause in pause::merged(paused, clock_start) {
        if pause.from >= deadline {
            break;
        }
        let until = pause.until?;
        stopped.time += until - pause.from;
        stopped.working_days += calendar
            .working_days_between(london::civil_date(pause.from), london::civil_date(until));
        stopped.working_time += calendar.working_time_between(pause.from, until);
        deadline = clock.deadline(&stopped);
    }
    Some(deadline)
}

/// How long the clock has been stopped so far.
#[derive(Debug, Default)]
struct Stopped {
    /// Total paused time, for hours and calendar periods.
    time: TimeDelta,
    /// Working days inside the pauses, for working-day periods.
    working_days: i64,
    /// Working time inside the pauses, for working-hour periods.
    working_time: TimeDelta,
}

impl Stopped {
    /// Paused time rounded up to whole days: a pause of a day and an hour costs the clock two
    /// days, because deadlines are whole days and the authority lost part of the second.
    fn whole_days(&self) -> u64 {
        const DAY_MS: u64 = 86_400_000;
        u64::try_from(self.time.num_milliseconds())
            .expect("merged pauses have non-negative length")
            .div_ceil(DAY_MS)
    }
}

/// One clock's fixed inputs.
struct Clock<'a> {
    period: Period,
    start: DateTime<Utc>,
    start_date: NaiveDate,
    calendar: &'a WorkingCalendar,
}

impl Clock<'_> {
    fn deadline(&self, stopped: &Stopped) -> DateTime<Utc> {
        let extra_days = Days::new(stopped.whole_days());
        let due_date = match self.period {
            Period::Hours(hours) => {
                return self.start + TimeDelta::hours(hours.into()) + stopped.time;
            }
            Period::WorkingHours(hours) => {
                return self
                    .calendar
                    .add_working_time(
                        self.start,
                        TimeDelta::hours(hours.into()) + stopped.working_time,
                    )
                    .expect("deadline within chrono's range");
            }
            Period::WorkingDays(n) => {
                let paused = u32::try_from(stopped.working_days).expect("paused days fit u32");
                self.calendar
                    .add_working_days(self.start_date, n.saturating_add(paused))
            }
            Period::Days(n) => self.start_date + Days::new(n.into()) + extra_days,
            Period::Weeks(n) => self.start_date + Days::new(u64::from(n) * 7) + extra_days,
            Period::Months(n) => {
                // chrono clamps to the month's end: 31 January + 1 month = 28 or 29 February.
                self.start_date
                    .checked_add_months(Months::new(n))
                    .expect("deadline within chrono's range")
                    + extra_days
            }
            Period::Next(date) => date.next_after(self.start_date) + extra_days,
        };
        london::end_of_day(due_date)
    }
}

#[cfg(test)]
mod tests;
