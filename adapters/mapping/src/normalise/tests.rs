use chrono::NaiveDate;
use proptest::prelude::*;
use serde_json::{Value, json};
use throughline_contracts::demographics::Sex;
use throughline_contracts::kind::{
    AttendanceConcern, ChildProtectionPlanStarted, DatedReason, Destination, ExclusionPermanent,
    ExclusionSuspension, LookedAfter, SchoolLeft, SocialCareAssessment, SocialCareReferral,
};

use super::*;
use crate::testing::*;

const NHS: &str = "9434765919";
const UPN: &str = "B801200005001";

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn pupil() -> Value {
    json!({"id": "ARB-1001", "upn": UPN, "nhsNumber": NHS, "forename": "Augusta",
           "surname": "Lovelace", "dateOfBirth": "10/12/2015", "gender": "F", "postcode": "LS1 4AP"})
}

fn events(items: Vec<Value>) -> String {
    json!({"school": "ignored here", "events": items}).to_string()
}

fn joined() -> Value {
    json!({"type": "PupilJoined", "pupil": pupil(), "school": {"urn": 100001}, "joinedOn": "01/09/2026"})
}

fn left(destination: Value) -> Value {
    json!({"type": "PupilLeft", "timestamp": "2026-11-19T15:30:00Z", "pupil": pupil(),
           "school": {"urn": "100001"}, "leftOn": "2026-11-19", "destination": destination})
}

fn exclusion(category: &str, days: Value) -> Value {
    json!({"type": "ExclusionRecorded", "pupil": pupil(),
           "exclusion": {"category": category, "startDate": "16/11/2026", "days": days, "reason": "PA"}})
}

fn attendance(percent: Value) -> Value {
    json!({"type": "AttendanceSummary", "pupil": pupil(),
           "attendance": {"from": "01/09/2026", "to": "13/11/2026", "possible": "100",
                          "missed": 14, "percent": percent}})
}

