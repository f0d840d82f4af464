//! CTF pupil → event submissions: the mapping table of `docs/adapters/ctf.md`, in code.
//!
//! Every problem with a pupil is collected before deciding, so a rejected pupil's quarantine
//! record lists all of them. Problems name the element (`CTFpupilData.Pupil[17].DOB`) and what
//! was expected; they never repeat the value.
//!
//! Events come out in a fixed order: SEN, looked-after, `school.joined`, then `school.left`
//! last. The hub's involvement step treats any event from an agency as that agency being involved
//! and `school.left` as its involvement ending, so the leaving school must speak last to end up
//! not involved.
//!
//! Dates: every event's `occurred_at` is its payload date at 00:00 UTC, as for the other
//! file-based formats. The CTF's own `DateTime` is local time without an offset, and only its
//! date is used. Every event that restates the pupil's record (SEN, EHC plan, looked-after) is
//! marked `as_at` the file's date at 00:00 UTC; the transfer (`school.left`, `school.joined`) is
//! the file's news and is not.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use throughline_contracts::adapter::NormaliseContext;
use throughline_contracts::demographics::{Demographics, Sex};
use throughline_contracts::event::{EventSubmission, FieldProblem, Subject, SubjectIdentifiers};
use throughline_contracts::identifiers::Upn;
use throughline_contracts::kind::{
    DatedReason, Destination, EhcPlanCeased, EhcPlanIssued, EventBody, LookedAfter, SchoolJoined,
    SchoolLeft, SenNeedType, SenSupportStarted,
};
use throughline_safe_xml::{RecordProblems, restating_submissions};

use crate::header::{CtfDestination, CtfHeader};
use crate::pupil::{NeedRecord, PupilFields};

/// Maps pupil `index` (from 0) to its submissions, or every problem found.
pub(crate) fn map_pupil(
    index: usize,
    fields: PupilFields,
    header: &CtfHeader,
    ctx: &NormaliseContext,
) -> Result<Vec<EventSubmission>, Vec<FieldProblem>> {
    let mut p = RecordProblems::new(format!("CTFpupilData.Pupil[{index}]"));
    for path in &fields.duplicates {
        p.push(path, "appears more than once");
    }
    let file_date = header.created.date();

    let upn = match fields.upn.as_deref() {
        None => {
            p.push(
                "UPN",
                "is required: it is the identifier a CTF links pupils on",
            );
            None
        }
        Some(s) => Upn::parse(s).map_err(|e| p.push("UPN", e.to_string())).ok(),
    };
    // A temporary UPN replaced by the permanent one, or a UPN the DfE corrected: identity
    // evidence linking the pupil's old records to this one. The same as `UPN` says nothing more.
    let former_upn = fields
        .former_upn
        .as_deref()
        .and_then(|s| {
            Upn::parse(s)
                .map_err(|e| p.push("BasicDetails.FormerUPN", e.to_string()))
                .ok()
        })
        .filter(|former| upn.as_ref() != Some(former));
    let date_of_birth = match fields.dob.as_deref() {
        None => {
            p.push("DOB", "is required");
            None
        }
        Some(s) => p.date("DOB", s).filter(|dob| {
            let ok = *dob <= file_date;
            if !ok {
                p.push("DOB", "must not be after the file's DateTime");
            }
            ok
        }),
    };
    let sex = sex(&mut p, fields.gender.as_deref(), fields.sex.as_deref());
    let postcode = fields.postcode.as_ref().and_then(|(value, name)| {
        let normalised = postcode(value);
        if normalised.is_none() {
            p.push(
                &format!("Address.{name}"),
                "must be a UK postcode: an outward code, a space, then a digit and two letters",
            );
        }
        normalised
    });
    let demographics = Demographics {
        given_name: fields.forename.clone(),
        family_name: fields.surname.clone(),
        date_of_birth,
        sex,
        postcode,
    };

    let primary_need = primary_need(&mut p, &fields.needs);
    let mut bodies = sen_bodies(&mut p, &fields, header, primary_need);

    match fields.in_care.as_deref() {
        None | Some("false" | "0") => {}
        Some("true" | "1") => bodies.push(EventBody::SocialCareLookedAfterStarted(LookedAfter {
            // The CTF says the child is looked after, not since when: the file's date is the
            // one date it is known to be true.
            on: file_date,
            code: None,
        })),
        Some(_) => p.push("LookedAfter.InCare", "must be true or false"),
    }

    if header.is_transfer() {
        let left_on = left_on(&mut p, &fields, header).unwrap_or(file_date);
        let destination = match &header.destination {
            CtfDestination::School { urn: Some(urn), .. } => {
                bodies.push(EventBody::SchoolJoined(SchoolJoined {
                    school_urn: urn.clone(),
                    joined_on: left_on,
                }));
                Destination::School {
                    school_urn: urn.clone(),
                }
            }
            CtfDestination::School {
                lea,
                estab,
                urn: None,
            } => Destination::Other {
                description: format!("school with DfE number {lea}/{estab}; the CTF gives no URN"),
            },
            CtfDestination::Unknown(_) => Destination::Unknown,
            CtfDestination::OutsideMaintainedSector => Destination::OutsideMaintainedSector,
            CtfDestination::SameAsSource => unreachable!("not a transfer"),
        };
        bodies.push(EventBody::SchoolLeft(SchoolLeft {
            school_urn: header.source.urn.clone(),
            left_on,
            destination,
        }));
    }

    p.finish()?;
    let subject = Subject {
        identifiers: SubjectIdentifiers {
            upn,
            former_upns: former_upn.into_iter().collect(),
            ..SubjectIdentifiers::default()
        },
        demographics,
    };
    let as_at = file_date.and_time(NaiveTime::MIN).and_utc();
    Ok(restating_submissions(ctx, subject, bodies, |body| {
        let occurred_at = body_date(body).and_time(NaiveTime::MIN).and_utc();
        (occurred_at, restated(body, occurred_at, as_at))
    }))
}

