//! The assertion rules as a property: over generated agencies, roles, designated teams, per-source
//! rules and events, a source is let through only when an independent reading of the defaults
//! table and its own rules allows the kind, the involvement change and the local ids' namespace.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use throughline_contracts::event::EventSubmission;
use throughline_contracts::kind::EventKind;

use super::authorise;
use crate::config::assertions::{COMMON_KINDS, ROLE_DEFAULTS};
use crate::config::{self, Validated};

const ROLES: &[&str] = &[
    "school",
    "health",
    "social_care",
    "send",
    "acute",
    "youth_justice",
];
const PATTERNS: &[&str] = &[
    "*",
    "school.*",
    "nhs.*",
    "social_care.*",
    "ehc_plan.*",
    "sen_support.started",
    "social_care.child_protection_plan.ended",
    "episode_of_care.opened",
    "attendance.concern",
];

/// A payload of the right shape for `kind`: the first candidate it deserialises from. Kinds
/// with none of these shapes are left out of the generated events (see `covered_kinds`).
fn payload(kind: EventKind, agency: &str) -> Option<Value> {
    let candidates = [
        json!({"on": "2026-11-01"}),
        json!({"referral_id": "R1"}),
        json!({"agency": agency, "on": "2026-11-01"}),
        json!({"at": "2026-11-01T10:00:00Z"}),
        json!({"school_urn": "100001", "joined_on": "2026-09-01"}),
        json!({"episode_id": "E1", "service": "camhs", "on": "2026-11-01"}),
        json!({"plan_id": "P1", "ceased_on": "2026-11-01"}),
        json!({"period_start": "2026-10-01", "period_end": "2026-10-31",
               "sessions_possible": 40, "sessions_missed": 12}),
        json!({"referral_id": "R1", "to_agency": agency}),
        json!({"handoff_id": "01890000-0000-7000-8000-000000000000", "outcome": "accepted"}),
    ];
    candidates.into_iter().find(|p| {
        serde_json::from_value::<EventSubmission>(submission(kind, "a0", agency, p.clone())).is_ok()
    })
}

fn submission(kind: EventKind, from: &str, local_ns: &str, payload: Value) -> Value {
    json!({
        "schema_version": 1,
        "occurred_at": "2026-11-20T09:00:00Z",
        "source": {"agency": from, "system": "sys", "adapter": "http"},
        "subject": {"identifiers": {
            "nhs_number": "9434765919",
            "local_ids": [{"agency": local_ns, "system": "sys", "value": "X1"}]
        }},
        "kind": kind.as_str(),
        "payload": payload,
    })
}

fn covered_kinds() -> Vec<EventKind> {
    EventKind::ALL
        .iter()
        .copied()
        .filter(|k| !k.is_hub_notice() && payload(*k, "a0").is_some())
        .collect()
}

/// The oracle's reading of a pattern, written without `config::assertions::expand`.
fn matches(pattern: &str, kind: EventKind) -> bool {
    pattern == "*"
        || pattern == kind.as_str()
        || pattern
            .strip_suffix('*')
            .is_some_and(|family| family.ends_with('.') && kind.as_str().starts_with(family))
}

#[derive(Debug, Clone)]
struct Agency {
    role: &'static str,
    may_send: Option<Vec<&'static str>>,
    may_change: Vec<usize>,
    may_change_any: bool,
    relays_for: Vec<usize>,
}

fn agency() -> impl Strategy<Value = Agency> {
    (
        prop::sample::select(ROLES),
        prop::option::of(prop::collection::vec(prop::sample::select(PATTERNS), 1..3)),
        prop::collection::vec(0usize..5, 0..3),
        prop::bool::weighted(0.1),
        prop::collection::vec(0usize..5, 0..2),
    )
        .prop_map(
            |(role, may_send, may_change, may_change_any, relays_for)| Agency {
                role,
                may_send,
                may_change,
                may_change_any,
                relays_for,
            },
        )
}