#[test]
fn maps_every_mis_event_kind() {
    let m = mapping(ARBOR);
    let body = events(vec![
        joined(),
        left(json!({"urn": "100002"})),
        left(json!({})),
        exclusion("FIXED", json!("3")),
        exclusion("Permanent", Value::Null),
        attendance(json!(86.0)),
    ]);
    let subs = run(&m, &body).unwrap();
    let kinds: Vec<&str> = subs.iter().map(|s| s.body.kind().as_str()).collect();
    assert_eq!(
        kinds,
        [
            "school.joined",
            "school.left",
            "school.left",
            "exclusion.suspension",
            "exclusion.permanent",
            "attendance.concern"
        ]
    );
    match &subs[0].body {
        EventBody::SchoolJoined(p) => {
            assert_eq!(p.school_urn, "100001", "a number read as text");
            assert_eq!(p.joined_on, date(2026, 9, 1), "dd/mm/yyyy");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        subs[1].body,
        EventBody::SchoolLeft(SchoolLeft {
            school_urn: "100001".into(),
            left_on: date(2026, 11, 19),
            destination: Destination::School {
                school_urn: "100002".into()
            },
        })
    );
    assert!(matches!(
        &subs[2].body,
        EventBody::SchoolLeft(SchoolLeft {
            destination: Destination::Unknown,
            ..
        })
    ));
    assert_eq!(
        subs[3].body,
        EventBody::ExclusionSuspension(ExclusionSuspension {
            starts_on: date(2026, 11, 16),
            school_days: 3,
            reason_code: Some("PA".into()),
        })
    );
    assert_eq!(
        subs[4].body,
        EventBody::ExclusionPermanent(ExclusionPermanent {
            effective_on: date(2026, 11, 16),
            reason_code: Some("PA".into()),
        })
    );
    assert_eq!(
        subs[5].body,
        EventBody::AttendanceConcern(AttendanceConcern {
            period_start: date(2026, 9, 1),
            period_end: date(2026, 11, 13),
            sessions_possible: 100,
            sessions_missed: 14,
        })
    );
}

#[test]
fn a_destination_from_its_type_code_and_another_fields_urn() {
    let m = mapping(&ARBOR.replace(
        r#"payload.destination = { field = "/destination/urn", when_present = { type = "school", school_urn = "$" }, when_absent = { type = "unknown" } }"#,
        r#"payload.destination = { field = "/destination/type", map = { SCHOOL = { type = "school", school_urn = "$(/destination/urn)" }, EHE = { type = "elective_home_education" }, ABROAD = { type = "moved_abroad" } }, when_absent = { type = "unknown" } }"#,
    ));
    let subs = run(
        &m,
        &events(vec![
            left(json!({"type": "School", "urn": 100002})),
            left(json!({"type": "EHE"})),
            left(json!({"type": null})),
        ]),
    )
    .unwrap();
    let destinations: Vec<Destination> = subs
        .into_iter()
        .map(|s| match s.body {
            EventBody::SchoolLeft(p) => p.destination,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        destinations,
        [
            Destination::School {
                school_urn: "100002".into()
            },
            Destination::ElectiveHomeEducation,
            Destination::Unknown
        ]
    );
    // A school destination without its URN names the URN's field.
    assert_eq!(
        problems(&m, &events(vec![left(json!({"type": "SCHOOL"}))])),
        vec![FieldProblem::new(
            "/events/0/destination/urn",
            "is required: the mapping builds a value with it"
        )]
    );
}

#[test]
fn fills_the_envelope_and_subject_from_the_record_and_context() {
    let m = mapping(ARBOR);
    let subs = run(&m, &events(vec![joined()])).unwrap();
    let s = &subs[0];
    assert_eq!(s.schema_version, 1);
    assert_eq!(s.id, None);
    assert_eq!(s.source.agency.as_str(), "oakfield-primary");
    assert_eq!(s.source.system, "arbor");
    assert_eq!(s.source.adapter, "http-ingest");
    let ids = &s.subject.identifiers;
    assert_eq!(ids.nhs_number.as_ref().unwrap().as_str(), NHS);
    assert_eq!(ids.upn.as_ref().unwrap().as_str(), UPN);
    assert_eq!(ids.local_ids.len(), 1);
    assert_eq!(ids.local_ids[0].value(), "ARB-1001");
    assert_eq!(ids.local_ids[0].scope(), "oakfield-primary/arbor");
    let d = &s.subject.demographics;
    assert_eq!(d.given_name.as_deref(), Some("Augusta"));
    assert_eq!(d.family_name.as_deref(), Some("Lovelace"));
    assert_eq!(d.date_of_birth, Some(date(2015, 12, 10)));
    assert_eq!(d.sex, Some(Sex::Female));
    assert_eq!(d.postcode.as_deref(), Some("LS1 4AP"));
}

#[test]
fn occurred_at_is_the_mapped_field_or_the_earliest_required_date_in_london() {
    let m = mapping(ARBOR);
    let subs = run(
        &m,
        &events(vec![joined(), left(json!({})), attendance(json!(50))]),
    )
    .unwrap();
    // 1 September is in summer time: 00:00 in London is 23:00 UTC the day before.
    assert_eq!(
        subs[0].occurred_at.to_rfc3339(),
        "2026-08-31T23:00:00+00:00"
    );
    assert_eq!(
        subs[1].occurred_at.to_rfc3339(),
        "2026-11-19T15:30:00+00:00"
    );
    // A mapped date alone is 00:00 in London too (13 November is in winter).
    assert_eq!(
        subs[2].occurred_at.to_rfc3339(),
        "2026-11-13T00:00:00+00:00"
    );

    // A pupil admitted ahead of their start date: the fact was recorded now.
    let mut future = joined();
    future["joinedOn"] = json!("04/01/2027");
    let subs = run(&m, &events(vec![future])).unwrap();
    assert_eq!(subs[0].occurred_at, received_at());

    // An explicit time in the future is refused, naming the field.
    let mut ahead = left(json!({}));
    ahead["timestamp"] = json!("2026-11-21T09:00:00Z");
    assert_eq!(
        problems(&m, &events(vec![ahead])),
        vec![FieldProblem::new(
            "/events/0/timestamp",
            "must not be in the future"
        )]
    );
}

#[test]
fn attendance_at_or_above_the_threshold_and_ignored_types_yield_nothing() {
    let m = mapping(ARBOR);
    let subs = run(
        &m,
        &events(vec![
            attendance(json!(95.5)),
            attendance(json!("90%")),
            json!({"type": "PupilUpdated"}),
            attendance(json!("89.9%")),
        ]),
    )
    .unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].body.kind(), EventKind::AttendanceConcern);

    // Every record filtered: no events, and no rejection either.
    let none = run(
        &m,
        &events(vec![attendance(json!(97)), json!({"type": "pupilupdated"})]),
    );
    assert_eq!(none.unwrap(), vec![]);
}

