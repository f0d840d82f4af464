//! CIN census child → event submissions: the mapping table of `docs/adapters/cin-census.md`, in
//! code.
//!
//! Every problem with a child is collected before deciding, so a rejected child's quarantine
//! record lists all of them. Problems name the element (`Children.Child[12].CINdetails[1].
//! CINreferralDate`) and what was expected; they never repeat the value.
//!
//! Events come out in date order, and on the same date in the order of the social care process:
//! referral, assessment, child in need plan started, ended, child protection plan started,
//! ended, then case closed. The hub's involvement step ends the local authority's involvement at
//! `social_care.case_closed` and starts it again at the next event, so a child with two episodes
//! of need must hear them in the order they happened, whatever order the file lists them in.
//!
//! Dates: every event's `occurred_at` is its payload date at 00:00 in London. The census carries
//! dates only, and they are days in England. Every event's `as_at` is the census `ReferenceDate`
//! at 00:00 in London: a census restates the child's year, so the hub decides what is history
//! (see `docs/handoffs.md`, "History is not news").

use chrono::NaiveDate;
use throughline_calendar::london;
use throughline_contracts::adapter::NormaliseContext;
use throughline_contracts::demographics::{Demographics, Sex};
use throughline_contracts::event::{EventSubmission, FieldProblem, Subject, SubjectIdentifiers};
use throughline_contracts::identifiers::{LocalId, Upn};
use throughline_contracts::kind::{
    ChildProtectionPlanStarted, DatedReason, EventBody, SocialCareAssessment, SocialCareReferral,
};
use throughline_safe_xml::{RecordProblems, restating_submissions};

use crate::child::{ChildFields, DetailsRecord};
use crate::header::CinHeader;

/// The DfE categories of abuse a child protection plan is under.
const ABUSE_CATEGORIES: &[&str] = &["NEG", "PHY", "SAB", "EMO", "MUL"];

/// Maps child `index` (from 0) to its submissions, or every problem found.
pub(crate) fn map_child(
    index: usize,
    fields: ChildFields,
    header: &CinHeader,
    ctx: &NormaliseContext,
) -> Result<Vec<EventSubmission>, Vec<FieldProblem>> {
    let mut p = RecordProblems::new(format!("Children.Child[{index}]"));
    for path in &fields.duplicates {
        p.push(path, "appears more than once");
    }
    let census_date = header.reference_date;

    let local_id = match fields.la_child_id.as_deref() {
        None => {
            p.push(
                "ChildIdentifiers.LAchildID",
                "is required: it is the identifier a CIN census links children on",
            );
            None
        }
        Some(v) => LocalId::new(ctx.agency.clone(), &ctx.system, v)
            .map_err(|e| p.push("ChildIdentifiers.LAchildID", e.to_string()))
            .ok(),
    };
    let upn = fields.upn.as_deref().and_then(|s| {
        Upn::parse(s)
            .map_err(|e| p.push("ChildIdentifiers.UPN", e.to_string()))
            .ok()
    });
    let date_of_birth = fields.birth_date.as_deref().and_then(|s| {
        p.date("ChildIdentifiers.PersonBirthDate", s).filter(|dob| {
            let ok = *dob <= census_date;
            if !ok {
                p.push(
                    "ChildIdentifiers.PersonBirthDate",
                    "must not be after the census ReferenceDate",
                );
            }
            ok
        })
    });
    // An unborn child has an expected date instead; it is checked, and is not a date of birth.
    if let Some(s) = fields.expected_birth_date.as_deref() {
        p.date("ChildIdentifiers.ExpectedPersonBirthDate", s);
    }
    if fields.birth_date.is_none() && fields.expected_birth_date.is_none() {
        p.push(
            "ChildIdentifiers.PersonBirthDate",
            "is required, or ExpectedPersonBirthDate for an unborn child",
        );
    }
    let sex = sex(
        &mut p,
        fields.sex.as_deref(),
        fields.gender_current.as_deref(),
    );

    let mut bodies = Vec::new();
    for details in &fields.details {
        details_bodies(&mut p, details, census_date, &mut bodies);
    }

    p.finish()?;
    // Date order, then process order on the same date; the sort is stable, so file order
    // decides the rest.
    bodies.sort_by_key(|body| (body_date(body), process_rank(body)));
    let subject = Subject {
        identifiers: SubjectIdentifiers {
            upn,
            local_ids: local_id.into_iter().collect(),
            ..SubjectIdentifiers::default()
        },
        demographics: Demographics {
            date_of_birth,
            sex,
            ..Demographics::default()
        },
    };
    // The census restates the child's year as at its reference date: every event carries it as
    // `as_at`, so the hub takes what happened long before the census as history, not news
    // (its `history.window`), and a fact it already holds as known.
    let as_at = london::start_of_day(census_date);
    Ok(restating_submissions(ctx, subject, bodies, |body| {
        (london::start_of_day(body_date(body)), Some(as_at))
    }))
}

