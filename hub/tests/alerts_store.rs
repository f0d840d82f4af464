//! The alert lifecycle and the notice outbox in the store, on both backends: a recurring problem
//! is one alert and one "opened" notice; resolving queues one "resolved" notice, once; a
//! recurrence after that is a new episode; a "resolved" notice waits for its "opened"; a notice
//! records which channels have it and is claimed by one notifier at a time. And the evaluator:
//! alerts about the configuration resolve once it is fixed, and possible matches waiting are one
//! alert, opened while any waits and resolved when none does.

use throughline_hub::alerting::evaluate;
use throughline_hub::config::{Validated, load_str};
use throughline_hub::store::{self, Store};
use uuid::Uuid;

#[macro_use]
mod backends;

on_both_backends!(
    one_alert_and_one_notice_per_episode,
    notices_go_out_in_order_and_once_per_channel,
    the_evaluator_opens_and_resolves_what_it_can_check,
);

async fn one_alert_and_one_notice_per_episode(store: &Store) {
    let mut conn = store.acquire().await.unwrap();
    for _ in 0..5 {
        store::alerts::raise(
            &mut conn,
            "dead_letter:camhs",
            "dead_letter",
            Some("camhs"),
            "x",
        )
        .await
        .unwrap();
    }
    let open = store::alerts::open(&mut conn).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].occurrences, 5);
    let now = chrono::Utc::now();
    let due = store::alert_notices::due(&mut conn, now, 10).await.unwrap();
    assert_eq!(due.len(), 1, "one opened notice for five occurrences");
    assert_eq!(due[0].transition, "opened");

    assert!(
        store::alerts::resolve(&mut conn, "dead_letter:camhs")
            .await
            .unwrap()
    );
    assert!(
        !store::alerts::resolve(&mut conn, "dead_letter:camhs")
            .await
            .unwrap(),
        "resolving twice is one resolution"
    );
    assert!(store::alerts::open(&mut conn).await.unwrap().is_empty());
    let resolved = store::alerts::recently_resolved(&mut conn, 10)
        .await
        .unwrap();
    assert_eq!(resolved.len(), 1);
    assert!(resolved[0].resolved_at.is_some());
    assert_eq!(
        store::alert_notices::unsent_count(&mut conn).await.unwrap(),
        2
    );

    // The problem comes back: a new episode, a new alert and notice.
    store::alerts::raise(
        &mut conn,
        "dead_letter:camhs",
        "dead_letter",
        Some("camhs"),
        "y",
    )
    .await
    .unwrap();
    let open = store::alerts::open(&mut conn).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_ne!(open[0].id, resolved[0].id);
    assert_eq!(
        store::alert_notices::unsent_count(&mut conn).await.unwrap(),
        3
    );
}

async fn notices_go_out_in_order_and_once_per_channel(store: &Store) {
    let mut conn = store.acquire().await.unwrap();
    store::alerts::raise(
        &mut conn,
        "agency_failing:a",
        "agency_failing",
        Some("a"),
        "x",
    )
    .await
    .unwrap();
    store::alerts::resolve(&mut conn, "agency_failing:a")
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let due = store::alert_notices::due(&mut conn, now, 10).await.unwrap();
    assert_eq!(due.len(), 1, "the resolved notice waits for the opened one");
    let opened = &due[0];
    assert_eq!(opened.transition, "opened");

    let until = now + chrono::Duration::seconds(60);
    assert!(
        store::alert_notices::claim(&mut conn, &opened.id, now, until)
            .await
            .unwrap()
    );
    assert!(
        !store::alert_notices::claim(&mut conn, &opened.id, now, until)
            .await
            .unwrap(),
        "a claimed notice is not claimed again"
    );
    assert!(
        store::alert_notices::due(&mut conn, now, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // One channel took it, the other failed: held until the retry time, then only that channel.
    store::alert_notices::record_sent(&mut conn, &opened.id, "ops-chat")
        .await
        .unwrap();
    let retry_at = now + chrono::Duration::seconds(5);
    store::alert_notices::failed(
        &mut conn,
        &opened.id,
        "ops-email: connection failed",
        retry_at,
    )
    .await
    .unwrap();
    assert!(
        store::alert_notices::due(&mut conn, now, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = retry_at + chrono::Duration::seconds(1);
    let due = store::alert_notices::due(&mut conn, later, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(
        store::alert_notices::sent_to(&mut conn, &opened.id)
            .await
            .unwrap(),
        vec!["ops-chat".to_owned()]
    );
    store::alert_notices::finish(&mut conn, &opened.id)
        .await
        .unwrap();
    let due = store::alert_notices::due(&mut conn, later, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        due[0].transition, "resolved",
        "now the resolved notice is due"
    );
}

fn config() -> Validated {
    load_str(
        std::path::Path::new("hub.toml"),
        r#"
[[agencies]]
id = "camhs-north"
role = "health"

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = ["referral.made"]
fields = ["payload.referral_id"]
"#,
    )
    .expect("a valid configuration")
}

async fn open_keys(store: &Store) -> Vec<String> {
    let mut conn = store.acquire().await.unwrap();
    let mut keys: Vec<String> = store::alerts::open(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.dedupe_key)
        .collect();
    keys.sort();
    keys
}

async fn the_evaluator_opens_and_resolves_what_it_can_check(store: &Store) {
    let config = config();
    {
        let mut conn = store.acquire().await.unwrap();
        // Covered by the configuration now: resolves. Not configured: stays open.
        for (key, kind) in [
            (
                "no_sharing_agreement:camhs-north:referral.made",
                "no_sharing_agreement",
            ),
            (
                "no_sharing_agreement:camhs-north:school.joined",
                "no_sharing_agreement",
            ),
            ("unknown_agency:ghost", "unknown_agency"),
        ] {
            store::alerts::raise(&mut conn, key, kind, None, "x")
                .await
                .unwrap();
        }
    }
    evaluate::run(store, &config).await.unwrap();
    assert_eq!(
        open_keys(store).await,
        vec![
            "no_sharing_agreement:camhs-north:school.joined".to_owned(),
            "unknown_agency:ghost".to_owned()
        ]
    );

    let review = {
        let mut conn = store.acquire().await.unwrap();
        store::identity::open_review(
            &mut conn,
            "possible_match",
            Some(Uuid::now_v7()),
            Some(Uuid::now_v7()),
            None,
            None,
            "test",
        )
        .await
        .unwrap()
    };
    evaluate::run(store, &config).await.unwrap();
    evaluate::run(store, &config).await.unwrap();
    assert!(
        open_keys(store)
            .await
            .contains(&"possible_matches_waiting".to_owned())
    );
    {
        let mut conn = store.acquire().await.unwrap();
        let waiting = store::alerts::open_of_kind(&mut conn, "possible_matches_waiting")
            .await
            .unwrap();
        assert_eq!(waiting[0].occurrences, 1, "raised once, not once per tick");
        sqlx::query("UPDATE identity_reviews SET status = 'rejected' WHERE id = $1")
            .bind(review.to_string())
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    evaluate::run(store, &config).await.unwrap();
    assert!(
        !open_keys(store)
            .await
            .contains(&"possible_matches_waiting".to_owned())
    );
    let mut conn = store.acquire().await.unwrap();
    let resolved = store::alerts::recently_resolved(&mut conn, 10)
        .await
        .unwrap();
    assert_eq!(
        resolved.len(),
        2,
        "the covered recipient and the possible matches"
    );
}
