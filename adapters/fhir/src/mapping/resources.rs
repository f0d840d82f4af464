//! What each FHIR resource type means as events: the mapping table of `docs/adapters/fhir.md`.
//!
//! | resource | when | event |
//! |---|---|---|
//! | ServiceRequest | `active` | `referral.made` (to the performer's agency) |
//! | ServiceRequest | `completed`, `revoked`, `entered-in-error` | `referral.closed` |
//! | Encounter, class `EMER` | `arrived` … `finished` | `nhs.ae_attendance` |
//! | Encounter, class `IMP`/`ACUTE` | `arrived` … `onleave` | `nhs.admission` |
//! | Encounter, class `IMP`/`ACUTE` | `finished` (with `period.end`) | `nhs.admission`, `nhs.discharge` |
//! | EpisodeOfCare | `active` | `episode_of_care.opened` |
//! | EpisodeOfCare | `finished`, `cancelled`, `entered-in-error` | `episode_of_care.closed` |
//! | Flag | `active` | `nhs.flag.raised` |
//! | Flag | `inactive`, `entered-in-error` | `nhs.flag.removed` |
//!
//! Whether a resource maps to events at all is decided by [`disposition`] from its type, status
//! and class alone, so the poll source can skip the others (a draft referral, an outpatient
//! encounter) without reading their patients, and push can reject them with the same reason.
//!
//! Every version of a FHIR resource is a new input (a poll reads it again whenever it changes),
//! so each event's id is derived from the resource: the same resource always gives the same
//! event id per kind, and the hub commits each fact once however many versions carry it (an
//! active ServiceRequest edited three times is one `referral.made`, one handoff). A finished
//! inpatient stay therefore also carries its admission: if the poll first sees the stay after
//! discharge the admission is not lost, and if it saw the admission already it is a duplicate.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use throughline_contracts::AgencyId;
use throughline_contracts::event::{
    EventSource, EventSubmission, FieldProblem, SCHEMA_VERSION, Subject, SubjectIdentifiers,
};
use throughline_contracts::kind::{
    EpisodeOfCare, EventBody, EventKind, NhsEncounter, NhsFlag, ReferralMade, ReferralResponse,
    Urgency,
};
use uuid::Uuid;

use super::subject::{self, Index};
use super::{Mapping, path};

/// The e-RS Unique Booking Reference Number identifier system: a referral's own reference.
pub const UBRN_SYSTEM: &str = "https://fhir.nhs.uk/Id/UBRN";
/// ODS organisation and site code identifier systems.
pub const ODS_SYSTEMS: [&str; 2] = [
    "https://fhir.nhs.uk/Id/ods-organization-code",
    "https://fhir.nhs.uk/Id/ods-site-code",
];

/// The resource types that map to events.
pub const MAPPED_TYPES: [&str; 4] = ["ServiceRequest", "Encounter", "EpisodeOfCare", "Flag"];

/// Whether a resource maps to events, judged from its type, status and class alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// It maps to at least one event (if its subject and fields are in order).
    Events,
    /// It maps to none: the field that says so and why.
    Ignored { field: &'static str, reason: String },
}

/// The resource's `status`, or "" when absent.
fn status(resource: &Value) -> &str {
    resource.get("status").and_then(Value::as_str).unwrap_or("")
}

fn ignored(field: &'static str, reason: String) -> Disposition {
    Disposition::Ignored { field, reason }
}

/// What `resource` maps to (see the table in the module doc).
pub fn disposition(resource: &Value) -> Disposition {
    let ty = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let st = status(resource);
    let unmapped = |mapped: &str| {
        ignored(
            "status",
            format!("status `{st}` of a {ty} maps to no event; mapped: {mapped}"),
        )
    };
    match ty {
        "ServiceRequest" => match st {
            "active" | "completed" | "revoked" | "entered-in-error" => Disposition::Events,
            _ => unmapped("active, completed, revoked, entered-in-error"),
        },
        "Encounter" => match encounter_class(resource).as_deref() {
            Some("EMER") => match st {
                "arrived" | "triaged" | "in-progress" | "onleave" | "finished" => {
                    Disposition::Events
                }
                _ => unmapped("arrived, triaged, in-progress, onleave, finished"),
            },
            Some("IMP" | "ACUTE") => match st {
                "arrived" | "triaged" | "in-progress" | "onleave" | "finished" => {
                    Disposition::Events
                }
                _ => unmapped("arrived, triaged, in-progress, onleave, finished"),
            },
            Some(other)
                if other.len() <= 16 && other.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                ignored(
                    "class",
                    format!("encounter class `{other}` maps to no event; mapped: EMER, IMP, ACUTE"),
                )
            }
            _ => ignored(
                "class",
                "the encounter has no class code; mapped: EMER, IMP, ACUTE".to_owned(),
            ),
        },
        "EpisodeOfCare" => match st {
            "active" | "finished" | "cancelled" | "entered-in-error" => Disposition::Events,
            _ => unmapped("active, finished, cancelled, entered-in-error"),
        },
        "Flag" => match st {
            "active" | "inactive" | "entered-in-error" => Disposition::Events,
            _ => unmapped("active, inactive, entered-in-error"),
        },
        "Patient" => ignored("resourceType", "a Patient alone is not an event".to_owned()),
        _ => ignored(
            "resourceType",
            format!(
                "resource type `{}` maps to no event; mapped: {}",
                printable(ty),
                MAPPED_TYPES.join(", ")
            ),
        ),
    }
}