/// The `as_at` of one event: the file's date for what the CTF restates about the pupil (SEN
/// history, EHC plan, looked-after), `None` for the transfer the file exists to announce.
///
/// Why: a CTF carries the pupil's whole record every time they move (Education (Pupil
/// Information) (England) Regulations 2005, Schedule 2, "common transfer information"), so a
/// plan issued years ago arrives again with each move; the hub treats such a restated event as
/// history rather than news. The move itself (`school.left`, `school.joined` from the header's
/// destination) is news. A restated date later than the file's (a school recording a planned
/// start) cannot be "as at" the file's date, so it is left unmarked, as news, rather than
/// refused.
fn restated(
    body: &EventBody,
    occurred_at: DateTime<Utc>,
    as_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match body {
        EventBody::SchoolLeft(_) | EventBody::SchoolJoined(_) => None,
        _ => (occurred_at <= as_at).then_some(as_at),
    }
}

/// Pre-2014 SEN provision codes, read as history (see [`sen_bodies`]).
const HISTORIC_SCHOOL_ACTION: &str = "A";
const HISTORIC_SCHOOL_ACTION_PLUS: &str = "P";
const HISTORIC_STATEMENT: &str = "S";

/// The SEN events of each `SENhistory/SEN` record, in file order.
///
/// - `N`, and the pre-2014 `A`, `P`, `S`: no events.
/// - `K`: `sen_support.started` on `StartDate` (with the current primary need when the record
///   is still open), and `sen_support.ended` on `EndDate` if it has one.
/// - `E`: `ehc_plan.final` issued on `StartDate`, and `ehc_plan.ceased` on `EndDate` if it has
///   one. The CTF has no plan reference, so `plan_id` is `ctf:<source URN>:<StartDate>`.
fn sen_bodies(
    p: &mut RecordProblems,
    fields: &PupilFields,
    header: &CtfHeader,
    primary_need: Option<SenNeedType>,
) -> Vec<EventBody> {
    let mut bodies = Vec::new();
    for sen in &fields.sen {
        let at = |name: &str| format!("SENhistory.SEN[{}].{name}", sen.index);
        let provision = match sen.provision.as_deref() {
            None => {
                p.push(&at("SENprovision"), "is required");
                continue;
            }
            Some("N") => continue,
            Some(code @ ("K" | "E")) => code,
            // Codes from before the 2014 reforms (Children and Families Act 2014; SEND code of
            // practice 2014): `A` School Action and `P` School Action Plus became SEN support
            // (`K`), and statements (`S`) were transferred to EHC plans by 1 April 2018. A
            // pupil's history keeps them, so they are read as history: no error, and no event,
            // since only the current codes describe what the pupil has now.
            Some(HISTORIC_SCHOOL_ACTION | HISTORIC_SCHOOL_ACTION_PLUS | HISTORIC_STATEMENT) => {
                continue;
            }
            Some(_) => {
                p.push(
                    &at("SENprovision"),
                    "must be N, K or E (or, in history, the pre-2014 S, A or P)",
                );
                continue;
            }
        };
        let start = match sen.start.as_deref() {
            None => {
                p.push(&at("StartDate"), "is required for provision K or E");
                None
            }
            Some(s) => p.date(&at("StartDate"), s),
        };
        let end = sen.end.as_deref().and_then(|s| p.date(&at("EndDate"), s));
        let (Some(start), end) = (start, end) else {
            continue;
        };
        if end.is_some_and(|end| end < start) {
            p.push(&at("EndDate"), "must not be before StartDate");
            continue;
        }
        if provision == "K" {
            bodies.push(EventBody::SenSupportStarted(SenSupportStarted {
                started_on: start,
                primary_need: if end.is_none() { primary_need } else { None },
            }));
            if let Some(on) = end {
                bodies.push(EventBody::SenSupportEnded(DatedReason { on, reason: None }));
            }
        } else {
            let plan_id = format!("ctf:{}:{start}", header.source.urn);
            bodies.push(EventBody::EhcPlanFinal(EhcPlanIssued {
                plan_id: plan_id.clone(),
                issued_on: start,
                named_setting_urn: None,
                phase_transfer: None,
            }));
            if let Some(ceased_on) = end {
                bodies.push(EventBody::EhcPlanCeased(EhcPlanCeased {
                    plan_id,
                    ceased_on,
                    reason: None,
                }));
            }
        }
    }
    bodies
}

