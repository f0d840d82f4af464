//! Several hub instances on one PostgreSQL store: two real `throughline` processes share a
//! database, both take inputs, and one at a time delivers each agency's queue (the delivery
//! lease). Killed with SIGKILL, the holder's queue is taken over by the other.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::json;
use sqlx::Connection;

const NHS: &str = "9434765919";

/// A database of its own on the test PostgreSQL server.
async fn database() -> String {
    sqlx::any::install_default_drivers();
    let base = std::env::var("THROUGHLINE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("throughline_multi_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{db}")
}

fn config(store_url: &str, port: u16, camhs: &str) -> String {
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
lease_ms = 2000

[[agencies]]
id = "la-send"
role = "send"

[[agencies]]
id = "camhs-north"
role = "health"
sink = {{ type = "webhook", url = "{camhs}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[sources]]
id = "la-send-system"
agency = "la-send"
system = "capita-one"
api_key = "${{TEST_LA_KEY}}"

[[routes]]
kinds = ["*"]
roles = ["health"]

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = ["referral.made"]
fields = ["subject.identifiers.nhs_number", "payload.referral_id"]
"#
    )
}

fn referral(id: &str) -> serde_json::Value {
    event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({}),
        "referral.made",
        json!({"referral_id": id, "to_agency": "camhs-north"}),
    )
}

/// Deliveries received per idempotency key.
fn copies(r: &Receiver) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for d in r.delivered() {
        *out.entry(d.idempotency_key).or_default() += 1;
    }
    out
}

#[tokio::test]
async fn two_instances_share_one_store_and_one_delivers_each_queue() {
    let camhs = Receiver::start(SECRET).await;
    let url = database().await;
    let (u1, c1) = (url.clone(), camhs.url.clone());
    let mut first = Hub::start(move |_, port| config(&u1, port, &c1)).await;
    let (u2, c2) = (url.clone(), camhs.url.clone());
    let second = Hub::start(move |_, port| config(&u2, port, &c2)).await;

    // Both instances take inputs; one of them delivers CAMHS's queue, in order, once each.
    for i in 0..20 {
        let hub = if i % 2 == 0 { &first } else { &second };
        hub.submit(LA_KEY, &referral(&format!("R-{i:02}"))).await;
    }
    eventually("all 20 delivered", || copies(&camhs).len() == 20).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before_kill = copies(&camhs);
    assert_eq!(before_kill.len(), 20);
    assert!(
        before_kill.values().all(|n| *n == 1),
        "in normal running each notification is sent once: {before_kill:?}"
    );
    let order: Vec<String> = camhs
        .delivered()
        .iter()
        .map(|d| {
            d.body["payload"]["referral_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "the child's notifications arrived in order");

    // The first instance dies; inputs to the second are delivered once its lease lapses,
    // whichever instance held it.
    first.kill9();
    for i in 20..30 {
        second.submit(LA_KEY, &referral(&format!("R-{i:02}"))).await;
    }
    eventually("the survivor delivers the rest", || {
        copies(&camhs).len() == 30
    })
    .await;
    second.assert_logs_free_of(&[NHS]);
}