#[test]
fn an_attendance_record_without_its_percentage_is_rejected_not_dropped() {
    let m = mapping(ARBOR);
    let mut a = attendance(Value::Null);
    a["attendance"].as_object_mut().unwrap().remove("percent");
    assert_eq!(
        problems(&m, &events(vec![a])),
        vec![FieldProblem::new(
            "/events/0/attendance/percent",
            "is required: it decides whether the record yields an event"
        )]
    );
}

#[test]
fn an_unmapped_type_names_its_field_and_not_its_value() {
    let m = mapping(ARBOR);
    let p = problems(
        &m,
        &events(vec![
            joined(),
            json!({"type": "PupilAbsconded", "pupil": pupil()}),
        ]),
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].field, "/events/1/type");
    assert!(
        p[0].reason
            .starts_with("is not mapped to an event kind: expected one of ")
    );
    assert!(p[0].reason.contains("PupilJoined"));
    assert!(!p[0].reason.contains("Absconded"));

    let p = problems(&m, &events(vec![exclusion("Lunchtime", json!(1))]));
    assert_eq!(p[0].field, "/events/0/exclusion/category");
    assert_eq!(
        p[0].reason,
        "is not mapped to an event kind: expected one of FIXED, PERMANENT"
    );
}

#[test]
fn reports_every_problem_in_every_record_by_source_field() {
    let m = mapping(ARBOR);
    let mut a = joined();
    a["pupil"]["nhsNumber"] = json!("9434765910");
    a["pupil"]["gender"] = json!("X");
    a["joinedOn"] = json!("31/02/2026");
    let mut b = exclusion("FIXED", json!("three"));
    b["pupil"]["upn"] = json!("B80120000500");
    let mut c = left(json!({}));
    c["school"] = json!({});
    let p = problems(&m, &events(vec![a, b, c]));
    let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "/events/0/pupil/nhsNumber",
            "/events/0/pupil/gender",
            "/events/0/joinedOn",
            "/events/1/pupil/upn",
            "/events/1/exclusion/days",
            "/events/2/school/urn",
        ]
    );
    assert_eq!(
        p[1].reason,
        "is not one of the codes mapped for it (F, M, U)"
    );
    assert_eq!(p[2].reason, "must be a date as DD/MM/YYYY or YYYY-MM-DD");
    assert_eq!(p[4].reason, "must be a whole number");
    assert_eq!(
        p[5].reason,
        "is required for `school.left` but is absent or blank"
    );
    assert_no_values(
        &p,
        &["9434765910", "B80120000500", "31/02", "three", "Augusta"],
    );
}

#[test]
fn the_contract_refuses_what_it_must_and_the_problem_names_the_source_field() {
    let m = mapping(ARBOR);
    let p = problems(&m, &events(vec![exclusion("FIXED", json!(70000))]));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].field, "/events/0/exclusion/days");
    assert!(
        p[0].reason
            .starts_with("is not what `exclusion.suspension` takes: invalid value"),
        "{}",
        p[0].reason
    );
    assert_no_values(&p, &["70000"]);
}

#[test]
fn a_record_needs_at_least_one_identifier() {
    let m = mapping(ARBOR);
    let mut a = joined();
    a["pupil"] = json!({"forename": "Augusta"});
    let p = problems(&m, &events(vec![a]));
    assert_eq!(
        p,
        vec![FieldProblem::new(
            "/events/0",
            "has none of the mapped identifiers (/events/0/pupil/nhsNumber, /events/0/pupil/upn, /events/0/pupil/id): at least one is required"
        )]
    );
}