/// The current primary need: the open (no `NeedEndDate`) need of `SENtypeRank` 1, the latest
/// started if there are several. Every need is checked, used or not.
fn primary_need(p: &mut RecordProblems, needs: &[NeedRecord]) -> Option<SenNeedType> {
    let mut best: Option<(Option<NaiveDate>, SenNeedType)> = None;
    for need in needs {
        let at = |name: &str| format!("SENhistory.SENneeds.SENneed[{}].{name}", need.index);
        let kind = match need.kind.as_deref() {
            None => {
                p.push(&at("SENtype"), "is required");
                None
            }
            Some(code) => {
                let kind = need_type(code);
                if kind.is_none() {
                    p.push(
                        &at("SENtype"),
                        "must be a DfE SEN type code: SPLD, MLD, SLD, PMLD, SEMH, SLCN, HI, VI, MSI, PD, ASD, OTH or NSA",
                    );
                }
                kind
            }
        };
        let rank = need.rank.as_deref().and_then(|r| {
            let rank = r.parse::<u8>().ok().filter(|r| *r >= 1);
            if rank.is_none() {
                p.push(&at("SENtypeRank"), "must be a whole number from 1");
            }
            rank
        });
        let start = need
            .start
            .as_deref()
            .and_then(|s| p.date(&at("NeedStartDate"), s));
        let end = need
            .end
            .as_deref()
            .and_then(|s| p.date(&at("NeedEndDate"), s));
        if let (Some(kind), Some(1), None) = (kind, rank, end)
            && best.is_none_or(|(best_start, _)| start >= best_start)
        {
            best = Some((start, kind));
        }
    }
    best.map(|(_, kind)| kind)
}

