//! History is not news, the phase-transfer clock and referral urgency, against both backends,
//! on a clock the tests control: events carry the times they happened and arrived, and the
//! scheduler is ticked at chosen instants (`scheduler::tick(now)`), so deadlines months away are
//! crossed without waiting.

#[macro_use]
mod backends;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::Row;
use throughline_contracts::adapter::{InputOutcome, RawInput};
use throughline_hub::config::{self, Validated};
use throughline_hub::deliver::Wakers;
use throughline_hub::handoff::scheduler;
use throughline_hub::pipeline::{Origin, Pipeline};
use throughline_hub::store::{self, Store, handoffs::Handoff};
use uuid::Uuid;

on_both_backends!(
    a_record_restated_after_the_window_opens_nothing_and_notifies_nobody,
    a_record_within_the_window_is_news,
    a_fact_the_hub_already_holds_is_history_whoever_restates_it,
    history_still_answers_an_open_handoff,
    an_annual_review_opens_from_the_plans_issue_only_while_its_deadline_is_ahead,
    a_phase_transfer_is_due_by_15_february_of_the_year_of_the_move,
    a_move_into_post_16_is_due_by_31_march,
    a_phase_transfer_whose_date_has_passed_or_cannot_exist_opens_no_clock,
    each_urgency_has_its_own_acknowledgement_deadline,
    a_redirected_emergency_stays_an_emergency,
    a_file_imported_as_one_input_counts_its_history,
);

const CONFIG: &str = r#"
[[agencies]]
id = "school-a"
role = "school"
school_urns = ["100001"]
sink = { type = "webhook", url = "http://127.0.0.1:9/none", secret = "${file:SECRET_FILE}" }

[[agencies]]
id = "camhs"
role = "health"
sink = { type = "webhook", url = "http://127.0.0.1:9/none", secret = "${file:SECRET_FILE}" }

[[agencies]]
id = "paediatrics"
role = "health"
sink = { type = "webhook", url = "http://127.0.0.1:9/none", secret = "${file:SECRET_FILE}" }

[[agencies]]
id = "la-send"
role = "send"
sink = { type = "webhook", url = "http://127.0.0.1:9/none", secret = "${file:SECRET_FILE}" }

[[sources]]
id = "school-a-api"
agency = "school-a"
system = "arbor"
api_key = "${file:KEYDIR/school-a}"
# Beyond the school defaults (docs/security.md): a scenario here has the school's own system
# restate the child's EHC plan, as a school's MIS holds it.
may_send = ["school.*", "sen_support.*", "attendance.*", "exclusion.*", "ehc_plan.*"]

[[sources]]
id = "camhs-api"
agency = "camhs"
system = "rio"
api_key = "${file:KEYDIR/camhs}"

[[sources]]
id = "paediatrics-api"
agency = "paediatrics"
system = "systmone"
api_key = "${file:KEYDIR/paediatrics}"

[[sources]]
id = "la-send-api"
agency = "la-send"
system = "synergy"
api_key = "${file:KEYDIR/la}"

[[routes]]
kinds = ["*"]
roles = ["school", "health", "send"]

[[sharing_agreements]]
id = "isa-school"
agency = "school-a"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]

[[sharing_agreements]]
id = "isa-camhs"
agency = "camhs"
kinds = ["*"]
fields = ["subject.identifiers.nhs_number", "payload.*"]

[[sharing_agreements]]
id = "isa-paediatrics"
agency = "paediatrics"
kinds = ["*"]
fields = ["subject.identifiers.nhs_number", "payload.*"]

[[sharing_agreements]]
id = "isa-la"
agency = "la-send"
kinds = ["*"]
fields = ["subject.identifiers.nhs_number", "subject.identifiers.upn", "payload.*"]

[handoffs]
local_authority = "la-send"

[history]
window = "28 days"
"#;

fn config() -> Arc<Validated> {
    Arc::new(config::load_str(std::path::Path::new("clocks-test.toml"), &config_text()).unwrap())
}