/// A folder of API key files, `key-0` to `key-5`: secrets are never written in the file.
fn key_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for i in 0..6 {
            std::fs::write(
                dir.path().join(format!("key-{i}")),
                format!("key-of-source-number-{i}"),
            )
            .expect("a key file");
        }
        dir
    })
    .path()
}

fn toml(agencies: &[Agency], la: Option<usize>) -> String {
    let n = agencies.len();
    let mut t = String::new();
    if let Some(la) = la {
        t.push_str(&format!("[handoffs]\nlocal_authority = \"a{la}\"\n\n"));
    }
    for (i, a) in agencies.iter().enumerate() {
        t.push_str(&format!(
            "[[agencies]]\nid = \"a{i}\"\nrole = \"{}\"\n\n",
            a.role
        ));
    }
    for (i, a) in agencies.iter().enumerate() {
        t.push_str(&format!(
            "[[sources]]\nid = \"s{i}\"\nagency = \"a{i}\"\nsystem = \"sys\"\napi_key = \"${{file:{}}}\"\n",
            key_dir().join(format!("key-{i}")).display()
        ));
        if let Some(kinds) = &a.may_send {
            t.push_str(&format!("may_send = {kinds:?}\n"));
        }
        let others = |list: &[usize]| -> Vec<String> {
            list.iter()
                .filter(|j| **j < n && **j != i)
                .map(|j| format!("a{j}"))
                .collect()
        };
        if a.may_change_any {
            t.push_str("may_change_involvement_of = [\"*\"]\n");
        } else {
            t.push_str(&format!(
                "may_change_involvement_of = {:?}\n",
                others(&a.may_change)
            ));
        }
        let mut relays = others(&a.relays_for);
        relays.dedup();
        t.push_str(&format!("relays_for = {relays:?}\n\n"));
    }
    t
}

fn load(agencies: &[Agency], la: Option<usize>) -> Validated {
    let text = toml(agencies, la);
    match config::load_str(Path::new("generated.toml"), &text) {
        Ok(v) => v,
        Err(e) => panic!("the generated configuration is valid, but: {e}\n{text}"),
    }
}

fn scenario() -> impl Strategy<Value = (Vec<Agency>, Option<usize>, usize, usize, usize, usize)> {
    prop::collection::vec(agency(), 2..6).prop_flat_map(|agencies| {
        let n = agencies.len();
        (
            Just(agencies),
            prop::option::of(0..n),
            0..n,
            0..covered_kinds().len(),
            0..n,
            0..n,
        )
    })
}

proptest! {
    // 512 cases per run (the count below), each a freshly loaded configuration.
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// No source ever changes another agency's involvement, asserts another's local ids or
    /// sends a kind without a rule allowing it; and whatever the rules allow goes through.
    /// Runs 512 cases.
    #[test]
    fn a_source_asserts_only_what_a_rule_allows(
        (agencies, la, from, kind_at, target, local_ns) in scenario()
    ) {
        let config = load(&agencies, la);
        let kind = covered_kinds()[kind_at];
        let target_id = format!("a{target}");
        let event = submission(
            kind,
            &format!("a{from}"),
            &format!("a{local_ns}"),
            payload(kind, &target_id).expect("covered"),
        );
        let submission: EventSubmission = serde_json::from_value(event).expect("a valid event");
        let source = &config.sources[&format!("s{from}")];
        let me = &agencies[from];
        let designated = la == Some(from);

        let kind_allowed = COMMON_KINDS.iter().any(|p| matches(p, kind))
            || match &me.may_send {
                Some(patterns) => patterns.iter().any(|p| matches(p, kind)),
                None if designated => true,
                None => ROLE_DEFAULTS
                    .iter()
                    .filter(|(role, _)| *role == me.role)
                    .any(|(_, patterns)| patterns.iter().any(|p| matches(p, kind))),
            };
        let changes_involvement =
            matches!(kind, EventKind::InvolvementStarted | EventKind::InvolvementEnded);
        let listed = me.may_change.contains(&target);
        let involvement_allowed = !changes_involvement
            || target == from
            || me.may_change_any
            || listed
            || (designated && me.may_change.iter().all(|j| *j >= agencies.len() || *j == from));
        let local_allowed = local_ns == from || me.relays_for.contains(&local_ns);

        let outcome = authorise(source, std::slice::from_ref(&submission));
        let fields: Vec<String> = match &outcome {
            Ok(()) => Vec::new(),
            Err(problems) => problems.iter().map(|p| p.field.clone()).collect(),
        };
        prop_assert_eq!(fields.contains(&"kind".to_owned()), !kind_allowed);
        prop_assert_eq!(fields.contains(&"payload.agency".to_owned()), !involvement_allowed);
        prop_assert_eq!(
            fields.contains(&"subject.identifiers.local_ids[0].agency".to_owned()),
            !local_allowed
        );
        if outcome.is_ok() {
            prop_assert!(kind_allowed && involvement_allowed && local_allowed);
        }
    }
}

