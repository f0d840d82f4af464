//! The mapping table, pupil by pupil, on hand-written CTFs.

mod support;

use chrono::NaiveDate;
use support::*;
use throughline_adapter_ctf::PupilOutcome;
use throughline_contracts::demographics::Sex;
use throughline_contracts::event::SCHEMA_VERSION;
use throughline_contracts::kind::{Destination, EventBody, EventKind, SenNeedType};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn only(bytes: &[u8]) -> PupilOutcome {
    let mut all = outcomes(bytes);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

#[test]
fn a_plain_pupil_joins_and_leaves_with_identity_evidence() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<Address><PostCode>ls1 4ap</PostCode></Address>",
    )]));
    let subs = accepted(&outcome);
    assert_eq!(
        kinds(subs),
        vec![EventKind::SchoolJoined, EventKind::SchoolLeft]
    );
    for s in subs {
        assert_eq!(s.schema_version, SCHEMA_VERSION);
        assert_eq!(s.id, None);
        assert_eq!(s.source.agency.as_str(), "oakfield-primary");
        assert_eq!(s.source.system, "sims");
        assert_eq!(s.source.adapter, "ctf");
        assert_eq!(s.subject.identifiers.upn.as_ref().unwrap().as_str(), UPN_A);
        let d = &s.subject.demographics;
        assert_eq!(d.family_name.as_deref(), Some("LOVELACE"));
        assert_eq!(d.given_name.as_deref(), Some("AUGUSTA"));
        assert_eq!(d.date_of_birth, Some(date("2015-12-10")));
        assert_eq!(d.sex, Some(Sex::Female));
        assert_eq!(d.postcode.as_deref(), Some("LS1 4AP"));
        assert!(s.validate(chrono::Utc::now()).is_ok());
    }
    match &subs[0].body {
        EventBody::SchoolJoined(j) => {
            assert_eq!(j.school_urn, "999992");
            assert_eq!(j.joined_on, date("2025-07-18"));
        }
        other => panic!("{other:?}"),
    }
    match &subs[1].body {
        EventBody::SchoolLeft(l) => {
            assert_eq!(l.school_urn, "999991");
            assert_eq!(l.left_on, date("2025-07-18"));
            assert_eq!(
                l.destination,
                Destination::School {
                    school_urn: "999992".into()
                }
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        subs[1].occurred_at.to_rfc3339(),
        "2025-07-18T00:00:00+00:00"
    );
}

#[test]
fn sen_support_carries_the_open_primary_need() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<SENhistory>\
           <SEN><StartDate>2023-09-04</StartDate><SENprovision>K</SENprovision></SEN>\
           <SENneeds>\
             <SENneed><NeedStartDate>2022-01-01</NeedStartDate><NeedEndDate>2023-01-01</NeedEndDate><SENtypeRank>1</SENtypeRank><SENtype>MLD</SENtype></SENneed>\
             <SENneed><NeedStartDate>2023-09-04</NeedStartDate><SENtypeRank>1</SENtypeRank><SENtype>ASD</SENtype></SENneed>\
             <SENneed><SENtypeRank>2</SENtypeRank><SENtype>SLCN</SENtype></SENneed>\
           </SENneeds>\
         </SENhistory>",
    )]));
    let subs = accepted(&outcome);
    assert_eq!(
        kinds(subs),
        vec![
            EventKind::SenSupportStarted,
            EventKind::SchoolJoined,
            EventKind::SchoolLeft
        ]
    );
    match &subs[0].body {
        EventBody::SenSupportStarted(s) => {
            assert_eq!(s.started_on, date("2023-09-04"));
            assert_eq!(s.primary_need, Some(SenNeedType::Asd));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(subs[0].occurred_at.date_naive(), date("2023-09-04"));
}

#[test]
fn support_then_plan_maps_to_started_ended_and_a_final_plan() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<SENhistory>\
           <SEN><StartDate>2021-09-01</StartDate><EndDate>2024-03-01</EndDate><SENprovision>K</SENprovision></SEN>\
           <SEN><StartDate>2024-03-01</StartDate><SENprovision>E</SENprovision></SEN>\
           <SENneeds><SENneed><SENtypeRank>1</SENtypeRank><SENtype>SEMH</SENtype></SENneed></SENneeds>\
         </SENhistory>",
    )]));
    let subs = accepted(&outcome);
    assert_eq!(
        kinds(subs),
        vec![
            EventKind::SenSupportStarted,
            EventKind::SenSupportEnded,
            EventKind::EhcPlanFinal,
            EventKind::SchoolJoined,
            EventKind::SchoolLeft
        ]
    );
    match &subs[0].body {
        // The closed support record is history: the current need is not attached to it.
        EventBody::SenSupportStarted(s) => assert_eq!(s.primary_need, None),
        other => panic!("{other:?}"),
    }
    match &subs[1].body {
        EventBody::SenSupportEnded(e) => assert_eq!(e.on, date("2024-03-01")),
        other => panic!("{other:?}"),
    }
    match &subs[2].body {
        EventBody::EhcPlanFinal(p) => {
            assert_eq!(p.issued_on, date("2024-03-01"));
            assert_eq!(p.plan_id, "ctf:999991:2024-03-01");
            assert_eq!(p.named_setting_urn, None);
        }
        other => panic!("{other:?}"),
    }
}

