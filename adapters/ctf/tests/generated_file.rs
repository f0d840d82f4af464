//! A realistic generated CTF 25 of 1,200 pupils, 3% of them deliberately broken: exactly those are
//! rejected (each alone, with the right path and its raw XML), the rest are accepted with the
//! events their records call for, and no message anywhere repeats a pupil's data.

mod support;

use chrono::NaiveDate;
use support::*;
use throughline_adapter_ctf::fixture::{FixturePupil, FixtureSpec};
use throughline_adapter_ctf::{CtfLimits, CtfReader, PupilOutcome};
use throughline_contracts::kind::{EventBody, EventKind, SenNeedType};

const PUPILS: usize = 1200;

fn spec() -> FixtureSpec {
    FixtureSpec {
        corrupt_fraction: 0.03,
        ..FixtureSpec::new(PUPILS)
    }
}

/// The events the mapping table calls for, from what the generator wrote.
fn expected_kinds(p: &FixturePupil) -> Vec<EventKind> {
    let mut kinds = Vec::new();
    for sen in &p.sen {
        match (sen.provision, sen.end) {
            ('K', end) => {
                kinds.push(EventKind::SenSupportStarted);
                if end.is_some() {
                    kinds.push(EventKind::SenSupportEnded);
                }
            }
            ('E', end) => {
                kinds.push(EventKind::EhcPlanFinal);
                if end.is_some() {
                    kinds.push(EventKind::EhcPlanCeased);
                }
            }
            _ => {}
        }
    }
    if p.looked_after {
        kinds.push(EventKind::SocialCareLookedAfterStarted);
    }
    kinds.push(EventKind::SchoolJoined);
    kinds.push(EventKind::SchoolLeft);
    kinds
}

fn need(code: &str) -> SenNeedType {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).unwrap()
}

/// The `<Pupil>` elements of a file, by scanning its bytes.
fn pupil_fragments(bytes: &[u8]) -> Vec<&[u8]> {
    let text = std::str::from_utf8(bytes).unwrap();
    text.match_indices("<Pupil>")
        .map(|(start, _)| {
            let end = start + text[start..].find("</Pupil>").unwrap() + "</Pupil>".len();
            &bytes[start..end]
        })
        .collect()
}

