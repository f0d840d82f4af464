//! Working days: Monday to Friday, minus bank holidays.
//!
//! Why a type and not a function: agencies close on different days. A local authority may close
//! between Christmas and New Year, or a health trust may work a bank holiday, and the handoff
//! agreement counts that agency's working days. A [`WorkingCalendar`] starts from England and
//! Wales bank holidays and adds or removes days, so each agency's calendar is one value built at
//! start-up from config and passed to the deadline code.
//!
//! Counting convention, shared with [`crate::due`]: the day a clock starts never counts. A
//! referral received on a Friday with two working days to respond is due on Tuesday, whatever
//! time on Friday it arrived.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::bank_holidays::{self, SUPPORTED_YEARS};
use crate::working_hours::WorkingHours;

/// Which days an agency works: Monday to Friday, minus holidays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    /// Bank holidays for [`SUPPORTED_YEARS`], computed once so lookups are cheap.
    bank_holidays: BTreeSet<NaiveDate>,
    /// Local closure days added with [`WorkingCalendar::with_extra_holidays`].
    extra: BTreeSet<NaiveDate>,
    /// Holidays the agency works, added with [`WorkingCalendar::without_holidays`].
    removed: BTreeSet<NaiveDate>,
    /// The hours of a working day, for deadlines in working hours.
    hours: WorkingHours,
}

impl WorkingCalendar {
    /// Monday to Friday, minus England and Wales bank holidays.
    pub fn england_and_wales() -> Self {
        let bank_holidays = SUPPORTED_YEARS
            .flat_map(bank_holidays::england_and_wales)
            .collect();
        Self {
            bank_holidays,
            extra: BTreeSet::new(),
            removed: BTreeSet::new(),
            hours: WorkingHours::default(),
        }
    }

    /// Count working hours as `hours` instead of the default 09:00 to 17:00.
    #[must_use]
    pub fn with_working_hours(mut self, hours: WorkingHours) -> Self {
        self.hours = hours;
        self
    }

    /// The hours of this calendar's working day.
    pub fn working_hours(&self) -> WorkingHours {
        self.hours
    }

    /// Also treat `days` as holidays, for example a local authority's closure days. Days that
    /// already fall on a weekend change nothing.
    #[must_use]
    pub fn with_extra_holidays(mut self, days: impl IntoIterator<Item = NaiveDate>) -> Self {
        for day in days {
            self.removed.remove(&day);
            self.extra.insert(day);
        }
        self
    }

    /// Treat `days` as ordinary days, for an agency that works them. A removed day that falls on
    /// a weekend is still not a working day.
    #[must_use]
    pub fn without_holidays(mut self, days: impl IntoIterator<Item = NaiveDate>) -> Self {
        for day in days {
            self.extra.remove(&day);
            self.removed.insert(day);
        }
        self
    }

