//! The two formats through the public API, as the hub calls them: `normaliser_for(format)` then
//! `normalise(raw, ctx)`.

use bytes::Bytes;
use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use throughline_adapter_http_ingest::{CanonicalJson, FORMATS, SocialCareCsv, normaliser_for};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{NormaliseContext, Normaliser, RawInput, Rejection};
use throughline_contracts::event::{EventSubmission, FieldProblem};
use throughline_contracts::kind::{EventBody, EventKind};

const NHS_NUMBER: &str = "9434765919";
/// Valid but for its last digit: fails the Modulus 11 check.
const BAD_NHS_NUMBER: &str = "9434765918";
const UPN: &str = "B801200005001";
/// Valid but for its check letter.
const BAD_UPN: &str = "C801200005001";
const GIVEN_NAME: &str = "Ada";
const FAMILY_NAME: &str = "Lovelace";

/// Child data used anywhere in these tests; no rejection reason may contain any of it.
const CHILD_DATA: &[&str] = &[
    NHS_NUMBER,
    BAD_NHS_NUMBER,
    UPN,
    BAD_UPN,
    GIVEN_NAME,
    FAMILY_NAME,
    "2015-12-10",
    "10/12/2015",
    "LS1 4AP",
    "worried about",
];

fn ctx() -> NormaliseContext {
    NormaliseContext {
        source_id: "oakfield-cs".into(),
        agency: AgencyId::parse("oakfield-childrens-services").unwrap(),
        system: "liquidlogic".into(),
        adapter: "http-ingest".into(),
    }
}

fn raw(body: impl Into<Bytes>, content_type: &str) -> RawInput {
    RawInput {
        source_id: "oakfield-cs".into(),
        content_type: Some(content_type.into()),
        body: body.into(),
        received_at: Utc::now(),
        message_id: None,
    }
}

fn normalise(format: &str, body: impl Into<Bytes>) -> Result<Vec<EventSubmission>, Rejection> {
    let normaliser = normaliser_for(format).expect("a known format");
    normaliser.normalise(&raw(body, "application/octet-stream"), &ctx())
}

/// The problems of a rejection, after checking that none of them leaks child data.
fn rejected(format: &str, body: impl Into<Bytes>) -> Vec<FieldProblem> {
    let problems = normalise(format, body)
        .expect_err("expected a rejection")
        .problems;
    assert!(!problems.is_empty());
    for p in &problems {
        for data in CHILD_DATA {
            assert!(
                !p.reason.contains(data) && !p.field.contains(data),
                "problem {p:?} contains child data {data:?}"
            );
        }
    }
    problems
}

fn fields(problems: &[FieldProblem]) -> Vec<&str> {
    problems.iter().map(|p| p.field.as_str()).collect()
}

// ---- canonical-json ----

fn referral() -> Value {
    json!({
        "schema_version": 1,
        "occurred_at": "2026-03-02T09:30:00Z",
        "source": {"agency": "oakfield-school", "system": "arbor", "adapter": "http-ingest"},
        "subject": {
            "identifiers": {
                "nhs_number": NHS_NUMBER,
                "upn": UPN,
                "local_ids": [{"agency": "oakfield-school", "system": "arbor", "value": "P-1"}]
            },
            "demographics": {
                "given_name": GIVEN_NAME,
                "family_name": FAMILY_NAME,
                "date_of_birth": "2015-12-10",
                "postcode": "LS1 4AP"
            }
        },
        "kind": "referral.made",
        "payload": {
            "referral_id": "R-1",
            "to_agency": "camhs-north",
            "urgency": "urgent",
            "reason": "worried about attendance"
        }
    })
}

