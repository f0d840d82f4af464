//! The CTF `Header`: which version, when, from which school and to which.
//!
//! Everything here is about schools and the file, not about a child, so it may appear in logs.
//! A header the mapping cannot use refuses the whole file: every pupil's events depend on it.
//!
//! The destination matters most. The DfE's School to School guidance (2019, p. 15) gives two
//! codes for a pupil who does not go to a maintained school in England or Wales:
//! - "when a pupil transfers out of a school and the destination school is not known, the school
//!   should create a CTF file using XXX for the destination LA and XXXX as the destination school
//!   number", and the file goes to the Lost Pupil Database: the child may be missing from
//!   education. `XXX`/`XXXX`, or no `DestSchool` at all, map to
//!   [`Destination::Unknown`](throughline_contracts::kind::Destination::Unknown), which the
//!   contracts call "the case that most needs attention";
//! - `MMM`/`MMMM`: the pupil left for a destination outside the maintained sector in England and
//!   Wales (abroad, an independent school). The destination is known, so the child is not
//!   missing; the local authority is still told. They map to
//!   [`Destination::OutsideMaintainedSector`](throughline_contracts::kind::Destination::OutsideMaintainedSector).
//!
//! Any other code that is not a DfE number refuses the file rather than being guessed at.

use chrono::NaiveDateTime;
use throughline_contracts::event::FieldProblem;
use throughline_safe_xml::xs::{self, is_digits};
use throughline_safe_xml::{Cursor, Visit};

use crate::error::CtfError;
use crate::version::{CtfVersion, VersionStatus, VersionWindow, parse_version};

/// The LEA code a CTF gives when the destination is not known (DfE School to School guidance,
/// 2019, p. 15): the file goes to the Lost Pupil Database.
pub const LOST_PUPIL_LEA: &str = "XXX";
/// The establishment code a CTF gives when the destination is not known.
pub const LOST_PUPIL_ESTAB: &str = "XXXX";
/// The LEA code a CTF gives for a destination outside the maintained sector in England and
/// Wales: abroad, or an independent school (DfE School to School guidance, 2019, p. 15).
pub const OUTSIDE_SECTOR_LEA: &str = "MMM";
/// The establishment code a CTF gives for a destination outside the maintained sector.
pub const OUTSIDE_SECTOR_ESTAB: &str = "MMMM";

/// `DocumentQualifier`: a full CTF goes with a pupil who leaves; a partial one carries only some
/// containers (assessment results, for example) and says nothing about a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentQualifier {
    Full,
    Partial,
}

/// The school that sent the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSchool {
    /// DfE local authority number, 3 digits.
    pub lea: String,
    /// DfE establishment number, 4 digits.
    pub estab: String,
    /// Unique Reference Number, 6 digits: how events name the school.
    pub urn: String,
    pub name: Option<String>,
}

/// Where the pupils are going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtfDestination {
    /// A school named by its DfE numbers, and by URN when the file gives one.
    School {
        lea: String,
        estab: String,
        urn: Option<String>,
    },
    /// The destination is the source school itself: the file is not a transfer (MIS tools use
    /// this to return results to the school).
    SameAsSource,
    /// Nobody knows where the pupils went.
    Unknown(UnknownDestination),
    /// `MMM`/`MMMM`: a school outside the maintained sector in England and Wales (abroad,
    /// independent). Known, so not missing; but no school in the hub will answer for the pupil.
    OutsideMaintainedSector,
}

/// How the file says the destination is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownDestination {
    /// There is no `DestSchool`.
    NoDestSchool,
    /// `DestSchool` has LEA `XXX` or Estab `XXXX`: the file is for the Lost Pupil Database.
    LostPupil,
}

/// The header of a CTF, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtfHeader {
    pub version: CtfVersion,
    /// How `version` stands against the school year `created` falls in.
    pub version_status: VersionStatus,
    /// `DateTime` as written: the MIS's local (UK) time, usually without an offset. Where the file
    /// gives an offset, this is the local time it states.
    pub created: NaiveDateTime,
    pub qualifier: DocumentQualifier,
    pub source: SourceSchool,
    pub destination: CtfDestination,
}

impl CtfHeader {
    /// Whether the file records pupils moving school: a full CTF to somewhere other than the
    /// source. Only then does the mapping emit `school.left` and `school.joined`.
    pub fn is_transfer(&self) -> bool {
        self.qualifier == DocumentQualifier::Full
            && self.destination != CtfDestination::SameAsSource
    }
}