/// The events of one `CINdetails`: one episode of need.
fn details_bodies(
    p: &mut RecordProblems,
    d: &DetailsRecord,
    census_date: NaiveDate,
    bodies: &mut Vec<EventBody>,
) {
    let base = format!("CINdetails[{}]", d.index);
    let at = |name: &str| format!("{base}.{name}");
    // Every date of an event must fall within the census: on or before its ReferenceDate.
    let event_date = |p: &mut RecordProblems, path: &str, value: &str| {
        p.date(path, value).filter(|on| {
            let ok = *on <= census_date;
            if !ok {
                p.push(path, "must not be after the census ReferenceDate");
            }
            ok
        })
    };

    let referral_on = match d.referral_date.as_deref() {
        None => {
            p.push(&at("CINreferralDate"), "is required");
            None
        }
        Some(s) => event_date(p, &at("CINreferralDate"), s),
    };
    let source_code = d.referral_source.as_deref().and_then(|code| {
        let ok = is_referral_source(code);
        if !ok {
            p.push(
                &at("ReferralSource"),
                "must be a CIN census referral source code: 1 or 2 digits and an optional letter, such as 1A or 10",
            );
        }
        ok.then(|| code.to_ascii_uppercase())
    });
    let primary_need_code = d.primary_need.as_deref().and_then(|code| {
        let ok = is_code(code, "N", 0..=9);
        if !ok {
            p.push(&at("PrimaryNeedCode"), "must be N0 to N9");
        }
        ok.then(|| code.to_ascii_uppercase())
    });
    match d.referral_nfa.as_deref() {
        None | Some("true" | "false" | "1" | "0") => {}
        Some(_) => p.push(&at("ReferralNFA"), "must be true, false, 1 or 0"),
    }
    if let Some(referral_on) = referral_on {
        bodies.push(EventBody::SocialCareReferral(SocialCareReferral {
            referral_on,
            source_code,
            primary_need_code,
        }));
    }

    for a in &d.assessments {
        let at = |name: &str| format!("{base}.Assessments[{}].{name}", a.index);
        let started_on = match a.start.as_deref() {
            None => {
                p.push(&at("AssessmentActualStartDate"), "is required");
                None
            }
            Some(s) => event_date(p, &at("AssessmentActualStartDate"), s),
        };
        let authorised_on = a
            .authorised
            .as_deref()
            .and_then(|s| event_date(p, &at("AssessmentAuthorisationDate"), s));
        if let (Some(start), Some(done)) = (started_on, authorised_on)
            && done < start
        {
            p.push(
                &at("AssessmentAuthorisationDate"),
                "must not be before AssessmentActualStartDate",
            );
            continue;
        }
        if let Some(started_on) = started_on {
            bodies.push(EventBody::SocialCareAssessment(SocialCareAssessment {
                started_on,
                authorised_on,
            }));
        }
    }

    for plan in &d.plans {
        let at = |name: &str| format!("{base}.CINPlanDates[{}].{name}", plan.index);
        let start = match plan.start.as_deref() {
            None => {
                p.push(&at("CINPlanStartDate"), "is required");
                None
            }
            Some(s) => event_date(p, &at("CINPlanStartDate"), s),
        };
        let end = plan
            .end
            .as_deref()
            .and_then(|s| event_date(p, &at("CINPlanEndDate"), s));
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            p.push(&at("CINPlanEndDate"), "must not be before CINPlanStartDate");
            continue;
        }
        if let Some(on) = start {
            bodies.push(EventBody::SocialCareChildInNeedPlan(DatedReason {
                on,
                reason: None,
            }));
        }
        if let Some(on) = end {
            bodies.push(EventBody::SocialCareChildInNeedPlanEnded(DatedReason {
                on,
                reason: None,
            }));
        }
    }

    for plan in &d.protection_plans {
        let at = |name: &str| format!("{base}.ChildProtectionPlans[{}].{name}", plan.index);
        let start = match plan.start.as_deref() {
            None => {
                p.push(&at("CPPstartDate"), "is required");
                None
            }
            Some(s) => event_date(p, &at("CPPstartDate"), s),
        };
        let end = plan
            .end
            .as_deref()
            .and_then(|s| event_date(p, &at("CPPendDate"), s));
        let mut category = |name: &str, value: Option<&str>| {
            value.and_then(|code| {
                let code = code.to_ascii_uppercase();
                let ok = ABUSE_CATEGORIES.contains(&code.as_str());
                if !ok {
                    p.push(&at(name), "must be NEG, PHY, SAB, EMO or MUL");
                }
                ok.then_some(code)
            })
        };
        let initial = category("InitialCategoryOfAbuse", plan.initial_category.as_deref());
        // Checked for the record's sake; the contracts carry the category the plan began under.
        category("LatestCategoryOfAbuse", plan.latest_category.as_deref());
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            p.push(&at("CPPendDate"), "must not be before CPPstartDate");
            continue;
        }
        if let Some(on) = start {
            bodies.push(EventBody::SocialCareChildProtectionPlanStarted(
                ChildProtectionPlanStarted {
                    on,
                    category: initial,
                },
            ));
        }
        if let Some(on) = end {
            bodies.push(EventBody::SocialCareChildProtectionPlanEnded(DatedReason {
                on,
                reason: None,
            }));
        }
    }

    let closed_on = d
        .closure_date
        .as_deref()
        .and_then(|s| event_date(p, &at("CINclosureDate"), s));
    let reason = d.closure_reason.as_deref().and_then(|code| {
        let ok = is_code(code, "RC", 1..=9);
        if !ok {
            p.push(&at("ReasonForClosure"), "must be RC1 to RC9");
        }
        ok.then(|| code.to_ascii_uppercase())
    });
    if d.closure_reason.is_some() && d.closure_date.is_none() {
        p.push(&at("ReasonForClosure"), "is given without a CINclosureDate");
    }
    if let (Some(closed), Some(referred)) = (closed_on, referral_on)
        && closed < referred
    {
        p.push(&at("CINclosureDate"), "must not be before CINreferralDate");
        return;
    }
    if let Some(on) = closed_on {
        bodies.push(EventBody::SocialCareCaseClosed(DatedReason { on, reason }));
    }
}

