//! Handoffs end to end: the real `throughline` binary with its handoff clock running on the wall
//! clock, real local HTTP receivers, and the HTTP API. Deadlines are made short by
//! configuration (`deadlines.referral = "1 hour"`) and by events that happened most of an hour
//! ago, so the clock's real behaviour is exercised without waiting long.

mod common;

use common::*;
use serde_json::{Value, json};

const NHS: &str = "9434765919";
const UPN: &str = "B801200005001";

struct Setup {
    hub: Hub,
    school: Receiver,
    camhs: Receiver,
    la: Receiver,
}

async fn setup() -> Setup {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let la = Receiver::start(SECRET).await;
    let (s, c, l) = (school.url.clone(), camhs.url.clone(), la.url.clone());
    let hub = Hub::start(move |store_url, port| {
        format!(
            r#"
[store]
url = "{store_url}"
[api]
listen = "127.0.0.1:{port}"
[log]
format = "json"
level = "info"
[delivery]
initial_backoff_ms = 50
max_backoff_ms = 400
poll_interval_ms = 100

[[agencies]]
id = "oakfield-primary"
role = "school"
sink = {{ type = "webhook", url = "{s}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "camhs-north"
role = "health"
sink = {{ type = "webhook", url = "{c}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "la-send"
role = "send"
sink = {{ type = "webhook", url = "{l}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[sources]]
id = "oakfield-mis"
agency = "oakfield-primary"
system = "arbor"
api_key = "${{TEST_SCHOOL_KEY}}"

[[sources]]
id = "camhs-epr"
agency = "camhs-north"
system = "rio"
api_key = "${{TEST_CAMHS_KEY}}"

[[sources]]
id = "la-send-system"
agency = "la-send"
system = "capita-one"
api_key = "${{TEST_LA_KEY}}"

[[routes]]
kinds = ["*"]
roles = ["school", "health", "send"]

[[sharing_agreements]]
id = "ISA-school"
agency = "oakfield-primary"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = ["referral.made", "handoff.reminder"]
fields = ["subject.identifiers.nhs_number", "payload.*"]

[[sharing_agreements]]
id = "ISA-la"
agency = "la-send"
kinds = ["handoff.escalated", "child.no_lead_agency"]
fields = ["subject.identifiers.nhs_number", "subject.identifiers.upn", "payload.*"]

[handoffs]
local_authority = "la-send"
tick_ms = 200
deadlines.referral = "1 hour"
"#
        )
    })
    .await;
    Setup {
        hub,
        school,
        camhs,
        la,
    }
}

/// A referral from the school to CAMHS that was made `ago` ago.
fn referral(id: &str, ago: chrono::Duration) -> Value {
    json!({
        "schema_version": 1,
        "occurred_at": chrono::Utc::now() - ago,
        "source": {"agency": "oakfield-primary", "system": "arbor", "adapter": "http"},
        "subject": {"identifiers": {"nhs_number": NHS, "upn": UPN}},
        "kind": "referral.made",
        "payload": {"referral_id": id, "to_agency": "camhs-north"},
    })
}

fn kinds(r: &Receiver) -> Vec<String> {
    r.delivered()
        .iter()
        .map(|d| d.body["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The distinct reminder events `r` received about the referral `reference`. Delivery is at
/// least once: a hub killed after the receiver took a notification but before recording it
/// delivered sends the same notification again, with the same event id and idempotency key, which
/// the receiver deduplicates on. That is one reminder, not two; a second reminder event is not.
fn reminders_for(r: &Receiver, reference: &str) -> usize {
    r.delivered()
        .iter()
        .filter(|d| {
            d.body["kind"] == "handoff.reminder" && d.body["payload"]["reference"] == reference
        })
        .map(|d| {
            d.body["event_id"]
                .as_str()
                .expect("a notification names its event")
                .to_owned()
        })
        .collect::<std::collections::HashSet<_>>()
        .len()
}

#[tokio::test]
async fn the_receiver_acknowledges_through_the_api_and_nobody_else_may() {
    let s = setup().await;
    s.hub
        .submit(SCHOOL_KEY, &referral("R-ACK", chrono::Duration::minutes(1)))
        .await;
    eventually("CAMHS receives the referral", || {
        kinds(&s.camhs).contains(&"referral.made".to_owned())
    })
    .await;

    let (status, list) = s.hub.get(CAMHS_KEY, "/v1/handoffs?open=true").await;
    assert_eq!(status, 200);
    let handoff = &list["handoffs"][0];
    assert_eq!(handoff["reference"], "R-ACK");
    assert_eq!(handoff["to_agency"], "camhs-north");
    let id = handoff["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/handoffs/{id}/acknowledge");
    // CAMHS's webhook answered 2xx: the transport acknowledged the handoff.
    let mut state = String::new();
    for _ in 0..100 {
        let (_, h) = s.hub.get(CAMHS_KEY, &format!("/v1/handoffs/{id}")).await;
        state = h["state"].as_str().unwrap_or_default().to_owned();
        if state == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "delivered");

    // The sender may not answer its own referral; an agency with no part in it cannot see it.
    let (status, problem) = s
        .hub
        .post(SCHOOL_KEY, &path, &json!({"outcome": "accepted"}))
        .await;
    assert_eq!(status, 403, "{problem}");
    let (status, _) = s
        .hub
        .post(LA_KEY, &path, &json!({"outcome": "accepted"}))
        .await;
    assert_eq!(status, 404);
    let (status, problem) = s
        .hub
        .post(CAMHS_KEY, &path, &json!({"outcome": "maybe"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "body");

    let (status, accepted) = s
        .hub
        .post(CAMHS_KEY, &path, &json!({"outcome": "accepted"}))
        .await;
    assert_eq!(status, 202, "{accepted}");
    let (_, h) = s.hub.get(SCHOOL_KEY, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(h["state"], "accepted");
    // The referrer hears the answer as an ordinary notification.
    eventually("the school hears the referral was accepted", || {
        s.school.delivered().iter().any(|d| {
            d.body["kind"] == "handoff.acknowledged" && d.body["payload"]["outcome"] == "accepted"
        })
    })
    .await;
    // The answer was recorded naming the child only by what CAMHS may see: its NHS number.
    let child = s.camhs.delivered()[0].body["child_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, timeline) = s
        .hub
        .get(CAMHS_KEY, &format!("/v1/children/{child}/timeline"))
        .await;
    let answer = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "handoff.acknowledged")
        .expect("the acknowledgement is in CAMHS's timeline")
        .clone();
    assert_eq!(answer["subject"]["identifiers"]["nhs_number"], NHS);
    assert!(
        answer["subject"]["identifiers"].get("upn").is_none(),
        "{answer}"
    );
    // Answered twice: refused and kept in quarantine, never silently applied.
    let (status, _) = s
        .hub
        .post(CAMHS_KEY, &path, &json!({"outcome": "declined"}))
        .await;
    assert_eq!(status, 422);
    s.hub.assert_logs_free_of(&[NHS, UPN]);
}

#[tokio::test]
async fn silence_past_the_deadline_reminds_the_receiver_once_even_across_a_kill() {
    let mut s = setup().await;
    // Due in about four seconds.
    let ago = chrono::Duration::hours(1) - chrono::Duration::seconds(4);
    s.hub.submit(SCHOOL_KEY, &referral("R-LATE", ago)).await;
    eventually("CAMHS receives the referral", || {
        kinds(&s.camhs).contains(&"referral.made".to_owned())
    })
    .await;
    // Killed before the deadline, down across it, then started again.
    s.hub.kill9();
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(reminders_for(&s.camhs, "R-LATE"), 0);
    s.hub.restart().await;
    eventually("the reminder fires after the restart", || {
        reminders_for(&s.camhs, "R-LATE") >= 1
    })
    .await;
    // Another restart and a few more ticks: still exactly one reminder.
    s.hub.restart().await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(reminders_for(&s.camhs, "R-LATE"), 1);
    let (_, metrics) = {
        let r = reqwest::get(format!("{}/metrics", s.hub.base))
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert!(
        metrics.contains("throughline_handoffs_breached 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("throughline_handoff_escalations_sent_total 1"),
        "{metrics}"
    );
    s.hub.assert_logs_free_of(&[NHS, UPN]);
}

#[tokio::test]
async fn a_decline_without_a_new_owner_reaches_the_local_authority_at_once() {
    let s = setup().await;
    s.hub
        .submit(SCHOOL_KEY, &referral("R-NO", chrono::Duration::minutes(1)))
        .await;
    let (_, list) = s.hub.get(CAMHS_KEY, "/v1/handoffs?open=true").await;
    let id = list["handoffs"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = s
        .hub
        .post(
            CAMHS_KEY,
            &format!("/v1/handoffs/{id}/acknowledge"),
            &json!({"outcome": "declined", "reason": "threshold not met"}),
        )
        .await;
    assert_eq!(status, 202);
    eventually("the local authority hears of the decline", || {
        s.la.delivered().iter().any(|d| {
            d.body["kind"] == "handoff.escalated"
                && d.body["payload"]["reason"] == "declined_without_new_owner"
        })
    })
    .await;
    // The local authority's agreement lists identifiers it may see: it can find the child.
    let notice =
        s.la.delivered()
            .into_iter()
            .find(|d| d.body["kind"] == "handoff.escalated")
            .unwrap();
    assert_eq!(notice.body["subject"]["identifiers"]["nhs_number"], NHS);
}

#[tokio::test]
async fn a_timeline_shows_each_agency_only_what_it_may_see() {
    let s = setup().await;
    s.hub
        .submit(SCHOOL_KEY, &referral("R-TL", chrono::Duration::minutes(1)))
        .await;
    eventually("CAMHS receives the referral", || {
        kinds(&s.camhs).contains(&"referral.made".to_owned())
    })
    .await;
    let child = s.camhs.delivered()[0].body["child_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/children/{child}/timeline");

    // CAMHS: the referral, projected to its agreement (NHS number, not the UPN).
    let (status, camhs) = s.hub.get(CAMHS_KEY, &path).await;
    assert_eq!(status, 200, "{camhs}");
    let event = &camhs["events"][0];
    assert_eq!(event["kind"], "referral.made");
    assert_eq!(event["subject"]["identifiers"]["nhs_number"], NHS);
    assert!(
        event["subject"]["identifiers"].get("upn").is_none(),
        "{event}"
    );
    assert_eq!(camhs["handoffs"][0]["reference"], "R-TL");
    assert_eq!(camhs["deliveries"].as_array().unwrap().len(), 1);

    // The local authority was never involved with this child: it learns nothing, not even that
    // the child exists.
    let (status, _) = s.hub.get(LA_KEY, &path).await;
    assert_eq!(status, 404);
    s.hub.assert_logs_free_of(&[NHS, UPN]);
}