/// A short, safe rendering of a code from the input (resource types and codes are not child
/// data, but a malformed input could put anything there).
fn printable(s: &str) -> String {
    if s.len() <= 40 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        s.to_owned()
    } else {
        "(unreadable)".to_owned()
    }
}

/// The class code: R4's single Coding, or the first code of R5's list of CodeableConcepts.
fn encounter_class(resource: &Value) -> Option<String> {
    let class = resource.get("class")?;
    let code = match class {
        Value::Array(all) => all.iter().find_map(|c| {
            c.get("coding")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find_map(|c| c.get("code")))
                .or_else(|| c.get("code"))
        }),
        _ => class.get("code"),
    }?;
    code.as_str().map(str::to_owned)
}

/// Where one resource's events come from: the input it sits in.
pub(super) struct Cx<'a> {
    pub mapping: &'a Mapping,
    pub index: &'a Index<'a>,
    pub source: &'a EventSource,
    pub received_at: DateTime<Utc>,
}

/// One event before its subject is attached.
struct Planned {
    body: EventBody,
    occurred_at: DateTime<Utc>,
}

/// Maps one resource (already judged [`Disposition::Events`]) at JSON path `at` to its events,
/// or every problem found in it.
pub(super) fn map(
    resource: &Value,
    at: &str,
    cx: &Cx<'_>,
) -> Result<Vec<EventSubmission>, Vec<FieldProblem>> {
    let ty = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut problems = Vec::new();
    let subject_field = if ty == "EpisodeOfCare" {
        "patient"
    } else {
        "subject"
    };
    let found = subject::resolve(
        resource,
        at,
        subject_field,
        cx.index,
        cx.mapping.require_verification_status,
    )
    .map_err(|p| problems.push(p))
    .ok();
    let planned = match ty {
        "ServiceRequest" => service_request(resource, at, cx, &mut problems),
        "Encounter" => encounter(resource, at, cx, &mut problems),
        "EpisodeOfCare" => episode_of_care(resource, at, cx, &mut problems),
        "Flag" => flag(resource, at, cx, &mut problems),
        _ => Vec::new(),
    };
    let (Some(found), true) = (found, problems.is_empty()) else {
        return Err(problems);
    };
    let anchor = anchor_time(resource, ty);
    let resource_id = resource.get("id").and_then(Value::as_str);
    Ok(planned
        .into_iter()
        .map(|p| EventSubmission {
            schema_version: SCHEMA_VERSION,
            id: resource_id.map(|id| event_id(cx.source, ty, id, p.body.kind(), anchor)),
            occurred_at: p.occurred_at,
            as_at: None,
            source: cx.source.clone(),
            subject: Subject {
                identifiers: SubjectIdentifiers {
                    nhs_number: Some(found.nhs_number.clone()),
                    ..Default::default()
                },
                demographics: found.demographics.clone(),
            },
            body: p.body,
            correlation_id: None,
            causation_id: None,
        })
        .collect())
}

