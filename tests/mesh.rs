//! MESH end to end: the real `throughline` binary between NHS England's real `mesh-sandbox`
//! mailboxes. The LA SEND team's system sends canonical events to the hub's mailbox X26ABC1; the
//! hub polls it, commits, acknowledges and routes to CAMHS, whose notifications it sends from
//! X26ABC1 to CAMHS's mailbox X26ABC2. A poison message is quarantined and acknowledged. A
//! notification CAMHS never collects comes back as MESH's non-delivery report and becomes a
//! dead letter.

mod common;

use common::mesh::Sandbox;
use common::*;
use serde_json::json;
use throughline_adapter_mesh::{MeshClient, MeshMessage, OutboundMessage};

const NHS: &str = "9434765919";
const HUB_MAILBOX: &str = "X26ABC1";
const CAMHS_MAILBOX: &str = "X26ABC2";

/// A hub whose LA SEND source polls X26ABC1 every 200 ms, and whose CAMHS sink sends from
/// X26ABC1 to X26ABC2 under `TEST_WORKFLOW`.
fn mesh_config(store_url: &str, port: u16, mesh_url: &str) -> String {
    format!(
        r#"
[store]
url = "{store_url}"

[api]
listen = "127.0.0.1:{port}"

[log]
format = "json"

[delivery]
max_attempts = 20
initial_backoff_ms = 50
max_backoff_ms = 1000
poll_interval_ms = 100

[[agencies]]
id = "la-send"
role = "send"

[[agencies]]
id = "camhs-north"
role = "health"
sink = {{ type = "mesh", base_url = "{mesh_url}", mailbox_id = "{HUB_MAILBOX}", password = "${{TEST_MESH_PASSWORD}}", shared_key = "${{TEST_MESH_SHARED_KEY}}", timeout_ms = 10000, to_mailbox = "{CAMHS_MAILBOX}", workflow_id = "TEST_WORKFLOW", report_poll_interval_ms = 200 }}

[[sources]]
id = "la-mesh"
agency = "la-send"
system = "capita-one"
format = "canonical-json"
mesh = {{ base_url = "{mesh_url}", mailbox_id = "{HUB_MAILBOX}", password = "${{TEST_MESH_PASSWORD}}", shared_key = "${{TEST_MESH_SHARED_KEY}}", timeout_ms = 10000, poll_interval_ms = 200 }}

[[routes]]
kinds = ["referral.made"]
roles = ["health"]

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = ["referral.made"]
fields = ["subject.identifiers.nhs_number", "payload.referral_id"]
"#
    )
}

/// Sends `body` from CAMHS's mailbox (standing in for the LA's system) to the hub's mailbox.
async fn send_to_hub(sender: &MeshClient, body: Vec<u8>, local_id: &str) -> String {
    let mut message = OutboundMessage::new(HUB_MAILBOX, "TEST_WORKFLOW_ACK", body);
    message.content_type = "application/json".into();
    message.local_id = Some(local_id.into());
    sender
        .send(&message)
        .await
        .expect("send to the hub's mailbox")
}

