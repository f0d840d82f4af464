//! Versions and the header: this year's and last year's CTF are read, anything else is refused
//! as a whole with a reason naming the element.

mod support;

use support::*;
use throughline_adapter_ctf::fixture::FixtureSpec;
use throughline_adapter_ctf::{
    CtfDestination, CtfError, CtfLimits, DocumentQualifier, SUPPORTED_CTF_VERSIONS,
};
use throughline_contracts::kind::EventKind;

#[test]
fn supports_the_current_and_previous_versions() {
    assert_eq!(SUPPORTED_CTF_VERSIONS, &[24, 25]);
}

#[test]
fn reads_a_previous_version_file_with_gender() {
    let bytes = ctf_with(
        "24.0",
        KNOWN_DEST,
        &[
            "<Pupil><UPN>B801200005001</UPN><Surname>LOVELACE</Surname><DOB>2015-12-10</DOB><Gender>M</Gender></Pupil>",
        ],
    );
    let reader = open(&bytes).unwrap();
    assert_eq!(reader.header().version.major, 24);
    let all: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(
        kinds(accepted(&all[0])),
        vec![EventKind::SchoolJoined, EventKind::SchoolLeft]
    );

    let generated = FixtureSpec {
        version: "24.0".into(),
        ..FixtureSpec::new(50)
    };
    assert_eq!(outcomes(&generated.to_bytes()).len(), 50);
}

#[test]
fn refuses_other_versions_by_name() {
    for version in ["23.0", "26.0", "11.0"] {
        let bytes = ctf_with(version, KNOWN_DEST, &[&pupil(UPN_A, "")]);
        let err = file_error(&bytes, CtfLimits::default());
        match &err {
            CtfError::UnsupportedVersion { found, supported } => {
                assert_eq!(found, version);
                assert_eq!(supported, "24 and 25");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "CTF version {version} is not supported: this reader accepts CTF major versions 24 and 25"
            )
        );
    }
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
        <DestSchool><LEA>XXX</LEA><Estab>XXXX</Estab><URN>12</URN></DestSchool>
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
                        "must be 3 digits, or MMM for an unknown destination"
                    ),
                    (
                        "Header.DestSchool.Estab",
                        "must be 4 digits, or MMMM for an unknown destination"
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
    assert_eq!(header.version.to_string(), "25.0");
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
