//! The store and the pipeline steps that write to it, run against both backends: a SQLite file
//! and the PostgreSQL server at `THROUGHLINE_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), where each test gets a database of its own.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;
use throughline_contracts::adapter::{InputOutcome, RawInput};
use throughline_hub::config::{self, Validated};
use throughline_hub::deliver::Wakers;
use throughline_hub::pipeline::{Origin, Pipeline};
use throughline_hub::store::{self, Store};
use uuid::Uuid;

#[macro_use]
mod backends;

on_both_backends!(
    commits_an_event_with_its_deliveries_and_audit,
    resubmitting_an_event_id_is_idempotent,
    one_identifier_in_common_links_to_one_child,
    an_input_linking_two_records_merges_them,
    conflicting_identifiers_are_quarantined_for_review,
    similar_demographics_raise_a_possible_match_but_never_merge,
    involvements_start_and_end,
    delivery_queue_keeps_order_and_keys_through_retry_and_dead_letter,
    the_audit_log_refuses_updates_and_deletes,
    retention_prunes_only_delivered_data,
    quarantine_keeps_inputs_and_records_resolution,
    a_redelivered_input_is_answered_from_its_first_commit,
    inputs_committed_together_keep_their_own_outcomes,
    operator_pages_filter_and_follow_their_cursors,
);

const CONFIG: &str = r#"
[[agencies]]
id = "school-a"
role = "school"
sink = { type = "webhook", url = "http://127.0.0.1:9/none", secret = "${file:SECRET_FILE}" }

[[agencies]]
id = "camhs"
role = "health"
sink = { type = "webhook", url = "http://127.0.0.1:9/none", secret = "${file:SECRET_FILE}" }

[[agencies]]
id = "la"
role = "send"

[[sources]]
id = "la-api"
agency = "la"
system = "one"
api_key = "${file:SECRET_FILE}"
# These store tests send every kind from the LA's source (SEN support, involvement, referrals)
# to exercise the store, not the assertion rules (tests/trust_boundary.rs does those).
may_send = ["*"]
may_change_involvement_of = ["*"]

[[sources]]
id = "school-api"
agency = "school-a"
system = "arbor"
api_key = "${file:SECRET_FILE2}"

[[routes]]
kinds = ["*"]
roles = ["school", "health"]

[[sharing_agreements]]
id = "isa-school"
agency = "school-a"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]
"#;

fn config() -> Arc<Validated> {
    let dir = std::env::temp_dir();
    let secret = dir.join(format!("throughline-secret-{}", Uuid::now_v7()));
    let secret2 = dir.join(format!("throughline-secret-{}", Uuid::now_v7()));
    std::fs::write(&secret, "a-test-secret-0123456789").unwrap();
    std::fs::write(&secret2, "another-test-secret-0123456789").unwrap();
    let text = CONFIG
        .replace("SECRET_FILE2", secret2.to_str().unwrap())
        .replace("SECRET_FILE", secret.to_str().unwrap());
    Arc::new(config::load_str(std::path::Path::new("store-test.toml"), &text).unwrap())
}

fn pipeline(store: &Store) -> Pipeline {
    let c = config();
    Pipeline::new(
        c.clone(),
        store.clone(),
        Wakers::for_agencies(c.agencies.keys()),
    )
}

fn raw(source: &str, body: serde_json::Value) -> RawInput {
    RawInput {
        source_id: source.into(),
        content_type: Some("application/json".into()),
        body: Bytes::from(serde_json::to_vec(&body).unwrap()),
        received_at: chrono::Utc::now(),
        message_id: None,
    }
}

fn submission(
    agency: &str,
    ids: serde_json::Value,
    demo: serde_json::Value,
    kind: &str,
    payload: serde_json::Value,
) -> serde_json::Value {
    json!({
        "schema_version": 1,
        "occurred_at": "2026-11-20T09:00:00Z",
        "source": {"agency": agency, "system": "test", "adapter": "test"},
        "subject": {"identifiers": ids, "demographics": demo},
        "kind": kind,
        "payload": payload,
    })
}

async fn process(p: &Pipeline, source: &str, body: serde_json::Value) -> InputOutcome {
    p.process(&raw(source, body), "canonical-json", Origin::Fresh)
        .await
}

fn committed(o: InputOutcome) -> Vec<Uuid> {
    match o {
        InputOutcome::Committed { event_ids, .. } => event_ids,
        other => panic!("expected a commit, got {other:?}"),
    }
}