/// `CONFIG` with its secrets in files it can read.
fn config_text() -> String {
    let dir = std::env::temp_dir().join(format!("throughline-keys-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for agency in ["school-a", "camhs", "paediatrics", "la"] {
        std::fs::write(dir.join(agency), format!("{agency}-api-key-0123456789")).unwrap();
    }
    let secret = dir.join("webhook-secret");
    std::fs::write(&secret, "a-test-secret-0123456789").unwrap();
    CONFIG
        .replace("SECRET_FILE", secret.to_str().unwrap())
        .replace("KEYDIR", dir.to_str().unwrap())
}

fn pipeline(store: &Store) -> Pipeline {
    let c = config();
    Pipeline::new(
        c.clone(),
        store.clone(),
        Wakers::for_agencies(c.agencies.keys()),
    )
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

const NHS: &str = "9434765919";

/// One event from `agency` that happened at `occurred`, restated `as_at` (when given), arriving
/// at `arrived`.
struct Submission<'a> {
    agency: &'a str,
    occurred: DateTime<Utc>,
    as_at: Option<DateTime<Utc>>,
    arrived: DateTime<Utc>,
    kind: &'a str,
    payload: serde_json::Value,
}

async fn submit(p: &Pipeline, s: Submission<'_>) -> InputOutcome {
    let mut body = json!({
        "schema_version": 1,
        "occurred_at": s.occurred,
        "source": {"agency": s.agency, "system": "test", "adapter": "test"},
        "subject": {"identifiers": {"nhs_number": NHS}},
        "kind": s.kind,
        "payload": s.payload,
    });
    if let Some(as_at) = s.as_at {
        body["as_at"] = json!(as_at);
    }
    let raw = RawInput {
        source_id: format!("{}-api", s.agency),
        content_type: Some("application/json".into()),
        body: Bytes::from(serde_json::to_vec(&body).unwrap()),
        received_at: s.arrived,
        message_id: None,
    };
    p.process(&raw, "canonical-json", Origin::Fresh).await
}

/// An event that happened when it arrived: news.
async fn news(
    p: &Pipeline,
    agency: &str,
    when: DateTime<Utc>,
    kind: &str,
    payload: serde_json::Value,
) -> Uuid {
    committed(
        submit(
            p,
            Submission {
                agency,
                occurred: when,
                as_at: None,
                arrived: when,
                kind,
                payload,
            },
        )
        .await,
    )
}

fn committed(o: InputOutcome) -> Uuid {
    match o {
        InputOutcome::Committed { event_ids, .. } => event_ids[0],
        other => panic!("expected a commit, got {other:?}"),
    }
}

async fn handoffs(store: &Store) -> Vec<Handoff> {
    let mut c = store.acquire().await.unwrap();
    let Some(child) = store::identity::lookup(&mut c, "nhs", NHS).await.unwrap() else {
        return Vec::new();
    };
    store::handoffs::for_child(&mut c, child).await.unwrap()
}

async fn deliveries_of(store: &Store, event: Uuid) -> i64 {
    let mut c = store.acquire().await.unwrap();
    sqlx::query("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = $1")
        .bind(event.to_string())
        .fetch_one(&mut *c)
        .await
        .unwrap()
        .get("n")
}

async fn is_history(store: &Store, event: Uuid) -> bool {
    let mut c = store.acquire().await.unwrap();
    let child = store::identity::lookup(&mut c, "nhs", NHS)
        .await
        .unwrap()
        .unwrap();
    store::events::history_of(&mut c, child)
        .await
        .unwrap()
        .contains(&event)
}

/// Kinds of the hub's notices queued, in order.
async fn notices(store: &Store) -> Vec<(String, String)> {
    let mut c = store.acquire().await.unwrap();
    sqlx::query(
        "SELECT d.agency AS agency, e.kind AS kind FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE e.source_id = 'hub' ORDER BY d.seq",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("agency"), r.get("kind")))
    .collect()
}

/// Monday 16 November 2026, 09:00 GMT: when most of these events arrive.
const MONDAY: &str = "2026-11-16T09:00:00Z";

