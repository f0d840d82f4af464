use crate::MappingConfig;
use crate::testing::*;

/// The problems building `text` reports, as `key: reason` lines.
fn refused(text: &str) -> Vec<String> {
    build(text)
        .expect_err("expected the mapping to be refused")
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_refused(text: &str, expected: &str) {
    let found = refused(text);
    assert!(
        found.iter().any(|p| p == expected),
        "missing `{expected}` in:\n{}",
        found.join("\n")
    );
}

const K: &str = "mappings[arbor-pupil-events]";

#[test]
fn the_worked_examples_build() {
    let m = mapping(ARBOR);
    assert_eq!(m.format_name(), "mapping:arbor-pupil-events");
    assert_eq!(
        mapping(LIQUIDLOGIC).columns.len(),
        9,
        "each mapped column once"
    );
}

#[test]
fn an_unknown_kind_names_the_value_that_maps_to_it() {
    assert_refused(
        &ARBOR.replace("PupilLeft = \"school.left\"", "PupilLeft = \"school.gone\""),
        &format!("{K}.kind.values.PupilLeft: unknown event kind `school.gone`"),
    );
    assert_refused(
        &ARBOR.replace(
            "FIXED = \"exclusion.suspension\"",
            "FIXED = \"exclusion.fixed\"",
        ),
        &format!(
            "{K}.kind.values.ExclusionRecorded.values.FIXED: unknown event kind `exclusion.fixed`"
        ),
    );
    assert_refused(
        &ARBOR.replace(
            "PupilJoined = \"school.joined\"",
            "PupilJoined = \"handoff.escalated\"",
        ),
        &format!(
            "{K}.kind.values.PupilJoined: this kind is reserved for notices the hub itself sends"
        ),
    );
}

#[test]
fn kinds_and_their_events_tables_must_match() {
    // A kind with no events table.
    let text = ARBOR.replace(
        "PupilJoined = \"school.joined\"",
        "PupilJoined = \"school.joined\"\nSenStarted = \"sen_support.started\"",
    );
    assert_refused(
        &text,
        &format!(
            "{K}.kind.values.SenStarted: maps to `sen_support.started`, which has no [mappings.events.\"sen_support.started\"] table for its payload"
        ),
    );
    // An events table no type value produces.
    let text = format!("{ARBOR}\n[events.\"referral.made\"]\npayload.referral_id = \"/id\"\n");
    assert_refused(
        &text,
        &format!(
            "{K}.events.\"referral.made\": no kind.values entry produces this kind: map a type value to it, or remove it"
        ),
    );
}

#[test]
fn payload_fields_are_checked_against_the_contract() {
    assert_refused(
        &ARBOR.replace(
            "payload.left_on = \"/leftOn\"",
            "payload.left_date = \"/leftOn\"",
        ),
        &format!(
            "{K}.events.\"school.left\".payload.left_date: `school.left` has no payload field `left_date`: its fields are destination, left_on, school_urn"
        ),
    );
    assert_refused(
        &ARBOR.replace("payload.left_on = \"/leftOn\"", ""),
        &format!(
            "{K}.events.\"school.left\".payload.left_on: is required by `school.left` but not mapped"
        ),
    );
}

#[test]
fn pointers_columns_and_formats_are_checked() {
    assert_refused(
        &ARBOR.replace("upn = \"/pupil/upn\"", "upn = \"pupil.upn\""),
        &format!("{K}.subject.upn: must be a JSON pointer starting with `/`, e.g. /pupil/upn"),
    );
    assert_refused(
        &ARBOR.replace("field = \"/attendance/percent\"", "field = \"/a~2\""),
        &format!(
            "{K}.events.\"attendance.concern\".only_if.field: is not a valid JSON pointer: `~` must be followed by 0 or 1"
        ),
    );
    assert_refused(
        &ARBOR.replace("records = \"/events\"", "records = \"events\""),
        &format!("{K}.records: must be a JSON pointer starting with `/`, e.g. /pupil/upn"),
    );
    assert_refused(
        &ARBOR.replace("\"%d/%m/%Y\", \"%Y-%m-%d\"", "\"%d/%m\", \"%Q\""),
        &format!("{K}.date_formats[0]: must name a day, a month and a year (e.g. %d/%m/%Y)"),
    );
    assert_refused(
        &ARBOR.replace("\"%d/%m/%Y\", \"%Y-%m-%d\"", "\"%d/%m\", \"%Q\""),
        &format!(
            "{K}.date_formats[1]: is not a valid chrono format (see chrono's strftime specifiers)"
        ),
    );
    let csv = "mappings[liquidlogic-extract]";
    assert_refused(
        &LIQUIDLOGIC.replace("upn = \"UPN\"", "upn = \" \""),
        &format!("{csv}.subject.upn: must name a column, found an empty name"),
    );
    assert_refused(
        &LIQUIDLOGIC.replace("input = \"csv\"", "input = \"csv\"\nrecords = \"/rows\""),
        &format!(
            "{csv}.records: is only for input = \"json\": every row of a CSV extract is a record"
        ),
    );
}

#[test]
fn constants_codes_and_templates_are_tried_against_the_contract() {
    // A mapped code the contract's Sex does not have.
    assert_refused(
        &ARBOR.replace("U = \"not_known\"", "U = \"unknown\""),
        &format!(
            "{K}.subject.sex.map.U: must be one of female, male, other, not_known (map other codes with `map`)"
        ),
    );
    // A template missing a field the destination needs.
    assert_refused(
        &ARBOR.replace(
            "when_present = { type = \"school\", school_urn = \"$\" }",
            "when_present = { type = \"school\" }",
        ),
        &format!(
            "{K}.events.\"school.left\".payload.destination.when_present: is not what `school.left` takes here: missing field `school_urn`"
        ),
    );
    // A constant of the wrong kind for the field.
    assert_refused(
        &ARBOR.replace(
            "payload.school_days = \"/exclusion/days\"",
            "payload.school_days = { value = \"many\" }",
        ),
        &format!(
            "{K}.events.\"exclusion.suspension\".payload.school_days.value: must be a whole number"
        ),
    );
    assert_refused(
        &ARBOR.replace(
            "payload.school_days = \"/exclusion/days\"",
            "payload.school_days = { value = 70000 }",
        ),
        &format!(
            "{K}.events.\"exclusion.suspension\".payload.school_days.value: is not what `exclusion.suspension` takes here: invalid value: integer `…`, expected u16"
        ),
    );
    // A good constant builds.
    let text = ARBOR.replace(
        "payload.reason_code = \"/exclusion/reason\"\n\n[events.\"exclusion.permanent\"]",
        "payload.reason_code = { value = \"PA\" }\n\n[events.\"exclusion.permanent\"]",
    );
    mapping(&text);
}

#[test]
fn templates_are_checked() {
    assert_refused(
        &ARBOR.replace(
            "when_absent = { type = \"unknown\" }",
            "when_absent = { type = \"school\", school_urn = \"$\" }",
        ),
        &format!(
            "{K}.events.\"school.left\".payload.destination.when_absent: uses `$`, the field's value, where the field has none"
        ),
    );
    assert_refused(
        &ARBOR.replace(
            "school_urn = \"$\" }",
            "school_urn = \"$(destination.urn)\" }",
        ),
        &format!(
            "{K}.events.\"school.left\".payload.destination.when_present: refers to a field wrongly: it must be a JSON pointer starting with `/`, e.g. /pupil/upn"
        ),
    );
    assert_refused(
        &ARBOR.replace(
            "when_present = { type = \"school\", school_urn = \"$\" }",
            "map = { S = { type = \"college\", urn = \"$(/d/urn)\" } }",
        ),
        &format!(
            "{K}.events.\"school.left\".payload.destination.map.S: is not what `school.left` takes here: unknown variant `…`, expected one of `school`, `elective_home_education`, `moved_abroad`, `other`, `outside_maintained_sector`, `unknown`"
        ),
    );
    assert_refused(
        &ARBOR.replace(
            "sex = { field = \"/pupil/gender\", map = {",
            "sex = { field = \"/pupil/gender\", when_present = \"$\", map = {",
        ),
        &format!(
            "{K}.subject.sex: has both map and when_present: write each code's value in map (`$` is the code as sent)"
        ),
    );
}

#[test]
fn rules_need_exactly_one_source_and_identifiers_come_from_fields() {
    assert_refused(
        &ARBOR.replace(
            "payload.joined_on = \"/joinedOn\"",
            "payload.joined_on = { field = \"/a\", value = \"2026-09-01\" }",
        ),
        &format!(
            "{K}.events.\"school.joined\".payload.joined_on: has both field and value: a value comes from one or the other"
        ),
    );
    assert_refused(
        &ARBOR.replace(
            "payload.joined_on = \"/joinedOn\"",
            "payload.joined_on = { map = { A = \"b\" } }",
        ),
        &format!(
            "{K}.events.\"school.joined\".payload.joined_on: needs a field (where the value comes from) or a value (a constant)"
        ),
    );
    assert_refused(
        &ARBOR.replace(
            "upn = \"/pupil/upn\"",
            "upn = { value = \"B801200005001\" }",
        ),
        &format!(
            "{K}.subject.upn: an identifier must come from a field of the record, not a constant"
        ),
    );
    let text = ARBOR
        .replace("upn = \"/pupil/upn\"\n", "")
        .replace("nhs_number = \"/pupil/nhsNumber\"\n", "")
        .replace("local_id = \"/pupil/id\"\n", "");
    assert_refused(
        &text,
        &format!("{K}.subject: must map at least one identifier: upn, nhs_number or local_id"),
    );
}

#[test]
fn conditions_and_kind_values_are_checked() {
    assert_refused(
        &ARBOR.replace(
            "only_if = { field = \"/attendance/percent\", below = 90 }",
            "only_if = { field = \"/attendance/percent\" }",
        ),
        &format!(
            "{K}.events.\"attendance.concern\".only_if: needs a test besides field: below, above, equals, one_of or present"
        ),
    );
    assert_refused(
        &ARBOR.replace("ignore = [\"PupilUpdated\"]", "ignore = [\"pupiljoined\"]"),
        &format!(
            "{K}.kind.ignore[0]: is also mapped in values: a type value is either mapped or ignored"
        ),
    );
    assert_refused(
        &ARBOR.replace("id = \"arbor-pupil-events\"", "id = \"Arbor Events\""),
        "mappings[Arbor Events].id: may contain only lowercase letters, digits, '-', '_' and '.'",
    );
}

#[test]
fn every_problem_is_reported_at_once_and_displayed_one_per_line() {
    let text = ARBOR
        .replace(
            "payload.left_on = \"/leftOn\"",
            "payload.left_date = \"/leftOn\"",
        )
        .replace("upn = \"/pupil/upn\"", "upn = \"pupil\"");
    let e = build(&text).unwrap_err();
    assert_eq!(e.problems().len(), 3, "{e}");
    assert_eq!(e.to_string().lines().count(), 3);
}

#[test]
fn an_unknown_key_in_a_rule_table_is_refused_by_name() {
    let text = ARBOR.replace(
        "payload.left_on = \"/leftOn\"",
        "payload.left_on = { field = \"/leftOn\", date = true }",
    );
    let err = toml::from_str::<MappingConfig>(&text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `date`"), "{err}");
    let text = ARBOR.replace("input = \"json\"", "input = \"xml\"");
    assert!(toml::from_str::<MappingConfig>(&text).is_err());
}