fn need_type(code: &str) -> Option<SenNeedType> {
    Some(match code.to_ascii_uppercase().as_str() {
        "SPLD" => SenNeedType::Spld,
        "MLD" => SenNeedType::Mld,
        "SLD" => SenNeedType::Sld,
        "PMLD" => SenNeedType::Pmld,
        "SEMH" => SenNeedType::Semh,
        "SLCN" => SenNeedType::Slcn,
        "HI" => SenNeedType::Hi,
        "VI" => SenNeedType::Vi,
        "MSI" => SenNeedType::Msi,
        "PD" => SenNeedType::Pd,
        "ASD" => SenNeedType::Asd,
        "OTH" => SenNeedType::Oth,
        "NSA" => SenNeedType::Nsa,
        _ => return None,
    })
}

/// The date the pupil left the source school: the latest `LeavingDate` of the source school in
/// `SchoolHistory` (matched on LEA and Estab), if the file records one.
fn left_on(p: &mut RecordProblems, fields: &PupilFields, header: &CtfHeader) -> Option<NaiveDate> {
    fields
        .schools
        .iter()
        .filter(|s| {
            s.lea.as_deref() == Some(header.source.lea.as_str())
                && s.estab.as_deref() == Some(header.source.estab.as_str())
        })
        .filter_map(|s| {
            let at = format!("SchoolHistory.School[{}].LeavingDate", s.index);
            p.date(&at, s.leaving.as_deref()?)
        })
        .max()
}

/// `Sex` (CTF 25) or `Gender` (earlier versions): `M` or `F`.
fn sex(p: &mut RecordProblems, gender: Option<&str>, sex: Option<&str>) -> Option<Sex> {
    let read = |p: &mut RecordProblems, path: &str, code: &str| match code {
        "M" | "m" => Some(Sex::Male),
        "F" | "f" => Some(Sex::Female),
        _ => {
            p.push(path, "must be M or F");
            None
        }
    };
    let from_sex = sex.and_then(|s| read(p, "Sex", s));
    let from_gender = gender.and_then(|g| read(p, "Gender", g));
    match (from_sex, from_gender) {
        (Some(a), Some(b)) if a != b => {
            p.push("Sex", "disagrees with Gender");
            None
        }
        (a, b) => a.or(b),
    }
}

/// A UK postcode, upper case with one space before the inward code, or `None` if it is not
/// shaped like one.
fn postcode(value: &str) -> Option<String> {
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let i = inward.as_bytes();
    let inward_ok =
        i[0].is_ascii_digit() && i[1].is_ascii_alphabetic() && i[2].is_ascii_alphabetic();
    let o = outward.as_bytes();
    let outward_ok = o[0].is_ascii_alphabetic()
        && o.iter().all(u8::is_ascii_alphanumeric)
        && o.iter().any(u8::is_ascii_digit);
    (inward_ok && outward_ok).then(|| format!("{outward} {inward}"))
}

/// The date each body is about, for `occurred_at`.
fn body_date(body: &EventBody) -> NaiveDate {
    match body {
        EventBody::SenSupportStarted(b) => b.started_on,
        EventBody::SenSupportEnded(b) => b.on,
        EventBody::EhcPlanFinal(b) => b.issued_on,
        EventBody::EhcPlanCeased(b) => b.ceased_on,
        EventBody::SocialCareLookedAfterStarted(b) => b.on,
        EventBody::SchoolJoined(b) => b.joined_on,
        EventBody::SchoolLeft(b) => b.left_on,
        other => unreachable!("the mapping makes no {} events", other.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_postcodes_and_refuses_other_shapes() {
        assert_eq!(postcode("ls1 4ap").as_deref(), Some("LS1 4AP"));
        assert_eq!(postcode("SW1A1AA").as_deref(), Some("SW1A 1AA"));
        assert_eq!(postcode(" m1  1ae ").as_deref(), Some("M1 1AE"));
        for bad in [
            "", "LS1", "LS1 4A", "1S1 4AP", "LS1 AAP", "LSX 4AP", "LS1-4AP", "LS1 4ÄP",
        ] {
            assert_eq!(postcode(bad), None, "{bad}");
        }
    }

    #[test]
    fn knows_every_dfe_need_code() {
        for code in [
            "SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "OTH",
            "NSA",
        ] {
            assert!(need_type(code).is_some(), "{code}");
        }
        assert!(need_type("spld").is_some());
        assert!(need_type("ADHD").is_none());
    }
}
