//! Shared helpers for the CTF reader's integration tests.
#![allow(dead_code, unused_imports)] // Each test binary uses a different subset.

use throughline_adapter_ctf::{CtfError, CtfLimits, CtfReader, PupilOutcome};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::NormaliseContext;
use throughline_safe_xml::testing;
/// What every record reader's tests ask of an outcome.
pub use throughline_safe_xml::testing::{accepted, kinds, rejected};

pub fn ctx() -> NormaliseContext {
    NormaliseContext {
        source_id: "oakfield-primary-ctf".into(),
        agency: AgencyId::parse("oakfield-primary").unwrap(),
        system: "sims".into(),
        adapter: throughline_adapter_ctf::ADAPTER.into(),
    }
}

/// Opens a reader over `bytes` with default limits.
pub fn open(bytes: &[u8]) -> Result<CtfReader<&[u8]>, CtfError> {
    CtfReader::new(bytes, CtfLimits::default(), ctx())
}

/// Every outcome of a file that must open and read to the end without a file-level error.
pub fn outcomes(bytes: &[u8]) -> Vec<PupilOutcome> {
    testing::read_all(open(bytes))
}

/// The first file-level error met, whether on opening or while reading.
pub fn file_error(bytes: &[u8], limits: CtfLimits) -> CtfError {
    testing::first_error(CtfReader::new(bytes, limits, ctx()))
}

/// The `DateTime` of hand-written CTFs: school year 2024/25, whose version is CTF 24.
pub const FILE_DATE_TIME: &str = "2025-07-18T10:30:00";

/// A CTF with this version, destination and pupils, written at [`FILE_DATE_TIME`].
pub fn ctf_with(version: &str, dest: &str, pupils: &[&str]) -> Vec<u8> {
    ctf_dated(version, FILE_DATE_TIME, dest, pupils)
}

/// A CTF with this version, `DateTime`, destination and pupils.
pub fn ctf_dated(version: &str, date_time: &str, dest: &str, pupils: &[&str]) -> Vec<u8> {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<CTfile>
  <Header>
    <DocumentName>Common Transfer File</DocumentName>
    <CTFversion>{version}</CTFversion>
    <DateTime>{date_time}</DateTime>
    <DocumentQualifier>full</DocumentQualifier>
    <SourceSchool><LEA>999</LEA><Estab>1999</Estab><URN>999991</URN><SchoolName>Test Primary</SchoolName></SourceSchool>
    {dest}
  </Header>
  <CTFpupilData>
"#
    );
    for pupil in pupils {
        xml.push_str(pupil);
        xml.push('\n');
    }
    xml.push_str("  </CTFpupilData>\n</CTfile>\n");
    xml.into_bytes()
}

pub const KNOWN_DEST: &str =
    "<DestSchool><LEA>999</LEA><Estab>4999</Estab><URN>999992</URN></DestSchool>";

/// A CTF 24 (the version current on [`FILE_DATE_TIME`]) to a known destination with these
/// pupils.
pub fn ctf(pupils: &[&str]) -> Vec<u8> {
    ctf_with("24.0", KNOWN_DEST, pupils)
}

/// Valid UPNs (checked against the contracts' `Upn`) for hand-written pupils.
pub const UPN_A: &str = "B801200005001";
pub const UPN_B: &str = "H801200001001";
/// `UPN_A` with a wrong check letter.
pub const BAD_UPN: &str = "C801200005001";

/// A minimal valid pupil with `extra` elements after the basic details.
pub fn pupil(upn: &str, extra: &str) -> String {
    format!(
        "<Pupil><UPN>{upn}</UPN><Surname>LOVELACE</Surname><Forename>AUGUSTA</Forename>\
         <DOB>2015-12-10</DOB><Sex>F</Sex>{extra}</Pupil>"
    )
}

/// Child data used in hand-written pupils; no message may contain any of it.
pub const CHILD_DATA: &[&str] = &[
    UPN_A,
    UPN_B,
    BAD_UPN,
    "801200005001",
    "LOVELACE",
    "AUGUSTA",
    "2015-12-10",
    "LS1 4AP",
    "LS14AP",
];

/// Panics if `text` contains any of `values`.
pub fn assert_free_of(text: &str, values: &[&str]) {
    for value in values {
        assert!(
            !text.contains(value),
            "child data leaked into a message: {text}"
        );
    }
}

/// Display and Debug of an error, for scanning.
pub fn messages(e: &CtfError) -> String {
    format!("{e}\n{e:?}")
}