/// Lists `client`'s inbox until it is empty or holds something, downloading what it holds.
async fn wait_for_inbox(client: &MeshClient, what: &str, want_empty: bool) -> Vec<MeshMessage> {
    for _ in 0..600 {
        let ids = client.list_inbox().await.expect("list inbox");
        if want_empty && ids.is_empty() {
            return Vec::new();
        }
        if !want_empty && !ids.is_empty() {
            let mut messages = Vec::new();
            for id in ids {
                messages.push(client.download(&id).await.expect("download"));
            }
            return messages;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn a_referral_sent_by_mesh_is_committed_acknowledged_and_delivered_by_mesh() {
    let sandbox = Sandbox::start().await;
    let mesh_url = sandbox.base_url.clone();
    let hub = Hub::start(|url, port| mesh_config(url, port, &mesh_url)).await;
    let hub_mailbox = sandbox.client(HUB_MAILBOX);
    let camhs = sandbox.client(CAMHS_MAILBOX);

    let referral = event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({"family_name": "Lovelace"}),
        "referral.made",
        json!({"referral_id": "R-2001", "to_agency": "camhs-north"}),
    );
    let sent_id = send_to_hub(&camhs, serde_json::to_vec(&referral).unwrap(), "la-0001").await;

    // Committed, then acknowledged: the hub's inbox empties.
    wait_for_inbox(&hub_mailbox, "the hub acknowledges the referral", true).await;

    // Routed to CAMHS and sent to its mailbox as JSON, keyed by the idempotency key.
    let delivered = wait_for_inbox(&camhs, "the notification reaches X26ABC2", false).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let message = &delivered[0];
    assert_ne!(message.id, sent_id);
    assert_eq!(message.sender.as_deref(), Some(HUB_MAILBOX));
    assert_eq!(message.workflow_id.as_deref(), Some("TEST_WORKFLOW"));
    assert_eq!(message.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        message.subject, None,
        "no subject: nothing about the child in headers"
    );
    let body: serde_json::Value = serde_json::from_slice(&message.body).expect("JSON body");
    assert_eq!(body["kind"], "referral.made");
    assert_eq!(body["recipient"], "camhs-north");
    assert_eq!(body["subject"]["identifiers"]["nhs_number"], NHS);
    assert_eq!(body["payload"], json!({"referral_id": "R-2001"}));
    assert!(
        body["subject"]["demographics"]["family_name"].is_null(),
        "projected to the agreement: {body}"
    );
    let key = body["idempotency_key"].as_str().expect("idempotency key");
    assert_eq!(message.local_id.as_deref(), Some(key));
    assert!(!key.contains(NHS));
    camhs.acknowledge(&message.id).await.expect("acknowledge");

    hub.assert_logs_free_of(&[NHS, "Lovelace"]);
}

#[tokio::test]
async fn a_poison_message_is_quarantined_and_acknowledged() {
    let sandbox = Sandbox::start().await;
    let mesh_url = sandbox.base_url.clone();
    let hub = Hub::start(|url, port| mesh_config(url, port, &mesh_url)).await;
    let hub_mailbox = sandbox.client(HUB_MAILBOX);
    let camhs = sandbox.client(CAMHS_MAILBOX);

    send_to_hub(
        &camhs,
        b"{\"nhs_number\": \"9434765919\", oops".to_vec(),
        "la-poison",
    )
    .await;

    wait_for_inbox(
        &hub_mailbox,
        "the hub acknowledges the poison message",
        true,
    )
    .await;
    let listed = hub.cli(&["quarantine", "list"]);
    assert!(listed.contains("la-mesh"), "{listed}");
    assert!(!listed.contains(NHS), "{listed}");
    // Nothing was routed.
    assert!(camhs.list_inbox().await.expect("list").is_empty());
    hub.assert_logs_free_of(&[NHS]);
}

#[tokio::test]
async fn a_mesh_non_delivery_report_makes_the_delivery_a_dead_letter() {
    let sandbox = Sandbox::start().await;
    let mesh_url = sandbox.base_url.clone();
    let hub = Hub::start(|url, port| mesh_config(url, port, &mesh_url)).await;
    let hub_mailbox = sandbox.client(HUB_MAILBOX);
    let camhs = sandbox.client(CAMHS_MAILBOX);

    let referral = event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({}),
        "referral.made",
        json!({"referral_id": "R-2002", "to_agency": "camhs-north"}),
    );
    send_to_hub(&camhs, serde_json::to_vec(&referral).unwrap(), "la-0002").await;
    let sent = wait_for_inbox(&camhs, "the notification reaches X26ABC2", false).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let key = sent[0]
        .local_id
        .clone()
        .expect("sent with the idempotency key");
    eventually("MESH's acceptance counts as delivered for now", || {
        hub.cli(&["deliveries", "list", "--status", "delivered"])
            .contains("camhs-north")
    })
    .await;

    // CAMHS never collects it: MESH puts a non-delivery report (code 14) in the hub's sending
    // mailbox, as it does after five days. The sandbox's admin endpoint makes that report.
    let report = reqwest::Client::new()
        .post(format!("{}/messageexchange/admin/report", sandbox.base_url))
        .json(&json!({
            "mailbox_id": HUB_MAILBOX,
            "code": "14",
            "description": "Message not collected by recipient",
            "workflow_id": "TEST_WORKFLOW",
            "local_id": key,
            "linked_message_id": sent[0].id,
        }))
        .send()
        .await
        .expect("the sandbox makes a report");
    assert!(report.status().is_success(), "{:?}", report.status());

    eventually("the delivery is dead-lettered with MESH's reason", || {
        let dead = hub.cli(&["deliveries", "list", "--status", "dead"]);
        dead.contains("camhs-north") && dead.contains("MESH non-delivery report (code 14)")
    })
    .await;
    // The report was recorded, then acknowledged: the hub's inbox empties.
    wait_for_inbox(&hub_mailbox, "the hub acknowledges the report", true).await;
    let alerts = hub.cli(&["alerts"]);
    assert!(alerts.contains("dead_letter"), "{alerts}");
    hub.assert_logs_free_of(&[NHS]);
}