#[test]
fn rejects_exactly_the_corrupted_pupils_and_accepts_the_rest_with_their_events() {
    let spec = spec();
    let bytes = spec.to_bytes();
    let fragments = pupil_fragments(&bytes);
    assert_eq!(fragments.len(), PUPILS);

    let mut reader = CtfReader::new(&bytes[..], CtfLimits::default(), ctx()).unwrap();
    assert_eq!(reader.header().version.to_string(), "24.0");
    let outcomes: Vec<PupilOutcome> = reader.by_ref().map(Result::unwrap).collect();
    assert_eq!(outcomes.len(), PUPILS);

    let mut rejected_count = 0;
    let mut events = 0;
    let mut seen_sen = [false; 4]; // K, E, K+E history, looked after
    for (i, outcome) in outcomes.iter().enumerate() {
        let expected = spec.pupil(i);
        assert_eq!(outcome.index(), i);
        // The raw XML is exactly the pupil's element in the file.
        assert_eq!(outcome.raw(), fragments[i], "raw bytes of pupil {i}");
        match expected.corruption {
            Some(corruption) => {
                rejected_count += 1;
                assert_eq!(
                    rejected(outcome)
                        .into_iter()
                        .map(|(field, _)| field)
                        .collect::<Vec<_>>(),
                    vec![format!("CTFpupilData.Pupil[{i}].{}", corruption.field())],
                    "pupil {i}, corrupted by {corruption:?}"
                );
            }
            None => {
                let subs = accepted(outcome);
                events += subs.len();
                assert_eq!(kinds(subs), expected_kinds(&expected), "pupil {i}");
                for s in subs {
                    assert_eq!(
                        s.subject.identifiers.upn.as_ref().unwrap().as_str(),
                        expected.upn
                    );
                    let former: Vec<&str> = s
                        .subject
                        .identifiers
                        .former_upns
                        .iter()
                        .map(|u| u.as_str())
                        .collect();
                    assert_eq!(
                        former,
                        expected
                            .former_upn
                            .as_deref()
                            .into_iter()
                            .collect::<Vec<_>>()
                    );
                    let d = &s.subject.demographics;
                    assert_eq!(d.family_name.as_deref(), Some(expected.surname));
                    assert_eq!(d.given_name.as_deref(), Some(expected.forename));
                    assert_eq!(d.date_of_birth.map(|d| d.to_string()), expected.dob.clone());
                    assert_eq!(d.postcode.as_deref(), Some(expected.postcode.as_str()));
                    assert_eq!(s.source.agency.as_str(), "oakfield-primary");
                }
                let open_rank1 = expected
                    .needs
                    .iter()
                    .find(|n| n.rank == 1)
                    .map(|n| need(n.code));
                for s in subs {
                    match &s.body {
                        EventBody::SenSupportStarted(started) => {
                            let open = expected
                                .sen
                                .iter()
                                .find(|sen| sen.start == started.started_on)
                                .unwrap()
                                .end
                                .is_none();
                            let want = if open { open_rank1 } else { None };
                            assert_eq!(started.primary_need, want, "pupil {i}");
                            seen_sen[0] = true;
                        }
                        EventBody::EhcPlanFinal(plan) => {
                            assert_eq!(plan.plan_id, format!("ctf:999991:{}", plan.issued_on));
                            seen_sen[1] = true;
                            if expected.sen.len() == 2 {
                                seen_sen[2] = true;
                            }
                        }
                        EventBody::SocialCareLookedAfterStarted(_) => seen_sen[3] = true,
                        EventBody::SchoolLeft(left) => {
                            let want = expected
                                .leaving_date
                                .unwrap_or(NaiveDate::from_ymd_opt(2025, 7, 18).unwrap());
                            assert_eq!(left.left_on, want, "pupil {i}");
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    assert_eq!(rejected_count, 36);
    assert_eq!(seen_sen, [true; 4], "the fixture exercises every mapping");

    let report = reader.into_report();
    assert_eq!(report.pupils, PUPILS);
    assert_eq!(report.accepted(), PUPILS - 36);
    assert_eq!(report.events, events);
    assert_eq!(report.rejected.len(), 36);
    assert!(
        report
            .rejected
            .iter()
            .all(|(i, _)| spec.corruption(*i).is_some())
    );
}

#[test]
fn a_rejected_pupils_raw_xml_replays_on_its_own_once_fixed() {
    let spec = spec();
    let bytes = spec.to_bytes();
    let outcome = open(&bytes)
        .unwrap()
        .map(Result::unwrap)
        .find(|o| matches!(o, PupilOutcome::Rejected { .. }))
        .unwrap();
    let index = outcome.index();
    let pupil = spec.pupil(index);
    // Quarantine keeps `raw`; an operator fixes it and replays it inside the file's header.
    let mut fixed = String::from_utf8(outcome.raw().to_vec()).unwrap();
    let good = FixtureSpec::new(PUPILS).pupil(index);
    match pupil.corruption.unwrap().field() {
        "UPN" => fixed = fixed.replace(&pupil.upn, &good.upn),
        "DOB" => {
            let dob = good.dob.unwrap();
            fixed = match &pupil.dob {
                Some(bad) => fixed.replace(bad, &dob),
                None => fixed.replace("<Sex>", &format!("<DOB>{dob}</DOB>\n      <Sex>")),
            };
        }
        _ => fixed = fixed.replace("<SENprovision>S<", "<SENprovision>K<"),
    }
    let replay = ctf(&[&fixed]);
    let replayed = outcomes(&replay);
    assert_eq!(replayed.len(), 1);
    assert!(!accepted(&replayed[0]).is_empty());
}

#[test]
fn no_pupil_value_appears_in_any_message_or_debug_output() {
    let spec = FixtureSpec {
        corrupt_fraction: 0.25,
        ..FixtureSpec::new(200)
    };
    let bytes = spec.to_bytes();
    let mut reader = open(&bytes).unwrap();
    let mut output = format!("{:?}\n", reader.header());
    for outcome in reader.by_ref() {
        let outcome = outcome.unwrap();
        output.push_str(&format!("{outcome:?}\n"));
        match &outcome {
            PupilOutcome::Rejected { problems, .. } => {
                for p in problems {
                    output.push_str(&format!("{} {} {p:?}\n", p.field, p.reason));
                }
            }
            PupilOutcome::Accepted { submissions, .. } => {
                for s in submissions {
                    output.push_str(&format!("{:?} {:?}\n", s.subject, s.source));
                }
            }
        }
    }
    output.push_str(&format!("{:?}", reader.report()));

    // File-level errors raised in the middle of pupil data, with pupils' values all around.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let cut = text.find("</Surname>").unwrap();
    let broken: [(Vec<u8>, CtfLimits); 4] = [
        (bytes[..cut].to_vec(), CtfLimits::default()),
        (
            text.replacen("<Surname>", "<Surname>&ent;", 3).into_bytes(),
            CtfLimits::default(),
        ),
        (
            bytes.clone(),
            CtfLimits {
                max_text_bytes: 8,
                max_pupil_bytes: 8,
                ..CtfLimits::default()
            },
        ),
        (
            bytes.clone(),
            CtfLimits {
                max_pupils: 3,
                ..CtfLimits::default()
            },
        ),
    ];
    for (input, limits) in &broken {
        output.push_str(&messages(&file_error(input, *limits)));
    }

    let mut values: Vec<String> = Vec::new();
    for i in 0..200 {
        let p = spec.pupil(i);
        values.push(p.upn.clone());
        values.push(p.upn[1..].to_owned());
        values.push(p.surname.to_owned());
        values.push(p.forename.to_owned());
        values.extend(p.dob.clone());
        values.push(p.postcode.clone());
        values.push(p.postcode.replace(' ', ""));
        values.push(p.contact_postcode.clone());
    }
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    assert_free_of(&output, &values);
}
