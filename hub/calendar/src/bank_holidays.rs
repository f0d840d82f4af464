//! England and Wales bank holidays, computed by rule.
//!
//! Why by rule and not from a downloaded list: deadlines must be computed offline, years ahead (an
//! annual review falls due twelve months out) and years back (replaying old events), while the
//! GOV.UK feed covers only a few years around today. The standing rules have not changed since
//! 1978; what changes are the occasional moved and one-off days proclaimed for national events,
//! which are listed below for 1995 to the present.
//!
//! When a new one-off day is proclaimed, or a standing day is moved, add it to `ONE_OFF` or to
//! `early_may` / `spring`, with a test for that year.

use std::ops::RangeInclusive;

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// The years whose moved and one-off days are known. Other years get the standing rules only,
/// which is right for most years but will miss any future one-off day.
pub const SUPPORTED_YEARS: RangeInclusive<i32> = 1995..=2100;

/// One-off bank holidays proclaimed for national events, as (year, month, day).
const ONE_OFF: &[(i32, u32, u32)] = &[
    (1999, 12, 31), // Millennium
    (2002, 6, 3),   // Golden Jubilee
    (2011, 4, 29),  // Royal wedding
    (2012, 6, 5),   // Diamond Jubilee
    (2022, 6, 3),   // Platinum Jubilee
    (2022, 9, 19),  // State funeral of Queen Elizabeth II
    (2023, 5, 8),   // Coronation of King Charles III
];

/// The bank holidays of `year` in England and Wales, in date order.
///
/// The rules are exact for [`SUPPORTED_YEARS`]; outside them the standing rules are applied as-is.
///
/// # Panics
///
/// If `year` is outside chrono's date range (about ±262,000 years).
pub fn england_and_wales(year: i32) -> Vec<NaiveDate> {
    let easter = easter_sunday(year);
    let mut days = with_substitutes(&[ymd(year, 1, 1)]);
    days.push(easter - Days::new(2)); // Good Friday
    days.push(easter + Days::new(1)); // Easter Monday
    days.push(early_may(year));
    days.push(spring(year));
    days.push(last_weekday_of(year, 8, Weekday::Mon)); // summer bank holiday
    days.extend(with_substitutes(&[ymd(year, 12, 25), ymd(year, 12, 26)]));
    days.extend(
        ONE_OFF
            .iter()
            .filter(|(y, ..)| *y == year)
            .map(|&(y, m, d)| ymd(y, m, d)),
    );
    days.sort_unstable();
    days.dedup();
    days
}

/// The early May bank holiday: the first Monday of May, moved for VE Day anniversaries.
fn early_may(year: i32) -> NaiveDate {
    match year {
        1995 | 2020 => ymd(year, 5, 8),
        _ => first_weekday_of(year, 5, Weekday::Mon),
    }
}

/// The spring bank holiday: the last Monday of May, moved to make room for jubilees.
fn spring(year: i32) -> NaiveDate {
    match year {
        2002 => ymd(2002, 6, 4),
        2012 => ymd(2012, 6, 4),
        2022 => ymd(2022, 6, 2),
        _ => last_weekday_of(year, 5, Weekday::Mon),
    }
}

/// Fixed-date holidays with substitute days: a holiday falling on a weekend moves to the next
/// weekday that is not already a holiday. Holidays already on weekdays keep their day, which is
/// why Christmas on a Sunday is observed on Tuesday 27th: Boxing Day keeps Monday 26th.
fn with_substitutes(natural: &[NaiveDate]) -> Vec<NaiveDate> {
    let mut observed: Vec<NaiveDate> = natural
        .iter()
        .copied()
        .filter(|d| !is_weekend(*d))
        .collect();
    for &day in natural.iter().filter(|d| is_weekend(**d)) {
        let mut substitute = day;
        while is_weekend(substitute) || observed.contains(&substitute) {
            substitute = substitute + Days::new(1);
        }
        observed.push(substitute);
    }
    observed
}

/// Easter Sunday in the Gregorian calendar, by the anonymous Gregorian algorithm
/// (Meeus/Jones/Butcher).
fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    let month = u32::try_from(n / 31).expect("Easter month is 3 or 4");
    let day = u32::try_from(n % 31 + 1).expect("Easter day is 1..=31");
    ymd(year, month, day)
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day)
        .unwrap_or_else(|| panic!("expected a valid date; found {year}-{month:02}-{day:02}"))
}

/// The first `weekday` of `month` in `year`.
pub(crate) fn first_weekday_of(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let mut date = ymd(year, month, 1);
    while date.weekday() != weekday {
        date = date + Days::new(1);
    }
    date
}