/// `GenderCurrent` (to 2023–24) or `Sex` (from 2024–25): `1`/`M` male, `2`/`F` female, `0`/`U`
/// not known, `9` not specified (recorded as not known).
fn sex(p: &mut RecordProblems, sex: Option<&str>, gender: Option<&str>) -> Option<Sex> {
    let read = |p: &mut RecordProblems, path: &str, code: &str| {
        Some(match code.to_ascii_uppercase().as_str() {
            "1" | "M" => Sex::Male,
            "2" | "F" => Sex::Female,
            "0" | "9" | "U" => Sex::NotKnown,
            _ => {
                p.push(path, "must be 1 or M (male), 2 or F (female), 0, 9 or U");
                return None;
            }
        })
    };
    let from_sex = sex.and_then(|s| read(p, "ChildIdentifiers.Sex", s));
    let from_gender = gender.and_then(|g| read(p, "ChildIdentifiers.GenderCurrent", g));
    match (from_sex, from_gender) {
        (Some(a), Some(b)) if a != b => {
            p.push("ChildIdentifiers.Sex", "disagrees with GenderCurrent");
            None
        }
        (a, b) => a.or(b),
    }
}

/// A referral source code as the census lists them (`1A`…`1D`, `2A`, `3A`…`3F`, `4`, `5A`…,
/// `10`): one or two digits, then at most one letter. Checked by shape, so a code the DfE adds
/// next year is not refused.
fn is_referral_source(code: &str) -> bool {
    let digits = code.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &code.as_bytes()[digits..];
    (1..=2).contains(&digits)
        && (rest.is_empty() || (rest.len() == 1 && rest[0].is_ascii_alphabetic()))
}