fn json_body(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

#[test]
fn canonical_event_normalises() {
    let subs = normalise("canonical-json", json_body(&referral())).unwrap();
    assert_eq!(subs.len(), 1);
    let sub = &subs[0];
    assert_eq!(sub.schema_version, 1);
    assert_eq!(
        sub.occurred_at,
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()
    );
    assert_eq!(sub.source.agency.as_str(), "oakfield-school");
    let ids = &sub.subject.identifiers;
    assert_eq!(ids.nhs_number.as_ref().unwrap().as_str(), NHS_NUMBER);
    assert_eq!(ids.upn.as_ref().unwrap().as_str(), UPN);
    assert_eq!(ids.local_ids[0].scope(), "oakfield-school/arbor");
    let EventBody::ReferralMade(payload) = &sub.body else {
        panic!("expected a referral, found {:?}", sub.body.kind());
    };
    assert_eq!(payload.to_agency.as_str(), "camhs-north");
}

#[test]
fn canonical_event_matches_plain_serde() {
    // The split parse must build exactly what serde would from the same object.
    let value = referral();
    let direct: EventSubmission = serde_json::from_value(value.clone()).unwrap();
    let subs = CanonicalJson
        .normalise(&raw(json_body(&value), "application/json"), &ctx())
        .unwrap();
    assert_eq!(subs, vec![direct]);
}

#[test]
fn canonical_array_of_two_normalises_to_two() {
    let mut second = referral();
    second["kind"] = json!("social_care.child_in_need_plan");
    second["payload"] = json!({"on": "2026-03-01"});
    let subs = normalise("canonical-json", json_body(&json!([referral(), second]))).unwrap();
    let kinds: Vec<EventKind> = subs.iter().map(|s| s.body.kind()).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::ReferralMade,
            EventKind::SocialCareChildInNeedPlan
        ]
    );
}

#[test]
fn invalid_nhs_number_names_exactly_its_field() {
    let mut v = referral();
    v["subject"]["identifiers"]["nhs_number"] = json!(BAD_NHS_NUMBER);
    assert_eq!(
        rejected("canonical-json", json_body(&v)),
        vec![FieldProblem::new(
            "subject.identifiers.nhs_number",
            "NHS number fails the Modulus 11 check: its last digit does not match the first nine"
        )]
    );
}

#[test]
fn nhs_number_sent_as_a_json_number_is_not_repeated() {
    let body = json_body(&referral()).into_iter().collect::<Vec<u8>>();
    let text = String::from_utf8(body)
        .unwrap()
        .replace(&format!("\"{NHS_NUMBER}\""), NHS_NUMBER);
    assert!(text.contains(&format!(":{NHS_NUMBER}")), "{text}");
    let problems = rejected("canonical-json", text);
    assert_eq!(
        problems,
        vec![FieldProblem::new(
            "subject.identifiers.nhs_number",
            "NHS number must be a string, found a number"
        )]
    );

    // Where a number is expected, serde quotes the value it found: scrubbed too.
    let mut v = referral();
    v["schema_version"] = json!(9_434_765_919_u64);
    let problems = rejected("canonical-json", json_body(&v));
    assert_eq!(fields(&problems), vec!["schema_version"]);
}

#[test]
fn array_problems_are_prefixed_with_the_index() {
    let mut bad = referral();
    bad["subject"]["identifiers"]["upn"] = json!(BAD_UPN);
    let body = json!([referral(), referral(), bad]);
    let problems = rejected("canonical-json", json_body(&body));
    assert_eq!(fields(&problems), vec!["[2].subject.identifiers.upn"]);
    assert_eq!(
        problems[0].reason,
        "UPN check letter (character 1) does not match characters 2 to 13"
    );
}

#[test]
fn bad_payload_field_is_named_under_payload() {
    let mut v = referral();
    v["payload"]["to_agency"] = json!("NOT VALID");
    let problems = rejected("canonical-json", json_body(&v));
    assert_eq!(problems.len(), 1);
    assert!(problems[0].field.starts_with("payload."), "{problems:?}");
    assert_eq!(problems[0].field, "payload.to_agency");
}