/// The header's elements as written.
#[derive(Default)]
pub(crate) struct RawHeader {
    version: Option<String>,
    date_time: Option<String>,
    qualifier: Option<String>,
    source_seen: bool,
    source_lea: Option<String>,
    source_estab: Option<String>,
    source_urn: Option<String>,
    source_name: Option<String>,
    dest_seen: bool,
    dest_lea: Option<String>,
    dest_estab: Option<String>,
    dest_urn: Option<String>,
    duplicates: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum H {
    Header,
    Version,
    DateTime,
    Qualifier,
    Source,
    SourceLea,
    SourceEstab,
    SourceUrn,
    SourceName,
    Dest,
    DestLea,
    DestEstab,
    DestUrn,
    Other,
}

impl H {
    fn child(self, name: &str) -> H {
        match (self, name) {
            (H::Header, "CTFversion") => H::Version,
            (H::Header, "DateTime") => H::DateTime,
            (H::Header, "DocumentQualifier") => H::Qualifier,
            (H::Header, "SourceSchool") => H::Source,
            (H::Header, "DestSchool") => H::Dest,
            (H::Source, "LEA") => H::SourceLea,
            (H::Source, "Estab") => H::SourceEstab,
            (H::Source, "URN") => H::SourceUrn,
            (H::Source, "SchoolName") => H::SourceName,
            (H::Dest, "LEA") => H::DestLea,
            (H::Dest, "Estab") => H::DestEstab,
            (H::Dest, "URN") => H::DestUrn,
            _ => H::Other,
        }
    }

    fn collects(self) -> bool {
        !matches!(self, H::Header | H::Source | H::Dest | H::Other)
    }

    fn path(self) -> &'static str {
        match self {
            H::Header | H::Other => "Header",
            H::Version => "Header.CTFversion",
            H::DateTime => "Header.DateTime",
            H::Qualifier => "Header.DocumentQualifier",
            H::Source => "Header.SourceSchool",
            H::SourceLea => "Header.SourceSchool.LEA",
            H::SourceEstab => "Header.SourceSchool.Estab",
            H::SourceUrn => "Header.SourceSchool.URN",
            H::SourceName => "Header.SourceSchool.SchoolName",
            H::Dest => "Header.DestSchool",
            H::DestLea => "Header.DestSchool.LEA",
            H::DestEstab => "Header.DestSchool.Estab",
            H::DestUrn => "Header.DestSchool.URN",
        }
    }
}

impl Visit for RawHeader {
    type Kind = H;

    fn child(parent: H, name: &str) -> H {
        parent.child(name)
    }

    fn collects(kind: H) -> bool {
        kind.collects()
    }

    fn open(&mut self, kind: H, _: Option<usize>) {
        match kind {
            H::Source => self.source_seen = true,
            H::Dest => self.dest_seen = true,
            _ => {}
        }
    }

