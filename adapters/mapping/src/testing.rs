//! Mappings and inputs shared by the unit tests: an Arbor-like MIS webhook (JSON) and a
//! Liquidlogic-like case-system extract (CSV), as an IT team would write them.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{NormaliseContext, Normaliser, RawInput, Rejection};
use throughline_contracts::event::{EventSubmission, FieldProblem};

use crate::{Mapping, MappingConfig, MappingConfigError};

/// A school MIS's pupil webhook: joined, left, exclusions (one type, two kinds by category) and
/// attendance (only below 90% is a concern).
pub(crate) const ARBOR: &str = r#"
id = "arbor-pupil-events"
input = "json"
records = "/events"
date_formats = ["%d/%m/%Y", "%Y-%m-%d"]

[subject]
upn = "/pupil/upn"
nhs_number = "/pupil/nhsNumber"
local_id = "/pupil/id"
given_name = "/pupil/forename"
family_name = "/pupil/surname"
date_of_birth = "/pupil/dateOfBirth"
sex = { field = "/pupil/gender", map = { F = "female", M = "male", U = "not_known" } }
postcode = "/pupil/postcode"

[kind]
field = "/type"
ignore = ["PupilUpdated"]

[kind.values]
PupilJoined = "school.joined"
PupilLeft = "school.left"
AttendanceSummary = "attendance.concern"
ExclusionRecorded = { field = "/exclusion/category", values = { FIXED = "exclusion.suspension", PERMANENT = "exclusion.permanent" } }

[events."school.joined"]
payload.school_urn = "/school/urn"
payload.joined_on = "/joinedOn"

[events."school.left"]
occurred_at = "/timestamp"
payload.school_urn = "/school/urn"
payload.left_on = "/leftOn"
payload.destination = { field = "/destination/urn", when_present = { type = "school", school_urn = "$" }, when_absent = { type = "unknown" } }

[events."exclusion.suspension"]
payload.starts_on = "/exclusion/startDate"
payload.school_days = "/exclusion/days"
payload.reason_code = "/exclusion/reason"

[events."exclusion.permanent"]
payload.effective_on = "/exclusion/startDate"
payload.reason_code = "/exclusion/reason"

[events."attendance.concern"]
only_if = { field = "/attendance/percent", below = 90 }
occurred_at = "/attendance/to"
payload.period_start = "/attendance/from"
payload.period_end = "/attendance/to"
payload.sessions_possible = "/attendance/possible"
payload.sessions_missed = "/attendance/missed"
"#;

/// A case system's scheduled extract: one row per event, its own column names.
pub(crate) const LIQUIDLOGIC: &str = r#"
id = "liquidlogic-extract"
input = "csv"
date_formats = ["%d/%m/%Y", "%Y-%m-%d"]

[subject]
local_id = "LA Child ID"
upn = "UPN"
nhs_number = "NHS Number"
family_name = "Surname"
date_of_birth = "DOB"

[kind]
field = "Event Type"

[kind.values]
"Referral" = "social_care.referral"
"Assessment" = "social_care.assessment"
"CIN Plan" = "social_care.child_in_need_plan"
"CP Plan Start" = "social_care.child_protection_plan.started"
"CP Plan End" = "social_care.child_protection_plan.ended"
"LAC Start" = "social_care.looked_after.started"
"LAC End" = "social_care.looked_after.ended"
"Case Closure" = "social_care.case_closed"

[events."social_care.referral"]
payload.referral_on = "Event Date"
payload.source_code = "Code"

[events."social_care.assessment"]
payload.started_on = "Event Date"
payload.authorised_on = "End Date"

[events."social_care.child_in_need_plan"]
payload.on = "Event Date"

[events."social_care.child_protection_plan.started"]
payload.on = "Event Date"
payload.category = "Code"

[events."social_care.child_protection_plan.ended"]
payload.on = "Event Date"
payload.reason = "Code"

[events."social_care.looked_after.started"]
payload.on = "Event Date"
payload.code = "Code"

[events."social_care.looked_after.ended"]
payload.on = "Event Date"
payload.code = "Code"

[events."social_care.case_closed"]
payload.on = "Event Date"
payload.reason = "Code"
"#;

pub(crate) fn config(text: &str) -> MappingConfig {
    toml::from_str(text).expect("a well-formed test mapping")
}

pub(crate) fn build(text: &str) -> Result<Mapping, MappingConfigError> {
    Mapping::build(config(text))
}

pub(crate) fn mapping(text: &str) -> Mapping {
    build(text).unwrap_or_else(|e| panic!("the test mapping builds:\n{e}"))
}

/// When the test inputs arrive.
pub(crate) fn received_at() -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse().expect("a valid instant")
}

pub(crate) fn ctx(agency: &str, system: &str) -> NormaliseContext {
    NormaliseContext {
        source_id: format!("{system}-source"),
        agency: AgencyId::parse(agency).expect("a valid agency id"),
        system: system.to_owned(),
        adapter: "http-ingest".to_owned(),
    }
}

pub(crate) fn run(m: &Mapping, body: &str) -> Result<Vec<EventSubmission>, Rejection> {
    let raw = RawInput {
        source_id: "test".to_owned(),
        content_type: None,
        body: Bytes::from(body.to_owned()),
        received_at: received_at(),
        message_id: None,
    };
    let ctx = if m.input == crate::config::InputFormat::Csv {
        ctx("csc", "liquidlogic")
    } else {
        ctx("oakfield-primary", "arbor")
    };
    m.normalise(&raw, &ctx)
}

pub(crate) fn problems(m: &Mapping, body: &str) -> Vec<FieldProblem> {
    run(m, body).expect_err("expected a rejection").problems
}

/// Fails if any problem's field or reason holds one of `values` (child data from the input).
pub(crate) fn assert_no_values(problems: &[FieldProblem], values: &[&str]) {
    for p in problems {
        for v in values {
            assert!(
                !p.field.contains(v) && !p.reason.contains(v),
                "a problem repeats the value `{v}`: {p:?}"
            );
        }
    }
}
