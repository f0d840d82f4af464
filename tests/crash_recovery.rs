//! kill -9 during delivery, then restart: everything acknowledged is delivered, and any
//! notification delivered twice carries the same idempotency key.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::json;

#[tokio::test]
async fn kill_9_during_delivery_then_restart_delivers_everything_with_the_same_keys() {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let yjs = Receiver::start(SECRET).await;
    // CAMHS answers slowly, so the kill lands while deliveries are in flight.
    camhs.set_default(Behaviour::Slow(150, 200));
    let mut hub = Hub::start(|url, port| {
        config(
            url,
            port,
            &Agencies {
                school: &school,
                camhs: &camhs,
                youth_justice: &yjs,
                school_timeout_ms: 5000,
                camhs_timeout_ms: 5000,
            },
        )
    })
    .await;

    // Each referral is about a different child and makes CAMHS involved: one delivery each.
    let children = test_nhs_numbers(1000, 30);
    let mut ids = Vec::new();
    for (i, nhs) in children.iter().enumerate() {
        let referral = event(
            "la-send",
            json!({"nhs_number": nhs}),
            json!({}),
            "referral.made",
            json!({"referral_id": format!("REF-{i}"), "to_agency": "camhs-north"}),
        );
        ids.push(hub.submit(LA_KEY, &referral).await);
    }

    eventually("some deliveries are done and one is in flight", || {
        camhs.delivered().len() >= 5 && camhs.in_flight() > 0
    })
    .await;
    hub.kill9();
    let before_restart = camhs.received().len();
    assert!(
        before_restart < ids.len(),
        "the kill must land before everything was delivered"
    );
    hub.restart().await;

    eventually("every acknowledged referral is delivered", || {
        let got: BTreeSet<String> = camhs.delivered().iter().map(|r| r.event_id()).collect();
        ids.iter().all(|id| got.contains(id))
    })
    .await;

    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in camhs.received() {
        keys.entry(r.event_id())
            .or_default()
            .insert(r.idempotency_key.clone());
    }
    for id in &ids {
        let k = &keys[id];
        assert_eq!(k.len(), 1, "every copy of one notification carries one key");
        assert_eq!(k.iter().next().unwrap(), &format!("{id}/camhs-north"));
    }
    let nhs: Vec<&str> = children.iter().map(String::as_str).collect();
    hub.assert_logs_free_of(&nhs);
}
