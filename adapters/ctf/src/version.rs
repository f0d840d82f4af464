//! Which CTF versions a file may carry, judged from the file's own date.
//!
//! The DfE publishes a new CTF each year: "Common transfer file NN: specification" is valid from
//! September 20NN (CTF 23 from September 2023, CTF 24 from September 2024; domain notes §1.1).
//! A receiving system reads the current version and the previous one, because a school whose MIS
//! has not been upgraded yet still writes last year's.
//!
//! Why from the date and not a list: a hand-edited list of accepted versions expires every
//! September, and the reader then refuses every school's current file until someone makes a
//! release. The window follows the school year (1 September to 31 August) the file's `DateTime`
//! falls in: a file dated 2026-12-01 is in school year 2026/27, so CTF 26 is current and CTF 25
//! the previous version.
//!
//! One version newer than the window is read, with a warning in the file report: year to year the
//! schema's changes are additive for the elements this reader maps (the identifiers, SEN history,
//! looked-after status, school history and the header), so a school that upgraded early, or a
//! file stamped just before September, is not refused. Anything older than the previous version,
//! or more than one newer, is refused with a reason naming the version.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// A CTF version as written in `CTFversion`, e.g. `25.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtfVersion {
    pub major: u16,
    pub minor: u16,
}

impl fmt::Display for CtfVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// `25.0`, `25` or `25.1`.
pub(crate) fn parse_version(s: &str) -> Option<CtfVersion> {
    let (major, minor) = s.split_once('.').unwrap_or((s, "0"));
    let number = |part: &str| {
        (!part.is_empty() && part.len() <= 3 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u16>().ok())
            .flatten()
    };
    Some(CtfVersion {
        major: number(major)?,
        minor: number(minor)?,
    })
}

/// The versions a file dated in one school year may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionWindow {
    /// The calendar year the school year starts in (2026 for 2026/27).
    pub school_year: i32,
}

/// How a file's version stands against its [`VersionWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionStatus {
    /// This school year's version.
    Current,
    /// Last school year's: a school whose MIS is not upgraded yet.
    Previous,
    /// One version newer than this school year's: read, with a warning in the report.
    Newer,
}

impl VersionWindow {
    /// The window for a file dated `date`: the school year runs from 1 September to 31 August.
    pub fn for_date(date: NaiveDate) -> Self {
        let school_year = if date.month() >= 9 {
            date.year()
        } else {
            date.year() - 1
        };
        Self { school_year }
    }

    /// This school year's major version: CTF NN is valid from September 20NN.
    pub fn current(&self) -> i32 {
        self.school_year - 2000
    }

    /// Last school year's major version.
    pub fn previous(&self) -> i32 {
        self.current() - 1
    }

    /// How `major` stands, or `None` if a file of this school year must not carry it.
    pub fn judge(&self, major: u16) -> Option<VersionStatus> {
        let major = i32::from(major);
        if major == self.current() {
            Some(VersionStatus::Current)
        } else if major == self.previous() {
            Some(VersionStatus::Previous)
        } else if major == self.current() + 1 {
            Some(VersionStatus::Newer)
        } else {
            None
        }
    }
}

/// `2026/27`, as schools write a school year.
impl fmt::Display for VersionWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{:02}",
            self.school_year,
            (self.school_year + 1).rem_euclid(100)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(s: &str) -> VersionWindow {
        VersionWindow::for_date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn parses_versions_as_ctf_writes_them() {
        assert_eq!(
            parse_version("25.0"),
            Some(CtfVersion {
                major: 25,
                minor: 0
            })
        );
        assert_eq!(
            parse_version("24").map(|v| v.to_string()).as_deref(),
            Some("24.0")
        );
        assert_eq!(parse_version("25.a"), None);
        assert_eq!(parse_version("v25"), None);
        assert_eq!(parse_version(""), None);
        assert_eq!(parse_version("2500000.0"), None);
    }

    /// "CTF 23 was valid from September 2023 and CTF 24 from September 2024" (DfE, "Common
    /// transfer file NN: specification" pages).
    #[test]
    fn ctf_nn_is_current_from_september_20nn() {
        assert_eq!(on("2023-09-01").current(), 23);
        assert_eq!(on("2024-09-01").current(), 24);
        // The last day of the school year still belongs to the version that began it.
        assert_eq!(on("2024-08-31").current(), 23);
        assert_eq!(on("2025-08-31").current(), 24);
    }

    /// A file dated 2026-12-01 is in school year 2026/27: CTF 26 is this year's and CTF 25 last
    /// year's; 27 is read with a warning; 24 and older are refused.
    #[test]
    fn a_file_dated_1_december_2026_takes_26_and_25_and_warns_on_27() {
        let window = on("2026-12-01");
        assert_eq!(window.to_string(), "2026/27");
        assert_eq!(window.judge(26), Some(VersionStatus::Current));
        assert_eq!(window.judge(25), Some(VersionStatus::Previous));
        assert_eq!(window.judge(27), Some(VersionStatus::Newer));
        for refused in [24, 23, 11, 28, 0, u16::MAX] {
            assert_eq!(window.judge(refused), None, "{refused}");
        }
    }

    #[test]
    fn the_window_moves_on_1_september() {
        let summer = on("2027-08-31");
        let autumn = on("2027-09-01");
        assert_eq!(summer.judge(25), Some(VersionStatus::Previous));
        assert_eq!(autumn.judge(25), None);
        assert_eq!(autumn.judge(27), Some(VersionStatus::Current));
        assert_eq!(summer.judge(27), Some(VersionStatus::Newer));
        assert_eq!(on("2099-12-31").to_string(), "2099/00");
    }
}