#[test]
fn the_generated_events_cover_every_role_family() {
    let kinds = covered_kinds();
    for family in [
        "school.",
        "nhs.",
        "social_care.",
        "ehc_plan.",
        "involvement.",
        "referral.",
    ] {
        assert!(
            kinds.iter().any(|k| k.as_str().starts_with(family)),
            "no generated event of the `{family}` family"
        );
    }
}

#[test]
fn a_handoff_answer_keeps_only_the_local_ids_its_agency_may_assert() {
    let plain = |role| Agency {
        role,
        may_send: None,
        may_change: Vec::new(),
        may_change_any: false,
        relays_for: Vec::new(),
    };
    let config = load(&[plain("school"), plain("health")], None);
    let source = &config.sources["s1"];
    let mut ids = json!({"nhs_number": "9434765919", "local_ids": [
        {"agency": "a0", "system": "sys", "value": "S-1"},
        {"agency": "a1", "system": "sys", "value": "H-1"},
    ]});
    super::keep_assertable_local_ids(source, &mut ids);
    assert_eq!(
        ids,
        json!({"nhs_number": "9434765919", "local_ids": [{"agency": "a1", "system": "sys", "value": "H-1"}]})
    );
    let mut only_foreign = json!({"nhs_number": "9434765919", "local_ids": [{"agency": "a0", "system": "sys", "value": "S-1"}]});
    super::keep_assertable_local_ids(source, &mut only_foreign);
    assert_eq!(only_foreign, json!({"nhs_number": "9434765919"}));
}

/// A school's CTF restates the pupil's plan (`as_at` the file's date): allowed; the same kind
/// sent as news from the school is refused by the role's defaults.
#[test]
fn a_school_may_restate_a_plan_from_its_file_but_not_assert_one() {
    let school = Agency {
        role: "school",
        may_send: None,
        may_change: Vec::new(),
        may_change_any: false,
        relays_for: Vec::new(),
    };
    let config = load(std::slice::from_ref(&school), None);
    let source = &config.sources["s0"];
    let plan = |as_at: Option<&str>| {
        let mut event = submission(
            EventKind::EhcPlanFinal,
            "a0",
            "a0",
            json!({"plan_id": "P1", "issued_on": "2021-03-01"}),
        );
        if let Some(at) = as_at {
            event["as_at"] = json!(at);
        }
        serde_json::from_value::<EventSubmission>(event).expect("a valid event")
    };
    assert_eq!(
        authorise(source, &[plan(Some("2026-11-21T00:00:00Z"))]),
        Ok(())
    );
    let refused = authorise(source, &[plan(None)]).expect_err("news of a plan from a school");
    assert_eq!(refused[0].field, "kind");
    // A restatement never admits what the role cannot restate.
    let mut cp = submission(
        EventKind::SocialCareChildProtectionPlanEnded,
        "a0",
        "a0",
        json!({"on": "2026-11-01"}),
    );
    cp["as_at"] = json!("2026-11-21T00:00:00Z");
    let cp: EventSubmission = serde_json::from_value(cp).expect("a valid event");
    assert!(authorise(source, &[cp]).is_err());
}
