use super::*;
use throughline_contracts::AgencyId;
use throughline_contracts::kind::EventKind;

fn ctx() -> NormaliseContext {
    NormaliseContext {
        source_id: "oakfield-cs".into(),
        agency: AgencyId::parse("oakfield-childrens-services").unwrap(),
        system: "liquidlogic".into(),
        adapter: "http-ingest".into(),
    }
}

fn ok(text: &str) -> Vec<EventSubmission> {
    parse_extract(text.as_bytes(), &ctx()).unwrap_or_else(|r| panic!("{:?}", r.problems))
}

fn problems(text: &str) -> Vec<FieldProblem> {
    parse_extract(text.as_bytes(), &ctx())
        .expect_err("expected a rejection")
        .problems
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn maps_every_event_with_its_code() {
    let subs = ok("la_child_id,event,date,code\n\
         C1,referral,2026-01-05,1B\n\
         C1,assessment,2026-01-06,\n\
         C1,cin_plan,2026-01-07,N1\n\
         C1,cp_plan_start,2026-01-08,NEG\n\
         C1,cp_plan_end,2026-01-09,RC1\n\
         C1,lac_start,2026-01-10,C2\n\
         C1,lac_end,2026-01-11,E11\n\
         C1,CASE_CLOSED,2026-01-12,RC8\n");
    let bodies: Vec<EventBody> = subs.into_iter().map(|s| s.body).collect();
    assert_eq!(
        bodies,
        vec![
            EventBody::SocialCareReferral(SocialCareReferral {
                referral_on: date(2026, 1, 5),
                source_code: Some("1B".into()),
                primary_need_code: None,
            }),
            EventBody::SocialCareAssessment(SocialCareAssessment {
                started_on: date(2026, 1, 6),
                authorised_on: None,
            }),
            EventBody::SocialCareChildInNeedPlan(DatedReason {
                on: date(2026, 1, 7),
                reason: Some("N1".into()),
            }),
            EventBody::SocialCareChildProtectionPlanStarted(ChildProtectionPlanStarted {
                on: date(2026, 1, 8),
                category: Some("NEG".into()),
            }),
            EventBody::SocialCareChildProtectionPlanEnded(DatedReason {
                on: date(2026, 1, 9),
                reason: Some("RC1".into()),
            }),
            EventBody::SocialCareLookedAfterStarted(LookedAfter {
                on: date(2026, 1, 10),
                code: Some("C2".into()),
            }),
            EventBody::SocialCareLookedAfterEnded(LookedAfter {
                on: date(2026, 1, 11),
                code: Some("E11".into()),
            }),
            EventBody::SocialCareCaseClosed(DatedReason {
                on: date(2026, 1, 12),
                reason: Some("RC8".into()),
            }),
        ]
    );
}

#[test]
fn fills_the_envelope_from_the_context_and_row() {
    let subs = ok(
        "EVENT,Date,LA_Child_ID,occurred_at,given_name,date_of_birth,postcode\r\n\
         referral,02/03/2026, C1 ,,Ada,10/12/2015,LS1 4AP\r\n\
         assessment,2026-03-04,C1,2026-03-04T10:15:00+01:00,,,\r\n",
    );
    let first = &subs[0];
    assert_eq!(first.schema_version, 1);
    assert_eq!(first.id, None);
    assert_eq!(first.source.agency.as_str(), "oakfield-childrens-services");
    assert_eq!(first.source.system, "liquidlogic");
    assert_eq!(first.source.adapter, "http-ingest");
    assert_eq!(
        first.occurred_at,
        date(2026, 3, 2).and_time(NaiveTime::MIN).and_utc()
    );
    let local = &first.subject.identifiers.local_ids[0];
    assert_eq!(local.value(), "C1");
    assert_eq!(local.scope(), "oakfield-childrens-services/liquidlogic");
    let demographics = &first.subject.demographics;
    assert_eq!(demographics.given_name.as_deref(), Some("Ada"));
    assert_eq!(demographics.date_of_birth, Some(date(2015, 12, 10)));
    assert_eq!(demographics.postcode.as_deref(), Some("LS1 4AP"));
    assert_eq!(demographics.family_name, None);

    assert_eq!(subs[1].body.kind(), EventKind::SocialCareAssessment);
    assert_eq!(
        subs[1].occurred_at.to_rfc3339(),
        "2026-03-04T09:15:00+00:00"
    );
    assert!(subs[1].subject.demographics.is_empty());
}

#[test]
fn skips_blank_rows_but_counts_them() {
    let p = problems("la_child_id,event,date\nC1,referral,2026-01-05\n,,\n\nC2,referral,soon\n");
    assert_eq!(
        p,
        vec![FieldProblem::new(
            "row 4.date",
            "must be a date as YYYY-MM-DD or DD/MM/YYYY"
        )]
    );
}

#[test]
fn reports_every_bad_cell() {
    let p = problems(
        "la_child_id,event,date,nhs_number,date_of_birth,occurred_at\n\
         ,visit,,123,2015-13-01,yesterday\n\
         C2,referral,2026-01-05\n",
    );
    let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "row 1.la_child_id",
            "row 1.nhs_number",
            "row 1.event",
            "row 1.date",
            "row 1.date_of_birth",
            "row 1.occurred_at",
            "row 2",
        ]
    );
    assert_eq!(p[0].reason, "is required");
    assert_eq!(p[2].reason, format!("must be one of {}", EVENTS.join(", ")));
    assert_eq!(p[6].reason, "has 3 fields, the header has 6");
}