async fn a_record_restated_after_the_window_opens_nothing_and_notifies_nobody(store: &Store) {
    let p = pipeline(store);
    news(
        &p,
        "camhs",
        at(MONDAY),
        "episode_of_care.opened",
        json!({"episode_id": "E-1", "service": "camhs", "on": "2026-11-16"}),
    )
    .await;
    // A referral made in January, restated by a file whose reference date is today: history.
    let id = committed(
        submit(
            &p,
            Submission {
                agency: "school-a",
                occurred: at("2026-01-12T09:00:00Z"),
                as_at: Some(at(MONDAY)),
                arrived: at(MONDAY),
                kind: "referral.made",
                payload: json!({"referral_id": "R-OLD", "to_agency": "camhs"}),
            },
        )
        .await,
    );
    assert!(is_history(store, id).await);
    assert!(
        handoffs(store).await.is_empty(),
        "the past opens no handoff"
    );
    assert_eq!(deliveries_of(store, id).await, 0, "nobody is notified");
    let steps = scheduler::tick(&p, at("2027-06-01T00:00:00Z"))
        .await
        .unwrap()
        .steps;
    assert_eq!(steps, 0);
    assert!(notices(store).await.is_empty());
    // The child's state still moved: the referrer is involved with the child.
    let mut c = store.acquire().await.unwrap();
    let child = store::identity::lookup(&mut c, "nhs", NHS)
        .await
        .unwrap()
        .unwrap();
    let involved = store::involvements::active(&mut c, child).await.unwrap();
    assert!(involved.iter().any(|a| a == "school-a"));
}

async fn a_record_within_the_window_is_news(store: &Store) {
    let p = pipeline(store);
    news(
        &p,
        "camhs",
        at(MONDAY),
        "episode_of_care.opened",
        json!({"episode_id": "E-1", "service": "camhs", "on": "2026-11-16"}),
    )
    .await;
    // Made 28 days before the reference date (the window's last day): still news.
    let id = committed(
        submit(
            &p,
            Submission {
                agency: "school-a",
                occurred: at("2026-10-19T09:00:00Z"),
                as_at: Some(at("2026-11-16T09:00:00Z")),
                arrived: at(MONDAY),
                kind: "referral.made",
                payload: json!({"referral_id": "R-NEW", "to_agency": "camhs"}),
            },
        )
        .await,
    );
    assert!(!is_history(store, id).await);
    assert_eq!(handoffs(store).await.len(), 1);
    assert_eq!(deliveries_of(store, id).await, 1, "camhs is told");
    // One day further back is outside the window.
    let old = committed(
        submit(
            &p,
            Submission {
                agency: "school-a",
                occurred: at("2026-10-18T09:00:00Z"),
                as_at: Some(at("2026-11-16T09:00:00Z")),
                arrived: at(MONDAY),
                kind: "referral.made",
                payload: json!({"referral_id": "R-OLDER", "to_agency": "camhs"}),
            },
        )
        .await,
    );
    assert!(is_history(store, old).await);
    assert_eq!(handoffs(store).await.len(), 1);
}

async fn a_fact_the_hub_already_holds_is_history_whoever_restates_it(store: &Store) {
    let p = pipeline(store);
    news(
        &p,
        "school-a",
        at(MONDAY),
        "school.joined",
        json!({"school_urn": "100001", "joined_on": "2026-09-01"}),
    )
    .await;
    let plan = json!({"plan_id": "P-1", "issued_on": "2026-11-02"});
    let first = news(&p, "la-send", at(MONDAY), "ehc_plan.final", plan.clone()).await;
    assert!(!is_history(store, first).await);
    assert_eq!(
        deliveries_of(store, first).await,
        1,
        "the school hears of the plan"
    );
    // The school's own system restates the same plan a week later, fields in another order.
    let again = news(
        &p,
        "school-a",
        at(MONDAY) + Duration::days(7),
        "ehc_plan.final",
        json!({"issued_on": "2026-11-02", "plan_id": "P-1"}),
    )
    .await;
    assert!(is_history(store, again).await);
    assert_eq!(deliveries_of(store, again).await, 0);
    let reviews: Vec<_> = handoffs(store)
        .await
        .into_iter()
        .filter(|h| h.kind == "annual_review")
        .collect();
    assert_eq!(reviews.len(), 1, "one review clock per plan");
    // A different fact (another plan) is news.
    let other = news(
        &p,
        "la-send",
        at(MONDAY) + Duration::days(8),
        "ehc_plan.final",
        json!({"plan_id": "P-2", "issued_on": "2026-11-20"}),
    )
    .await;
    assert!(!is_history(store, other).await);
}

async fn history_still_answers_an_open_handoff(store: &Store) {
    let p = pipeline(store);
    news(
        &p,
        "school-a",
        at("2026-10-01T09:00:00Z"),
        "referral.made",
        json!({"referral_id": "R-1", "to_agency": "camhs"}),
    )
    .await;
    // CAMHS's extract, restating an acceptance of two months ago, arrives long after it
    // happened (its deadline passed meanwhile: the hub never saw the answer).
    let id = committed(
        submit(
            &p,
            Submission {
                agency: "camhs",
                occurred: at("2026-10-01T11:00:00Z"),
                as_at: Some(at("2026-12-01T09:00:00Z")),
                arrived: at("2026-12-01T09:00:00Z"),
                kind: "referral.accepted",
                payload: json!({"referral_id": "R-1"}),
            },
        )
        .await,
    );
    assert!(is_history(store, id).await);
    assert_eq!(handoffs(store).await[0].state, "accepted");
    assert_eq!(deliveries_of(store, id).await, 0);
}

