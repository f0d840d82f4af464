//! Versions and the header: the CTF of the school year a file is dated in and the year before
//! are read, one newer with a warning; anything else is refused as a whole with a reason naming
//! the element.

mod support;

use support::*;
use throughline_adapter_ctf::fixture::FixtureSpec;
use throughline_adapter_ctf::{
    CtfDestination, CtfError, CtfLimits, DocumentQualifier, VersionStatus,
};
use throughline_contracts::kind::EventKind;

/// "CTF 23 was valid from September 2023 and CTF 24 from September 2024" (DfE, "Common
/// transfer file NN: specification" pages), so a file dated 2026-12-01, in school year
/// 2026/27, may be CTF 26 (this year's) or CTF 25 (last year's), with no warning.
#[test]
fn a_file_dated_in_2026_27_reads_ctf_26_and_25() {
    for (version, status) in [
        ("26.0", VersionStatus::Current),
        ("25.0", VersionStatus::Previous),
    ] {
        let bytes = ctf_dated(
            version,
            "2026-12-01T09:00:00",
            KNOWN_DEST,
            &[&pupil(UPN_A, "")],
        );
        let mut reader = open(&bytes).unwrap();
        assert_eq!(reader.header().version.to_string(), version);
        assert_eq!(reader.header().version_status, status);
        let all: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
        assert_eq!(
            kinds(accepted(&all[0])),
            vec![EventKind::SchoolJoined, EventKind::SchoolLeft]
        );
        assert_eq!(reader.report().warnings, Vec::<String>::new(), "{version}");
    }
}

/// One version newer than the school year knows is read (year to year the schema's changes are
/// additive for the elements the hub reads), with a warning naming both versions.
#[test]
fn a_file_one_version_newer_is_read_with_a_warning() {
    let bytes = ctf_dated(
        "27.0",
        "2026-12-01T09:00:00",
        KNOWN_DEST,
        &[&pupil(UPN_A, "")],
    );
    let mut reader = open(&bytes).unwrap();
    assert_eq!(reader.header().version_status, VersionStatus::Newer);
    assert_eq!(reader.by_ref().map(Result::unwrap).count(), 1);
    let report = reader.into_report();
    assert_eq!(report.accepted(), 1);
    assert_eq!(report.warnings.len(), 1);
    let warning = &report.warnings[0];
    assert!(warning.contains("CTF version 27.0"), "{warning}");
    assert!(warning.contains("CTF 26"), "{warning}");
    assert!(warning.contains("2026/27"), "{warning}");
}

#[test]
fn older_and_further_versions_are_refused_naming_the_version() {
    for version in ["24.0", "23.0", "11.0", "28.0"] {
        let bytes = ctf_dated(
            version,
            "2026-12-01T09:00:00",
            KNOWN_DEST,
            &[&pupil(UPN_A, "")],
        );
        let err = file_error(&bytes, CtfLimits::default());
        match &err {
            CtfError::UnsupportedVersion {
                found,
                school_year,
                current,
            } => {
                assert_eq!(found, version);
                assert_eq!(school_year, "2026/27");
                assert_eq!(*current, 26);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "CTF version {version} is not supported for a file dated in school year 2026/27: this reader accepts CTF major versions 26 and 25 (this school year's and last year's), and reads 27 with a warning"
            )
        );
    }
}

/// The window follows the file's date, not a list: the same CTF 25 is last year's on 31 August
/// 2027 and too old on 1 September 2027.
#[test]
fn the_same_version_is_judged_by_the_files_own_date() {
    let in_window = ctf_dated("25.0", "2027-08-31T16:00:00", KNOWN_DEST, &[]);
    assert!(open(&in_window).is_ok());
    let too_old = ctf_dated("25.0", "2027-09-01T08:00:00", KNOWN_DEST, &[]);
    assert!(matches!(
        file_error(&too_old, CtfLimits::default()),
        CtfError::UnsupportedVersion { current: 27, .. }
    ));
}

