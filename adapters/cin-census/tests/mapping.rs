//! The mapping table of `docs/adapters/cin-census.md`, child by child: the shapes of the public
//! 2021, 2024 and 2026 sample files (with valid data), several episodes, children without a UPN
//! or not yet born, and every rejection reason.

mod support;

use chrono::{DateTime, NaiveDate, Utc};
use support::*;
use throughline_adapter_cin_census::ChildOutcome;
use throughline_contracts::demographics::Sex;
use throughline_contracts::identifiers::{LocalId, Upn};
use throughline_contracts::kind::{EventBody, EventKind};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The 2024 sample's child, with dates that make sense and a valid UPN.
fn child_2024(upn: &str) -> String {
    format!(
        r#"<Child>
            <ChildIdentifiers>
                <LAchildID>DfEX0000001</LAchildID>
                <UPN>{upn}</UPN>
                <FormerUPN>X98765432123B</FormerUPN>
                <PersonBirthDate>2015-03-27</PersonBirthDate>
                <Sex>1</Sex>
            </ChildIdentifiers>
            <ChildCharacteristics>
                <Ethnicity>WBRI</Ethnicity>
                <Disabilities><Disability>HAND</Disability><Disability>HEAR</Disability></Disabilities>
            </ChildCharacteristics>
            <CINdetails>
                <CINreferralDate>2022-10-06</CINreferralDate>
                <ReferralSource>1A</ReferralSource>
                <PrimaryNeedCode>N4</PrimaryNeedCode>
                <CINclosureDate>2023-03-20</CINclosureDate>
                <ReasonForClosure>RC1</ReasonForClosure>
                <DateOfInitialCPC>2022-12-06</DateOfInitialCPC>
                <Assessments>
                    <AssessmentActualStartDate>2022-10-10</AssessmentActualStartDate>
                    <AssessmentAuthorisationDate>2022-11-19</AssessmentAuthorisationDate>
                    <FactorsIdentifiedAtAssessment>
                        <AssessmentFactors>1C</AssessmentFactors>
                        <AssessmentFactors>RB</AssessmentFactors>
                    </FactorsIdentifiedAtAssessment>
                </Assessments>
                <CINPlanDates>
                    <CINPlanStartDate>2023-01-24</CINPlanStartDate>
                    <CINPlanEndDate>2023-01-26</CINPlanEndDate>
                </CINPlanDates>
                <Section47>
                    <S47ActualStartDate>2022-11-20</S47ActualStartDate>
                    <InitialCPCtarget>2022-12-11</InitialCPCtarget>
                    <DateOfInitialCPC>2022-12-06</DateOfInitialCPC>
                    <ICPCnotRequired>false</ICPCnotRequired>
                </Section47>
                <ReferralNFA>0</ReferralNFA>
                <ChildProtectionPlans>
                    <CPPstartDate>2022-12-17</CPPstartDate>
                    <CPPendDate>2023-03-14</CPPendDate>
                    <InitialCategoryOfAbuse>PHY</InitialCategoryOfAbuse>
                    <LatestCategoryOfAbuse>PHY</LatestCategoryOfAbuse>
                    <NumberOfPreviousCPP>10</NumberOfPreviousCPP>
                    <Reviews><CPPreviewDate>2023-02-15</CPPreviewDate></Reviews>
                </ChildProtectionPlans>
            </CINdetails>
        </Child>"#
    )
}