async fn child_of(store: &Store, scheme: &str, value: &str) -> Option<Uuid> {
    let mut c = store.pool().acquire().await.unwrap();
    store::identity::lookup(&mut c, scheme, value)
        .await
        .unwrap()
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

async fn school_joins(p: &Pipeline) {
    committed(
        process(
            p,
            "school-api",
            submission(
                "school-a",
                json!({"upn": "B801200005001"}),
                json!({}),
                "school.joined",
                json!({"school_urn": "1", "joined_on": "2026-09-01"}),
            ),
        )
        .await,
    );
}

fn sen_support_ended(ids: serde_json::Value, day: u32) -> serde_json::Value {
    submission(
        "la",
        ids,
        json!({}),
        "sen_support.ended",
        json!({"on": format!("2026-11-{day:02}")}),
    )
}

async fn commits_an_event_with_its_deliveries_and_audit(store: &Store) {
    let p = pipeline(store);
    // The school reports first (so it is involved), then the LA's event fans out to it.
    school_joins(&p).await;
    let ids = committed(
        process(
            &p,
            "la-api",
            sen_support_ended(
                json!({"upn": "B801200005001", "nhs_number": "9434765919"}),
                1,
            ),
        )
        .await,
    );
    let mut c = store.pool().acquire().await.unwrap();
    let pending = store::deliveries::pending_for_agency(&mut c, "school-a", 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let n = &pending[0].notification;
    assert_eq!(n.event_id, ids[0]);
    assert_eq!(
        n.subject,
        json!({"identifiers": {"upn": "B801200005001"}}),
        "projected to the agreement"
    );
    assert_eq!(pending[0].idempotency_key, format!("{}/school-a", ids[0]));
    let audit = store::audit::for_event(&mut c, ids[0]).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "route.allowed" && a.agency.as_deref() == Some("school-a"))
    );
    // CAMHS is not involved with this child, so nothing is routed to it.
    assert!(
        store::deliveries::pending_for_agency(&mut c, "camhs", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store::events::get(&mut c, ids[0]).await.unwrap().is_some());
}

async fn resubmitting_an_event_id_is_idempotent(store: &Store) {
    let p = pipeline(store);
    school_joins(&p).await;
    let mut body = sen_support_ended(json!({"upn": "B801200005001"}), 1);
    let id = Uuid::now_v7();
    body["id"] = json!(id);
    let first = process(&p, "la-api", body.clone()).await;
    assert_eq!(
        first,
        InputOutcome::Committed {
            event_ids: vec![id],
            duplicate: false
        }
    );
    let again = process(&p, "la-api", body).await;
    assert_eq!(
        again,
        InputOutcome::Committed {
            event_ids: vec![id],
            duplicate: true
        }
    );
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM deliveries").await,
        1,
        "no second delivery"
    );
}

async fn one_identifier_in_common_links_to_one_child(store: &Store) {
    let p = pipeline(store);
    committed(
        process(
            &p,
            "la-api",
            sen_support_ended(json!({"nhs_number": "9434765919"}), 1),
        )
        .await,
    );
    committed(
        process(
            &p,
            "la-api",
            sen_support_ended(
                json!({"nhs_number": "9434765919", "upn": "B801200005001"}),
                2,
            ),
        )
        .await,
    );
    let a = child_of(store, "nhs", "9434765919").await.unwrap();
    assert_eq!(child_of(store, "upn", "B801200005001").await, Some(a));
    assert_eq!(count(store, "SELECT COUNT(*) FROM children").await, 1);
}

async fn an_input_linking_two_records_merges_them(store: &Store) {
    let p = pipeline(store);
    committed(
        process(
            &p,
            "la-api",
            sen_support_ended(json!({"nhs_number": "9434765919"}), 1),
        )
        .await,
    );
    school_joins(&p).await;
    let a = child_of(store, "nhs", "9434765919").await.unwrap();
    let b = child_of(store, "upn", "B801200005001").await.unwrap();
    assert_ne!(a, b);
    committed(
        process(
            &p,
            "la-api",
            sen_support_ended(
                json!({"nhs_number": "9434765919", "upn": "B801200005001"}),
                3,
            ),
        )
        .await,
    );
    let merged = child_of(store, "nhs", "9434765919").await.unwrap();
    assert_eq!(child_of(store, "upn", "B801200005001").await, Some(merged));
    let mut c = store.pool().acquire().await.unwrap();
    let involved = store::involvements::active(&mut c, merged).await.unwrap();
    assert_eq!(
        involved,
        vec!["la".to_owned(), "school-a".to_owned()],
        "involvements follow the merge"
    );
}

