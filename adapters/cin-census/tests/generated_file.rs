//! A realistic generated census of 1,000 children, 2% of them deliberately broken: exactly those
//! are rejected (each alone, with the right path and its raw XML), the rest are accepted with the
//! events their records call for, and no problem repeats a child's data.

mod support;

use support::*;
use throughline_adapter_cin_census::fixture::{FixtureSpec, SexElement};
use throughline_adapter_cin_census::{ChildOutcome, CinLimits, CinReader};
use throughline_contracts::demographics::Sex;
use throughline_contracts::kind::EventKind;

const CHILDREN: usize = 1000;

fn spec() -> FixtureSpec {
    FixtureSpec {
        corrupt_fraction: 0.02,
        ..FixtureSpec::new(CHILDREN)
    }
}

/// The `<Child>` elements of a file, by scanning its bytes.
fn child_fragments(bytes: &[u8]) -> Vec<&[u8]> {
    let text = std::str::from_utf8(bytes).unwrap();
    text.match_indices("<Child>")
        .map(|(start, _)| {
            let end = start + text[start..].find("</Child>").unwrap() + "</Child>".len();
            &bytes[start..end]
        })
        .collect()
}

#[test]
fn rejects_exactly_the_corrupted_children_and_accepts_the_rest_with_their_events() {
    let spec = spec();
    let bytes = spec.to_bytes();
    let fragments = child_fragments(&bytes);
    assert_eq!(fragments.len(), CHILDREN);

    let mut reader = CinReader::new(&bytes[..], CinLimits::default(), ctx()).unwrap();
    assert_eq!(reader.header().reference_date, spec.reference_date);
    let outcomes: Vec<ChildOutcome> = reader.by_ref().map(Result::unwrap).collect();
    assert_eq!(outcomes.len(), CHILDREN);

    let mut events = 0;
    // Two episodes, a CP plan, a CIN plan, a child without a UPN, a closed case, a CIN plan
    // that ended.
    let mut seen = [false; 6];
    for (i, outcome) in outcomes.iter().enumerate() {
        let child = spec.child(i);
        assert_eq!(outcome.index(), i);
        assert_eq!(outcome.raw(), fragments[i], "child {i}'s raw XML");
        match (child.corruption, outcome) {
            (Some(corruption), ChildOutcome::Rejected { problems, .. }) => {
                let field = format!("Children.Child[{i}].{}", corruption.field());
                assert!(
                    problems.iter().any(|p| p.field == field),
                    "child {i} names {field}: {problems:?}"
                );
                for p in problems {
                    for data in [child.la_child_id.as_deref(), child.upn.as_deref()]
                        .into_iter()
                        .flatten()
                    {
                        assert!(!p.reason.contains(data), "{p:?}");
                    }
                }
            }
            (None, ChildOutcome::Accepted { submissions, .. }) => {
                assert_eq!(Some(submissions.len()), child.events(), "child {i}");
                events += submissions.len();
                let k = kinds(submissions);
                assert_eq!(k.first(), Some(&EventKind::SocialCareReferral), "child {i}");
                let times: Vec<_> = submissions.iter().map(|s| s.occurred_at).collect();
                assert!(times.is_sorted(), "child {i}'s events are in date order");
                let subject = &submissions[0].subject;
                assert_eq!(
                    subject
                        .identifiers
                        .upn
                        .as_ref()
                        .map(|u| u.as_str().to_owned()),
                    child.upn
                );
                assert_eq!(
                    subject.identifiers.local_ids[0].value(),
                    child.la_child_id.as_deref().unwrap()
                );
                assert_eq!(subject.demographics.date_of_birth, Some(child.birth_date));
                let sex = if child.sex == 'M' {
                    Sex::Male
                } else {
                    Sex::Female
                };
                assert_eq!(subject.demographics.sex, Some(sex));
                seen[0] |= child.episodes.len() == 2;
                seen[1] |= k.contains(&EventKind::SocialCareChildProtectionPlanStarted);
                seen[2] |= k.contains(&EventKind::SocialCareChildInNeedPlan);
                seen[3] |= child.upn.is_none();
                seen[4] |= k.contains(&EventKind::SocialCareCaseClosed);
                seen[5] |= k.contains(&EventKind::SocialCareChildInNeedPlanEnded);
            }
            (expected, got) => panic!("child {i}: expected {expected:?}, got {got:?}"),
        }
    }
    assert_eq!(seen, [true; 6], "the fixture exercises every shape");

    let report = reader.into_report();
    assert_eq!(report.children, CHILDREN);
    assert_eq!(report.rejected.len(), 20);
    assert_eq!(report.accepted(), CHILDREN - 20);
    assert_eq!(report.events, events);
}

#[test]
fn a_census_written_with_gender_current_reads_the_same_children() {
    let with_sex = FixtureSpec::new(100);
    let with_gender = FixtureSpec {
        sex_element: SexElement::GenderCurrent,
        year: 2023,
        ..FixtureSpec::new(100)
    };
    let a = outcomes(&with_sex.to_bytes());
    let b = outcomes(&with_gender.to_bytes());
    assert_eq!(a.len(), 100);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(accepted(x), accepted(y));
    }
}