/// The same event id for the same fact, whichever version of the resource carries it: a UUIDv7
/// whose time is the resource's stable business time (when it was authored or began; the Unix
/// epoch if it states none) and whose other bits are a hash of where it came from, the resource
/// and the kind.
fn event_id(
    source: &EventSource,
    resource_type: &str,
    resource_id: &str,
    kind: EventKind,
    anchor: Option<DateTime<Utc>>,
) -> Uuid {
    let mut hash = Sha256::new();
    for part in [
        source.agency.as_str(),
        source.system.as_str(),
        resource_type,
        resource_id,
        kind.as_str(),
    ] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    let digest = hash.finalize();
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    let millis = anchor
        .map(|t| u64::try_from(t.timestamp_millis()).unwrap_or(0))
        .unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// The time a resource began, which no later version changes.
fn anchor_time(resource: &Value, ty: &str) -> Option<DateTime<Utc>> {
    let field = if ty == "ServiceRequest" {
        resource.get("authoredOn")
    } else {
        resource.get("period").and_then(|p| p.get("start"))
    };
    field.and_then(Value::as_str).and_then(parse_instant)
}

/// A FHIR `instant` or `dateTime` precise to the day or better; a date is taken at 00:00 UTC.
/// `None` for anything else (a year, a year and month, not a date).
pub(super) fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// `resource[field...]` as a time, with a problem naming the field if it is there but not a
/// dateTime.
fn time_at(
    resource: &Value,
    at: &str,
    fields: &[&str],
    problems: &mut Vec<FieldProblem>,
) -> Option<DateTime<Utc>> {
    let mut value = resource;
    for f in fields {
        value = value.get(*f)?;
    }
    let parsed = value.as_str().and_then(parse_instant);
    if parsed.is_none() {
        problems.push(FieldProblem::new(
            path(at, &fields.join(".")),
            "must be a FHIR dateTime precise to the day",
        ));
    }
    parsed
}

/// When the resource last changed, then when the input arrived: what an event that states no
/// time of its own is dated.
fn last_updated(
    resource: &Value,
    at: &str,
    cx: &Cx<'_>,
    problems: &mut Vec<FieldProblem>,
) -> DateTime<Utc> {
    time_at(resource, at, &["meta", "lastUpdated"], problems).unwrap_or(cx.received_at)
}

/// The ODS code a reference names: its own identifier, or the identifier of the Organization
/// it points at in the input.
fn ods_code(reference: &Value, cx: &Cx<'_>) -> Option<String> {
    let code_of = |identifier: &Value| {
        let system = identifier.get("system").and_then(Value::as_str)?;
        ODS_SYSTEMS
            .contains(&system)
            .then(|| identifier.get("value").and_then(Value::as_str))
            .flatten()
            .map(|v| v.trim().to_ascii_uppercase())
    };
    if let Some(code) = reference.get("identifier").and_then(code_of) {
        return Some(code);
    }
    let literal = reference.get("reference").and_then(Value::as_str)?;
    let (organisation, _) = cx.index.resolve(literal, "Organization")?;
    organisation
        .get("identifier")
        .and_then(Value::as_array)?
        .iter()
        .find_map(code_of)
}

fn service_request(
    resource: &Value,
    at: &str,
    cx: &Cx<'_>,
    problems: &mut Vec<FieldProblem>,
) -> Vec<Planned> {
    let referral_id = resource
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|i| i.get("system").and_then(Value::as_str) == Some(UBRN_SYSTEM))
        .and_then(|i| i.get("value").and_then(Value::as_str))
        .or_else(|| resource.get("id").and_then(Value::as_str))
        .map(str::to_owned);
    let Some(referral_id) = referral_id else {
        problems.push(FieldProblem::new(
            path(at, "identifier"),
            format!("the referral needs an e-RS UBRN identifier ({UBRN_SYSTEM}) or a resource id"),
        ));
        return Vec::new();
    };
    let st = status(resource);
    if st != "active" {
        return vec![Planned {
            occurred_at: last_updated(resource, at, cx, problems),
            body: EventBody::ReferralClosed(ReferralResponse {
                referral_id,
                reason: Some(st.to_owned()),
            }),
        }];
    }
    let urgency = match resource.get("priority").and_then(Value::as_str) {
        None | Some("routine") => Urgency::Routine,
        Some("urgent") => Urgency::Urgent,
        Some("asap" | "stat") => Urgency::Emergency,
        Some(_) => {
            problems.push(FieldProblem::new(
                path(at, "priority"),
                "must be routine, urgent, asap or stat",
            ));
            Urgency::Routine
        }
    };
    let to_agency = performer_agency(resource, at, cx, problems);
    let occurred_at = time_at(resource, at, &["authoredOn"], problems)
        .unwrap_or_else(|| last_updated(resource, at, cx, problems));
    match to_agency {
        Some(to_agency) => vec![Planned {
            occurred_at,
            body: EventBody::ReferralMade(ReferralMade {
                referral_id,
                to_agency,
                urgency,
                reason: None,
                respond_by: None,
            }),
        }],
        None => Vec::new(),
    }
}

