//! The trust boundary end to end (issue 13), through the real binary: each connected system may
//! assert only what is its own to say. A school cannot end CAMHS's involvement, end a child
//! protection plan, or assert local ids in another agency's namespace; each refusal is a 403
//! problem naming the field and the rule, audited, quarantined, and routed to nobody. An event
//! id or idempotency key reused for a different body is a 409 conflict, not a silent duplicate.
//! Over RabbitMQ, and from a drop folder, a refused assertion is quarantined with the rule as its
//! reason, and the next input goes through.

mod common;

use common::brokers::*;
use common::*;
use serde_json::{Value, json};
use throughline_hub::store::{self, Store};

const NHS: &str = "9434765919";
const UPN: &str = "B801200005001";
/// The regional data hub relays with the key the shared test environment calls `TEST_CSC_KEY`.
const RELAY_KEY: &str = CSC_KEY;

/// The shared test hub's agencies, plus a regional data hub that relays for the school, and the
/// school may receive every kind (so anything wrongly committed would reach it).
fn config(store_url: &str, port: u16, school: &str, camhs: &str) -> String {
    format!(
        r#"
[store]
url = "{store_url}"

[api]
listen = "127.0.0.1:{port}"

[log]
format = "json"

[delivery]
initial_backoff_ms = 50
max_backoff_ms = 400
poll_interval_ms = 100

[[agencies]]
id = "oakfield-primary"
role = "school"
sink = {{ type = "webhook", url = "{school}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "camhs-north"
role = "health"
sink = {{ type = "webhook", url = "{camhs}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "la-send"
role = "send"

[[agencies]]
id = "regional-hub"
role = "data_hub"

[[sources]]
id = "oakfield-mis"
agency = "oakfield-primary"
system = "arbor"
api_key = "${{TEST_SCHOOL_KEY}}"

[[sources]]
id = "la-send-system"
agency = "la-send"
system = "capita-one"
api_key = "${{TEST_LA_KEY}}"

[[sources]]
id = "regional-relay"
agency = "regional-hub"
system = "relay"
api_key = "${{TEST_CSC_KEY}}"
may_send = ["attendance.*"]
relays_for = ["oakfield-primary"]

[[routes]]
kinds = ["*"]
roles = ["school", "health"]

[[sharing_agreements]]
id = "ISA-school"
agency = "oakfield-primary"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = ["*"]
fields = ["subject.identifiers.nhs_number", "payload.*"]
"#,
    )
}

struct Setup {
    hub: Hub,
    school: Receiver,
    camhs: Receiver,
}

/// A hub where the LA has referred the child to CAMHS, and both the school and CAMHS have been
/// told: CAMHS is involved with the child.
async fn setup() -> Setup {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let (s, c) = (school.url.clone(), camhs.url.clone());
    let hub = Hub::start(move |url, port| config(url, port, &s, &c)).await;
    hub.submit(
        SCHOOL_KEY,
        &event(
            "oakfield-primary",
            json!({"nhs_number": NHS, "upn": UPN}),
            json!({}),
            "school.joined",
            json!({"school_urn": "100001", "joined_on": "2026-09-01"}),
        ),
    )
    .await;
    let referral = hub.submit(LA_KEY, &referral_to_camhs("REF-1")).await;
    eventually("CAMHS hears of the referral", || {
        !camhs.delivered_for(&referral).is_empty()
    })
    .await;
    Setup { hub, school, camhs }
}

fn referral_to_camhs(id: &str) -> Value {
    event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({}),
        "referral.made",
        json!({"referral_id": id, "to_agency": "camhs-north"}),
    )
}

/// (actor, action, detail) of every audit entry, read from the hub's store.
async fn audit(hub: &Hub) -> Vec<(String, String, String)> {
    let url = format!("sqlite://{}", hub.dir.path().join("store.db").display());
    let store = Store::connect(&url).await.unwrap();
    let mut conn = store.acquire().await.unwrap();
    store::audit::recent(&mut conn, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action, e.detail.unwrap_or_default()))
        .collect()
}

/// Asserts a 403 `assertion-refused` problem naming `field` and `rule`, with a quarantine id,
/// and returns the problem.
fn assert_refused(status: u16, problem: &Value, field: &str, rule: &str) -> String {
    assert_eq!(status, 403, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("/assertion-refused"),
        "{problem}"
    );
    assert_eq!(problem["step"], "authorise", "{problem}");
    let errors = problem["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field && e["reason"].as_str().unwrap().contains(rule)),
        "{field} / {rule} not named: {problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains(rule),
        "{problem}"
    );
    let text = problem.to_string();
    for value in [NHS, UPN] {
        assert!(
            !text.contains(value),
            "child data in the problem: {problem}"
        );
    }
    problem["quarantine_id"].as_str().unwrap().to_owned()
}

/// After a refusal: the next legitimate event still reaches CAMHS (its involvement stands), and
/// no notification of the refused kind reached anyone.
async fn assert_nothing_routed(s: &Setup, refused_kind: &str) {
    let next = s.hub.submit(LA_KEY, &referral_to_camhs("REF-2")).await;
    eventually("CAMHS, still involved, hears of the next referral", || {
        !s.camhs.delivered_for(&next).is_empty()
    })
    .await;
    eventually("the school hears of the next referral", || {
        !s.school.delivered_for(&next).is_empty()
    })
    .await;
    for r in [&s.school, &s.camhs] {
        assert!(
            r.received().iter().all(|n| n.body["kind"] != refused_kind),
            "a refused `{refused_kind}` was routed"
        );
    }
}

#[tokio::test]
async fn a_school_may_not_end_camhs_involvement() {
    let s = setup().await;
    let (status, problem) = s
        .hub
        .post(
            SCHOOL_KEY,
            "/v1/events",
            &event(
                "oakfield-primary",
                json!({"upn": UPN}),
                json!({}),
                "involvement.ended",
                json!({"agency": "camhs-north", "on": "2026-11-20"}),
            ),
        )
        .await;
    let qid = assert_refused(
        status,
        &problem,
        "payload.agency",
        "may_change_involvement_of: its own agency only",
    );
    let entries = audit(&s.hub).await;
    assert!(
        entries
            .iter()
            .any(|(actor, action, detail)| actor == "oakfield-mis"
                && action == "assertion.refused"
                && detail.contains("payload.agency")
                && detail.contains(&qid)),
        "refusal not audited: {entries:?}"
    );
    let listed = s.hub.cli(&["quarantine", "list"]);
    assert!(
        listed.contains(&qid) && listed.contains("authorise"),
        "{listed}"
    );
    assert_nothing_routed(&s, "involvement.ended").await;
    s.hub.assert_logs_free_of(&[NHS, UPN]);
}

#[tokio::test]
async fn a_school_may_not_end_a_child_protection_plan() {
    let s = setup().await;
    let (status, problem) = s
        .hub
        .post(
            SCHOOL_KEY,
            "/v1/events",
            &event(
                "oakfield-primary",
                json!({"upn": UPN}),
                json!({}),
                "social_care.child_protection_plan.ended",
                json!({"on": "2026-11-20"}),
            ),
        )
        .await;
    assert_refused(
        status,
        &problem,
        "kind",
        "may_send: the defaults of role `school`",
    );
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("social_care.child_protection_plan.ended"),
        "the kind is not named: {problem}"
    );
    let entries = audit(&s.hub).await;
    assert!(
        entries
            .iter()
            .any(|(actor, action, detail)| actor == "oakfield-mis"
                && action == "assertion.refused"
                && detail.contains("kind")),
        "refusal not audited: {entries:?}"
    );
    assert_nothing_routed(&s, "social_care.child_protection_plan.ended").await;
}

#[tokio::test]
async fn local_ids_only_in_the_senders_namespace_unless_it_relays() {
    let s = setup().await;
    let foreign = json!({"upn": UPN, "local_ids": [{"agency": "camhs-north", "system": "rio", "value": "RIO-77"}]});
    let attendance = |ids: Value, from: &str| {
        event(
            from,
            ids,
            json!({}),
            "attendance.concern",
            json!({"period_start": "2026-10-01", "period_end": "2026-10-31", "sessions_possible": 40, "sessions_missed": 12}),
        )
    };
    let (status, problem) = s
        .hub
        .post(
            SCHOOL_KEY,
            "/v1/events",
            &attendance(foreign, "oakfield-primary"),
        )
        .await;
    assert_refused(
        status,
        &problem,
        "subject.identifiers.local_ids[0].agency",
        "relays_for",
    );
    assert!(!problem.to_string().contains("RIO-77"), "{problem}");

    // The regional hub relays for the school: the school's namespace is allowed to it...
    let relayed = json!({"upn": UPN, "local_ids": [{"agency": "oakfield-primary", "system": "arbor", "value": "ARB-1"}]});
    let (status, body) = s
        .hub
        .post(
            RELAY_KEY,
            "/v1/events",
            &attendance(relayed, "regional-hub"),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    // ...and CAMHS's is not.
    let foreign = json!({"upn": UPN, "local_ids": [{"agency": "camhs-north", "system": "rio", "value": "RIO-77"}]});
    let (status, problem) = s
        .hub
        .post(
            RELAY_KEY,
            "/v1/events",
            &attendance(foreign, "regional-hub"),
        )
        .await;
    assert_refused(
        status,
        &problem,
        "subject.identifiers.local_ids[0].agency",
        "relays_for",
    );
    s.hub.assert_logs_free_of(&["RIO-77", "ARB-1"]);
}

/// Posts `body` with an `Idempotency-Key`.
async fn post_keyed(hub: &Hub, key: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/events", hub.base))
        .bearer_auth(SCHOOL_KEY)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn assert_conflict(status: u16, problem: &Value, field: &str) {
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("/idempotency-conflict"),
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    let reason = problem["errors"][0]["reason"].as_str().unwrap();
    assert_eq!(
        reason.matches("sha256 ").count(),
        2,
        "both digests are named: {problem}"
    );
    assert!(problem["quarantine_id"].is_string(), "{problem}");
}

#[tokio::test]
async fn an_event_id_or_idempotency_key_reused_for_another_body_is_a_conflict() {
    let s = setup().await;
    let id = "01938f2e-0000-7000-8000-000000000013";
    let mut first = event(
        "oakfield-primary",
        json!({"upn": UPN}),
        json!({}),
        "attendance.concern",
        json!({"period_start": "2026-10-01", "period_end": "2026-10-31", "sessions_possible": 40, "sessions_missed": 12}),
    );
    first["id"] = json!(id);
    let (status, body) = s.hub.post(SCHOOL_KEY, "/v1/events", &first).await;
    assert_eq!((status, &body["duplicate"]), (202, &json!(false)), "{body}");
    // The same body again is a duplicate, as before.
    let (status, body) = s.hub.post(SCHOOL_KEY, "/v1/events", &first).await;
    assert_eq!((status, &body["duplicate"]), (202, &json!(true)), "{body}");
    // A different body under the same id is a conflict, quarantined with both digests.
    let mut second = first.clone();
    second["payload"]["sessions_missed"] = json!(30);
    let (status, problem) = s.hub.post(SCHOOL_KEY, "/v1/events", &second).await;
    assert_conflict(status, &problem, "id");
    let qid = problem["quarantine_id"].as_str().unwrap();
    let shown = s.hub.cli(&["quarantine", "show", qid]);
    assert!(shown.contains("idempotency"), "{shown}");

    // The same with an Idempotency-Key and no event id.
    let mut keyed = first.clone();
    keyed.as_object_mut().unwrap().remove("id");
    keyed["payload"]["sessions_missed"] = json!(5);
    let (status, body) = post_keyed(&s.hub, "batch-7", &keyed).await;
    assert_eq!((status, &body["duplicate"]), (202, &json!(false)), "{body}");
    let (status, body) = post_keyed(&s.hub, "batch-7", &keyed).await;
    assert_eq!((status, &body["duplicate"]), (202, &json!(true)), "{body}");
    keyed["payload"]["sessions_missed"] = json!(6);
    let (status, problem) = post_keyed(&s.hub, "batch-7", &keyed).await;
    assert_conflict(status, &problem, "idempotency_key");

    let entries = audit(&s.hub).await;
    assert_eq!(
        entries
            .iter()
            .filter(|(actor, action, _)| actor == "oakfield-mis" && action == "idempotency.conflict")
            .count(),
        2,
        "{entries:?}"
    );
    // Neither second body was routed: CAMHS (told in order, so by the time it hears of the next
    // referral it has heard everything before) heard of 12 and 5 missed sessions only.
    assert_nothing_routed(&s, "no-such-kind").await;
    let missed: Vec<Value> = s
        .camhs
        .delivered()
        .iter()
        .filter(|n| n.body["kind"] == "attendance.concern")
        .map(|n| n.body["payload"]["sessions_missed"].clone())
        .collect();
    assert_eq!(missed.len(), 2, "{missed:?}");
    assert!(
        !missed.contains(&json!(30)) && !missed.contains(&json!(6)),
        "{missed:?}"
    );
}

/// The LA's team over RabbitMQ, with no `[handoffs] local_authority`: role `send` defaults.
fn broker_config(
    store_url: &str,
    port: u16,
    queue: &str,
    dlx: &str,
    dlq: &str,
    out: &str,
) -> String {
    format!(
        r#"
[store]
url = "{store_url}"

[api]
listen = "127.0.0.1:{port}"

[log]
format = "json"

[delivery]
initial_backoff_ms = 50
max_backoff_ms = 1000
poll_interval_ms = 100

[[agencies]]
id = "la-send"
role = "send"

[[agencies]]
id = "camhs-north"
role = "health"
sink = {{ type = "amqp", connection = {{ url = "${{TEST_AMQP_URL}}" }}, exchange = "{out}", routing_key = "camhs", declare = {{ exchanges = [{{ name = "{out}", kind = "direct" }}], queues = [{{ name = "{out}" }}], bindings = [{{ queue = "{out}", exchange = "{out}", routing_key = "camhs" }}] }} }}

[[sources]]
id = "la-broker"
agency = "la-send"
system = "capita-one"
amqp = {{ connection = {{ url = "${{TEST_AMQP_URL}}" }}, queue = "{queue}", prefetch = 16, dead_letter_exchange = "{dlx}", requeue_delay_ms = 200, declare = {{ exchanges = [{{ name = "{dlx}", kind = "fanout" }}], queues = [{{ name = "{queue}" }}, {{ name = "{dlq}" }}], bindings = [{{ queue = "{dlq}", exchange = "{dlx}", routing_key = "" }}] }} }}

[[routes]]
kinds = ["*"]
roles = ["health"]

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = ["*"]
fields = ["subject.identifiers.nhs_number", "payload.referral_id"]
"#
    )
}

#[tokio::test]
async fn over_rabbitmq_a_refused_assertion_is_quarantined_with_its_rule_and_the_next_goes_through()
{
    let _r = BrokerLock::rabbitmq_shared().await;
    let (queue, dlx, dlq, out) = (unique("in"), unique("dlx"), unique("dlq"), unique("out"));
    let hub = {
        let (q, x, d, o) = (queue.clone(), dlx.clone(), dlq.clone(), out.clone());
        Hub::start(move |url, port| broker_config(url, port, &q, &x, &d, &o)).await
    };
    let conn = amqp().await;
    let dead = collect_queue(&conn, &dlq).await;
    let delivered = collect_queue(&conn, &out).await;

    let refused = event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({}),
        "nhs.admission",
        json!({"at": "2026-11-20T10:00:00Z"}),
    );
    publish(
        &conn,
        &queue,
        "refused-1",
        &serde_json::to_vec(&refused).unwrap(),
    )
    .await;
    publish(
        &conn,
        &queue,
        "next-1",
        &serde_json::to_vec(&referral_to_camhs("REF-NEXT")).unwrap(),
    )
    .await;

    eventually("the refused message reaches the dead-letter queue", || {
        !dead.lock().unwrap().is_empty()
    })
    .await;
    let d = dead.lock().unwrap()[0].clone();
    assert_eq!(
        d.headers["x-throughline-step"], "authorise",
        "{:?}",
        d.headers
    );
    let reason = &d.headers["x-throughline-reason"];
    assert!(
        reason.contains("kind") && reason.contains("may_send: the defaults of role `send`"),
        "{reason}"
    );
    let qid = d.headers["x-throughline-quarantine-id"].clone();
    let shown = hub.cli(&["quarantine", "show", &qid]);
    assert!(
        shown.contains("authorise") && shown.contains("may_send: the defaults of role `send`"),
        "{shown}"
    );
    eventually("the next message reaches CAMHS", || {
        delivered
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.body["payload"]["referral_id"] == "REF-NEXT")
    })
    .await;
    assert!(
        delivered
            .lock()
            .unwrap()
            .iter()
            .all(|s| s.body["kind"] != "nhs.admission"),
        "the refused admission was routed"
    );
    let entries = audit(&hub).await;
    assert!(
        entries
            .iter()
            .any(|(actor, action, _)| actor == "la-broker" && action == "assertion.refused"),
        "{entries:?}"
    );
    hub.assert_logs_free_of(&[NHS]);
}

#[tokio::test]
async fn from_a_drop_folder_a_refused_assertion_is_quarantined_with_its_rule() {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let drop = tempfile::tempdir().unwrap();
    let (s, c, folder) = (
        school.url.clone(),
        camhs.url.clone(),
        drop.path().display().to_string(),
    );
    let hub = Hub::start(move |url, port| {
        config(url, port, &s, &c).replace(
            "api_key = \"${TEST_SCHOOL_KEY}\"\n",
            &format!(
                "api_key = \"${{TEST_SCHOOL_KEY}}\"\ndrop = {{ folder = \"{folder}\", poll_interval_ms = 100 }}\n"
            ),
        )
    })
    .await;
    let (incoming, done) = (drop.path().join("incoming"), drop.path().join("done"));
    let put = |name: &str, body: &Value| {
        let tmp = incoming.join(format!("{name}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec(body).unwrap()).unwrap();
        std::fs::rename(&tmp, incoming.join(name)).unwrap();
    };
    eventually("the drop folder is ready", || incoming.is_dir()).await;
    put(
        "cp-ended.json",
        &event(
            "oakfield-primary",
            json!({"upn": UPN}),
            json!({}),
            "social_care.child_protection_plan.ended",
            json!({"on": "2026-11-20"}),
        ),
    );
    let report = done.join("cp-ended.json.report.json");
    eventually("the refused file is reported", || report.is_file()).await;
    let refused: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(refused["outcome"], "quarantined", "{refused}");
    assert_eq!(refused["step"], "authorise", "{refused}");
    assert_eq!(refused["problems"][0]["field"], "kind", "{refused}");
    assert!(
        refused["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("may_send: the defaults of role `school`"),
        "{refused}"
    );
    let qid = refused["quarantine_id"].as_str().unwrap();
    let shown = hub.cli(&["quarantine", "show", qid]);
    assert!(
        shown.contains("may_send: the defaults of role `school`"),
        "{shown}"
    );

    // The next file, the school's own to say, goes through.
    put(
        "attendance.json",
        &event(
            "oakfield-primary",
            json!({"upn": UPN, "nhs_number": NHS}),
            json!({}),
            "attendance.concern",
            json!({"period_start": "2026-10-01", "period_end": "2026-10-31", "sessions_possible": 40, "sessions_missed": 12}),
        ),
    );
    let report = done.join("attendance.json.report.json");
    eventually("the next file is reported", || report.is_file()).await;
    let next: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(next["outcome"], "committed", "{next}");
    let entries = audit(&hub).await;
    assert!(
        entries
            .iter()
            .any(|(actor, action, _)| actor == "oakfield-mis" && action == "assertion.refused"),
        "{entries:?}"
    );
    hub.assert_logs_free_of(&[NHS, UPN]);
}