/// The CTF restates the pupil's record with every move; only the move is the file's news. The
/// restated events carry `as_at` = the file's `DateTime` (2025-07-18T10:30:00) at 00:00 UTC.
#[test]
fn restated_history_is_marked_as_at_the_file_date_and_the_transfer_is_not() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<LookedAfter><InCare>true</InCare></LookedAfter>\
         <SENhistory>\
           <SEN><StartDate>2021-09-01</StartDate><EndDate>2024-03-01</EndDate><SENprovision>K</SENprovision></SEN>\
           <SEN><StartDate>2024-03-01</StartDate><EndDate>2025-07-01</EndDate><SENprovision>E</SENprovision></SEN>\
         </SENhistory>",
    )]));
    let subs = accepted(&outcome);
    let file_day = date("2025-07-18").and_hms_opt(0, 0, 0).unwrap().and_utc();
    let marks: Vec<(EventKind, Option<chrono::DateTime<chrono::Utc>>)> =
        subs.iter().map(|s| (s.body.kind(), s.as_at)).collect();
    assert_eq!(
        marks,
        vec![
            (EventKind::SenSupportStarted, Some(file_day)),
            (EventKind::SenSupportEnded, Some(file_day)),
            (EventKind::EhcPlanFinal, Some(file_day)),
            (EventKind::EhcPlanCeased, Some(file_day)),
            (EventKind::SocialCareLookedAfterStarted, Some(file_day)),
            (EventKind::SchoolJoined, None),
            (EventKind::SchoolLeft, None),
        ]
    );
    for s in subs {
        assert!(
            s.validate(chrono::Utc::now()).is_ok(),
            "{:?}",
            s.body.kind()
        );
    }
}

/// A date after the file's cannot be restated "as at" the file: it is left unmarked rather than
/// made an invalid submission (`as_at` before `occurred_at`).
#[test]
fn a_sen_start_after_the_file_date_is_not_marked_as_restated() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<SENhistory><SEN><StartDate>2025-09-03</StartDate><SENprovision>K</SENprovision></SEN></SENhistory>",
    )]));
    let subs = accepted(&outcome);
    assert_eq!(subs[0].body.kind(), EventKind::SenSupportStarted);
    assert_eq!(subs[0].as_at, None);
}

#[test]
fn an_ended_plan_also_ceases() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<SENhistory><SEN><StartDate>2020-01-06</StartDate><EndDate>2024-07-19</EndDate>\
         <SENprovision>E</SENprovision></SEN></SENhistory>",
    )]));
    let subs = accepted(&outcome);
    assert_eq!(
        kinds(subs)[..2],
        [EventKind::EhcPlanFinal, EventKind::EhcPlanCeased]
    );
    match &subs[1].body {
        EventBody::EhcPlanCeased(c) => {
            assert_eq!(c.plan_id, "ctf:999991:2020-01-06");
            assert_eq!(c.ceased_on, date("2024-07-19"));
        }
        other => panic!("{other:?}"),
    }
}