#[test]
fn a_child_of_the_2024_shape_becomes_its_social_care_events_in_the_order_they_happened() {
    let upn_a = upn("702202011001");
    let file = census(&[&child_2024(&upn_a)]);
    let mut reader = open(&file).unwrap();
    assert_eq!(reader.header().year, 2024);
    assert_eq!(reader.header().reference_date, day("2024-03-31"));
    assert_eq!(reader.header().source.lea, "201");
    let outcome = reader.next().unwrap().unwrap();
    assert!(reader.next().is_none());
    let events = accepted(&outcome);
    assert_eq!(
        kinds(events),
        vec![
            EventKind::SocialCareReferral,
            EventKind::SocialCareAssessment,
            EventKind::SocialCareChildProtectionPlanStarted,
            EventKind::SocialCareChildInNeedPlan,
            EventKind::SocialCareChildInNeedPlanEnded,
            EventKind::SocialCareChildProtectionPlanEnded,
            EventKind::SocialCareCaseClosed,
        ]
    );

    match &events[0].body {
        EventBody::SocialCareReferral(r) => {
            assert_eq!(r.referral_on, day("2022-10-06"));
            assert_eq!(r.source_code.as_deref(), Some("1A"));
            assert_eq!(r.primary_need_code.as_deref(), Some("N4"));
        }
        other => panic!("{other:?}"),
    }
    match &events[1].body {
        EventBody::SocialCareAssessment(a) => {
            assert_eq!(a.started_on, day("2022-10-10"));
            assert_eq!(a.authorised_on, Some(day("2022-11-19")));
        }
        other => panic!("{other:?}"),
    }
    match &events[2].body {
        EventBody::SocialCareChildProtectionPlanStarted(p) => {
            assert_eq!(p.on, day("2022-12-17"));
            assert_eq!(p.category.as_deref(), Some("PHY"));
        }
        other => panic!("{other:?}"),
    }
    match &events[3].body {
        EventBody::SocialCareChildInNeedPlan(p) => assert_eq!(p.on, day("2023-01-24")),
        other => panic!("{other:?}"),
    }
    match &events[4].body {
        EventBody::SocialCareChildInNeedPlanEnded(p) => {
            assert_eq!(p.on, day("2023-01-26"));
            assert_eq!(p.reason, None);
        }
        other => panic!("{other:?}"),
    }
    match &events[5].body {
        EventBody::SocialCareChildProtectionPlanEnded(p) => assert_eq!(p.on, day("2023-03-14")),
        other => panic!("{other:?}"),
    }
    match &events[6].body {
        EventBody::SocialCareCaseClosed(c) => {
            assert_eq!(c.on, day("2023-03-20"));
            assert_eq!(c.reason.as_deref(), Some("RC1"));
        }
        other => panic!("{other:?}"),
    }

    // Midnight in London: British Summer Time in October, GMT in March.
    assert_eq!(events[0].occurred_at, at("2022-10-05T23:00:00Z"));
    assert_eq!(events[4].occurred_at, at("2023-01-26T00:00:00Z"));
    assert_eq!(events[6].occurred_at, at("2023-03-20T00:00:00Z"));

    // The census restates the child's year as at its ReferenceDate (31 March 2024, GMT): every
    // event says so, and the hub decides which of them are history.
    let census_day = at("2024-03-31T00:00:00Z");
    let ctx = ctx();
    for e in events {
        assert_eq!(e.as_at, Some(census_day));
        assert!(e.occurred_at <= census_day);
        assert_eq!(e.source.agency, ctx.agency);
        assert_eq!(e.source.system, "liquidlogic");
        assert_eq!(e.source.adapter, "cin-census");
        assert_eq!(e.id, None);
        let ids = &e.subject.identifiers;
        assert_eq!(ids.upn.as_ref().map(Upn::as_str), Some(upn_a.as_str()));
        assert_eq!(
            ids.local_ids,
            vec![LocalId::new(ctx.agency.clone(), "liquidlogic", "DfEX0000001").unwrap()]
        );
        assert_eq!(ids.nhs_number, None);
        let d = &e.subject.demographics;
        assert_eq!(d.date_of_birth, Some(day("2015-03-27")));
        assert_eq!(d.sex, Some(Sex::Male));
        assert_eq!(
            (&d.given_name, &d.family_name, &d.postcode),
            (&None, &None, &None)
        );
    }
}

