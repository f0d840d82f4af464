//! Working hours: the part of a working day an agency is at work, for deadlines counted in hours
//! of work ("an emergency referral is acknowledged within 4 working hours").
//!
//! Why a definition of its own: working days say which days count, not which hours. An emergency
//! referral made at 16:00 on a Friday with 4 working hours to answer is due at 11:00 on Monday,
//! not at 20:00 on Friday. No statute sets working hours for handoffs between agencies; the
//! default here, **09:00 to 17:00 London time, Monday to Friday, minus bank holidays and any
//! extra holidays of the [`WorkingCalendar`]**, is a local-agreement default, and each hub sets
//! its own (`handoffs.working_hours`).
//!
//! Counting: time before opening and after closing does not count, nor does any day that is not
//! a working day; a clock started outside working hours starts counting at the next opening.
//! Unlike day-based deadlines, the deadline is an instant within a working day, not the end of a
//! day.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::london;
use crate::working_days::WorkingCalendar;

/// When a working day opens and closes, London time. At least an hour apart, so a deadline of
/// [`crate::deadline::MAX_COUNT`] working hours stays within a few thousand working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkingHours {
    opens: NaiveTime,
    closes: NaiveTime,
}

/// Why a config string is not [`WorkingHours`]. Quoting the input is safe: it is config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkingHoursError {
    #[error(
        "expected working hours such as `09:00-17:00` (24-hour HH:MM, opening first); found `{found}`"
    )]
    Shape { found: String },
    #[error("expected the working day to close at least an hour after it opens; found `{found}`")]
    TooShort { found: String },
}

impl WorkingHours {
    /// 09:00 to 17:00: the local-agreement default (see the module documentation).
    pub fn nine_to_five() -> Self {
        Self {
            opens: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a valid time"),
            closes: NaiveTime::from_hms_opt(17, 0, 0).expect("17:00 is a valid time"),
        }
    }

    /// A working day from `opens` to `closes`, London time, at least an hour long.
    pub fn new(opens: NaiveTime, closes: NaiveTime) -> Result<Self, WorkingHoursError> {
        let hours = Self { opens, closes };
        if closes - opens < TimeDelta::hours(1) {
            return Err(WorkingHoursError::TooShort {
                found: hours.to_string(),
            });
        }
        Ok(hours)
    }

    pub fn opens(self) -> NaiveTime {
        self.opens
    }

    pub fn closes(self) -> NaiveTime {
        self.closes
    }

    /// The working span of `date` as UTC instants, when `date` is a working day.
    fn span(
        self,
        calendar: &WorkingCalendar,
        date: NaiveDate,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        calendar.is_working_day(date).then(|| {
            (
                london::wall_clock(date, self.opens),
                london::wall_clock(date, self.closes),
            )
        })
    }
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self::nine_to_five()
    }
}

impl WorkingCalendar {
    /// The instant `work` of working time after `start`, counting only working hours on working
    /// days; `None` if that is beyond chrono's date range. No work at all is `start` itself.
    pub fn add_working_time(&self, start: DateTime<Utc>, work: TimeDelta) -> Option<DateTime<Utc>> {
        let hours = self.working_hours();
        let mut remaining = work;
        if remaining <= TimeDelta::zero() {
            return Some(start);
        }
        let mut date = london::civil_date(start);
        loop {
            if let Some((opens, closes)) = hours.span(self, date) {
                let from = start.max(opens);
                if from < closes {
                    let available = closes - from;
                    if remaining <= available {
                        return from.checked_add_signed(remaining);
                    }
                    remaining -= available;
                }
            }
            date = date.checked_add_days(Days::new(1))?;
        }
    }

    /// The working time between `from` and `until` (zero when `until` is not after `from`): what
    /// a pause of a working-hours clock costs it.
    pub fn working_time_between(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> TimeDelta {
        let hours = self.working_hours();
        let mut total = TimeDelta::zero();
        let mut date = london::civil_date(from);
        let last = london::civil_date(until);
        while date <= last {
            if let Some((opens, closes)) = hours.span(self, date) {
                let (a, b) = (from.max(opens), until.min(closes));
                if a < b {
                    total += b - a;
                }
            }
            match date.checked_add_days(Days::new(1)) {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }
}

impl FromStr for WorkingHours {
    type Err = WorkingHoursError;

    /// `HH:MM-HH:MM`, 24-hour, e.g. `09:00-17:00`; spaces around the dash are allowed.
    fn from_str(input: &str) -> Result<Self, WorkingHoursError> {
        let found = input.trim().to_owned();
        let shape = || WorkingHoursError::Shape {
            found: found.clone(),
        };
        let (a, b) = found.split_once('-').ok_or_else(shape)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| shape());
        Self::new(time(a)?, time(b)?)
    }
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.opens.hour(),
            self.opens.minute(),
            self.closes.hour(),
            self.closes.minute()
        )
    }
}