#[test]
fn the_body_may_be_one_record_or_an_array_without_a_records_pointer() {
    let m = mapping(&ARBOR.replace("records = \"/events\"\n", ""));
    let one = run(&m, &joined().to_string()).unwrap();
    assert_eq!(one.len(), 1);
    let mut bad = joined();
    bad["joinedOn"] = json!("someday");
    assert_eq!(problems(&m, &bad.to_string())[0].field, "/joinedOn");
    let many = run(&m, &json!([joined(), joined()]).to_string()).unwrap();
    assert_eq!(many.len(), 2);
    let p = problems(&m, &json!([joined(), "9434765919"]).to_string());
    assert_eq!(
        p,
        vec![FieldProblem::new(
            "/1",
            "must be a record (a JSON object), found text"
        )]
    );
    assert_eq!(problems(&m, "[]")[0].field, "body");
}

#[test]
fn an_input_with_no_records_is_a_rejection() {
    let m = mapping(ARBOR);
    assert_eq!(
        problems(&m, r#"{"events": []}"#),
        vec![FieldProblem::new(
            "/events",
            "holds no records: expected at least one"
        )]
    );
    let csv = mapping(LIQUIDLOGIC);
    assert_eq!(
        problems(&csv, &format!("{HEADER}\r\n\r\n"))[0].field,
        "body"
    );
}

const HEADER: &str =
    "LA Child ID,UPN,NHS Number,Surname,DOB,Event Type,Event Date,End Date,Code,Worker";

#[test]
fn maps_every_social_care_event_from_a_csv_extract() {
    let m = mapping(LIQUIDLOGIC);
    let rows = [
        "P-1,,,,,Referral,02/11/2026,,RS2,A",
        "P-1,,,,,Assessment,03/11/2026,10/11/2026,,A",
        "P-1,,,,,CIN Plan,11/11/2026,,,A",
        "P-1,,,,,CP Plan Start,12/11/2026,,\"Neglect, emotional\",A",
        "P-1,,,,,CP Plan End,13/11/2026,,,A",
        "P-1,,,,,LAC Start,14/11/2026,,C2,A",
        "P-1,,,,,LAC End,15/11/2026,,E4A,A",
        "P-1,,,,,Case Closure,16/11/2026,,RC8,A",
    ];
    let body = format!("{HEADER}\n{}\n", rows.join("\n"));
    let subs = run(&m, &body).unwrap();
    let bodies: Vec<EventBody> = subs.into_iter().map(|s| s.body).collect();
    assert_eq!(
        bodies,
        vec![
            EventBody::SocialCareReferral(SocialCareReferral {
                referral_on: date(2026, 11, 2),
                source_code: Some("RS2".into()),
                primary_need_code: None,
            }),
            EventBody::SocialCareAssessment(SocialCareAssessment {
                started_on: date(2026, 11, 3),
                authorised_on: Some(date(2026, 11, 10)),
            }),
            EventBody::SocialCareChildInNeedPlan(DatedReason {
                on: date(2026, 11, 11),
                reason: None
            }),
            EventBody::SocialCareChildProtectionPlanStarted(ChildProtectionPlanStarted {
                on: date(2026, 11, 12),
                category: Some("Neglect, emotional".into()),
            }),
            EventBody::SocialCareChildProtectionPlanEnded(DatedReason {
                on: date(2026, 11, 13),
                reason: None
            }),
            EventBody::SocialCareLookedAfterStarted(LookedAfter {
                on: date(2026, 11, 14),
                code: Some("C2".into())
            }),
            EventBody::SocialCareLookedAfterEnded(LookedAfter {
                on: date(2026, 11, 15),
                code: Some("E4A".into())
            }),
            EventBody::SocialCareCaseClosed(DatedReason {
                on: date(2026, 11, 16),
                reason: Some("RC8".into())
            }),
        ]
    );
}

#[test]
fn a_messy_extract_is_read_as_a_spreadsheet_writes_it() {
    let m = mapping(LIQUIDLOGIC);
    // A byte order mark, CRLF, header names in other case and spacing, blank rows (one of
    // commas only), quoted commas and a quoted line break, padded cells, trailing blank cells.
    let body = format!(
        "\u{feff}la child id , upn,NHS NUMBER,surname,dob,EVENT TYPE,event date,End Date,Code,Worker\r\n\
         \r\n\
         P-1001 , {UPN} ,943 476 5919,\"O'Brien, Jr\",1/2/2015,cp plan start,20/11/2026,,\"Neglect,\r\nemotional\",\"Smith, J\",,\r\n\
         ,,,,,,,,,\r\n\
         P-1001,,,,,\"Referral\",2026-11-19,,,\r\n"
    );
    let subs = run(&m, &body).unwrap();
    assert_eq!(subs.len(), 2);
    let s = &subs[0];
    let ids = &s.subject.identifiers;
    assert_eq!(ids.local_ids[0].value(), "P-1001");
    assert_eq!(ids.local_ids[0].scope(), "csc/liquidlogic");
    assert_eq!(ids.upn.as_ref().unwrap().as_str(), UPN);
    assert_eq!(ids.nhs_number.as_ref().unwrap().as_str(), NHS);
    assert_eq!(
        s.subject.demographics.family_name.as_deref(),
        Some("O'Brien, Jr")
    );
    assert_eq!(s.subject.demographics.date_of_birth, Some(date(2015, 2, 1)));
    assert_eq!(
        s.body,
        EventBody::SocialCareChildProtectionPlanStarted(ChildProtectionPlanStarted {
            on: date(2026, 11, 20),
            category: Some("Neglect,\r\nemotional".into()),
        })
    );
    assert_eq!(s.occurred_at.to_rfc3339(), "2026-11-20T00:00:00+00:00");
    assert_eq!(subs[1].subject.identifiers.upn, None);
}

#[test]
fn a_bad_row_names_its_row_and_column_and_every_row_is_checked() {
    let m = mapping(LIQUIDLOGIC);
    let body = format!(
        "{HEADER}\n\
         P-1,,9434765910,,,Referral,02/11/2026,,,\n\
         \n\
         P-2,,,,,Referral,2026-13-01,,,\n\
         P-3,,,,,Adoption,01/11/2026,,,\n\
         P 4,,,,,Referral,01/11/2026,,,\n\
         P-5,,,,,Referral\n"
    );
    let p = problems(&m, &body);
    assert_eq!(
        p,
        vec![
            FieldProblem::new(
                "row 1, column \"NHS Number\"",
                "NHS number fails the Modulus 11 check: its last digit does not match the first nine"
            ),
            FieldProblem::new(
                "row 3, column \"Event Date\"",
                "must be a date as DD/MM/YYYY or YYYY-MM-DD"
            ),
            FieldProblem::new(
                "row 4, column \"Event Type\"",
                "is not mapped to an event kind: expected one of Assessment, CIN Plan, CP Plan End, CP Plan Start, Case Closure, LAC End, LAC Start, Referral"
            ),
            FieldProblem::new(
                "row 5, column \"LA Child ID\"",
                "local id value must not contain whitespace, found some inside it"
            ),
            FieldProblem::new("row 6", "has 6 fields, the header has 10"),
        ]
    );
    assert_no_values(&p, &["9434765910", "2026-13-01", "Adoption", "P 4"]);
}

#[test]
fn a_mapped_column_missing_from_the_header_is_one_problem_for_the_extract() {
    let m = mapping(LIQUIDLOGIC);
    let body = "LA Child ID,UPN,Surname,DOB,Event Type,Event Date,End Date,Code\nP-1,,,,Referral,01/11/2026,,\n";
    assert_eq!(
        problems(&m, body),
        vec![FieldProblem::new(
            "column \"NHS Number\"",
            "is mapped but missing from the header"
        )]
    );
}

proptest! {
    /// Whatever text a case system puts in a cell (commas, quotes, line breaks), quoted as RFC
    /// 4180 says, it arrives as that text, trimmed.
    #[test]
    fn any_quoted_cell_text_survives(surname in "[ -~\\r\\n]{1,40}") {
        prop_assume!(!surname.trim().is_empty());
        let m = mapping(LIQUIDLOGIC);
        let quoted = format!("\"{}\"", surname.replace('"', "\"\""));
        let body = format!("{HEADER}\r\nP-1,,,{quoted},,Referral,01/11/2026,,,\r\n");
        let subs = run(&m, &body).unwrap();
        prop_assert_eq!(subs[0].subject.demographics.family_name.as_deref(), Some(surname.trim()));
    }

    /// Every date reads back as itself in each configured format.
    #[test]
    fn any_date_reads_back_in_each_format(days in 0i64..40_000) {
        let d = date(1990, 1, 1) + chrono::Days::new(days as u64);
        let m = mapping(LIQUIDLOGIC);
        for written in [d.format("%d/%m/%Y").to_string(), d.format("%Y-%m-%d").to_string()] {
            let body = format!("{HEADER}\nP-1,,,,{written},Referral,01/11/2026,,,\n");
            let subs = run(&m, &body).unwrap();
            prop_assert_eq!(subs[0].subject.demographics.date_of_birth, Some(d));
        }
    }

    /// A bad NHS number is never repeated, whatever it is.
    #[test]
    fn a_bad_identifier_is_never_repeated(nhs in "[0-9]{9,11}") {
        prop_assume!(NhsNumber::parse(&nhs).is_err());
        let m = mapping(ARBOR);
        let mut a = joined();
        a["pupil"]["nhsNumber"] = json!(nhs);
        let p = problems(&m, &events(vec![a]));
        prop_assert_eq!(p.len(), 1);
        prop_assert!(!p[0].reason.contains(&nhs) && !p[0].field.contains(&nhs));
    }
}

/// Each record of a file alone: what `throughline import file` and a drop folder read.
fn rows(m: &Mapping, body: &str) -> Vec<throughline_adapter_http_ingest::Row> {
    let ctx = if m.input == crate::config::InputFormat::Csv {
        ctx("csc", "liquidlogic")
    } else {
        ctx("oakfield-primary", "arbor")
    };
    m.rows(
        Box::new(std::io::Cursor::new(body.as_bytes().to_vec())),
        ctx,
        received_at(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .collect::<Result<_, _>>()
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_csv_file_is_read_row_by_row_and_a_bad_row_does_not_hold_back_the_rest() {
    let m = mapping(LIQUIDLOGIC);
    let body = "\u{feff}LA Child ID,UPN,NHS Number,Surname,DOB,Event Type,Event Date,End Date,Code\r\n\
                P1,,,,,CP Plan Start,20/11/2026,,N\r\n\
                P2,,9434765910,,,Referral,20/11/2026,,\r\n\
                ,,,,,Referral,20/11/2026,,\r\n\
                P4,,,,,Case Closure,2026-11-19,,RC1\r\n";
    let got = rows(&m, body);
    assert_eq!(
        got.iter().map(|r| r.number).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(got[0].mapped.as_ref().unwrap().len(), 1);
    let bad = got[1].mapped.as_ref().unwrap_err();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].field, "row 2, column \"NHS Number\"");
    assert_no_values(bad, &["9434765910"]);
    assert_eq!(got[2].mapped.as_ref().unwrap_err()[0].field, "row 3");
    assert!(got[3].mapped.is_ok());
    // Its raw bytes are the header and the row: a replay reads it as one input.
    let raw = String::from_utf8(got[0].raw.clone()).unwrap();
    assert!(raw.starts_with("LA Child ID,UPN"), "{raw}");
    assert_eq!(&run(&m, &raw).unwrap(), got[0].mapped.as_ref().unwrap());
}

#[test]
fn a_json_array_is_read_record_by_record_and_each_record_can_be_read_again_alone() {
    let m = mapping(ARBOR);
    let mut bad = joined();
    bad["pupil"]["nhsNumber"] = json!("9434765910");
    let body = events(vec![joined(), bad, json!(3)]);
    let got = rows(&m, &body);
    assert_eq!(got.iter().map(|r| r.number).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(got[0].mapped.as_ref().unwrap().len(), 1);
    assert_eq!(
        got[1].mapped.as_ref().unwrap_err()[0].field,
        "/events/1/pupil/nhsNumber"
    );
    assert_eq!(got[2].mapped.as_ref().unwrap_err()[0].field, "/events/2");
    let alone = String::from_utf8(got[0].raw.clone()).unwrap();
    assert_eq!(&run(&m, &alone).unwrap(), got[0].mapped.as_ref().unwrap());
}