#[test]
fn a_version_without_a_date_cannot_be_judged_and_the_missing_date_is_named() {
    let bytes = String::from_utf8(ctf_with("24.0", KNOWN_DEST, &[]))
        .unwrap()
        .replace("<DateTime>2025-07-18T10:30:00</DateTime>", "");
    match file_error(bytes.as_bytes(), CtfLimits::default()) {
        CtfError::Header { problems } => {
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].field, "Header.DateTime");
            assert_eq!(problems[0].reason, "is required");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reads_a_previous_version_file_with_gender() {
    let bytes = ctf_with(
        "23.0",
        KNOWN_DEST,
        &[
            "<Pupil><UPN>B801200005001</UPN><Surname>LOVELACE</Surname><DOB>2015-12-10</DOB><Gender>M</Gender></Pupil>",
        ],
    );
    let reader = open(&bytes).unwrap();
    assert_eq!(reader.header().version.major, 23);
    let all: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(
        kinds(accepted(&all[0])),
        vec![EventKind::SchoolJoined, EventKind::SchoolLeft]
    );

    let generated = FixtureSpec {
        version: "23.0".into(),
        ..FixtureSpec::new(50)
    };
    assert_eq!(outcomes(&generated.to_bytes()).len(), 50);
}

#[test]
fn a_version_that_is_not_a_number_is_a_header_problem() {
    let bytes = ctf_with("twenty-five", KNOWN_DEST, &[]);
    match file_error(&bytes, CtfLimits::default()) {
        CtfError::Header { problems } => {
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].field, "Header.CTFversion");
            assert_eq!(problems[0].reason, "must be a version number such as 25.0");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_header_problem_is_listed() {
    let xml = r#"<CTfile><Header><CTFversion>25.0</CTFversion><DateTime>yesterday</DateTime>
        <DocumentQualifier>some</DocumentQualifier>
        <SourceSchool><LEA>99</LEA><Estab>1999</Estab></SourceSchool>
        <DestSchool><LEA>ABC</LEA><Estab>ZZZZ</Estab><URN>12</URN></DestSchool>
        </Header><CTFpupilData/></CTfile>"#;
    match file_error(xml.as_bytes(), CtfLimits::default()) {
        CtfError::Header { problems } => {
            let fields: Vec<(&str, &str)> = problems
                .iter()
                .map(|p| (p.field.as_str(), p.reason.as_str()))
                .collect();
            assert_eq!(
                fields,
                vec![
                    (
                        "Header.DateTime",
                        "must be a date and time such as 2025-07-18T10:30:00"
                    ),
                    ("Header.DocumentQualifier", "must be full or partial"),
                    ("Header.SourceSchool.LEA", "must be 3 digits"),
                    ("Header.SourceSchool.URN", "is required"),
                    (
                        "Header.DestSchool.LEA",
                        "must be 3 digits, or XXX if the destination is not known, MMM if it is outside the maintained sector"
                    ),
                    (
                        "Header.DestSchool.Estab",
                        "must be 4 digits, or XXXX if the destination is not known, MMMM if it is outside the maintained sector"
                    ),
                    ("Header.DestSchool.URN", "must be 6 digits"),
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn exposes_the_header() {
    let bytes = FixtureSpec::new(1).to_bytes();
    let reader = open(&bytes).unwrap();
    let header = reader.header();
    assert_eq!(header.version.to_string(), "24.0");
    assert_eq!(header.version_status, VersionStatus::Current);
    assert_eq!(header.created.to_string(), "2025-07-18 10:30:00");
    assert_eq!(header.qualifier, DocumentQualifier::Full);
    assert_eq!(header.source.urn, "999991");
    assert_eq!(
        header.source.name.as_deref(),
        Some("Throughline Test Primary School")
    );
    assert_eq!(
        header.destination,
        CtfDestination::School {
            lea: "999".into(),
            estab: "4999".into(),
            urn: Some("999992".into())
        }
    );
    assert!(header.is_transfer());
}

#[test]
fn a_file_without_pupil_data_has_no_pupils() {
    let xml = String::from_utf8(ctf(&[]))
        .unwrap()
        .replace("<CTFpupilData>\n  </CTFpupilData>\n", "");
    let mut reader = open(xml.as_bytes()).unwrap();
    assert!(reader.next().is_none());
    assert_eq!(reader.report().pupils, 0);
}