/// The hub agency a ServiceRequest is referred to: the first performer with an ODS code,
/// through `agencies_by_ods`.
fn performer_agency(
    resource: &Value,
    at: &str,
    cx: &Cx<'_>,
    problems: &mut Vec<FieldProblem>,
) -> Option<AgencyId> {
    let performers: Vec<&Value> = resource
        .get("performer")
        .and_then(Value::as_array)
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let found = performers
        .iter()
        .enumerate()
        .find_map(|(i, p)| ods_code(p, cx).map(|code| (i, code)));
    let Some((i, code)) = found else {
        problems.push(FieldProblem::new(
            path(at, "performer"),
            format!(
                "must name the organisation referred to by ODS code (identifier system {}), \
                 on the reference or on an Organization in the input",
                ODS_SYSTEMS[0]
            ),
        ));
        return None;
    };
    match cx.mapping.agencies_by_ods.get(&code) {
        Some(agency) => Some(agency.clone()),
        None => {
            // An ODS code names an organisation, never a child: naming it tells the operator
            // which row `agencies_by_ods` lacks.
            problems.push(FieldProblem::new(
                path(at, &format!("performer[{i}]")),
                format!(
                    "ODS code `{}` is not in this source's `fhir_mapping.agencies_by_ods`",
                    printable(&code)
                ),
            ));
            None
        }
    }
}

fn encounter(
    resource: &Value,
    at: &str,
    cx: &Cx<'_>,
    problems: &mut Vec<FieldProblem>,
) -> Vec<Planned> {
    let start = time_at(resource, at, &["period", "start"], problems);
    let end = time_at(resource, at, &["period", "end"], problems);
    let site_ods_code = resource
        .get("serviceProvider")
        .and_then(|p| ods_code(p, cx));
    let payload = |t: DateTime<Utc>| NhsEncounter {
        at: t,
        site_ods_code: site_ods_code.clone(),
        safeguarding_concern: false,
    };
    let began = start.unwrap_or_else(|| last_updated(resource, at, cx, problems));
    if encounter_class(resource).as_deref() == Some("EMER") {
        return vec![Planned {
            occurred_at: began,
            body: EventBody::NhsAeAttendance(payload(began)),
        }];
    }
    let admission = Planned {
        occurred_at: began,
        body: EventBody::NhsAdmission(payload(began)),
    };
    if status(resource) != "finished" {
        return vec![admission];
    }
    let Some(end) = end else {
        if resource.get("period").and_then(|p| p.get("end")).is_none() {
            problems.push(FieldProblem::new(
                path(at, "period.end"),
                "a finished inpatient encounter needs period.end: it is the discharge time",
            ));
        }
        return Vec::new();
    };
    let discharge = Planned {
        occurred_at: end,
        body: EventBody::NhsDischarge(payload(end)),
    };
    if start.is_some() {
        vec![admission, discharge]
    } else {
        vec![discharge]
    }
}

fn episode_of_care(
    resource: &Value,
    at: &str,
    cx: &Cx<'_>,
    problems: &mut Vec<FieldProblem>,
) -> Vec<Planned> {
    let Some(episode_id) = resource_id(resource, at, problems) else {
        return Vec::new();
    };
    let service = service(resource, cx);
    let st = status(resource);
    let (when, body): (_, fn(EpisodeOfCare) -> EventBody) = if st == "active" {
        ("start", EventBody::EpisodeOfCareOpened)
    } else {
        ("end", EventBody::EpisodeOfCareClosed)
    };
    let occurred_at = time_at(resource, at, &["period", when], problems)
        .unwrap_or_else(|| last_updated(resource, at, cx, problems));
    vec![Planned {
        occurred_at,
        body: body(EpisodeOfCare {
            episode_id,
            service,
            on: occurred_at.date_naive(),
            reason: (st == "cancelled" || st == "entered-in-error").then(|| st.to_owned()),
        }),
    }]
}

/// The episode's service: the first `type` coding (`system|code`, then `code`) or text found in
/// the `services` table; else the source's system.
fn service(resource: &Value, cx: &Cx<'_>) -> String {
    let services = &cx.mapping.services;
    for ty in resource
        .get("type")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for coding in ty
            .get("coding")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let code = coding.get("code").and_then(Value::as_str);
            let system = coding.get("system").and_then(Value::as_str);
            if let (Some(system), Some(code)) = (system, code)
                && let Some(s) = services.get(&format!("{system}|{code}"))
            {
                return s.clone();
            }
            if let Some(s) = code.and_then(|c| services.get(c)) {
                return s.clone();
            }
        }
        if let Some(s) = ty
            .get("text")
            .and_then(Value::as_str)
            .and_then(|t| services.get(t.trim()))
        {
            return s.clone();
        }
    }
    cx.source.system.clone()
}