async fn an_annual_review_opens_from_the_plans_issue_only_while_its_deadline_is_ahead(
    store: &Store,
) {
    let p = pipeline(store);
    // A plan issued five years ago, restated today: its review would be four years overdue.
    committed(
        submit(
            &p,
            Submission {
                agency: "la-send",
                occurred: at("2021-09-01T00:00:00Z"),
                as_at: Some(at(MONDAY)),
                arrived: at(MONDAY),
                kind: "ehc_plan.final",
                payload: json!({"plan_id": "P-OLD", "issued_on": "2021-09-01"}),
            },
        )
        .await,
    );
    assert!(handoffs(store).await.is_empty(), "no overdue clock");
    // The same plan as news (no as_at) opens no overdue clock either.
    news(
        &p,
        "la-send",
        at(MONDAY),
        "ehc_plan.final",
        json!({"plan_id": "P-OLD-2", "issued_on": "2021-09-01"}),
    )
    .await;
    assert!(handoffs(store).await.is_empty(), "no overdue clock");
    assert_eq!(
        scheduler::tick(&p, at("2030-01-01T00:00:00Z"))
            .await
            .unwrap()
            .steps,
        0
    );
    // A plan issued ten months ago, restated as history: its review is still ahead, from the
    // plan's real issue date (s. 44(1): within 12 months of the plan being made).
    committed(
        submit(
            &p,
            Submission {
                agency: "la-send",
                occurred: at("2026-01-19T00:00:00Z"),
                as_at: Some(at(MONDAY)),
                arrived: at(MONDAY),
                kind: "ehc_plan.final",
                payload: json!({"plan_id": "P-RECENT", "issued_on": "2026-01-19"}),
            },
        )
        .await,
    );
    let hs = handoffs(store).await;
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0].kind, "annual_review");
    assert_eq!(hs[0].reference, "P-RECENT");
    assert_eq!(hs[0].due_at, Some(at("2027-01-19T23:59:59.999Z")));
    assert!(notices(store).await.is_empty());
}

async fn a_phase_transfer_is_due_by_15_february_of_the_year_of_the_move(store: &Store) {
    let p = pipeline(store);
    for plan in ["P-1", "P-2"] {
        news(
            &p,
            "la-send",
            at(MONDAY),
            "ehc_plan.final",
            json!({
            "plan_id": plan, "issued_on": "2026-11-16",
            "phase_transfer": {"year": 2027, "into": "school"}}),
        )
        .await;
    }
    let hs = handoffs(store).await;
    let transfer = hs
        .iter()
        .find(|h| h.kind == "phase_transfer" && h.reference == "P-1")
        .expect("its own clock");
    assert_eq!(transfer.to_agency, "la-send");
    // "by 15th February in the calendar year of the transfer" (reg. 18(1)).
    let due = at("2027-02-15T23:59:59.999Z");
    assert_eq!(transfer.due_at, Some(due));
    assert!(
        hs.iter().any(|h| h.kind == "annual_review"),
        "the annual review runs apart"
    );
    // P-2 is reviewed (and amended) in time: that closes its phase transfer.
    news(
        &p,
        "la-send",
        at("2026-11-30T10:00:00Z"),
        "ehc_plan.review",
        json!({"plan_id": "P-2", "reviewed_on": "2026-11-30", "outcome": "amend"}),
    )
    .await;
    let hs = handoffs(store).await;
    let closed = hs
        .iter()
        .find(|h| h.kind == "phase_transfer" && h.reference == "P-2")
        .unwrap();
    assert_eq!(closed.state, "closed");
    assert!(closed.next_check_at.is_none());
    // P-1 is not: its receiver is reminded at the deadline, not before.
    assert_eq!(
        scheduler::tick(&p, due - Duration::seconds(1))
            .await
            .unwrap()
            .steps,
        0
    );
    assert_eq!(scheduler::tick(&p, due).await.unwrap().steps, 1);
    assert_eq!(
        notices(store).await,
        vec![("la-send".to_owned(), "handoff.reminder".to_owned())]
    );
}

