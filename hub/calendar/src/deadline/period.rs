//! How long a clock runs, as written in config: `"2 working days"`, `"6 weeks"`, `"next 15
//! February"`.
//!
//! Why strings: the people who maintain handoff agreements and SEND timers read and write TOML, and
//! `deadline = "6 weeks"` says what the Code of Practice says. The string form is the only form:
//! `Display` writes what `FromStr` reads, and serde uses both, so a value survives a round trip
//! through config unchanged.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest count accepted from config. Ten thousand of any unit is far beyond any real
/// deadline, and the bound keeps date arithmetic well inside chrono's range.
pub const MAX_COUNT: u32 = 10_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A length of time a clock runs before its deadline. See [`crate::due`] for how each is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// Working days after the start day (`"2 working days"`); handoff agreements use these.
    WorkingDays(u32),
    /// Calendar days after the start day (`"15 days"`).
    Days(u32),
    /// Calendar weeks (`"6 weeks"`); most statutory SEND steps use these.
    Weeks(u32),
    /// Calendar months, clamped to the month's end (`"12 months"`); annual reviews use these.
    Months(u32),
    /// Exact hours from the start instant (`"48 hours"`), ignoring days and holidays.
    Hours(u32),
    /// Hours of work (`"4 working hours"`): only the calendar's working hours on working days
    /// count (see [`crate::working_hours`]); an emergency referral's acknowledgement uses these.
    WorkingHours(u32),
    /// The first given date strictly after the start day (`"next 15 February"`); phase transfers
    /// use these.
    Next(AnnualDate),
}

/// A day and month that occur every year, such as 15 February. Validated so that a
/// [`Period::Next`] always has a next occurrence: 29 February and 31 April are rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnnualDate {
    day: u32,
    month: u32,
}

impl AnnualDate {
    /// The date `day` of `month` (1 = January), if it occurs in every year.
    pub fn new(day: u32, month: u32) -> Result<Self, PeriodError> {
        // 2023 is not a leap year, so this rejects 29 February as well as impossible dates.
        NaiveDate::from_ymd_opt(2023, month, day)
            .map(|_| Self { day, month })
            .ok_or(PeriodError::NoSuchDay { day, month })
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u32 {
        self.day
    }

    /// The month, 1 (January) to 12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The first occurrence strictly after `date`.
    pub fn next_after(self, date: NaiveDate) -> NaiveDate {
        let in_year =
            |year| NaiveDate::from_ymd_opt(year, self.month, self.day).expect("validated in new");
        let this_year = in_year(date.year());
        if this_year > date {
            this_year
        } else {
            in_year(date.year() + 1)
        }
    }
}

/// Why a config string is not a [`Period`]. Quoting the input is safe: it is config, never child
/// data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error(
        "expected a period such as `6 weeks`, `2 working days` or `next 15 February`; found an empty string"
    )]
    Empty,
    #[error(
        "expected `<number> <unit>` where unit is one of working days, days, weeks, months, hours, working hours, or `next <day> <month>`; found `{found}`"
    )]
    Shape { found: String },
    #[error(
        "expected a unit of working days, days, weeks, months, hours or working hours; found `{unit}` in `{found}`"
    )]
    UnknownUnit { unit: String, found: String },
    #[error("expected a count of at most {max}; found `{found}`", max = MAX_COUNT)]
    TooLarge { found: String },
    #[error("expected `next <day> <month>` such as `next 15 February`; found `{found}`")]
    FixedDate { found: String },
    #[error(
        "expected a day and month that occur every year (not 29 February or the 31st of a 30-day month); found day {day} of month {month}"
    )]
    NoSuchDay { day: u32, month: u32 },
}

impl FromStr for Period {
    type Err = PeriodError;

    /// Units are case-insensitive and may be singular or plural (`"1 week"`, `"1 weeks"`); extra
    /// whitespace is ignored. Month names may be full or three letters.
    fn from_str(input: &str) -> Result<Self, PeriodError> {
        let found = input.trim().to_owned();
        let lower = found.to_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        match words.as_slice() {
            [] => Err(PeriodError::Empty),
            ["next", rest @ ..] => parse_next(rest, &found),
            [count, unit @ ..] if !unit.is_empty() && is_number(count) => {
                let count: u32 = match count.parse() {
                    Ok(n) if n <= MAX_COUNT => n,
                    _ => return Err(PeriodError::TooLarge { found }),
                };
                match unit.join(" ").as_str() {
                    "working day" | "working days" => Ok(Period::WorkingDays(count)),
                    "working hour" | "working hours" => Ok(Period::WorkingHours(count)),
                    "day" | "days" => Ok(Period::Days(count)),
                    "week" | "weeks" => Ok(Period::Weeks(count)),
                    "month" | "months" => Ok(Period::Months(count)),
                    "hour" | "hours" => Ok(Period::Hours(count)),
                    _ => Err(PeriodError::UnknownUnit {
                        unit: unit.join(" "),
                        found,
                    }),
                }
            }
            _ => Err(PeriodError::Shape { found }),
        }
    }
}

fn is_number(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

fn parse_next(rest: &[&str], found: &str) -> Result<Period, PeriodError> {
    let shape = || PeriodError::FixedDate {
        found: found.to_owned(),
    };
    let [day, month] = rest else {
        return Err(shape());
    };
    if !is_number(day) {
        return Err(shape());
    }
    let day: u32 = day.parse().map_err(|_| shape())?;
    let month = MONTHS
        .iter()
        .position(|name| {
            let name = name.to_lowercase();
            **month == name || **month == name[..3]
        })
        .ok_or_else(shape)?;
    let month = u32::try_from(month).expect("fewer than 12 months") + 1;
    AnnualDate::new(day, month).map(Period::Next)
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (count, unit) = match *self {
            Period::WorkingDays(n) => (n, "working day"),
            Period::Days(n) => (n, "day"),
            Period::Weeks(n) => (n, "week"),
            Period::Months(n) => (n, "month"),
            Period::Hours(n) => (n, "hour"),
            Period::WorkingHours(n) => (n, "working hour"),
            Period::Next(date) => {
                let month = MONTHS[usize::try_from(date.month - 1).expect("month fits usize")];
                return write!(f, "next {} {month}", date.day);
            }
        };
        let plural = if count == 1 { "" } else { "s" };
        write!(f, "{count} {unit}{plural}")
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PeriodVisitor;

        impl Visitor<'_> for PeriodVisitor {
            type Value = Period;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a period such as \"6 weeks\", \"2 working days\" or \"next 15 February\"",
                )
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Period, E> {
                value.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(PeriodVisitor)
    }
}

#[cfg(test)]
mod tests;