    /// Whether `date` is a holiday in this calendar (whatever day of the week it falls on).
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        if self.removed.contains(&date) {
            return false;
        }
        if self.extra.contains(&date) {
            return true;
        }
        if SUPPORTED_YEARS.contains(&date.year()) {
            self.bank_holidays.contains(&date)
        } else {
            bank_holidays::england_and_wales(date.year()).contains(&date)
        }
    }

    /// Whether `date` is a working day: Monday to Friday and not a holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.is_holiday(date)
    }

    /// The `n`th working day after `start`. `start` itself never counts, even if it is a working
    /// day, so Friday plus 2 is Tuesday; `n = 0` returns `start` unchanged.
    ///
    /// # Panics
    ///
    /// If the result is beyond chrono's date range.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut date = start;
        let mut remaining = n;
        while remaining > 0 {
            date = next_day(date);
            if self.is_working_day(date) {
                remaining -= 1;
            }
        }
        date
    }

    /// The number of working days after `a` up to and including `b`; negative when `b` is
    /// before `a`. This is the inverse of [`WorkingCalendar::add_working_days`]:
    /// `working_days_between(a, add_working_days(a, n)) == n`.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        let (from, to, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        let mut count = 0;
        let mut date = from;
        while date < to {
            date = next_day(date);
            if self.is_working_day(date) {
                count += 1;
            }
        }
        sign * count
    }
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(1))
        .expect("expected a date within chrono's range; found the last representable date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test date")
    }

    #[test]
    fn friday_plus_two_working_days_is_tuesday() {
        let calendar = WorkingCalendar::england_and_wales();
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 9), 2),
            date(2026, 1, 13)
        );
    }

    #[test]
    fn zero_working_days_returns_start_even_on_a_weekend() {
        let calendar = WorkingCalendar::england_and_wales();
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 10), 0),
            date(2026, 1, 10)
        );
    }

    #[test]
    fn saturday_plus_one_working_day_is_monday() {
        let calendar = WorkingCalendar::england_and_wales();
        assert_eq!(
            calendar.add_working_days(date(2026, 1, 10), 1),
            date(2026, 1, 12)
        );
    }

    #[test]
    fn skips_good_friday_and_easter_monday_2026() {
        let calendar = WorkingCalendar::england_and_wales();
        assert_eq!(
            calendar.add_working_days(date(2026, 4, 2), 2),
            date(2026, 4, 8)
        );
    }

    #[test]
    fn skips_christmas_and_boxing_day_substitute_2026() {
        let calendar = WorkingCalendar::england_and_wales();
        assert!(!calendar.is_working_day(date(2026, 12, 28)));
        assert_eq!(
            calendar.add_working_days(date(2026, 12, 24), 1),
            date(2026, 12, 29)
        );
        assert_eq!(
            calendar.add_working_days(date(2026, 12, 24), 2),
            date(2026, 12, 30)
        );
    }

    #[test]
    fn extra_holiday_is_skipped() {
        let closure = date(2026, 12, 29);
        let calendar = WorkingCalendar::england_and_wales().with_extra_holidays([closure]);
        assert!(!calendar.is_working_day(closure));
        assert_eq!(
            calendar.add_working_days(date(2026, 12, 24), 1),
            date(2026, 12, 30)
        );
    }

    #[test]
    fn removed_bank_holiday_becomes_a_working_day() {
        let easter_monday = date(2026, 4, 6);
        let calendar = WorkingCalendar::england_and_wales().without_holidays([easter_monday]);
        assert!(calendar.is_working_day(easter_monday));
        assert_eq!(
            calendar.add_working_days(date(2026, 4, 2), 1),
            easter_monday
        );
    }

    #[test]
    fn later_builder_call_wins() {
        let day = date(2026, 5, 4);
        let calendar = WorkingCalendar::england_and_wales()
            .without_holidays([day])
            .with_extra_holidays([day]);
        assert!(!calendar.is_working_day(day));
    }

    #[test]
    fn weekends_are_never_working_days() {
        let calendar = WorkingCalendar::england_and_wales().without_holidays([date(2026, 1, 10)]);
        assert!(!calendar.is_working_day(date(2026, 1, 10)));
        assert!(!calendar.is_working_day(date(2026, 1, 11)));
    }

    #[test]
    fn holidays_outside_supported_years_follow_the_standing_rules() {
        let calendar = WorkingCalendar::england_and_wales();
        // Christmas 2101 is a Sunday: Boxing Day keeps Monday, Christmas moves to Tuesday.
        assert!(!calendar.is_working_day(date(2101, 12, 26)));
        assert!(!calendar.is_working_day(date(2101, 12, 27)));
        assert!(calendar.is_working_day(date(2101, 12, 28)));
    }

    #[test]
    fn working_days_between_counts_after_a_up_to_b() {
        let calendar = WorkingCalendar::england_and_wales();
        let friday = date(2026, 1, 9);
        let tuesday = date(2026, 1, 13);
        assert_eq!(calendar.working_days_between(friday, tuesday), 2);
        assert_eq!(calendar.working_days_between(tuesday, friday), -2);
        assert_eq!(calendar.working_days_between(friday, friday), 0);
        assert_eq!(
            calendar.working_days_between(date(2026, 12, 24), date(2026, 12, 31)),
            3
        );
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        let first = date(1995, 1, 1);
        let span = date(2100, 12, 31).signed_duration_since(first).num_days();
        (0..=span).prop_map(move |offset| {
            first + Days::new(u64::try_from(offset).expect("offset is non-negative"))
        })
    }

    proptest! {
        #[test]
        fn add_working_days_lands_on_a_working_day_after_start(
            start in any_date(),
            n in 1u32..400,
        ) {
            let calendar = WorkingCalendar::england_and_wales();
            let due = calendar.add_working_days(start, n);
            prop_assert!(calendar.is_working_day(due));
            prop_assert!(due > start);
        }

        #[test]
        fn add_working_days_is_monotonic_in_n(start in any_date(), n in 0u32..400) {
            let calendar = WorkingCalendar::england_and_wales();
            prop_assert!(
                calendar.add_working_days(start, n) < calendar.add_working_days(start, n + 1)
            );
        }

        #[test]
        fn working_days_between_inverts_add_working_days(start in any_date(), n in 0u32..400) {
            let calendar = WorkingCalendar::england_and_wales();
            let due = calendar.add_working_days(start, n);
            prop_assert_eq!(calendar.working_days_between(start, due), i64::from(n));
        }
    }
}