async fn a_move_into_post_16_is_due_by_31_march(store: &Store) {
    let p = pipeline(store);
    news(
        &p,
        "la-send",
        at(MONDAY),
        "ehc_plan.final",
        json!({
        "plan_id": "P-1", "issued_on": "2026-11-16",
        "phase_transfer": {"year": 2027, "into": "post_16"}}),
    )
    .await;
    let transfer = handoffs(store)
        .await
        .into_iter()
        .find(|h| h.kind == "phase_transfer")
        .unwrap();
    // "31st March in the calendar year of the transfer": the end of that day, BST.
    assert_eq!(transfer.due_at, Some(at("2027-03-31T22:59:59.999Z")));
    // The plan ceasing ends the duty.
    news(
        &p,
        "la-send",
        at("2026-11-30T10:00:00Z"),
        "ehc_plan.ceased",
        json!({"plan_id": "P-1", "ceased_on": "2026-11-30"}),
    )
    .await;
    let transfer = handoffs(store)
        .await
        .into_iter()
        .find(|h| h.kind == "phase_transfer")
        .unwrap();
    assert_eq!(transfer.state, "closed");
}

async fn a_phase_transfer_whose_date_has_passed_or_cannot_exist_opens_no_clock(store: &Store) {
    let p = pipeline(store);
    // The move was this September: 15 February 2026 passed before the plan arrived.
    news(
        &p,
        "la-send",
        at(MONDAY),
        "ehc_plan.final",
        json!({
        "plan_id": "P-1", "issued_on": "2026-11-16",
        "phase_transfer": {"year": 2026, "into": "school"}}),
    )
    .await;
    assert!(
        handoffs(store)
            .await
            .iter()
            .all(|h| h.kind != "phase_transfer")
    );
    // A year no deadline can be counted in: quarantined, naming the field.
    let outcome = submit(
        &p,
        Submission {
            agency: "la-send",
            occurred: at(MONDAY),
            as_at: None,
            arrived: at(MONDAY),
            kind: "ehc_plan.final",
            payload: json!({"plan_id": "P-2", "issued_on": "2026-11-16",
                            "phase_transfer": {"year": 65000, "into": "school"}}),
        },
    )
    .await;
    match outcome {
        InputOutcome::Quarantined { step, problems, .. } => {
            assert_eq!(step, "handoff");
            assert_eq!(problems[0].field, "payload.phase_transfer.year");
            assert!(!problems[0].reason.contains("65000"));
        }
        other => panic!("expected quarantine, got {other:?}"),
    }
    // A plan issued at the edge of chrono's range: quarantined, not a panic.
    let outcome = submit(
        &p,
        Submission {
            agency: "la-send",
            occurred: at(MONDAY),
            as_at: None,
            arrived: at(MONDAY),
            kind: "ehc_plan.final",
            payload: json!({"plan_id": "P-3", "issued_on": "+262142-12-31"}),
        },
    )
    .await;
    assert!(
        matches!(&outcome, InputOutcome::Quarantined { problems, .. } if problems[0].field == "payload.issued_on"),
        "{outcome:?}"
    );
}

/// A referral of `urgency` made at `when`.
async fn refer(p: &Pipeline, when: DateTime<Utc>, reference: &str, urgency: &str) {
    news(
        p,
        "school-a",
        when,
        "referral.made",
        json!({"referral_id": reference, "to_agency": "camhs", "urgency": urgency}),
    )
    .await;
}

async fn each_urgency_has_its_own_acknowledgement_deadline(store: &Store) {
    let p = pipeline(store);
    let made = at("2026-11-16T15:00:00Z");
    refer(&p, made, "R-E", "emergency").await;
    refer(&p, made, "R-U", "urgent").await;
    refer(&p, made, "R-R", "routine").await;
    let due = |hs: &[Handoff], r: &str| hs.iter().find(|h| h.reference == r).unwrap().due_at;
    let hs = handoffs(store).await;
    // Emergency: 4 working hours, 15:00-17:00 Monday then 09:00-11:00 Tuesday.
    let emergency = at("2026-11-17T11:00:00Z");
    assert_eq!(due(&hs, "R-E"), Some(emergency));
    // Urgent: 1 working day, by the end of Tuesday.
    assert_eq!(due(&hs, "R-U"), Some(at("2026-11-17T23:59:59.999Z")));
    // Routine: 2 working days, by the end of Wednesday.
    assert_eq!(due(&hs, "R-R"), Some(at("2026-11-18T23:59:59.999Z")));
    assert_eq!(
        scheduler::tick(&p, emergency - Duration::seconds(1))
            .await
            .unwrap()
            .steps,
        0
    );
    assert_eq!(scheduler::tick(&p, emergency).await.unwrap().steps, 1);
    assert_eq!(
        notices(store).await,
        vec![("camhs".to_owned(), "handoff.reminder".to_owned())]
    );
}