/// Before the 2014 reforms a pupil had School Action (`A`), School Action Plus (`P`) or a
/// statement (`S`). A pupil's SEN history keeps those records; they are history, not errors, and
/// only the current codes (`K`, `E`) make events.
#[test]
fn pre_2014_sen_codes_are_read_as_history_and_make_no_events() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<SENhistory>\
           <SEN><StartDate>2011-09-05</StartDate><EndDate>2012-09-03</EndDate><SENprovision>A</SENprovision></SEN>\
           <SEN><StartDate>2012-09-03</StartDate><EndDate>2013-11-01</EndDate><SENprovision>P</SENprovision></SEN>\
           <SEN><StartDate>2013-11-01</StartDate><EndDate>2016-04-01</EndDate><SENprovision>S</SENprovision></SEN>\
           <SEN><StartDate>2016-04-01</StartDate><SENprovision>E</SENprovision></SEN>\
         </SENhistory>",
    )]));
    let subs = accepted(&outcome);
    assert_eq!(
        kinds(subs),
        vec![
            EventKind::EhcPlanFinal,
            EventKind::SchoolJoined,
            EventKind::SchoolLeft
        ]
    );
    match &subs[0].body {
        EventBody::EhcPlanFinal(p) => assert_eq!(p.issued_on, date("2016-04-01")),
        other => panic!("{other:?}"),
    }

    // A history of old codes alone is read, and says nothing about SEN now.
    let only_history = only(&ctf(&[&pupil(
        UPN_A,
        "<SENhistory><SEN><StartDate>2012-01-09</StartDate><SENprovision>S</SENprovision></SEN></SENhistory>",
    )]));
    assert_eq!(
        kinds(accepted(&only_history)),
        vec![EventKind::SchoolJoined, EventKind::SchoolLeft]
    );
}

/// The DfE's temporary UPN example `G80120000101A` (a temporary UPN ends in a letter), replaced
/// by a permanent UPN: `FormerUPN` goes with every event as identity evidence.
#[test]
fn a_former_upn_is_carried_as_identity_evidence() {
    let outcome = only(&ctf(&[&pupil(
        UPN_B,
        "<BasicDetails><FormerUPN>G80120000101A</FormerUPN><NCyearActual>5</NCyearActual></BasicDetails>",
    )]));
    let subs = accepted(&outcome);
    assert_eq!(subs.len(), 2);
    for s in subs {
        let ids = &s.subject.identifiers;
        assert_eq!(ids.upn.as_ref().unwrap().as_str(), UPN_B);
        let former: Vec<&str> = ids.former_upns.iter().map(|u| u.as_str()).collect();
        assert_eq!(former, vec!["G80120000101A"]);
        assert!(ids.former_upns[0].is_temporary());
    }

    // The same as UPN says nothing more; a malformed one is a problem naming the element.
    let same = only(&ctf(&[&pupil(
        UPN_B,
        &format!("<BasicDetails><FormerUPN>{UPN_B}</FormerUPN></BasicDetails>"),
    )]));
    assert!(
        accepted(&same)[0]
            .subject
            .identifiers
            .former_upns
            .is_empty()
    );
    let bad = only(&ctf(&[&pupil(
        UPN_B,
        "<BasicDetails><FormerUPN>H80120000101A</FormerUPN></BasicDetails>",
    )]));
    assert_eq!(
        rejected(&bad),
        vec![(
            "CTFpupilData.Pupil[0].BasicDetails.FormerUPN".to_owned(),
            "UPN check letter (character 1) does not match characters 2 to 13".to_owned()
        )]
    );
}

#[test]
fn no_sen_maps_to_nothing() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<SENhistory><SEN><StartDate>2020-01-06</StartDate><SENprovision>N</SENprovision></SEN></SENhistory>",
    )]));
    assert_eq!(
        kinds(accepted(&outcome)),
        vec![EventKind::SchoolJoined, EventKind::SchoolLeft]
    );
}