#[test]
fn header_problems() {
    let p =
        problems("la_child_id,event,event,Placement Type,9434765919\nC1,referral,referral,red,x\n");
    assert_eq!(
        p,
        vec![
            FieldProblem::new("column event", "appears more than once in the header"),
            FieldProblem::new("column Placement Type", "unknown column"),
            FieldProblem::new(
                "column 5",
                "unknown column (its name does not look like a column name, so it is not shown)"
            ),
            FieldProblem::new("column date", "is required but missing from the header"),
        ]
    );
}

#[test]
fn a_missing_header_line_is_not_echoed() {
    let p = problems("C1,referral,2026-01-05,9434765919,Ada\nC2,referral,2026-01-05,,\n");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].field, "header");
    assert!(!p[0].reason.contains("Ada") && !p[0].reason.contains("9434765919"));
}

#[test]
fn tolerates_an_empty_unnamed_trailing_column_and_a_bom() {
    let subs = ok("\u{feff}la_child_id,event,date,\nC1,referral,2026-01-05,\n");
    assert_eq!(subs.len(), 1);
    let p =
        problems("la_child_id,event,date,\nC1,referral,2026-01-05,\nC2,referral,2026-01-05,x\n");
    assert_eq!(
        p,
        vec![FieldProblem::new(
            "row 2.column 4",
            "has no name in the header but holds a value"
        )]
    );
}

#[test]
fn empty_and_header_only_bodies() {
    for body in ["", "\n\n", " , \n"] {
        assert_eq!(problems(body).len(), 1, "{body:?}");
        assert_eq!(problems(body)[0].field, "body");
    }
    assert_eq!(
        problems("la_child_id,event,date\r\n"),
        vec![FieldProblem::new(
            "body",
            "has a header line but no data rows: expected at least one record"
        )]
    );
    assert_eq!(
        problems("\nla_child_id,event,date\nC1,referral,2026-01-05")[0].field,
        "header"
    );
}

#[test]
fn bad_bytes_and_bad_quoting_are_one_problem() {
    let p = parse_extract(b"la_child_id,event,date\nC1,referral,\xff\n", &ctx())
        .unwrap_err()
        .problems;
    assert_eq!(
        p,
        vec![FieldProblem::new("row 1", "field 3 is not UTF-8 text")]
    );
    assert_eq!(
        problems("la_child_id,event,date\nC1,referral,\"2026-01-05\n"),
        vec![FieldProblem::new(
            "row 1",
            "a quoted field is not closed before the end of the body"
        )]
    );
}

#[test]
fn a_file_is_read_row_by_row_each_row_alone_with_the_header_for_its_raw_bytes() {
    let text = "\u{feff}la_child_id,nhs_number,event,date\r\n\
                C1,,cp_plan_start,20/11/2026\r\n\
                C2,9434765910,referral,2026-11-20\r\n\
                \r\n\
                ,,referral,2026-11-20\r\n\
                C4,,case_closed,2026-11-21";
    let rows: Vec<Row> = SocialCareCsv
        .rows(Box::new(text.as_bytes()), ctx(), Utc::now())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let numbers: Vec<usize> = rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, vec![1, 2, 4, 5], "the blank row counts");
    assert_eq!(rows[0].mapped.as_ref().unwrap().len(), 1);
    let bad_nhs = rows[1].mapped.as_ref().unwrap_err();
    assert_eq!(bad_nhs.len(), 1);
    assert_eq!(bad_nhs[0].field, "row 2.nhs_number");
    assert!(!bad_nhs[0].reason.contains("9434765910"));
    assert_eq!(
        rows[2].mapped.as_ref().unwrap_err()[0],
        FieldProblem::new("row 4.la_child_id", "is required")
    );
    assert!(rows[3].mapped.is_ok());
    // A row's raw bytes are a two-line extract: read alone, it is the same row.
    assert_eq!(
        rows[1].raw,
        b"la_child_id,nhs_number,event,date\r\nC2,9434765910,referral,2026-11-20\r\n"
    );
    let alone = parse_extract(&rows[0].raw, &ctx()).unwrap();
    assert_eq!(&alone, rows[0].mapped.as_ref().unwrap());
}

#[test]
fn a_file_with_an_unusable_header_is_refused_before_any_row() {
    let refused =
        |text: &str| match SocialCareCsv.rows(Box::new(text.as_bytes()), ctx(), Utc::now()) {
            Err(ExtractError::Refused(problems)) => problems,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("not refused"),
        };
    assert_eq!(refused("")[0].field, "body");
    assert_eq!(
        refused("la_child_id,event\nC1,referral\n")[0].field,
        "column date"
    );
    assert_eq!(
        refused("C1,referral,2026-01-05,9434765919\n")[0].field,
        "header"
    );
}