#[test]
fn the_2021_and_2026_shapes_read_the_same() {
    // 2021: `GenderCurrent`, an internal review date and a date of death; 2026: pre-proceedings.
    let older = child(
        r#"<LAchildID>C2021</LAchildID><UPNunknown>UN3</UPNunknown>
           <PersonBirthDate>2012-03-27</PersonBirthDate><GenderCurrent>2</GenderCurrent>
           <PersonDeathDate>2023-10-08</PersonDeathDate>"#,
        r#"<CINdetails><CINreferralDate>2023-06-03</CINreferralDate><ReferralSource>10</ReferralSource>
           <PrimaryNeedCode>N1</PrimaryNeedCode>
           <Assessments><AssessmentActualStartDate>2023-06-03</AssessmentActualStartDate>
             <AssessmentInternalReviewDate>2023-06-22</AssessmentInternalReviewDate></Assessments>
           <ReferralNFA>false</ReferralNFA></CINdetails>"#,
    );
    let newer = child(
        r#"<LAchildID>C2026</LAchildID><PersonBirthDate>2020-09-25</PersonBirthDate><Sex>F</Sex>"#,
        r#"<CINdetails><CINreferralDate>2023-10-24</CINreferralDate><ReferralSource>1a</ReferralSource>
           <PrimaryNeedCode>n1</PrimaryNeedCode><ReferralNFA>1</ReferralNFA>
           <CINclosureDate>2023-10-24</CINclosureDate><ReasonForClosure>rc8</ReasonForClosure>
           <PreProceedingsandFGDM><PPStartDate>2023-11-09</PPStartDate><PPOutcome>A</PPOutcome></PreProceedingsandFGDM>
           </CINdetails>"#,
    );
    let all = outcomes(&census(&[&older, &newer]));
    let older = accepted(&all[0]);
    assert_eq!(
        kinds(older),
        vec![
            EventKind::SocialCareReferral,
            EventKind::SocialCareAssessment
        ]
    );
    assert_eq!(older[0].subject.demographics.sex, Some(Sex::Female));
    assert_eq!(older[0].subject.identifiers.upn, None);
    let newer = accepted(&all[1]);
    assert_eq!(
        kinds(newer),
        vec![
            EventKind::SocialCareReferral,
            EventKind::SocialCareCaseClosed
        ]
    );
    match (&newer[0].body, &newer[1].body) {
        (EventBody::SocialCareReferral(r), EventBody::SocialCareCaseClosed(c)) => {
            assert_eq!(
                r.source_code.as_deref(),
                Some("1A"),
                "codes are upper-cased"
            );
            assert_eq!(r.primary_need_code.as_deref(), Some("N1"));
            assert_eq!(c.reason.as_deref(), Some("RC8"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(newer[0].subject.demographics.sex, Some(Sex::Female));
}

#[test]
fn several_episodes_are_told_in_the_order_they_happened_whatever_the_file_order() {
    // The open episode is listed first; the earlier, closed one second.
    let c = child(
        "<LAchildID>C1</LAchildID><PersonBirthDate>2016-01-01</PersonBirthDate>",
        r#"<CINdetails><CINreferralDate>2023-06-01</CINreferralDate>
             <CINPlanDates><CINPlanStartDate>2023-07-01</CINPlanStartDate></CINPlanDates>
             <CINPlanDates><CINPlanStartDate>2023-06-15</CINPlanStartDate><CINPlanEndDate>2023-06-30</CINPlanEndDate></CINPlanDates>
           </CINdetails>
           <CINdetails><CINreferralDate>2022-01-10</CINreferralDate>
             <CINclosureDate>2022-05-01</CINclosureDate><ReasonForClosure>RC2</ReasonForClosure>
           </CINdetails>"#,
    );
    let all = outcomes(&census(&[&c]));
    let events = accepted(&all[0]);
    let dates: Vec<(EventKind, DateTime<Utc>)> = events
        .iter()
        .map(|e| (e.body.kind(), e.occurred_at))
        .collect();
    assert_eq!(
        dates,
        vec![
            (EventKind::SocialCareReferral, at("2022-01-10T00:00:00Z")),
            (EventKind::SocialCareCaseClosed, at("2022-04-30T23:00:00Z")),
            (EventKind::SocialCareReferral, at("2023-05-31T23:00:00Z")),
            (
                EventKind::SocialCareChildInNeedPlan,
                at("2023-06-14T23:00:00Z")
            ),
            (
                EventKind::SocialCareChildInNeedPlanEnded,
                at("2023-06-29T23:00:00Z")
            ),
            (
                EventKind::SocialCareChildInNeedPlan,
                at("2023-06-30T23:00:00Z")
            ),
        ]
    );
}

#[test]
fn a_child_not_yet_born_and_a_child_with_nothing_to_report_are_accepted() {
    let unborn = child(
        "<LAchildID>U1</LAchildID><UPNunknown>UN1</UPNunknown><ExpectedPersonBirthDate>2024-06-01</ExpectedPersonBirthDate><Sex>U</Sex>",
        "<CINdetails><CINreferralDate>2024-02-01</CINreferralDate><ReferralSource>5A</ReferralSource></CINdetails>",
    );
    let quiet = child(
        "<LAchildID>Q1</LAchildID><PersonBirthDate>2019-02-01</PersonBirthDate>",
        "",
    );
    let all = outcomes(&census(&[&unborn, &quiet]));
    let unborn = accepted(&all[0]);
    assert_eq!(kinds(unborn), vec![EventKind::SocialCareReferral]);
    let subject = &unborn[0].subject;
    assert_eq!(subject.identifiers.upn, None);
    assert_eq!(subject.identifiers.local_ids.len(), 1);
    assert_eq!(
        subject.demographics.date_of_birth, None,
        "an expected date is not a birth date"
    );
    assert_eq!(subject.demographics.sex, Some(Sex::NotKnown));
    assert!(accepted(&all[1]).is_empty());
}

#[test]
fn every_problem_of_a_child_is_named_by_its_path_and_the_next_child_is_read_as_usual() {
    let bad = child(
        r#"<UPN>A702202011009</UPN><PersonBirthDate>2015-02-30</PersonBirthDate>
           <Sex>X</Sex><GenderCurrent>1</GenderCurrent>"#,
        r#"<CINdetails><ReferralSource>ZZ9</ReferralSource><PrimaryNeedCode>N12</PrimaryNeedCode>
             <ReferralNFA>maybe</ReferralNFA><ReasonForClosure>RC1</ReasonForClosure>
             <Assessments><AssessmentActualStartDate>2023-05-10</AssessmentActualStartDate>
               <AssessmentAuthorisationDate>2023-05-01</AssessmentAuthorisationDate></Assessments>
             <Assessments><AssessmentAuthorisationDate>2023-05-01</AssessmentAuthorisationDate></Assessments>
           </CINdetails>
           <CINdetails><CINreferralDate>2023-04-01</CINreferralDate><CINreferralDate>2023-04-02</CINreferralDate>
             <CINPlanDates><CINPlanStartDate>2023-09-01</CINPlanStartDate><CINPlanEndDate>2023-08-01</CINPlanEndDate></CINPlanDates>
             <ChildProtectionPlans><CPPstartDate>2024-04-01</CPPstartDate><InitialCategoryOfAbuse>ABC</InitialCategoryOfAbuse></ChildProtectionPlans>
             <CINclosureDate>2023-03-01</CINclosureDate>
           </CINdetails>"#,
    );
    let good = child(
        "<LAchildID>G1</LAchildID><PersonBirthDate>2019-02-01</PersonBirthDate>",
        "<CINdetails><CINreferralDate>2023-02-01</CINreferralDate></CINdetails>",
    );
    let file = census(&[&good, &bad, &good]);
    let all = outcomes(&file);
    assert_eq!(all.len(), 3);
    assert_eq!(
        kinds(accepted(&all[0])),
        vec![EventKind::SocialCareReferral]
    );
    assert_eq!(
        kinds(accepted(&all[2])),
        vec![EventKind::SocialCareReferral]
    );

    let problems = rejected(&all[1]);
    let base = "Children.Child[1].";
    let expected: Vec<(&str, &str)> = vec![
        ("CINdetails[1].CINreferralDate", "appears more than once"),
        (
            "ChildIdentifiers.LAchildID",
            "is required: it is the identifier a CIN census links children on",
        ),
        (
            "ChildIdentifiers.UPN",
            "UPN check letter (character 1) does not match characters 2 to 13",
        ),
        (
            "ChildIdentifiers.PersonBirthDate",
            "must be a date as YYYY-MM-DD",
        ),
        (
            "ChildIdentifiers.Sex",
            "must be 1 or M (male), 2 or F (female), 0, 9 or U",
        ),
        ("CINdetails[0].CINreferralDate", "is required"),
        (
            "CINdetails[0].ReferralSource",
            "must be a CIN census referral source code: 1 or 2 digits and an optional letter, such as 1A or 10",
        ),
        ("CINdetails[0].PrimaryNeedCode", "must be N0 to N9"),
        ("CINdetails[0].ReferralNFA", "must be true, false, 1 or 0"),
        (
            "CINdetails[0].Assessments[0].AssessmentAuthorisationDate",
            "must not be before AssessmentActualStartDate",
        ),
        (
            "CINdetails[0].Assessments[1].AssessmentActualStartDate",
            "is required",
        ),
        (
            "CINdetails[0].ReasonForClosure",
            "is given without a CINclosureDate",
        ),
        (
            "CINdetails[1].CINPlanDates[0].CINPlanEndDate",
            "must not be before CINPlanStartDate",
        ),
        (
            "CINdetails[1].ChildProtectionPlans[0].CPPstartDate",
            "must not be after the census ReferenceDate",
        ),
        (
            "CINdetails[1].ChildProtectionPlans[0].InitialCategoryOfAbuse",
            "must be NEG, PHY, SAB, EMO or MUL",
        ),
        (
            "CINdetails[1].CINclosureDate",
            "must not be before CINreferralDate",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(f, r)| (format!("{base}{f}"), r.to_owned()))
        .collect();
    assert_eq!(problems, expected);

    // No reason repeats a value from the file.
    for (_, reason) in &problems {
        for value in [
            "A702202011009",
            "2015-02-30",
            "ZZ9",
            "N12",
            "maybe",
            "ABC",
            "2023-09-01",
        ] {
            assert!(!reason.contains(value), "`{value}` in {reason}");
        }
    }
}

#[test]
fn a_childs_raw_xml_is_kept_exactly_as_written() {
    let good = child(
        "<LAchildID>G1</LAchildID><PersonBirthDate>2019-02-01</PersonBirthDate>",
        "<!-- inside --><CINdetails><CINreferralDate>2023-02-01</CINreferralDate></CINdetails>",
    );
    let bad = child("<LAchildID>B1</LAchildID>", "");
    let all = outcomes(&census(&[&good, &bad]));
    assert_eq!(all[0].raw(), good.as_bytes());
    assert_eq!(all[1].raw(), bad.as_bytes());
    assert!(matches!(all[1], ChildOutcome::Rejected { index: 1, .. }));
    let debug = format!("{:?}", all[0]);
    assert!(!debug.contains("G1") && !debug.contains("2019"), "{debug}");
}
