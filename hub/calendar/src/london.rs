//! London civil time, approximated by the UK summer time rule.
//!
//! Why: deadlines are days in England ("within 2 working days", "by 15 February"), so an instant
//! must be turned into a London date, and a due day back into the instant it ends. The hub stores
//! instants in UTC, and a full timezone database would be a large dependency for one zone.
//!
//! The approximation: British Summer Time (UTC+1) runs from 01:00 UTC on the last Sunday of March
//! to 01:00 UTC on the last Sunday of October; the rest of the year is GMT (UTC). This has been
//! the rule in force today (the Summer Time Order 2002), so it is exact for present and future
//! years unless Parliament changes it. Earlier, different rules are not modelled.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};

use crate::bank_holidays::last_weekday_of;

/// Whether London is on British Summer Time (UTC+1) at `instant`.
pub fn is_summer_time(instant: DateTime<Utc>) -> bool {
    let year = instant.year();
    let change = |month| {
        last_weekday_of(year, month, Weekday::Sun)
            .and_time(NaiveTime::from_hms_opt(1, 0, 0).expect("01:00 is a valid time"))
            .and_utc()
    };
    change(3) <= instant && instant < change(10)
}

/// London's offset from UTC at `instant`: one hour in summer time, otherwise zero.
pub fn offset(instant: DateTime<Utc>) -> TimeDelta {
    if is_summer_time(instant) {
        TimeDelta::hours(1)
    } else {
        TimeDelta::zero()
    }
}

/// The date on a London calendar at `instant`. A referral arriving at 23:30 UTC in July arrived
/// on the next day in London, and its clock counts from that day.
pub fn civil_date(instant: DateTime<Utc>) -> NaiveDate {
    (instant + offset(instant)).date_naive()
}

/// The last millisecond of `date` in London (23:59:59.999 London time), as a UTC instant.
///
/// Why the last millisecond: a deadline "on" a day is met by anything done that day, and an
/// instant compares cleanly with event timestamps (`done <= deadline`).
pub fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    let wall_clock = date
        .and_time(NaiveTime::from_hms_milli_opt(23, 59, 59, 999).expect("valid time"))
        .and_utc();
    // Read the wall clock as summer time; keep that reading only if summer time is in force then.
    // Clock changes happen at 01:00 UTC, so late evening is never ambiguous.
    let if_summer = wall_clock - TimeDelta::hours(1);
    if is_summer_time(if_summer) {
        if_summer
    } else {
        wall_clock
    }
}

/// The instant London's clocks show `time` on `date`, as a UTC instant: the opening and closing
/// of a working day. Read as summer time, kept only if summer time is in force then; clock
/// changes happen at 01:00 UTC, so a time from 02:00 to midnight is never ambiguous.
pub fn wall_clock(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let wall_clock = date.and_time(time).and_utc();
    let if_summer = wall_clock - TimeDelta::hours(1);
    if is_summer_time(if_summer) {
        if_summer
    } else {
        wall_clock
    }
}

/// The first instant of `date` in London (00:00 London time), as a UTC instant.
///
/// Why: files that carry only dates (a CIN census, a social care extract) mean a day in England;
/// an event on 1 July began at 23:00 UTC on 30 June.
pub fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    let wall_clock = date.and_time(NaiveTime::MIN).and_utc();
    // Clock changes happen at 01:00 UTC, so midnight is never ambiguous: read it as summer time
    // and keep that reading only if summer time is in force then.
    let if_summer = wall_clock - TimeDelta::hours(1);
    if is_summer_time(if_summer) {
        if_summer
    } else {
        wall_clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("test instant")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test date")
    }

    #[test]
    fn summer_time_starts_at_01_utc_on_last_sunday_of_march() {
        assert!(!is_summer_time(at("2026-03-29T00:59:59.999Z")));
        assert!(is_summer_time(at("2026-03-29T01:00:00Z")));
    }

    #[test]
    fn summer_time_ends_at_01_utc_on_last_sunday_of_october() {
        assert!(is_summer_time(at("2026-10-25T00:59:59.999Z")));
        assert!(!is_summer_time(at("2026-10-25T01:00:00Z")));
    }

    #[test]
    fn winter_and_summer_offsets() {
        assert_eq!(offset(at("2026-01-15T12:00:00Z")), TimeDelta::zero());
        assert_eq!(offset(at("2026-07-15T12:00:00Z")), TimeDelta::hours(1));
        assert_eq!(offset(at("2026-12-31T23:59:59Z")), TimeDelta::zero());
    }

    #[test]
    fn late_evening_utc_in_summer_is_the_next_london_day() {
        assert_eq!(civil_date(at("2026-07-01T23:30:00Z")), date(2026, 7, 2));
        assert_eq!(civil_date(at("2026-07-01T22:59:59Z")), date(2026, 7, 1));
    }

    #[test]
    fn late_evening_utc_in_winter_is_the_same_london_day() {
        assert_eq!(civil_date(at("2026-12-01T23:30:00Z")), date(2026, 12, 1));
    }

    #[test]
    fn end_of_day_in_summer_is_22_59_utc() {
        assert_eq!(end_of_day(date(2026, 7, 1)), at("2026-07-01T22:59:59.999Z"));
    }

    #[test]
    fn end_of_day_in_winter_is_23_59_utc() {
        assert_eq!(
            end_of_day(date(2026, 12, 1)),
            at("2026-12-01T23:59:59.999Z")
        );
    }

    #[test]
    fn end_of_day_on_clock_change_sundays_uses_the_new_offset() {
        assert_eq!(
            end_of_day(date(2026, 3, 29)),
            at("2026-03-29T22:59:59.999Z")
        );
        assert_eq!(
            end_of_day(date(2026, 10, 25)),
            at("2026-10-25T23:59:59.999Z")
        );
        // The evening before summer time starts is still GMT.
        assert_eq!(
            end_of_day(date(2026, 3, 28)),
            at("2026-03-28T23:59:59.999Z")
        );
    }

    #[test]
    fn start_of_day_is_23_utc_the_day_before_in_summer_and_midnight_utc_in_winter() {
        assert_eq!(start_of_day(date(2026, 7, 1)), at("2026-06-30T23:00:00Z"));
        assert_eq!(start_of_day(date(2026, 12, 1)), at("2026-12-01T00:00:00Z"));
        // Both clock-change Sundays begin on the offset of the night before.
        assert_eq!(start_of_day(date(2026, 3, 29)), at("2026-03-29T00:00:00Z"));
        assert_eq!(start_of_day(date(2026, 10, 25)), at("2026-10-24T23:00:00Z"));
    }

    #[test]
    fn start_of_day_is_on_the_same_london_date_and_follows_the_day_before() {
        let mut day = date(2025, 1, 1);
        while day < date(2027, 1, 1) {
            assert_eq!(civil_date(start_of_day(day)), day);
            assert_eq!(
                civil_date(start_of_day(day) - TimeDelta::milliseconds(1)),
                day.pred_opt().expect("previous day")
            );
            day = day.succ_opt().expect("next day");
        }
    }

    #[test]
    fn end_of_day_is_on_the_same_london_date() {
        let mut day = date(2025, 1, 1);
        while day < date(2027, 1, 1) {
            assert_eq!(civil_date(end_of_day(day)), day);
            assert_eq!(
                civil_date(end_of_day(day) + TimeDelta::milliseconds(1)),
                day.succ_opt().expect("next day")
            );
            day = day.succ_opt().expect("next day");
        }
    }
}
