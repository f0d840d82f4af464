//! The census `Header`: which collection, as at which date, returned by which local authority.
//!
//! Everything here is about the collection and the local authority, not about a child, so it may
//! appear in logs. A header the mapping cannot use refuses the whole file: every child's events
//! are checked against its `ReferenceDate`.

use chrono::{NaiveDate, NaiveDateTime};
use throughline_contracts::event::FieldProblem;
use throughline_safe_xml::xs::{self, is_digits};
use throughline_safe_xml::{Cursor, Visit};

use crate::error::CinError;

/// The returning local authority, as `Header/Source` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CinSource {
    /// DfE local authority number, 3 digits.
    pub lea: String,
    /// `SourceLevel`, `L` for a local authority.
    pub level: Option<String>,
    /// The case management system that wrote the file, as it names itself.
    pub software_code: Option<String>,
    pub release: Option<String>,
    pub serial_no: Option<String>,
    /// `DateTime`: when the file was written, the local time as written.
    pub created: Option<NaiveDateTime>,
}

/// The header of a census file, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CinHeader {
    /// `CollectionDetails/Year`, e.g. `2024`.
    pub year: u16,
    /// `CollectionDetails/ReferenceDate`: the census date (31 March), the last day the return
    /// covers. No event in the file may be after it.
    pub reference_date: NaiveDate,
    pub source: CinSource,
}

/// The header's elements as written.
#[derive(Default)]
pub(crate) struct RawHeader {
    collection: Option<String>,
    year: Option<String>,
    reference_date: Option<String>,
    source_seen: bool,
    level: Option<String>,
    lea: Option<String>,
    software_code: Option<String>,
    release: Option<String>,
    serial_no: Option<String>,
    date_time: Option<String>,
    duplicates: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum H {
    Header,
    Collection,
    CollectionName,
    Year,
    ReferenceDate,
    Source,
    Level,
    Lea,
    SoftwareCode,
    Release,
    SerialNo,
    DateTime,
    Other,
}

impl H {
    fn child(self, name: &str) -> H {
        match (self, name) {
            (H::Header, "CollectionDetails") => H::Collection,
            (H::Collection, "Collection") => H::CollectionName,
            (H::Collection, "Year") => H::Year,
            (H::Collection, "ReferenceDate") => H::ReferenceDate,
            (H::Header, "Source") => H::Source,
            (H::Source, "SourceLevel") => H::Level,
            (H::Source, "LEA") => H::Lea,
            (H::Source, "SoftwareCode") => H::SoftwareCode,
            (H::Source, "Release") => H::Release,
            (H::Source, "SerialNo") => H::SerialNo,
            (H::Source, "DateTime") => H::DateTime,
            _ => H::Other,
        }
    }

    fn path(self) -> &'static str {
        match self {
            H::Header | H::Other => "Header",
            H::Collection => "Header.CollectionDetails",
            H::CollectionName => "Header.CollectionDetails.Collection",
            H::Year => "Header.CollectionDetails.Year",
            H::ReferenceDate => "Header.CollectionDetails.ReferenceDate",
            H::Source => "Header.Source",
            H::Level => "Header.Source.SourceLevel",
            H::Lea => "Header.Source.LEA",
            H::SoftwareCode => "Header.Source.SoftwareCode",
            H::Release => "Header.Source.Release",
            H::SerialNo => "Header.Source.SerialNo",
            H::DateTime => "Header.Source.DateTime",
        }
    }
}

impl Visit for RawHeader {
    type Kind = H;

    fn child(parent: H, name: &str) -> H {
        parent.child(name)
    }

    fn collects(kind: H) -> bool {
        !matches!(kind, H::Header | H::Collection | H::Source | H::Other)
    }

    fn open(&mut self, kind: H, _: Option<usize>) {
        if kind == H::Source {
            self.source_seen = true;
        }
    }

    fn leaf(&mut self, kind: H, text: &str) {
        let slot = match kind {
            H::CollectionName => &mut self.collection,
            H::Year => &mut self.year,
            H::ReferenceDate => &mut self.reference_date,
            H::Level => &mut self.level,
            H::Lea => &mut self.lea,
            H::SoftwareCode => &mut self.software_code,
            H::Release => &mut self.release,
            H::SerialNo => &mut self.serial_no,
            H::DateTime => &mut self.date_time,
            H::Header | H::Collection | H::Source | H::Other => return,
        };
        if slot.is_some() {
            self.duplicates.push(kind.path());
        }
        *slot = (!text.is_empty()).then(|| text.to_owned());
    }
}

/// Reads the `Header` element that just started.
pub(crate) fn read_header<R: std::io::BufRead>(
    cursor: &mut Cursor<R>,
) -> Result<RawHeader, CinError> {
    let mut raw = RawHeader::default();
    cursor.read_element(H::Header, &mut raw)?;
    Ok(raw)
}

/// Checks the header; every problem is reported together.
pub(crate) fn validate(raw: RawHeader) -> Result<CinHeader, CinError> {
    let mut problems: Vec<FieldProblem> = raw
        .duplicates
        .iter()
        .map(|path| FieldProblem::new(*path, "appears more than once"))
        .collect();
    let mut problem = |kind: H, reason: &str| problems.push(FieldProblem::new(kind.path(), reason));

    match raw.collection.as_deref() {
        Some(c) if c.eq_ignore_ascii_case("CIN") => {}
        Some(_) => problem(H::CollectionName, "must be CIN"),
        None => problem(H::CollectionName, "is required"),
    }
    let year = match raw.year.as_deref() {
        Some(y) if is_digits(y, 4) => y.parse::<u16>().ok(),
        Some(_) => {
            problem(H::Year, "must be a year of 4 digits");
            None
        }
        None => {
            problem(H::Year, "is required");
            None
        }
    };
    let reference_date = match raw.reference_date.as_deref() {
        Some(d) => xs::date(d).or_else(|| {
            problem(H::ReferenceDate, "must be a date as YYYY-MM-DD");
            None
        }),
        None => {
            problem(H::ReferenceDate, "is required");
            None
        }
    };
    if !raw.source_seen {
        problem(H::Source, "is required");
    }
    let lea = match raw.lea.as_deref() {
        Some(l) if is_digits(l, 3) => Some(l.to_owned()),
        Some(_) => {
            problem(H::Lea, "must be 3 digits");
            None
        }
        None => {
            problem(H::Lea, "is required");
            None
        }
    };
    let created = raw.date_time.as_deref().and_then(|s| {
        let parsed = xs::date_time(s);
        if parsed.is_none() {
            problem(
                H::DateTime,
                "must be a date and time such as 2024-05-23T11:14:05",
            );
        }
        parsed
    });

    match (year, reference_date, lea) {
        (Some(year), Some(reference_date), Some(lea)) if problems.is_empty() => Ok(CinHeader {
            year,
            reference_date,
            source: CinSource {
                lea,
                level: raw.level,
                software_code: raw.software_code,
                release: raw.release,
                serial_no: raw.serial_no,
                created,
            },
        }),
        _ => Err(CinError::Header { problems }),
    }
}
