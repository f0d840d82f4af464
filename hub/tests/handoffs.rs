//! Handoff tracking against both backends, on a clock the tests control: events carry the times
//! they happened, and the scheduler is ticked at chosen instants (`scheduler::tick(now)`), so
//! deadlines weeks away are crossed without waiting.

#[macro_use]
mod backends;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use throughline_contracts::adapter::{InputOutcome, RawInput};
use throughline_hub::config::{self, Validated};
use throughline_hub::deliver::Wakers;
use throughline_hub::handoff::scheduler;
use throughline_hub::pipeline::{Origin, Pipeline};
use throughline_hub::store::{self, Store, handoffs::Handoff};
use uuid::Uuid;

on_both_backends!(
    a_referral_answered_in_time_never_escalates,
    silence_walks_the_escalation_chain_one_step_at_a_time,
    a_declined_referral_with_no_new_owner_escalates_at_once,
    a_redirect_hands_the_referral_to_the_new_owner,
    only_the_receiver_may_acknowledge,
    a_timer_that_fell_due_while_the_hub_was_down_fires_once_after_restart,
    a_child_left_without_any_agency_is_handed_to_the_local_authority,
    an_ehc_needs_assessment_runs_on_statutory_clocks,
    a_transfer_is_answered_by_the_destination_joining,
    an_exemption_pauses_the_clock_and_moves_the_deadline,
    a_child_handed_to_the_local_authority_once_can_be_orphaned_again,
    the_receivers_own_record_of_the_work_answers_a_referral,
);

const CONFIG: &str = r#"
[[agencies]]
id = "school-a"
role = "school"
school_urns = ["100001"]
sink = { type = "webhook", url = "http://127.0.0.1:9/none", secret = "${file:SECRET_FILE}" }

[[agencies]]
id = "school-b"
role = "school"
school_urns = ["100002"]
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
# Beyond the school defaults (docs/security.md): a scenario here has school A send the plan
# that makes it the child's lead.
may_send = ["school.*", "sen_support.*", "attendance.*", "exclusion.*", "ehc_plan.*"]

[[sources]]
id = "school-b-api"
agency = "school-b"
system = "sims"
api_key = "${file:KEYDIR/school-b}"

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
id = "isa-all"
agency = "school-a"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]

[[sharing_agreements]]
id = "isa-school-b"
agency = "school-b"
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
tick_ms = 1000
"#;