async fn conflicting_identifiers_are_quarantined_for_review(store: &Store) {
    let p = pipeline(store);
    committed(
        process(
            &p,
            "la-api",
            sen_support_ended(
                json!({"nhs_number": "9434765919", "upn": "B801200005001"}),
                1,
            ),
        )
        .await,
    );
    // Same UPN, another NHS number: never silently resolved.
    let out = process(
        &p,
        "la-api",
        sen_support_ended(
            json!({"nhs_number": "9876543210", "upn": "B801200005001"}),
            2,
        ),
    )
    .await;
    let InputOutcome::Quarantined {
        step,
        problems,
        quarantine_id,
    } = out
    else {
        panic!("expected quarantine, got {out:?}")
    };
    assert_eq!(step, "identity");
    assert!(problems[0].reason.contains("NHS number"), "{problems:?}");
    assert!(!problems[0].reason.contains("9876543210"));
    assert_eq!(
        child_of(store, "nhs", "9876543210").await,
        None,
        "nothing linked"
    );
    let mut c = store.pool().acquire().await.unwrap();
    let reviews = store::identity::open_reviews(&mut c).await.unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].kind, "conflict");
    assert_eq!(
        reviews[0].quarantine_id.as_deref(),
        Some(quarantine_id.to_string().as_str())
    );
    drop(c);
    assert_eq!(count(store, "SELECT COUNT(*) FROM events").await, 1);
}

async fn similar_demographics_raise_a_possible_match_but_never_merge(store: &Store) {
    let p = pipeline(store);
    let demo =
        json!({"family_name": "Smith", "date_of_birth": "2014-01-02", "postcode": "LS1 4AP"});
    let mut first = sen_support_ended(json!({"nhs_number": "9434765919"}), 1);
    first["subject"]["demographics"] = demo.clone();
    committed(process(&p, "la-api", first).await);
    let mut second = sen_support_ended(json!({"nhs_number": "9876543210"}), 1);
    second["subject"]["demographics"] =
        json!({"family_name": "SMITH", "date_of_birth": "2014-01-02", "postcode": "LS1 9ZZ"});
    committed(process(&p, "la-api", second.clone()).await);
    assert_ne!(
        child_of(store, "nhs", "9434765919").await,
        child_of(store, "nhs", "9876543210").await
    );
    let mut c = store.pool().acquire().await.unwrap();
    let reviews = store::identity::open_reviews(&mut c).await.unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].kind, "possible_match");
    drop(c);
    // The same evidence again does not pile up reviews.
    committed(process(&p, "la-api", second).await);
    let mut c = store.pool().acquire().await.unwrap();
    assert_eq!(
        store::identity::open_reviews(&mut c).await.unwrap().len(),
        1
    );
    // A person rejects the match (the dashboard's Reject): a later input with the same
    // evidence does not propose the pair again.
    let id = Uuid::parse_str(&reviews[0].id).unwrap();
    assert_eq!(
        store::reviews::reject(&mut c, id, "operator:ada")
            .await
            .unwrap(),
        store::reviews::Decided::Rejected
    );
    drop(c);
    let mut third = sen_support_ended(json!({"nhs_number": "9876543210"}), 3);
    third["subject"]["demographics"] = demo;
    committed(process(&p, "la-api", third).await);
    let mut c = store.pool().acquire().await.unwrap();
    assert!(
        store::identity::open_reviews(&mut c)
            .await
            .unwrap()
            .is_empty(),
        "a rejected pair is not proposed again"
    );
}

async fn involvements_start_and_end(store: &Store) {
    let mut c = store.pool().acquire().await.unwrap();
    let child = store::identity::create_child(&mut c).await.unwrap();
    assert!(
        store::involvements::start(&mut c, child, "camhs", "e1")
            .await
            .unwrap()
    );
    assert!(
        !store::involvements::start(&mut c, child, "camhs", "e2")
            .await
            .unwrap(),
        "already active"
    );
    assert_eq!(
        store::involvements::active(&mut c, child).await.unwrap(),
        vec!["camhs"]
    );
    assert!(
        store::involvements::end(&mut c, child, "camhs", "e3")
            .await
            .unwrap()
    );
    assert!(
        store::involvements::active(&mut c, child)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store::involvements::start(&mut c, child, "camhs", "e4")
            .await
            .unwrap(),
        "restarts"
    );
}