    fn leaf(&mut self, kind: H, text: &str) {
        let slot = match kind {
            H::Version => &mut self.version,
            H::DateTime => &mut self.date_time,
            H::Qualifier => &mut self.qualifier,
            H::SourceLea => &mut self.source_lea,
            H::SourceEstab => &mut self.source_estab,
            H::SourceUrn => &mut self.source_urn,
            H::SourceName => &mut self.source_name,
            H::DestLea => &mut self.dest_lea,
            H::DestEstab => &mut self.dest_estab,
            H::DestUrn => &mut self.dest_urn,
            H::Header | H::Source | H::Dest | H::Other => return,
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
) -> Result<RawHeader, CtfError> {
    let mut raw = RawHeader::default();
    cursor.read_element(H::Header, &mut raw)?;
    Ok(raw)
}

/// Checks the header, the version first: a file of an unsupported version is refused for that
/// reason alone, since its other elements may mean something else.
pub(crate) fn validate(raw: RawHeader) -> Result<CtfHeader, CtfError> {
    let mut problems: Vec<FieldProblem> = raw
        .duplicates
        .iter()
        .map(|path| FieldProblem::new(*path, "appears more than once"))
        .collect();
    let created = match raw.date_time.as_deref() {
        None => {
            problems.push(FieldProblem::new(H::DateTime.path(), "is required"));
            None
        }
        Some(s) => xs::date_time(s).or_else(|| {
            problems.push(FieldProblem::new(
                H::DateTime.path(),
                "must be a date and time such as 2025-07-18T10:30:00",
            ));
            None
        }),
    };
    // The versions a file may carry follow its date; without a date the version cannot be
    // judged, and the missing date refuses the file anyway.
    let version = match raw.version.as_deref().map(parse_version) {
        None => {
            problems.push(FieldProblem::new(H::Version.path(), "is required"));
            None
        }
        Some(None) => {
            problems.push(FieldProblem::new(
                H::Version.path(),
                "must be a version number such as 25.0",
            ));
            None
        }
        Some(Some(v)) => match created.map(|c| VersionWindow::for_date(c.date())) {
            None => None,
            Some(window) => match window.judge(v.major) {
                Some(status) => Some((v, status)),
                None => {
                    return Err(CtfError::UnsupportedVersion {
                        found: v.to_string(),
                        school_year: window.to_string(),
                        current: window.current(),
                    });
                }
            },
        },
    };

    let qualifier = match raw.qualifier.as_deref() {
        None => {
            problems.push(FieldProblem::new(H::Qualifier.path(), "is required"));
            None
        }
        Some(q) if q.eq_ignore_ascii_case("full") => Some(DocumentQualifier::Full),
        Some(q) if q.eq_ignore_ascii_case("partial") => Some(DocumentQualifier::Partial),
        Some(_) => {
            problems.push(FieldProblem::new(
                H::Qualifier.path(),
                "must be full or partial",
            ));
            None
        }
    };

    if !raw.source_seen {
        problems.push(FieldProblem::new(H::Source.path(), "is required"));
    }
    let source_lea = required_digits(&raw.source_lea, H::SourceLea, 3, &mut problems);
    let source_estab = required_digits(&raw.source_estab, H::SourceEstab, 4, &mut problems);
    let source_urn = required_digits(&raw.source_urn, H::SourceUrn, 6, &mut problems);

    let destination = destination(&raw, &mut problems);

    match (
        version,
        created,
        qualifier,
        source_lea,
        source_estab,
        source_urn,
        destination,
    ) {
        (
            Some(version),
            Some(created),
            Some(qualifier),
            Some(lea),
            Some(estab),
            Some(urn),
            Some(dest),
        ) if problems.is_empty() => {
            let (version, version_status) = version;
            let destination = match dest {
                CtfDestination::School {
                    lea: dest_lea,
                    estab: dest_estab,
                    ..
                } if dest_lea == lea && dest_estab == estab => CtfDestination::SameAsSource,
                other => other,
            };
            Ok(CtfHeader {
                version,
                version_status,
                created,
                qualifier,
                source: SourceSchool {
                    lea,
                    estab,
                    urn,
                    name: raw.source_name,
                },
                destination,
            })
        }
        _ => Err(CtfError::Header { problems }),
    }
}

fn destination(raw: &RawHeader, problems: &mut Vec<FieldProblem>) -> Option<CtfDestination> {
    if !raw.dest_seen {
        return Some(CtfDestination::Unknown(UnknownDestination::NoDestSchool));
    }
    let lea = raw.dest_lea.as_deref();
    let estab = raw.dest_estab.as_deref();
    // Either code alone is enough to say which case the school meant. Should a file mix them,
    // "not known" wins: it is the case that must reach someone.
    if lea == Some(LOST_PUPIL_LEA) || estab == Some(LOST_PUPIL_ESTAB) {
        return Some(CtfDestination::Unknown(UnknownDestination::LostPupil));
    }
    if lea == Some(OUTSIDE_SECTOR_LEA) || estab == Some(OUTSIDE_SECTOR_ESTAB) {
        return Some(CtfDestination::OutsideMaintainedSector);
    }
    let before = problems.len();
    let lea = dest_code(
        lea,
        H::DestLea,
        3,
        LOST_PUPIL_LEA,
        OUTSIDE_SECTOR_LEA,
        problems,
    );
    let estab = dest_code(
        estab,
        H::DestEstab,
        4,
        LOST_PUPIL_ESTAB,
        OUTSIDE_SECTOR_ESTAB,
        problems,
    );
    let urn = match raw.dest_urn.as_deref() {
        None => None,
        Some(urn) if is_digits(urn, 6) => Some(urn.to_owned()),
        Some(_) => {
            problems.push(FieldProblem::new(H::DestUrn.path(), "must be 6 digits"));
            None
        }
    };
    if problems.len() > before {
        return None;
    }
    Some(CtfDestination::School {
        lea: lea?,
        estab: estab?,
        urn,
    })
}

fn dest_code(
    value: Option<&str>,
    kind: H,
    digits: usize,
    unknown: &str,
    outside: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    let codes = format!(
        "{unknown} if the destination is not known, {outside} if it is outside the maintained sector"
    );
    match value {
        Some(v) if is_digits(v, digits) => Some(v.to_owned()),
        Some(_) => {
            problems.push(FieldProblem::new(
                kind.path(),
                format!("must be {digits} digits, or {codes}"),
            ));
            None
        }
        None => {
            problems.push(FieldProblem::new(
                kind.path(),
                format!("is required in DestSchool ({codes})"),
            ));
            None
        }
    }
}

fn required_digits(
    value: &Option<String>,
    kind: H,
    digits: usize,
    problems: &mut Vec<FieldProblem>,
) -> Option<String> {
    match value.as_deref() {
        Some(v) if is_digits(v, digits) => Some(v.to_owned()),
        Some(_) => {
            problems.push(FieldProblem::new(
                kind.path(),
                format!("must be {digits} digits"),
            ));
            None
        }
        None => {
            problems.push(FieldProblem::new(kind.path(), "is required"));
            None
        }
    }
}