#[test]
fn looked_after_maps_to_looked_after_started_on_the_file_date() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<LookedAfter><InCare>true</InCare><CareAuthority>801</CareAuthority></LookedAfter>",
    )]));
    let subs = accepted(&outcome);
    assert_eq!(
        kinds(subs),
        vec![
            EventKind::SocialCareLookedAfterStarted,
            EventKind::SchoolJoined,
            EventKind::SchoolLeft
        ]
    );
    match &subs[0].body {
        EventBody::SocialCareLookedAfterStarted(l) => {
            assert_eq!(l.on, date("2025-07-18"));
            assert_eq!(l.code, None);
        }
        other => panic!("{other:?}"),
    }

    let not_in_care = only(&ctf(&[&pupil(
        UPN_A,
        "<LookedAfter><InCare>false</InCare></LookedAfter>",
    )]));
    assert_eq!(accepted(&not_in_care).len(), 2);
}

#[test]
fn the_leaving_date_comes_from_the_source_schools_history() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<SchoolHistory>\
           <School><LEA>801</LEA><Estab>2000</Estab><LeavingDate>2019-07-19</LeavingDate></School>\
           <School><LEA>999</LEA><Estab>1999</Estab><EntryDate>2019-09-02</EntryDate><LeavingDate>2025-07-16</LeavingDate></School>\
         </SchoolHistory>",
    )]));
    let subs = accepted(&outcome);
    match &subs[1].body {
        EventBody::SchoolLeft(l) => assert_eq!(l.left_on, date("2025-07-16")),
        other => panic!("{other:?}"),
    }
    match &subs[0].body {
        EventBody::SchoolJoined(j) => assert_eq!(j.joined_on, date("2025-07-16")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_contacts_postcode_is_not_the_pupils() {
    let outcome = only(&ctf(&[&pupil(
        UPN_A,
        "<Contacts><Contact><Address><PostCode>M1 1AE</PostCode></Address></Contact></Contacts>",
    )]));
    assert_eq!(accepted(&outcome)[0].subject.demographics.postcode, None);
}

#[test]
fn names_are_decoded_from_entities_and_character_references() {
    let outcome = only(&ctf(&[
        "<Pupil><UPN>B801200005001</UPN><Surname>O&apos;BRIEN &amp; SONS</Surname>\
         <Forename>Z&#xC9;LIE</Forename><DOB>2015-12-10</DOB><Gender>F</Gender></Pupil>",
    ]));
    let d = &accepted(&outcome)[0].subject.demographics;
    assert_eq!(d.family_name.as_deref(), Some("O'BRIEN & SONS"));
    assert_eq!(d.given_name.as_deref(), Some("ZÉLIE"));
    assert_eq!(d.sex, Some(Sex::Female));
}

#[test]
fn every_problem_of_a_bad_pupil_is_reported_with_its_path() {
    let outcome = only(&ctf(&[
        "<Pupil><UPN>C801200005001</UPN><Surname>LOVELACE</Surname><Sex>Q</Sex>\
         <LookedAfter><InCare>perhaps</InCare></LookedAfter>\
         <SENhistory>\
           <SEN><StartDate>2020-01-06</StartDate><SENprovision>K</SENprovision></SEN>\
           <SEN><StartDate>06/01/2021</StartDate><SENprovision>X</SENprovision></SEN>\
           <SEN><StartDate>2022-13-01</StartDate><SENprovision>E</SENprovision></SEN>\
           <SENneeds><SENneed><SENtypeRank>first</SENtypeRank><SENtype>ADHD</SENtype></SENneed></SENneeds>\
         </SENhistory>\
         <Address><PostCode>NOT A POSTCODE</PostCode></Address></Pupil>",
    ]));
    let problems = rejected(&outcome);
    let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "CTFpupilData.Pupil[0].UPN",
            "CTFpupilData.Pupil[0].DOB",
            "CTFpupilData.Pupil[0].Sex",
            "CTFpupilData.Pupil[0].Address.PostCode",
            "CTFpupilData.Pupil[0].SENhistory.SENneeds.SENneed[0].SENtype",
            "CTFpupilData.Pupil[0].SENhistory.SENneeds.SENneed[0].SENtypeRank",
            "CTFpupilData.Pupil[0].SENhistory.SEN[1].SENprovision",
            "CTFpupilData.Pupil[0].SENhistory.SEN[2].StartDate",
            "CTFpupilData.Pupil[0].LookedAfter.InCare",
        ]
    );
    let reasons: Vec<&str> = problems.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        reasons[0],
        "UPN check letter (character 1) does not match characters 2 to 13"
    );
    assert_eq!(reasons[1], "is required");
    assert_eq!(
        reasons[6],
        "must be N, K or E (or, in history, the pre-2014 S, A or P)"
    );
    assert_eq!(reasons[7], "must be a date as YYYY-MM-DD");
    for (field, reason) in &problems {
        assert_free_of(field, CHILD_DATA);
        assert_free_of(
            reason,
            &[
                CHILD_DATA,
                &["NOT A POSTCODE", "perhaps", "ADHD", "06/01/2021"],
            ]
            .concat(),
        );
    }
}