impl Serialize for WorkingHours {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WorkingHours {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HoursVisitor;

        impl Visitor<'_> for HoursVisitor {
            type Value = WorkingHours;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("working hours such as \"09:00-17:00\"")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<WorkingHours, E> {
                value.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(HoursVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("test instant")
    }

    fn calendar() -> WorkingCalendar {
        WorkingCalendar::england_and_wales()
    }

    #[test]
    fn four_working_hours_from_friday_afternoon_run_into_monday_morning() {
        // Friday 13 November 2026, 16:00 GMT: one hour on Friday, three from Monday's opening.
        assert_eq!(
            calendar().add_working_time(at("2026-11-13T16:00:00Z"), TimeDelta::hours(4)),
            Some(at("2026-11-16T12:00:00Z"))
        );
    }

    #[test]
    fn a_clock_started_before_opening_counts_from_opening_in_london_summer_time() {
        // Wednesday 1 July 2026, 06:00 UTC (07:00 BST): opens 09:00 BST = 08:00 UTC.
        assert_eq!(
            calendar().add_working_time(at("2026-07-01T06:00:00Z"), TimeDelta::hours(4)),
            Some(at("2026-07-01T12:00:00Z"))
        );
    }

    #[test]
    fn working_hours_skip_bank_holidays() {
        // Thursday 24 December 2026, 15:00: two hours that day; 25th, 28th (Boxing Day's
        // substitute) and the weekend do not count; two more from 09:00 on Tuesday 29th.
        assert_eq!(
            calendar().add_working_time(at("2026-12-24T15:00:00Z"), TimeDelta::hours(4)),
            Some(at("2026-12-29T11:00:00Z"))
        );
    }

    #[test]
    fn configured_hours_replace_nine_to_five() {
        let hours: WorkingHours = "08:00-18:30".parse().unwrap();
        let calendar = calendar().with_working_hours(hours);
        assert_eq!(
            calendar.add_working_time(at("2026-11-16T17:00:00Z"), TimeDelta::hours(4)),
            Some(at("2026-11-17T10:30:00Z"))
        );
    }

    #[test]
    fn working_time_between_counts_only_open_hours() {
        // Friday 16:00 to Monday 10:00: one hour on Friday, one on Monday.
        assert_eq!(
            calendar().working_time_between(at("2026-11-13T16:00:00Z"), at("2026-11-16T10:00:00Z")),
            TimeDelta::hours(2)
        );
        assert_eq!(
            calendar().working_time_between(at("2026-11-16T10:00:00Z"), at("2026-11-13T16:00:00Z")),
            TimeDelta::zero()
        );
    }

    #[test]
    fn hours_round_trip_and_reject_nonsense() {
        let hours: WorkingHours = " 09:30 - 16:45 ".parse().unwrap();
        assert_eq!(hours.to_string(), "09:30-16:45");
        assert!(matches!(
            "17:00-09:00".parse::<WorkingHours>(),
            Err(WorkingHoursError::TooShort { .. })
        ));
        assert!(matches!(
            "09:00-09:30".parse::<WorkingHours>(),
            Err(WorkingHoursError::TooShort { .. })
        ));
        assert!(matches!(
            "nine to five".parse::<WorkingHours>(),
            Err(WorkingHoursError::Shape { .. })
        ));
        assert!(matches!(
            "25:00-26:00".parse::<WorkingHours>(),
            Err(WorkingHoursError::Shape { .. })
        ));
    }

    #[test]
    fn the_last_representable_day_gives_none_not_a_panic() {
        let end = NaiveDate::MAX.and_hms_opt(12, 0, 0).unwrap().and_utc();
        assert_eq!(
            calendar().add_working_time(end, TimeDelta::hours(10_000)),
            None
        );
    }
}