/// The last `weekday` of `month` in `year`.
pub(crate) fn last_weekday_of(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let next_month = if month == 12 {
        ymd(year + 1, 1, 1)
    } else {
        ymd(year, month + 1, 1)
    };
    let mut date = next_month - Days::new(1);
    while date.weekday() != weekday {
        date = date - Days::new(1);
    }
    date
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(year: i32, month_days: &[(u32, u32)]) -> Vec<NaiveDate> {
        month_days.iter().map(|&(m, d)| ymd(year, m, d)).collect()
    }

    #[test]
    fn matches_gov_uk_list_for_2024() {
        let expected = [
            (1, 1),
            (3, 29),
            (4, 1),
            (5, 6),
            (5, 27),
            (8, 26),
            (12, 25),
            (12, 26),
        ];
        assert_eq!(england_and_wales(2024), dates(2024, &expected));
    }

    #[test]
    fn matches_gov_uk_list_for_2025() {
        let expected = [
            (1, 1),
            (4, 18),
            (4, 21),
            (5, 5),
            (5, 26),
            (8, 25),
            (12, 25),
            (12, 26),
        ];
        assert_eq!(england_and_wales(2025), dates(2025, &expected));
    }

    #[test]
    fn matches_gov_uk_list_for_2026_with_boxing_day_substitute() {
        let expected = [
            (1, 1),
            (4, 3),
            (4, 6),
            (5, 4),
            (5, 25),
            (8, 31),
            (12, 25),
            (12, 28),
        ];
        assert_eq!(england_and_wales(2026), dates(2026, &expected));
    }

    #[test]
    fn includes_2022_jubilee_moves_and_state_funeral() {
        let expected = [
            (1, 3),
            (4, 15),
            (4, 18),
            (5, 2),
            (6, 2),
            (6, 3),
            (8, 29),
            (9, 19),
            (12, 26),
            (12, 27),
        ];
        assert_eq!(england_and_wales(2022), dates(2022, &expected));
    }

    #[test]
    fn substitutes_monday_and_tuesday_when_christmas_is_on_saturday_2027() {
        let expected = [
            (1, 1),
            (3, 26),
            (3, 29),
            (5, 3),
            (5, 31),
            (8, 30),
            (12, 27),
            (12, 28),
        ];
        assert_eq!(england_and_wales(2027), dates(2027, &expected));
    }

    #[test]
    fn applies_moved_early_may_and_spring_holidays() {
        assert!(england_and_wales(2020).contains(&ymd(2020, 5, 8)));
        assert!(!england_and_wales(2020).contains(&ymd(2020, 5, 4)));
        assert!(england_and_wales(1995).contains(&ymd(1995, 5, 8)));
        assert!(!england_and_wales(1995).contains(&ymd(1995, 5, 1)));
        let y2002 = england_and_wales(2002);
        assert!(y2002.contains(&ymd(2002, 6, 3)) && y2002.contains(&ymd(2002, 6, 4)));
        assert!(!y2002.contains(&ymd(2002, 5, 27)));
        let y2012 = england_and_wales(2012);
        assert!(y2012.contains(&ymd(2012, 6, 4)) && y2012.contains(&ymd(2012, 6, 5)));
        assert!(!y2012.contains(&ymd(2012, 5, 28)));
    }

    #[test]
    fn includes_royal_wedding_coronation_and_millennium() {
        assert!(england_and_wales(2011).contains(&ymd(2011, 4, 29)));
        assert!(england_and_wales(2023).contains(&ymd(2023, 5, 8)));
        assert!(england_and_wales(1999).contains(&ymd(1999, 12, 31)));
    }

    #[test]
    fn computes_known_easter_sundays() {
        for (year, month, day) in [
            (1995, 4, 16),
            (2000, 4, 23),
            (2008, 3, 23),
            (2019, 4, 21),
            (2038, 4, 25),
            (2100, 3, 28),
        ] {
            assert_eq!(easter_sunday(year), ymd(year, month, day), "Easter {year}");
        }
    }

    #[test]
    fn every_supported_year_has_eight_standing_holidays_on_weekdays() {
        for year in SUPPORTED_YEARS {
            let days = england_and_wales(year);
            let one_offs = ONE_OFF.iter().filter(|(y, ..)| *y == year).count();
            assert_eq!(days.len(), 8 + one_offs, "count for {year}");
            assert!(days.iter().all(|d| d.year() == year && !is_weekend(*d)));
        }
    }
}