/// `prefix` then one digit in `range`, case-insensitive (`N4`, `RC1`).
fn is_code(code: &str, prefix: &str, range: std::ops::RangeInclusive<u8>) -> bool {
    code.is_ascii()
        && code.len() == prefix.len() + 1
        && code[..prefix.len()].eq_ignore_ascii_case(prefix)
        && code.as_bytes()[prefix.len()].is_ascii_digit()
        && range.contains(&(code.as_bytes()[prefix.len()] - b'0'))
}

/// The date each body is about, for `occurred_at` and ordering.
fn body_date(body: &EventBody) -> NaiveDate {
    match body {
        EventBody::SocialCareReferral(b) => b.referral_on,
        EventBody::SocialCareAssessment(b) => b.started_on,
        EventBody::SocialCareChildInNeedPlan(b) => b.on,
        EventBody::SocialCareChildInNeedPlanEnded(b) => b.on,
        EventBody::SocialCareChildProtectionPlanStarted(b) => b.on,
        EventBody::SocialCareChildProtectionPlanEnded(b) => b.on,
        EventBody::SocialCareCaseClosed(b) => b.on,
        other => unreachable!("the mapping makes no {} events", other.kind()),
    }
}

/// Where each kind comes in the social care process, for events on the same date.
fn process_rank(body: &EventBody) -> u8 {
    match body {
        EventBody::SocialCareReferral(_) => 0,
        EventBody::SocialCareAssessment(_) => 1,
        EventBody::SocialCareChildInNeedPlan(_) => 2,
        EventBody::SocialCareChildInNeedPlanEnded(_) => 3,
        EventBody::SocialCareChildProtectionPlanStarted(_) => 4,
        EventBody::SocialCareChildProtectionPlanEnded(_) => 5,
        _ => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referral_sources_are_checked_by_shape() {
        for ok in ["1A", "1d", "2B", "3F", "4", "5C", "10", "9"] {
            assert!(is_referral_source(ok), "{ok}");
        }
        for bad in ["", "A1", "1AB", "100", "1-", "X"] {
            assert!(!is_referral_source(bad), "{bad}");
        }
    }

    #[test]
    fn need_and_closure_codes_take_one_digit_in_range() {
        assert!(is_code("N4", "N", 0..=9));
        assert!(is_code("n0", "N", 0..=9));
        assert!(is_code("RC9", "RC", 1..=9));
        for bad in ["N10", "N", "4", "RC0", "RCX", "RC1 ", "M4", "Ré", "aé"] {
            assert!(
                !is_code(bad, if bad.starts_with("RC") { "RC" } else { "N" }, 1..=9),
                "{bad}"
            );
        }
    }
}