async fn a_redirected_emergency_stays_an_emergency(store: &Store) {
    let p = pipeline(store);
    refer(&p, at("2026-11-16T15:00:00Z"), "R-E", "emergency").await;
    news(
        &p,
        "camhs",
        at("2026-11-17T10:00:00Z"),
        "referral.redirected",
        json!({"referral_id": "R-E", "to_agency": "paediatrics"}),
    )
    .await;
    let hs = handoffs(store).await;
    let onward = hs.iter().find(|h| h.to_agency == "paediatrics").unwrap();
    assert_eq!(onward.period, "4 working hours");
    assert_eq!(onward.due_at, Some(at("2026-11-17T14:00:00Z")));
}

/// Loads `CONFIG` with `extra` appended in place of its `[history]` table.
fn config_with(extra: &str) -> Result<Validated, config::ConfigErrors> {
    let text = config_text().replace("[history]\nwindow = \"28 days\"\n", extra);
    config::load_str(std::path::Path::new("clocks-test.toml"), &text)
}

/// The key of each problem `extra` causes, with its reason.
fn problems(extra: &str) -> Vec<(String, String)> {
    let errors = config_with(extra).expect_err("refused");
    errors
        .0
        .into_iter()
        .map(|e| {
            assert_eq!(e.file, std::path::Path::new("clocks-test.toml"));
            (e.key, e.reason)
        })
        .collect()
}

#[test]
fn check_config_names_the_key_of_a_bad_history_window_urgency_or_working_hours() {
    let p = problems("[history]\nwindow = \"next 15 February\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "history.window");
    assert!(p[0].1.contains("length of time"), "{p:?}");

    let p = problems("[history]\nwindow = \"soon\"\n");
    assert_eq!(p[0].0, "history.window", "{p:?}");

    let p = problems("[handoffs.urgency]\nemergency = \"4 fortnights\"\n");
    assert_eq!(p[0].0, "handoffs.urgency.emergency", "{p:?}");

    let p = problems("[handoffs.deadlines]\nphase_transfer = \"next 1 March\"\n");
    assert_eq!(p[0].0, "handoffs.deadlines.phase_transfer", "{p:?}");
    assert!(p[0].1.contains("reg. 18"), "{p:?}");
}

async fn a_file_imported_as_one_input_counts_its_history(store: &Store) {
    use throughline_hub::import::{FileDigest, import_input};
    let p = pipeline(store);
    // The local authority's system exports a plan issued in 2021, restated as at today.
    let body = serde_json::to_vec(&json!([
        {
            "schema_version": 1,
            "occurred_at": "2021-09-01T00:00:00Z",
            "as_at": MONDAY,
            "source": {"agency": "la-send", "system": "test", "adapter": "test"},
            "subject": {"identifiers": {"nhs_number": NHS}},
            "kind": "ehc_plan.final",
            "payload": {"plan_id": "P-OLD", "issued_on": "2021-09-01"},
        },
        {
            "schema_version": 1,
            "occurred_at": MONDAY,
            "source": {"agency": "la-send", "system": "test", "adapter": "test"},
            "subject": {"identifiers": {"nhs_number": NHS}},
            "kind": "ehc_needs_assessment.requested",
            "payload": {"request_id": "R-1", "requested_by": "parent", "received_on": "2026-11-16"},
        },
    ]))
    .unwrap();
    let digest = FileDigest::of(&body);
    let first = import_input(&p, "la-send-api", digest, body.clone())
        .await
        .unwrap();
    assert_eq!(first.event_ids.len(), 2);
    assert_eq!(
        first.history, 1,
        "the plan of 2021 is history, the request news"
    );
    let again = import_input(&p, "la-send-api", FileDigest::of(&body), body)
        .await
        .unwrap();
    assert_eq!(again.history, 0, "a duplicate commits nothing");
}
