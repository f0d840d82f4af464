//! The trust boundary against both backends, through the pipeline: a refused assertion is
//! quarantined and audited, and an event id or message id reused for another body is a
//! conflict while the same body stays a duplicate (the digests of migration 0011), alone and
//! inside a group commit.

#[macro_use]
mod backends;

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use serde_json::{Value, json};
use throughline_contracts::adapter::{InputOutcome, RawInput};
use throughline_hub::config::{self, Validated};
use throughline_hub::deliver::Wakers;
use throughline_hub::pipeline::{Origin, Pipeline};
use throughline_hub::store::{self, Store};
use uuid::Uuid;

on_both_backends!(
    a_refused_assertion_is_quarantined_and_audited,
    a_reused_event_id_with_another_body_is_a_conflict,
    a_reused_message_id_with_another_body_is_a_conflict_even_in_one_group,
);

const CONFIG: &str = r#"
[[agencies]]
id = "school-a"
role = "school"

[[agencies]]
id = "camhs"
role = "health"

[[sources]]
id = "school-a-api"
agency = "school-a"
system = "arbor"
api_key = "${file:KEYDIR/school-a}"
"#;

fn pipeline(store: &Store) -> Pipeline {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(dir.join("school-a"), "school-a-api-key-0123456789").unwrap();
    let text = CONFIG.replace("KEYDIR", dir.to_str().unwrap());
    let c: Arc<Validated> =
        Arc::new(config::load_str(std::path::Path::new("trust-test.toml"), &text).unwrap());
    Pipeline::new(
        c.clone(),
        store.clone(),
        Wakers::for_agencies(c.agencies.keys()),
    )
}

fn attendance(missed: u32, id: Option<&str>) -> Value {
    let mut e = json!({
        "schema_version": 1,
        "occurred_at": "2026-11-16T09:00:00Z",
        "source": {"agency": "school-a", "system": "arbor", "adapter": "test"},
        "subject": {"identifiers": {"nhs_number": "9434765919"}},
        "kind": "attendance.concern",
        "payload": {"period_start": "2026-10-01", "period_end": "2026-10-31",
                    "sessions_possible": 40, "sessions_missed": missed},
    });
    if let Some(id) = id {
        e["id"] = json!(id);
    }
    e
}

fn raw(body: &Value, message_id: Option<&str>) -> RawInput {
    RawInput {
        source_id: "school-a-api".into(),
        content_type: Some("application/json".into()),
        body: Bytes::from(serde_json::to_vec(body).unwrap()),
        received_at: Utc::now(),
        message_id: message_id.map(str::to_owned),
    }
}

/// `(duplicate)` of a commit, or panics.
fn duplicate(o: &InputOutcome) -> bool {
    match o {
        InputOutcome::Committed { duplicate, .. } => *duplicate,
        other => panic!("expected a commit, got {other:?}"),
    }
}

/// The quarantine id of a conflict on `field`, or panics.
fn conflict(o: &InputOutcome, field: &str) -> Uuid {
    match o {
        InputOutcome::Quarantined {
            quarantine_id,
            step,
            problems,
        } => {
            assert_eq!(step, "idempotency");
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].field, field);
            assert_eq!(
                problems[0].reason.matches("sha256 ").count(),
                2,
                "{problems:?}"
            );
            *quarantine_id
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn audited(store: &Store, action: &str) -> usize {
    let mut conn = store.acquire().await.unwrap();
    store::audit::recent(&mut conn, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action && e.actor == "school-a-api")
        .count()
}

async fn a_refused_assertion_is_quarantined_and_audited(store: &Store) {
    let p = pipeline(store);
    let mut e = attendance(1, None);
    e["kind"] = json!("involvement.started");
    e["payload"] = json!({"agency": "camhs", "on": "2026-11-16"});
    match p
        .process(&raw(&e, None), "canonical-json", Origin::Fresh)
        .await
    {
        InputOutcome::Quarantined { step, problems, .. } => {
            assert_eq!(step, "authorise");
            assert_eq!(problems[0].field, "payload.agency");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(audited(store, "assertion.refused").await, 1);
    // Its own involvement it may start.
    e["payload"]["agency"] = json!("school-a");
    assert!(!duplicate(
        &p.process(&raw(&e, None), "canonical-json", Origin::Fresh)
            .await
    ));
}

async fn a_reused_event_id_with_another_body_is_a_conflict(store: &Store) {
    let p = pipeline(store);
    let id = "01938f2e-0000-7000-8000-000000000001";
    let first = attendance(12, Some(id));
    assert!(!duplicate(
        &p.process(&raw(&first, None), "canonical-json", Origin::Fresh)
            .await
    ));
    assert!(duplicate(
        &p.process(&raw(&first, None), "canonical-json", Origin::Fresh)
            .await
    ));
    let other = attendance(30, Some(id));
    conflict(
        &p.process(&raw(&other, None), "canonical-json", Origin::Fresh)
            .await,
        "id",
    );
    assert_eq!(audited(store, "idempotency.conflict").await, 1);
}

async fn a_reused_message_id_with_another_body_is_a_conflict_even_in_one_group(store: &Store) {
    let p = pipeline(store);
    let first = raw(&attendance(5, None), Some("m-1"));
    let again = raw(&attendance(5, None), Some("m-1"));
    let other = raw(&attendance(6, None), Some("m-1"));
    let fresh = raw(&attendance(7, None), Some("m-2"));
    let outcomes = p
        .process_batch(&[first, again, other, fresh], "canonical-json")
        .await;
    assert!(!duplicate(&outcomes[0]));
    assert!(duplicate(&outcomes[1]));
    conflict(&outcomes[2], "idempotency_key");
    assert!(!duplicate(&outcomes[3]));
    // And later, alone.
    let later = raw(&attendance(8, None), Some("m-2"));
    conflict(
        &p.process(&later, "canonical-json", Origin::Fresh).await,
        "idempotency_key",
    );
}