#[test]
fn envelope_and_payload_problems_are_both_reported() {
    let mut v = referral();
    v["subject"]["identifiers"]["nhs_number"] = json!(BAD_NHS_NUMBER);
    v["payload"]["respond_by"] = json!("next week");
    let problems = rejected("canonical-json", json_body(&json!([referral(), v])));
    assert_eq!(
        fields(&problems),
        vec![
            "[1].subject.identifiers.nhs_number",
            "[1].payload.respond_by"
        ]
    );
}

#[test]
fn missing_kind_is_required() {
    let mut v = referral();
    v.as_object_mut().unwrap().remove("kind");
    assert_eq!(
        rejected("canonical-json", json_body(&v)),
        vec![FieldProblem::new("kind", "is required")]
    );
}

#[test]
fn unknown_kind_is_reported_on_kind() {
    let mut v = referral();
    v["kind"] = json!("referral.lost");
    let problems = rejected("canonical-json", json_body(&v));
    assert_eq!(fields(&problems), vec!["kind"]);
    assert!(problems[0].reason.starts_with("unknown event kind"));
}

#[test]
fn unknown_top_level_field_is_named() {
    let mut v = referral();
    v.as_object_mut()
        .unwrap()
        .insert("priority".into(), json!("high"));
    assert_eq!(
        rejected("canonical-json", json_body(&v)),
        vec![FieldProblem::new("priority", "is not a recognised field")]
    );
}

#[test]
fn missing_envelope_field_is_named() {
    let mut v = referral();
    v.as_object_mut().unwrap().remove("occurred_at");
    assert_eq!(
        rejected("canonical-json", json_body(&v)),
        vec![FieldProblem::new("occurred_at", "is required")]
    );
}

#[test]
fn not_json_is_one_problem_with_a_position() {
    let body = format!("{{\"subject\": {{\"nhs_number\": \"{NHS_NUMBER}\" oops");
    let problems = rejected("canonical-json", body);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "body");
    assert!(problems[0].reason.contains("line 1 column"), "{problems:?}");
}

#[test]
fn canonical_json_leaves_validation_to_the_hub() {
    // Version 2, no identifiers, a future time and another agency: all the hub's to reject.
    let mut v = referral();
    v["schema_version"] = json!(2);
    v["occurred_at"] = json!("2999-01-01T00:00:00Z");
    v["subject"] = json!({"identifiers": {}});
    v["source"]["agency"] = json!("somewhere-else");
    assert_eq!(normalise("canonical-json", json_body(&v)).unwrap().len(), 1);
}

// ---- social-care-csv ----

#[test]
fn csv_extract_of_two_rows_normalises() {
    let body = format!(
        "la_child_id,NHS_Number,upn,event,date,code,given_name,family_name,date_of_birth,postcode\r\n\
         LL-1001,{NHS_NUMBER},{UPN},referral,2026-03-02,1B,{GIVEN_NAME},{FAMILY_NAME},10/12/2015,LS1 4AP\r\n\
         LL-1002,,,lac_start,05/03/2026,C2,,,,\r\n"
    );
    let subs = SocialCareCsv
        .normalise(&raw(body, "text/csv"), &ctx())
        .unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].body.kind(), EventKind::SocialCareReferral);
    assert_eq!(subs[1].body.kind(), EventKind::SocialCareLookedAfterStarted);

    let first = &subs[0].subject.identifiers;
    assert_eq!(first.local_ids.len(), 1);
    assert_eq!(
        first.local_ids[0].scope(),
        "oakfield-childrens-services/liquidlogic"
    );
    assert_eq!(first.local_ids[0].value(), "LL-1001");
    assert_eq!(first.nhs_number.as_ref().unwrap().as_str(), NHS_NUMBER);
    assert_eq!(first.upn.as_ref().unwrap().as_str(), UPN);
    assert_eq!(
        subs[0].subject.demographics.family_name.as_deref(),
        Some(FAMILY_NAME)
    );

    let on = |s: &EventSubmission| match &s.body {
        EventBody::SocialCareReferral(r) => r.referral_on,
        EventBody::SocialCareLookedAfterStarted(l) => l.on,
        other => panic!("unexpected {:?}", other.kind()),
    };
    assert_eq!(on(&subs[0]), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    assert_eq!(on(&subs[1]), NaiveDate::from_ymd_opt(2026, 3, 5).unwrap());
    assert_eq!(
        subs[1].occurred_at,
        Utc.with_ymd_and_hms(2026, 3, 5, 0, 0, 0).unwrap()
    );
    assert_eq!(subs[1].subject.identifiers.nhs_number, None);
    assert_eq!(subs[1].source.system, "liquidlogic");
}