#[test]
fn a_missing_upn_a_future_birth_and_disagreeing_sex_are_rejected() {
    let outcome = only(&ctf(&[
        "<Pupil><Surname>LOVELACE</Surname><DOB>2026-01-01</DOB><Gender>M</Gender><Sex>F</Sex></Pupil>",
    ]));
    assert_eq!(
        rejected(&outcome),
        vec![
            (
                "CTFpupilData.Pupil[0].UPN".to_owned(),
                "is required: it is the identifier a CTF links pupils on".to_owned()
            ),
            (
                "CTFpupilData.Pupil[0].DOB".to_owned(),
                "must not be after the file's DateTime".to_owned()
            ),
            (
                "CTFpupilData.Pupil[0].Sex".to_owned(),
                "disagrees with Gender".to_owned()
            ),
        ]
    );
}

#[test]
fn a_repeated_single_element_is_a_problem() {
    let outcome = only(&ctf(&[&pupil(UPN_A, "<UPN>H801200001001</UPN>")]));
    assert_eq!(
        rejected(&outcome),
        vec![(
            "CTFpupilData.Pupil[0].UPN".to_owned(),
            "appears more than once".to_owned()
        )]
    );
}

#[test]
fn an_empty_pupil_element_is_rejected_not_fatal() {
    let all = outcomes(&ctf(&["<Pupil/>", &pupil(UPN_B, "")]));
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].raw(), b"<Pupil/>");
    assert!(
        rejected(&all[0])
            .iter()
            .any(|(f, _)| f == "CTFpupilData.Pupil[0].UPN")
    );
    assert_eq!(accepted(&all[1]).len(), 2);
}

#[test]
fn unmapped_elements_and_other_pupil_data_children_are_passed_over() {
    let bytes = ctf(&[
        "<Comment>not a pupil</Comment>",
        &pupil(
            UPN_A,
            "<BasicDetails><NCyearActual>4</NCyearActual></BasicDetails><Attendance/>",
        ),
    ]);
    let all = outcomes(&bytes);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].index(), 0);
}

#[test]
fn a_namespaced_file_is_read_by_local_names() {
    let bytes = String::from_utf8(ctf(&[&pupil(UPN_A, "")]))
        .unwrap()
        .replace(
            "<CTfile>",
            r#"<CTfile xmlns="urn:example:ctf" xmlns:x="urn:example:x">"#,
        );
    assert_eq!(accepted(&outcomes(bytes.as_bytes())[0]).len(), 2);
}

#[test]
fn raw_is_exactly_the_pupil_element_whatever_surrounds_it() {
    let first = pupil(UPN_A, "");
    let second = format!("<Pupil id=\"p2\">{}", &pupil(UPN_B, "")["<Pupil>".len()..]);
    let bytes = ctf(&[
        &format!("<!-- first -->{first}<?pi between?>"),
        &format!("\n\t<!-- second -->  {second}<!-- after -->"),
    ]);
    let all = outcomes(&bytes);
    assert_eq!(all[0].raw(), first.as_bytes());
    assert_eq!(all[1].raw(), second.as_bytes());
}