async fn delivery_queue_keeps_order_and_keys_through_retry_and_dead_letter(store: &Store) {
    let p = pipeline(store);
    school_joins(&p).await;
    for day in 1..=3 {
        committed(
            process(
                &p,
                "la-api",
                sen_support_ended(json!({"upn": "B801200005001"}), day),
            )
            .await,
        );
    }
    let mut c = store.pool().acquire().await.unwrap();
    let q = store::deliveries::pending_for_agency(&mut c, "school-a", 10)
        .await
        .unwrap();
    assert_eq!(q.len(), 3);
    assert!(q.windows(2).all(|w| w[0].seq < w[1].seq), "queue order");
    let key = q[0].idempotency_key.clone();
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    store::deliveries::schedule_retry(&mut c, q[0].id, 1, later, "HTTP 500")
        .await
        .unwrap();
    let again = store::deliveries::get(&mut c, q[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            again.attempts,
            again.status.as_str(),
            again.last_error.as_deref()
        ),
        (1, "pending", Some("HTTP 500"))
    );
    store::deliveries::mark_dead(&mut c, q[0].id, 2, "HTTP 400 Bad Request")
        .await
        .unwrap();
    store::deliveries::mark_delivered_many(&mut c, &[q[1].id])
        .await
        .unwrap();
    let dead = store::deliveries::list(&mut c, Some("dead"), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 400 Bad Request"));
    let requeued = store::deliveries::retry_dead(&mut c).await.unwrap();
    assert_eq!(requeued.len(), 1);
    let back = store::deliveries::get(&mut c, q[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (back.status.as_str(), back.idempotency_key.as_str()),
        ("pending", key.as_str())
    );
    let counts = store::deliveries::count_by_status(&mut c).await.unwrap();
    assert_eq!(counts, vec![("delivered".into(), 1), ("pending".into(), 2)]);
}

async fn the_audit_log_refuses_updates_and_deletes(store: &Store) {
    let mut c = store.pool().acquire().await.unwrap();
    store::audit::append(
        &mut c,
        &store::audit::AuditEntry {
            actor: "test".into(),
            action: "x".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        sqlx::query("UPDATE audit_log SET action = 'y'")
            .execute(&mut *c)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_log")
            .execute(&mut *c)
            .await
            .is_err()
    );
    assert_eq!(
        store::audit::recent(&mut c, 10).await.unwrap()[0].action,
        "x"
    );
}

async fn retention_prunes_only_delivered_data(store: &Store) {
    let p = pipeline(store);
    school_joins(&p).await;
    for day in 1..=3 {
        committed(
            process(
                &p,
                "la-api",
                sen_support_ended(json!({"upn": "B801200005001"}), day),
            )
            .await,
        );
    }
    let bad = process(&p, "la-api", json!({"not": "an event"})).await;
    assert!(matches!(bad, InputOutcome::Quarantined { .. }));
    let mut c = store.pool().acquire().await.unwrap();
    let q = store::deliveries::pending_for_agency(&mut c, "school-a", 10)
        .await
        .unwrap();
    store::deliveries::mark_delivered_many(&mut c, &[q[0].id])
        .await
        .unwrap();
    store::deliveries::mark_dead(&mut c, q[1].id, 3, "HTTP 400")
        .await
        .unwrap();
    // q[2] stays pending.
    let events_before = store::events::count(&mut c).await.unwrap();

    // A cutoff in the past prunes nothing.
    let none = store::retention::prune(&mut c, chrono::Utc::now() - chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(none, store::retention::Pruned::default());

    let pruned = store::retention::prune(&mut c, chrono::Utc::now() + chrono::Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(pruned.deliveries, 1, "only the delivered notification");
    // The delivered one's event goes, and so does the school's own report (it had no deliveries);
    // events with a dead or pending delivery stay.
    assert_eq!(pruned.events, 2);
    assert_eq!(
        store::events::count(&mut c).await.unwrap(),
        events_before - 2
    );
    assert!(
        store::deliveries::get(&mut c, q[1].id)
            .await
            .unwrap()
            .is_some(),
        "dead letter kept"
    );
    assert!(
        store::deliveries::get(&mut c, q[2].id)
            .await
            .unwrap()
            .is_some(),
        "pending kept"
    );
    assert_eq!(
        store::quarantine::list(&mut c, None, 10)
            .await
            .unwrap()
            .len(),
        1,
        "quarantine kept"
    );
}

async fn quarantine_keeps_inputs_and_records_resolution(store: &Store) {
    let p = pipeline(store);
    let out = process(
        &p,
        "la-api",
        sen_support_ended(json!({"nhs_number": "9434765910"}), 1),
    )
    .await;
    let InputOutcome::Quarantined {
        quarantine_id,
        step,
        problems,
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(step, "normalise");
    assert_eq!(problems[0].field, "subject.identifiers.nhs_number");
    let mut c = store.pool().acquire().await.unwrap();
    let item = store::quarantine::get(&mut c, quarantine_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&item.raw.body).contains("9434765910"),
        "raw input kept whole"
    );
    assert_eq!(item.format, "canonical-json");
    assert!(
        store::quarantine::resolve(&mut c, quarantine_id, "discarded", "operator:test", None)
            .await
            .unwrap()
    );
    assert!(
        !store::quarantine::resolve(&mut c, quarantine_id, "discarded", "operator:test", None)
            .await
            .unwrap(),
        "only once"
    );
    assert_eq!(
        store::quarantine::list(&mut c, Some("discarded"), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    drop(c);

    // An unknown source is rejected at receive and kept too.
    let out = process(&p, "nobody", json!({})).await;
    assert!(
        matches!(out, InputOutcome::Quarantined { ref step, .. } if step == "receive"),
        "{out:?}"
    );
}

#[tokio::test]
async fn sqlite_store_runs_in_wal_mode() {
    use sqlx::Row;
    let b = backends::sqlite().await;
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(b.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    b.tidy().await;
}

async fn a_redelivered_input_is_answered_from_its_first_commit(store: &Store) {
    let p = pipeline(store);
    school_joins(&p).await;
    // No event id in the body: only the upstream message id identifies the redelivery.
    let mut first = raw(
        "la-api",
        sen_support_ended(json!({"upn": "B801200005001"}), 1),
    );
    first.message_id = Some("amqp-message-42".into());
    let ids = committed(p.process(&first, "canonical-json", Origin::Fresh).await);
    let again = p.process(&first, "canonical-json", Origin::Fresh).await;
    assert_eq!(
        again,
        InputOutcome::Committed {
            event_ids: ids.clone(),
            duplicate: true
        }
    );
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM deliveries").await,
        1,
        "delivered once"
    );
    // The same message id from another source is another input.
    let mut other = raw(
        "school-api",
        submission(
            "school-a",
            json!({"upn": "B801200005001"}),
            json!({}),
            "sen_support.ended",
            json!({"on": "2026-11-02"}),
        ),
    );
    other.message_id = Some("amqp-message-42".into());
    let other_ids = committed(p.process(&other, "canonical-json", Origin::Fresh).await);
    assert_ne!(other_ids, ids);
}

async fn inputs_committed_together_keep_their_own_outcomes(store: &Store) {
    let p = pipeline(store);
    school_joins(&p).await;
    let with_id = |mut r: RawInput, id: &str| {
        r.message_id = Some(id.into());
        r
    };
    let good = with_id(
        raw(
            "la-api",
            sen_support_ended(json!({"upn": "B801200005001"}), 1),
        ),
        "m1",
    );
    let bad = with_id(
        raw(
            "la-api",
            sen_support_ended(json!({"nhs_number": "9434765910"}), 2),
        ),
        "m2",
    );
    let good2 = with_id(
        raw(
            "la-api",
            sen_support_ended(json!({"upn": "B801200005001"}), 3),
        ),
        "m3",
    );
    let outcomes = p
        .process_batch(&[good.clone(), bad, good2, good.clone()], "canonical-json")
        .await;
    assert!(
        matches!(
            outcomes[0],
            InputOutcome::Committed {
                duplicate: false,
                ..
            }
        ),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], InputOutcome::Quarantined { ref step, .. } if step == "normalise"),
        "{outcomes:?}"
    );
    assert!(
        matches!(
            outcomes[2],
            InputOutcome::Committed {
                duplicate: false,
                ..
            }
        ),
        "{outcomes:?}"
    );
    // The same message twice in one group: the second is answered from the first.
    assert_eq!(
        outcomes[3],
        InputOutcome::Committed {
            event_ids: committed(outcomes[0].clone()),
            duplicate: true
        }
    );
    assert_eq!(count(store, "SELECT COUNT(*) FROM deliveries").await, 2);
    let mut c = store.pool().acquire().await.unwrap();
    let q = store::deliveries::pending_for_agency(&mut c, "school-a", 10)
        .await
        .unwrap();
    assert_eq!(
        q[0].notification.payload["on"], "2026-11-01",
        "group order kept in the queue"
    );
    assert_eq!(q[1].notification.payload["on"], "2026-11-03");
    drop(c);

    // A conflict in a group: the group is redone one input at a time, so only it is held.
    committed(
        process(
            &p,
            "la-api",
            sen_support_ended(
                json!({"nhs_number": "9434765919", "upn": "B801200005001"}),
                4,
            ),
        )
        .await,
    );
    let fine = with_id(
        raw(
            "la-api",
            sen_support_ended(json!({"upn": "B801200005001"}), 5),
        ),
        "m5",
    );
    let conflict = with_id(
        raw(
            "la-api",
            sen_support_ended(
                json!({"nhs_number": "9876543210", "upn": "B801200005001"}),
                6,
            ),
        ),
        "m6",
    );
    let outcomes = p.process_batch(&[fine, conflict], "canonical-json").await;
    assert!(
        matches!(outcomes[0], InputOutcome::Committed { .. }),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], InputOutcome::Quarantined { ref step, .. } if step == "identity"),
        "{outcomes:?}"
    );
}

/// `GET /v1/deliveries` and `GET /v1/quarantine`'s queries: filters, newest first, and keyset
/// pages that together list every row once.
async fn operator_pages_filter_and_follow_their_cursors(store: &Store) {
    use store::deliveries::PageQuery as Deliveries;
    use store::quarantine::PageQuery as Quarantine;
    let p = pipeline(store);
    school_joins(&p).await;
    for day in 1..=3 {
        committed(
            process(
                &p,
                "la-api",
                sen_support_ended(json!({"upn": "B801200005001"}), day),
            )
            .await,
        );
    }
    let mut c = store.pool().acquire().await.unwrap();
    let all = store::deliveries::page(
        &mut c,
        &Deliveries {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].0 > w[1].0), "newest first");
    let newest = all[0].1.id.clone();
    store::deliveries::mark_delivered_many(&mut c, &[Uuid::parse_str(&newest).unwrap()])
        .await
        .unwrap();
    let delivered = Deliveries {
        status: Some("delivered"),
        agency: Some("school-a"),
        limit: 10,
        ..Default::default()
    };
    let only = store::deliveries::page(&mut c, &delivered).await.unwrap();
    assert_eq!(
        only.iter().map(|(_, d)| d.id.clone()).collect::<Vec<_>>(),
        [newest]
    );
    let elsewhere = Deliveries {
        agency: Some("camhs"),
        ..delivered
    };
    assert!(
        store::deliveries::page(&mut c, &elsewhere)
            .await
            .unwrap()
            .is_empty()
    );
    let mut before_seq = None;
    let mut paged = Vec::new();
    loop {
        let page = store::deliveries::page(
            &mut c,
            &Deliveries {
                before_seq,
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let Some((seq, _)) = page.last() else { break };
        before_seq = Some(*seq);
        paged.extend(page.into_iter().map(|(_, d)| d.id));
    }
    assert_eq!(
        paged,
        all.into_iter().map(|(_, d)| d.id).collect::<Vec<_>>()
    );
    // The pipeline needs the connection (SQLite has one writer).
    drop(c);

    for day in 1..=3 {
        let out = process(
            &p,
            "la-api",
            sen_support_ended(json!({"nhs_number": "9434765910"}), day),
        )
        .await;
        assert!(matches!(out, InputOutcome::Quarantined { .. }), "{out:?}");
    }
    let mut c = store.pool().acquire().await.unwrap();
    let held = Quarantine {
        status: Some("held"),
        source_id: Some("la-api"),
        limit: 10,
        ..Default::default()
    };
    let all = store::quarantine::page(&mut c, &held).await.unwrap();
    assert_eq!(all.len(), 3);
    let other = Quarantine {
        source_id: Some("school-api"),
        ..held
    };
    assert!(
        store::quarantine::page(&mut c, &other)
            .await
            .unwrap()
            .is_empty()
    );
    let mut after: Option<(chrono::DateTime<chrono::Utc>, String)> = None;
    let mut paged = Vec::new();
    loop {
        let page = store::quarantine::page(
            &mut c,
            &Quarantine {
                after: after.as_ref().map(|(at, id)| (*at, id.as_str())),
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.received_at, last.id.clone()));
        paged.extend(page.into_iter().map(|q| q.id));
    }
    assert_eq!(paged, all.into_iter().map(|q| q.id).collect::<Vec<_>>());
}