fn config() -> Arc<Validated> {
    let dir = std::env::temp_dir().join(format!("throughline-keys-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for agency in ["school-a", "school-b", "camhs", "paediatrics", "la"] {
        std::fs::write(dir.join(agency), format!("{agency}-api-key-0123456789")).unwrap();
    }
    let secret = dir.join("webhook-secret");
    std::fs::write(&secret, "a-test-secret-0123456789").unwrap();
    let text = CONFIG
        .replace("SECRET_FILE", secret.to_str().unwrap())
        .replace("KEYDIR", dir.to_str().unwrap());
    Arc::new(config::load_str(std::path::Path::new("handoffs-test.toml"), &text).unwrap())
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

/// Submits one event from `agency` (through its API source) that happened at `when`.
async fn submit(
    p: &Pipeline,
    agency: &str,
    when: DateTime<Utc>,
    ids: serde_json::Value,
    kind: &str,
    payload: serde_json::Value,
) -> InputOutcome {
    let body = json!({
        "schema_version": 1,
        "occurred_at": when,
        "source": {"agency": agency, "system": "test", "adapter": "test"},
        "subject": {"identifiers": ids},
        "kind": kind,
        "payload": payload,
    });
    let raw = RawInput {
        source_id: format!("{agency}-api"),
        content_type: Some("application/json".into()),
        body: Bytes::from(serde_json::to_vec(&body).unwrap()),
        received_at: when,
        message_id: None,
    };
    p.process(&raw, "canonical-json", Origin::Fresh).await
}

fn committed(o: InputOutcome) -> Uuid {
    match o {
        InputOutcome::Committed { event_ids, .. } => event_ids[0],
        other => panic!("expected a commit, got {other:?}"),
    }
}

const NHS: &str = "9434765919";

fn nhs() -> serde_json::Value {
    json!({"nhs_number": NHS})
}

async fn handoffs(store: &Store) -> Vec<Handoff> {
    let mut c = store.acquire().await.unwrap();
    let child = store::identity::lookup(&mut c, "nhs", NHS)
        .await
        .unwrap()
        .expect("the child exists");
    store::handoffs::for_child(&mut c, child).await.unwrap()
}

/// (agency, kind) of every hub notice queued, in order.
async fn notices(store: &Store) -> Vec<(String, String)> {
    use sqlx::Row;
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

async fn open_alert_kinds(store: &Store) -> Vec<String> {
    let mut c = store.acquire().await.unwrap();
    store::alerts::open(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect()
}

fn pair(agency: &str, kind: &str) -> (String, String) {
    (agency.to_owned(), kind.to_owned())
}

/// Monday 16 November 2026, 09:00 GMT: two working days on is the end of Wednesday 18th.
const MONDAY: &str = "2026-11-16T09:00:00Z";
const DUE: &str = "2026-11-18T23:59:59.999Z";

async fn refer(p: &Pipeline, when: DateTime<Utc>) {
    committed(
        submit(
            p,
            "school-a",
            when,
            nhs(),
            "referral.made",
            json!({"referral_id": "R-1", "to_agency": "camhs"}),
        )
        .await,
    );
}

async fn a_referral_answered_in_time_never_escalates(store: &Store) {
    let p = pipeline(store);
    refer(&p, at(MONDAY)).await;
    let h = &handoffs(store).await[0];
    assert_eq!(h.kind, "referral");
    assert_eq!(h.state, "made");
    assert_eq!(h.due_at, Some(at(DUE)));
    committed(
        submit(
            &p,
            "camhs",
            at(MONDAY) + Duration::days(1),
            nhs(),
            "referral.accepted",
            json!({"referral_id": "R-1"}),
        )
        .await,
    );
    let report = scheduler::tick(&p, at(DUE) + Duration::days(30))
        .await
        .unwrap();
    assert_eq!(report.steps, 0);
    let h = &handoffs(store).await[0];
    assert_eq!(h.state, "accepted");
    assert!(h.escalated_at.is_none());
    assert!(notices(store).await.is_empty());
}

async fn silence_walks_the_escalation_chain_one_step_at_a_time(store: &Store) {
    let p = pipeline(store);
    refer(&p, at(MONDAY)).await;
    let due = at(DUE);
    assert_eq!(
        scheduler::tick(&p, due - Duration::seconds(1))
            .await
            .unwrap()
            .steps,
        0
    );
    assert_eq!(scheduler::tick(&p, due).await.unwrap().steps, 1);
    // The same instant again, and a second later: the step was sent once.
    assert_eq!(scheduler::tick(&p, due).await.unwrap().steps, 0);
    assert_eq!(
        scheduler::tick(&p, due + Duration::seconds(1))
            .await
            .unwrap()
            .steps,
        0
    );
    assert_eq!(
        notices(store).await,
        vec![pair("camhs", "handoff.reminder")]
    );
    // One working day after the deadline (Thursday 19th, end of day): the sender hears.
    let sender_at = at("2026-11-19T23:59:59.999Z");
    assert_eq!(
        scheduler::tick(&p, sender_at - Duration::seconds(1))
            .await
            .unwrap()
            .steps,
        0
    );
    assert_eq!(scheduler::tick(&p, sender_at).await.unwrap().steps, 1);
    // Two working days after it (Friday 20th): the local authority.
    assert_eq!(
        scheduler::tick(&p, at("2026-11-20T23:59:59.999Z"))
            .await
            .unwrap()
            .steps,
        1
    );
    assert_eq!(
        scheduler::tick(&p, at("2027-01-01T00:00:00Z"))
            .await
            .unwrap()
            .steps,
        0
    );
    assert_eq!(
        notices(store).await,
        vec![
            pair("camhs", "handoff.reminder"),
            pair("school-a", "handoff.not_picked_up"),
            pair("la-send", "handoff.escalated"),
        ]
    );
    let h = &handoffs(store).await[0];
    assert_eq!(h.escalation_step, 3);
    assert!(h.escalated_at.is_some());
    assert!(h.next_check_at.is_none());
    let mut c = store.acquire().await.unwrap();
    let sent = store::handoffs::escalations(&mut c).await.unwrap();
    assert_eq!(sent.len(), 3);
    for s in &sent {
        assert!(s.sent_at >= s.scheduled_at);
    }
    drop(c);
    assert!(
        open_alert_kinds(store)
            .await
            .contains(&"handoff_escalated".to_owned())
    );
}

async fn a_declined_referral_with_no_new_owner_escalates_at_once(store: &Store) {
    let p = pipeline(store);
    refer(&p, at(MONDAY)).await;
    committed(
        submit(
            &p,
            "camhs",
            at(MONDAY) + Duration::hours(3),
            nhs(),
            "referral.declined",
            json!({"referral_id": "R-1", "reason": "threshold not met"}),
        )
        .await,
    );
    let h = &handoffs(store).await[0];
    assert_eq!(h.state, "declined");
    assert!(h.escalated_at.is_some(), "escalated when declined");
    assert!(
        notices(store)
            .await
            .contains(&pair("la-send", "handoff.escalated"))
    );
    // Nothing more on the clock: the decline was the answer.
    assert_eq!(
        scheduler::tick(&p, at(DUE) + Duration::days(10))
            .await
            .unwrap()
            .steps,
        0
    );
}

async fn a_redirect_hands_the_referral_to_the_new_owner(store: &Store) {
    let p = pipeline(store);
    refer(&p, at(MONDAY)).await;
    committed(
        submit(
            &p,
            "camhs",
            at(MONDAY) + Duration::hours(3),
            nhs(),
            "referral.redirected",
            json!({"referral_id": "R-1", "to_agency": "paediatrics"}),
        )
        .await,
    );
    let hs = handoffs(store).await;
    assert_eq!(hs.len(), 2);
    assert_eq!(hs[0].state, "redirected");
    assert_eq!(hs[0].new_owner.as_deref(), Some("paediatrics"));
    assert_eq!(hs[1].to_agency, "paediatrics");
    assert_eq!(hs[1].from_agency, "camhs");
    assert_eq!(hs[1].parent_id, Some(hs[0].id));
    assert_eq!(hs[1].state, "made");
    // The new owner answers through handoff.acknowledged, naming the handoff.
    committed(
        submit(
            &p,
            "paediatrics",
            at(MONDAY) + Duration::hours(5),
            nhs(),
            "handoff.acknowledged",
            json!({"handoff_id": hs[1].id, "outcome": "accepted"}),
        )
        .await,
    );
    assert_eq!(handoffs(store).await[1].state, "accepted");
    assert_eq!(
        scheduler::tick(&p, at(DUE) + Duration::days(10))
            .await
            .unwrap()
            .steps,
        0
    );
}

async fn only_the_receiver_may_acknowledge(store: &Store) {
    let p = pipeline(store);
    refer(&p, at(MONDAY)).await;
    let h = handoffs(store).await.remove(0);
    let outcome = submit(
        &p,
        "school-a",
        at(MONDAY) + Duration::hours(1),
        nhs(),
        "handoff.acknowledged",
        json!({"handoff_id": h.id, "outcome": "accepted"}),
    )
    .await;
    match outcome {
        InputOutcome::Quarantined { step, problems, .. } => {
            assert_eq!(step, "handoff");
            assert_eq!(problems[0].field, "payload.handoff_id");
        }
        other => panic!("the sender's acknowledgement must be refused, got {other:?}"),
    }
    // Nor may anyone forge the hub's own notices.
    let forged = submit(
        &p,
        "camhs",
        at(MONDAY) + Duration::hours(1),
        nhs(),
        "handoff.reminder",
        json!({"handoff_id": h.id, "handoff_kind": "referral", "reference": "R-1",
               "from_agency": "school-a", "to_agency": "camhs",
               "made_at": MONDAY, "reason": "deadline_passed", "step": 1}),
    )
    .await;
    assert!(matches!(forged, InputOutcome::Quarantined { ref step, .. } if step == "validate"));
    assert_eq!(handoffs(store).await[0].state, "made");
}

async fn a_timer_that_fell_due_while_the_hub_was_down_fires_once_after_restart(store: &Store) {
    {
        let p = pipeline(store);
        refer(&p, at(MONDAY)).await;
        // Ticks before the deadline: nothing to send. Then the hub "stops".
        assert_eq!(
            scheduler::tick(&p, at(DUE) - Duration::hours(1))
                .await
                .unwrap()
                .steps,
            0
        );
    }
    // A new pipeline on the same store, long after the deadline: the reminder fires once.
    let p = pipeline(store);
    let late = at(DUE) + Duration::hours(6);
    assert_eq!(scheduler::tick(&p, late).await.unwrap().steps, 1);
    let again = pipeline(store);
    assert_eq!(scheduler::tick(&again, late).await.unwrap().steps, 0);
    assert_eq!(
        notices(store).await,
        vec![pair("camhs", "handoff.reminder")]
    );
}

async fn a_child_left_without_any_agency_is_handed_to_the_local_authority(store: &Store) {
    let p = pipeline(store);
    committed(
        submit(
            &p,
            "school-a",
            at(MONDAY),
            nhs(),
            "ehc_plan.final",
            json!({"plan_id": "P-1", "issued_on": "2026-11-16"}),
        )
        .await,
    );
    committed(
        submit(
            &p,
            "school-a",
            at(MONDAY) + Duration::days(1),
            nhs(),
            "school.left",
            json!({"school_urn": "100001", "left_on": "2026-11-17", "destination": {"type": "unknown"}}),
        )
        .await,
    );
    let hs = handoffs(store).await;
    let closure = hs
        .iter()
        .find(|h| h.kind == "closure")
        .expect("a closure handoff");
    assert_eq!(closure.to_agency, "la-send");
    assert_eq!(closure.from_agency, "school-a");
    assert!(
        notices(store)
            .await
            .contains(&pair("la-send", "child.no_lead_agency"))
    );
    let alerts = open_alert_kinds(store).await;
    assert!(alerts.contains(&"no_lead_agency".to_owned()), "{alerts:?}");
    assert!(
        alerts.contains(&"lead_agency_lost".to_owned()),
        "{alerts:?}"
    );
    // The local authority acknowledges; the closure is answered and never escalates.
    committed(
        submit(
            &p,
            "la-send",
            at(MONDAY) + Duration::days(2),
            nhs(),
            "handoff.acknowledged",
            json!({"handoff_id": closure.id, "outcome": "accepted"}),
        )
        .await,
    );
    let hs = handoffs(store).await;
    assert_eq!(
        hs.iter().find(|h| h.kind == "closure").unwrap().state,
        "accepted"
    );
}

async fn an_ehc_needs_assessment_runs_on_statutory_clocks(store: &Store) {
    let p = pipeline(store);
    committed(
        submit(
            &p,
            "school-a",
            at("2025-11-17T09:00:00Z"),
            nhs(),
            "ehc_needs_assessment.requested",
            json!({"request_id": "EHC-1", "requested_by": "school", "received_on": "2025-11-17"}),
        )
        .await,
    );
    let hs = handoffs(store).await;
    assert_eq!(hs[0].kind, "ehc_needs_assessment");
    assert_eq!(hs[0].to_agency, "la-send");
    // Six calendar weeks from the request: Monday 29 December 2025, end of day.
    assert_eq!(hs[0].due_at, Some(at("2025-12-29T23:59:59.999Z")));
    committed(
        submit(
            &p,
            "la-send",
            at("2025-12-01T10:00:00Z"),
            nhs(),
            "ehc_needs_assessment.decision",
            json!({"request_id": "EHC-1", "decision": "assess", "decided_on": "2025-12-01"}),
        )
        .await,
    );
    let hs = handoffs(store).await;
    assert_eq!(hs[0].state, "accepted");
    let plan = hs
        .iter()
        .find(|h| h.kind == "ehc_plan")
        .expect("the 20-week clock");
    // Twenty weeks from the request, not from the decision: Monday 6 April 2026 (BST).
    assert_eq!(plan.due_at, Some(at("2026-04-06T22:59:59.999Z")));
    committed(
        submit(
            &p,
            "la-send",
            at("2026-03-02T10:00:00Z"),
            nhs(),
            "ehc_plan.final",
            json!({"plan_id": "P-9", "issued_on": "2026-03-02"}),
        )
        .await,
    );
    let hs = handoffs(store).await;
    assert_eq!(
        hs.iter().find(|h| h.kind == "ehc_plan").unwrap().state,
        "closed"
    );
    let review = hs
        .iter()
        .find(|h| h.kind == "annual_review")
        .expect("annual review");
    assert_eq!(review.due_at, Some(at("2027-03-02T23:59:59.999Z")));
    assert_eq!(
        scheduler::tick(&p, at("2026-06-01T00:00:00Z"))
            .await
            .unwrap()
            .steps,
        0
    );
}

async fn a_transfer_is_answered_by_the_destination_joining(store: &Store) {
    let p = pipeline(store);
    committed(
        submit(
            &p,
            "school-a",
            at(MONDAY),
            nhs(),
            "school.left",
            json!({"school_urn": "100001", "left_on": "2026-11-16",
                   "destination": {"type": "school", "school_urn": "100002"}}),
        )
        .await,
    );
    let hs = handoffs(store).await;
    let t = hs
        .iter()
        .find(|h| h.kind == "transfer")
        .expect("a transfer");
    assert_eq!(t.to_agency, "school-b");
    committed(
        submit(
            &p,
            "school-b",
            at(MONDAY) + Duration::days(2),
            nhs(),
            "school.joined",
            json!({"school_urn": "100002", "joined_on": "2026-11-18"}),
        )
        .await,
    );
    let hs = handoffs(store).await;
    assert_eq!(
        hs.iter().find(|h| h.kind == "transfer").unwrap().state,
        "accepted"
    );
    // The pupil is on a roll again: no closure was needed.
    assert!(!hs.iter().any(|h| h.kind == "closure"));
}

async fn an_exemption_pauses_the_clock_and_moves_the_deadline(store: &Store) {
    use throughline_hub::handoff::exemption::{self, Exemption, ExemptionError};
    let p = pipeline(store);
    refer(&p, at(MONDAY)).await;
    let id = handoffs(store).await[0].id;
    let camhs = throughline_contracts::AgencyId::parse("camhs").unwrap();
    let sender = throughline_contracts::AgencyId::parse("school-a").unwrap();
    // The sender may not stop the receiver's clock.
    let refused = exemption::pause(&p, id, &sender, at(MONDAY), None, Exemption::ChildAway).await;
    assert!(matches!(refused, Err(ExemptionError::NotAllowed)));
    // An open exemption from Tuesday: no deadline, nothing escalates however late it gets.
    let h = exemption::pause(
        &p,
        id,
        &camhs,
        at("2026-11-17T09:00:00Z"),
        None,
        Exemption::ChildAway,
    )
    .await
    .unwrap();
    assert_eq!(h.due_at, None);
    assert_eq!(
        scheduler::tick(&p, at(DUE) + Duration::days(3))
            .await
            .unwrap()
            .steps,
        0
    );
    // It ends on Thursday: two working days (Wednesday and Thursday) were paused, so the
    // deadline moves from Wednesday to Friday 20 November.
    let h = exemption::resume(&p, id, &camhs, at("2026-11-19T09:00:00Z"))
        .await
        .unwrap();
    let moved = at("2026-11-20T23:59:59.999Z");
    assert_eq!(h.due_at, Some(moved));
    assert_eq!(
        scheduler::tick(&p, moved - Duration::seconds(1))
            .await
            .unwrap()
            .steps,
        0
    );
    assert_eq!(scheduler::tick(&p, moved).await.unwrap().steps, 1);
    assert_eq!(
        notices(store).await,
        vec![pair("camhs", "handoff.reminder")]
    );
}

async fn a_child_handed_to_the_local_authority_once_can_be_orphaned_again(store: &Store) {
    let p = pipeline(store);
    let closures = |hs: &[Handoff]| hs.iter().filter(|h| h.kind == "closure").count();
    for (n, day) in ["2026-11-02", "2026-11-09"].iter().enumerate() {
        let start = at(&format!("{day}T09:00:00Z"));
        committed(
            submit(
                &p,
                "camhs",
                start,
                nhs(),
                "episode_of_care.opened",
                json!({"episode_id": format!("E{n}"), "service": "camhs", "on": day}),
            )
            .await,
        );
        committed(
            submit(
                &p,
                "camhs",
                start + Duration::days(2),
                nhs(),
                "episode_of_care.closed",
                json!({"episode_id": format!("E{n}"), "service": "camhs", "on": day}),
            )
            .await,
        );
        let hs = handoffs(store).await;
        assert_eq!(
            closures(&hs),
            n + 1,
            "closure {n} was handed to the local authority"
        );
        let open = hs
            .iter()
            .find(|h| h.kind == "closure" && h.state == "made")
            .unwrap();
        // The local authority picks the child up; it is now involved, but is not a lead.
        committed(
            submit(
                &p,
                "la-send",
                start + Duration::days(3),
                nhs(),
                "handoff.acknowledged",
                json!({"handoff_id": open.id, "outcome": "accepted"}),
            )
            .await,
        );
        // Accepting the closure leaves the child led by the team: no new closure.
        assert_eq!(closures(&handoffs(store).await), n + 1);
    }
}

async fn the_receivers_own_record_of_the_work_answers_a_referral(store: &Store) {
    let p = pipeline(store);
    refer(&p, at(MONDAY)).await;
    // CAMHS's own system opens an episode of care: that is CAMHS taking the referral on.
    committed(
        submit(
            &p,
            "camhs",
            at(MONDAY) + Duration::hours(20),
            nhs(),
            "episode_of_care.opened",
            json!({"episode_id": "E-1", "service": "camhs", "on": "2026-11-17"}),
        )
        .await,
    );
    assert_eq!(handoffs(store).await[0].state, "accepted");
    assert_eq!(
        scheduler::tick(&p, at(DUE) + Duration::days(5))
            .await
            .unwrap()
            .steps,
        0
    );
}