fn flag(resource: &Value, at: &str, cx: &Cx<'_>, problems: &mut Vec<FieldProblem>) -> Vec<Planned> {
    let Some(flag_id) = resource_id(resource, at, problems) else {
        return Vec::new();
    };
    let code = resource
        .get("code")
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find_map(|c| c.get("code").and_then(Value::as_str))
        })
        .map(str::to_owned);
    let raised = status(resource) == "active";
    let when = if raised { "start" } else { "end" };
    let occurred_at = time_at(resource, at, &["period", when], problems)
        .unwrap_or_else(|| last_updated(resource, at, cx, problems));
    let payload = NhsFlag {
        flag_id,
        code,
        on: occurred_at.date_naive(),
    };
    vec![Planned {
        occurred_at,
        body: if raised {
            EventBody::NhsFlagRaised(payload)
        } else {
            EventBody::NhsFlagRemoved(payload)
        },
    }]
}

/// The resource's id, or its first identifier's value.
fn resource_id(resource: &Value, at: &str, problems: &mut Vec<FieldProblem>) -> Option<String> {
    let id = resource
        .get("id")
        .and_then(Value::as_str)
        .or_else(|| {
            resource
                .get("identifier")
                .and_then(|i| i.get(0))
                .and_then(|i| i.get("value"))
                .and_then(Value::as_str)
        })
        .map(str::to_owned);
    if id.is_none() {
        problems.push(FieldProblem::new(
            path(at, "id"),
            "the resource needs an id or an identifier to be referred to",
        ));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dispositions_follow_the_table() {
        let sr = |s: &str| json!({"resourceType": "ServiceRequest", "status": s});
        assert_eq!(disposition(&sr("active")), Disposition::Events);
        assert_eq!(disposition(&sr("revoked")), Disposition::Events);
        assert!(matches!(
            disposition(&sr("draft")),
            Disposition::Ignored {
                field: "status",
                ..
            }
        ));
        let enc = |class: Value, s: &str| json!({"resourceType": "Encounter", "class": class, "status": s});
        assert_eq!(
            disposition(&enc(json!({"code": "EMER"}), "arrived")),
            Disposition::Events
        );
        assert_eq!(
            disposition(&enc(json!([{"coding": [{"code": "IMP"}]}]), "finished")),
            Disposition::Events
        );
        assert!(matches!(
            disposition(&enc(json!({"code": "AMB"}), "finished")),
            Disposition::Ignored { field: "class", .. }
        ));
        assert!(matches!(
            disposition(&enc(json!({"code": "IMP"}), "planned")),
            Disposition::Ignored {
                field: "status",
                ..
            }
        ));
        let Disposition::Ignored { reason, .. } = disposition(&json!({"resourceType": "Patient"}))
        else {
            panic!()
        };
        assert_eq!(reason, "a Patient alone is not an event");
    }

    #[test]
    fn instants_need_a_day() {
        assert_eq!(
            parse_instant("2026-03-04T10:11:12.345+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-03-04T09:11:12.345+00:00"
        );
        assert_eq!(
            parse_instant("2026-03-04").unwrap().to_rfc3339(),
            "2026-03-04T00:00:00+00:00"
        );
        assert_eq!(parse_instant("2026-03"), None);
        assert_eq!(parse_instant("2026"), None);
    }

    #[test]
    fn event_ids_are_uuidv7_and_stable_per_resource_and_kind() {
        let source = EventSource {
            agency: AgencyId::parse("trust").unwrap(),
            system: "rio".into(),
            adapter: "fhir".into(),
        };
        let t = parse_instant("2026-03-04T10:00:00Z");
        let a = event_id(&source, "Encounter", "e1", EventKind::NhsAdmission, t);
        assert_eq!(a.get_version_num(), 7);
        assert_eq!(
            a,
            event_id(&source, "Encounter", "e1", EventKind::NhsAdmission, t)
        );
        assert_ne!(
            a,
            event_id(&source, "Encounter", "e1", EventKind::NhsDischarge, t)
        );
        assert_ne!(
            a,
            event_id(&source, "Encounter", "e2", EventKind::NhsAdmission, t)
        );
        assert_eq!(
            event_id(&source, "Flag", "f1", EventKind::NhsFlagRaised, None).get_version_num(),
            7
        );
    }
}