#[test]
fn csv_bad_nhs_number_on_row_two_is_named() {
    let body = format!(
        "la_child_id,nhs_number,event,date\n\
         LL-1001,{NHS_NUMBER},referral,2026-03-02\n\
         LL-1002,{BAD_NHS_NUMBER},referral,2026-03-02\n"
    );
    let problems = rejected("social-care-csv", body);
    assert_eq!(
        problems,
        vec![FieldProblem::new(
            "row 2.nhs_number",
            "NHS number fails the Modulus 11 check: its last digit does not match the first nine"
        )]
    );
}

#[test]
fn csv_reports_every_bad_row() {
    let body = format!(
        "la_child_id,nhs_number,upn,event,date,given_name\n\
         LL-1001,{BAD_NHS_NUMBER},,referral,2026-03-02,{GIVEN_NAME}\n\
         LL-1002,,{BAD_UPN},referral,2026-03-02,{GIVEN_NAME}\n\
         LL-1003,,,referral,{GIVEN_NAME},{GIVEN_NAME}\n"
    );
    assert_eq!(
        fields(&rejected("social-care-csv", body)),
        vec!["row 1.nhs_number", "row 2.upn", "row 3.date"]
    );
}

#[test]
fn csv_unknown_and_missing_columns_are_reported() {
    let body = "la_child_id,event,placement_type\nLL-1001,referral,foster\n";
    assert_eq!(
        rejected("social-care-csv", body),
        vec![
            FieldProblem::new("column placement_type", "unknown column"),
            FieldProblem::new("column date", "is required but missing from the header"),
        ]
    );
}

#[test]
fn csv_quoted_fields_with_commas_parse() {
    let body = format!(
        "la_child_id,event,date,family_name,postcode\r\n\
         LL-1001,referral,2026-03-02,\"{FAMILY_NAME}, \"\"Jr\"\"\",\"LS1 4AP\"\r\n"
    );
    let subs = normalise("social-care-csv", body).unwrap();
    let demographics = &subs[0].subject.demographics;
    assert_eq!(
        demographics.family_name.as_deref(),
        Some("Lovelace, \"Jr\"")
    );
    assert_eq!(demographics.postcode.as_deref(), Some("LS1 4AP"));
}

#[test]
fn csv_empty_and_header_only_bodies_are_one_problem() {
    assert_eq!(fields(&rejected("social-care-csv", "")), vec!["body"]);
    assert_eq!(
        fields(&rejected("social-care-csv", "la_child_id,event,date\n")),
        vec!["body"]
    );
}

#[test]
fn csv_without_its_header_line_does_not_repeat_the_first_row() {
    let body = format!(
        "LL-1001,{NHS_NUMBER},{GIVEN_NAME},referral,2026-03-02\n\
         LL-1002,{NHS_NUMBER},{GIVEN_NAME},referral,2026-03-02\n"
    );
    assert_eq!(fields(&rejected("social-care-csv", body)), vec!["header"]);
}

#[test]
fn formats_are_listed() {
    assert_eq!(FORMATS, &["canonical-json", "social-care-csv"]);
    assert_eq!(
        normaliser_for("canonical-json").unwrap().format(),
        "canonical-json"
    );
    assert_eq!(
        normaliser_for("social-care-csv").unwrap().format(),
        "social-care-csv"
    );
    assert!(normaliser_for("CANONICAL-JSON").is_none());
}
