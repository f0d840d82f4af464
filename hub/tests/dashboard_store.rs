//! What the operators' dashboard reads and writes in the store, on both backends: accounts and
//! sessions, dead letters requeued or discarded one at a time, the overview's counts; and, on
//! SQLite with 100,000 deliveries, that every query the dashboard repeats is answered from an
//! index (its query plan), so the overview stays cheap however large the store grows.

use throughline_hub::dashboard::accounts::{self, Role};
use throughline_hub::operator::{self, OperatorError};
use throughline_hub::store::{self, Store};
use uuid::Uuid;

#[macro_use]
mod backends;

on_both_backends!(
    accounts_and_sessions_live_and_end,
    dead_letters_are_requeued_or_discarded_one_at_a_time,
    the_overview_counts_by_minute_agency_and_state,
    a_pause_is_kept_until_resumed_and_queue_health_counts_failed_attempts,
    a_confirmed_possible_match_merges_the_children_and_a_rejected_one_is_not_proposed_again,
    handoffs_needing_attention_are_due_soon_breached_or_escalated,
    the_audit_log_pages_newest_first_by_child_agency_and_time,
);

async fn actions(store: &Store) -> Vec<(String, String)> {
    let mut conn = store.acquire().await.unwrap();
    store::audit::recent(&mut conn, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect()
}

async fn accounts_and_sessions_live_and_end(store: &Store) {
    accounts::add(store, "cli", "ada", Role::Admin, "a long enough password")
        .await
        .unwrap();
    assert!(matches!(
        accounts::add(store, "cli", "ada", Role::Operator, "another long password").await,
        Err(accounts::AccountError::Taken(_))
    ));
    assert!(matches!(
        accounts::add(store, "cli", "bob", Role::Operator, "short").await,
        Err(accounts::AccountError::WeakPassword)
    ));
    assert!(matches!(
        accounts::add(
            store,
            "cli",
            "Bob Smith",
            Role::Operator,
            "a long enough password"
        )
        .await,
        Err(accounts::AccountError::InvalidUsername)
    ));

    let mut conn = store.acquire().await.unwrap();
    let creds = store::operators::credentials(&mut conn, "ada")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.role, "admin");
    assert!(accounts::verify_password(
        "a long enough password",
        &creds.password_hash
    ));
    assert!(!creds.password_hash.contains("a long enough password"));

    let now = chrono::Utc::now();
    store::operators::create_session(
        &mut conn,
        "h1",
        "ada",
        "tok",
        now + chrono::Duration::hours(8),
    )
    .await
    .unwrap();
    store::operators::create_session(
        &mut conn,
        "h2",
        "ada",
        "tok2",
        now - chrono::Duration::seconds(1),
    )
    .await
    .unwrap();
    let s = store::operators::session(&mut conn, "h1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.username.as_str(), s.role.as_str(), s.csrf_token.as_str()),
        ("ada", "admin", "tok")
    );
    assert!(!s.disabled);
    // The one past its absolute expiry goes; the live one stays.
    assert_eq!(
        store::operators::end_stale_sessions(&mut conn, now, now - chrono::Duration::minutes(30))
            .await
            .unwrap(),
        1
    );
    assert!(
        store::operators::session(&mut conn, "h1")
            .await
            .unwrap()
            .is_some()
    );
    drop(conn);

    accounts::disable(store, "cli", "ada").await.unwrap();
    let mut conn = store.acquire().await.unwrap();
    assert!(
        store::operators::session(&mut conn, "h1")
            .await
            .unwrap()
            .is_none(),
        "disabling an account ends its sessions"
    );
    drop(conn);
    let listed = accounts::list(store).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].disabled);
    assert!(matches!(
        accounts::disable(store, "cli", "nobody").await,
        Err(accounts::AccountError::NoSuchOperator(_))
    ));
    let audited = actions(store).await;
    for action in ["operator_account.added", "operator_account.disabled"] {
        assert!(
            audited
                .iter()
                .any(|(a, b)| a == "operator:cli" && b == action),
            "{action}: {audited:?}"
        );
    }
}

/// Inserts one event and `n` deliveries for it, `i` from 1 to `n`: id `<event>-<i>`, agency
/// `agency-<i % agencies>`, status the SQL expression `status_sql` of `i`, made (and, if
/// delivered, delivered) at `t0 + i` ms. Returns the event's id.
async fn seed(store: &Store, n: i64, agencies: i64, t0: i64, status_sql: &str) -> Uuid {
    let event = Uuid::now_v7();
    let mut tx = store.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (id, kind, source_id, source_agency, child_id, occurred_at, received_at, body)
         VALUES ($1, 'school.joined', 'src', 'la', 'child', $2, $2, '{}')",
    )
    .bind(event.to_string())
    .bind(t0)
    .execute(&mut *tx)
    .await
    .unwrap();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO deliveries (id, event_id, agency, child_id, idempotency_key, sharing_agreement,
                                 notification, status, attempts, next_attempt_at, created_at, updated_at, delivered_at)
         SELECT $2 || '-' || i, $3, 'agency-' || (i % $4), 'child', $3 || '/' || i, 'isa', '{{}}',
                {status_sql}, 1, $5, $5 + i, $5 + i,
                CASE WHEN {status_sql} = 'delivered' THEN $5 + i ELSE NULL END
         FROM n"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(n)
        .bind(event.simple().to_string())
        .bind(event.to_string())
        .bind(agencies)
        .bind(t0)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    event
}

async fn dead_letters_are_requeued_or_discarded_one_at_a_time(store: &Store) {
    let t0 = store::to_ms(chrono::Utc::now());
    let seeded = seed(store, 3, 1, t0, "'dead'").await.simple().to_string();
    let mut conn = store.acquire().await.unwrap();
    let dead = store::deliveries::dead_letters(&mut conn, 10)
        .await
        .unwrap();
    drop(conn);
    let listed: Vec<&str> = dead.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        listed,
        [3, 2, 1].map(|i| format!("{seeded}-{i}")),
        "newest first"
    );

    // Real deliveries, with UUID ids, for the operator functions.
    let event = Uuid::now_v7();
    let ids: Vec<Uuid> = (0..2).map(|_| Uuid::now_v7()).collect();
    let mut tx = store.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (id, kind, source_id, source_agency, child_id, occurred_at, received_at, body)
         VALUES ($1, 'school.joined', 'src', 'la', 'child', $2, $2, '{}')",
    )
    .bind(event.to_string())
    .bind(t0)
    .execute(&mut *tx)
    .await
    .unwrap();
    for id in &ids {
        sqlx::query(
            "INSERT INTO deliveries (id, event_id, agency, child_id, idempotency_key, sharing_agreement,
                                     notification, status, attempts, next_attempt_at, created_at, updated_at, last_error)
             VALUES ($1, $2, 'school-a', 'child', $3, 'isa', '{}', 'dead', 10, $4, $4, $4, 'HTTP 400')",
        )
        .bind(id.to_string())
        .bind(event.to_string())
        .bind(format!("{event}/{id}"))
        .bind(t0)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let agency = operator::retry_dead_letter(store, "ada", ids[0])
        .await
        .unwrap();
    assert_eq!(agency, "school-a");
    assert!(matches!(
        operator::retry_dead_letter(store, "ada", ids[0]).await,
        Err(OperatorError::NotDead(_))
    ));
    operator::discard_dead_letter(store, "ada", ids[1], "agency closed")
        .await
        .unwrap();
    assert!(matches!(
        operator::discard_dead_letter(store, "ada", ids[1], "again").await,
        Err(OperatorError::NotDead(_))
    ));
    let mut conn = store.acquire().await.unwrap();
    let (requeued, _) = store::deliveries::detail(&mut conn, ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (requeued.status.as_str(), requeued.attempts),
        ("pending", 0)
    );
    let (discarded, _) = store::deliveries::detail(&mut conn, ids[1])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(discarded.status, store::deliveries::DISCARDED);
    let still_dead = store::deliveries::dead_letters(&mut conn, 10)
        .await
        .unwrap();
    assert_eq!(still_dead.len(), 3, "only the seeded ones are left dead");
    drop(conn);
    let audited = actions(store).await;
    for action in ["delivery.requeued", "delivery.discarded"] {
        assert!(
            audited
                .iter()
                .any(|(a, b)| a == "operator:ada" && b == action),
            "{action}: {audited:?}"
        );
    }
}

async fn the_overview_counts_by_minute_agency_and_state(store: &Store) {
    // A minute boundary, so the minutes counted are known.
    let t0 = (store::to_ms(chrono::Utc::now()) / 60_000 - 5) * 60_000;
    // 120 deliveries over 120 ms: i % 3 == 0 pending, 1 delivered, 2 dead; two agencies.
    seed(
        store,
        120,
        2,
        t0,
        "CASE i % 3 WHEN 0 THEN 'pending' WHEN 1 THEN 'delivered' ELSE 'dead' END",
    )
    .await;
    let mut conn = store.acquire().await.unwrap();
    let since = store::from_ms(t0 - 60_000);
    let events = store::overview::events_per_minute(&mut conn, since)
        .await
        .unwrap();
    assert_eq!(events, vec![(store::from_ms(t0), 1)]);
    let out = store::overview::notifications_per_minute(&mut conn, since)
        .await
        .unwrap();
    assert_eq!(out, vec![(store::from_ms(t0), 40)]);
    let later = store::overview::notifications_per_minute(&mut conn, store::from_ms(t0 + 60_000))
        .await
        .unwrap();
    assert!(later.is_empty());
    let counts = store::overview::by_agency_and_status(&mut conn)
        .await
        .unwrap();
    let n = |agency: &str, status: &str| {
        counts
            .iter()
            .find(|c| c.agency == agency && c.status == status)
            .map_or(0, |c| c.n)
    };
    assert_eq!(counts.iter().map(|c| c.n).sum::<i64>(), 120);
    // i even → agency-0: pending i%3==0 and even → i%6==0: 20 of them.
    assert_eq!(n("agency-0", "pending"), 20);
    assert_eq!(n("agency-1", "dead"), 20);
    // The head of agency-1's queue is i = 3 (odd, divisible by 3), made at t0 + 3.
    assert_eq!(
        store::overview::oldest_pending(&mut conn, "agency-1")
            .await
            .unwrap(),
        Some(store::from_ms(t0 + 3))
    );
    assert_eq!(
        store::overview::oldest_pending(&mut conn, "nobody")
            .await
            .unwrap(),
        None
    );
}

/// SQLite's plan for `sql`, one line per step.
async fn plan(store: &Store, sql: &str) -> String {
    use sqlx::Row;
    let mut conn = store.acquire().await.unwrap();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .bind(0_i64)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn with_100000_deliveries_the_dashboard_reads_only_through_indexes() {
    let b = backends::sqlite().await;
    let store = &b.store;
    let t0 = store::to_ms(chrono::Utc::now()) - 30 * 60_000;
    seed(
        store,
        100_000,
        20,
        t0,
        "CASE WHEN i % 50 = 0 THEN 'dead' WHEN i % 10 = 0 THEN 'pending' ELSE 'delivered' END",
    )
    .await;
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();

    for (name, sql) in [
        ("events per minute", store::overview::EVENTS_PER_MINUTE_SQL),
        (
            "notifications per minute",
            store::overview::NOTIFICATIONS_PER_MINUTE_SQL,
        ),
        (
            "deliveries by agency and state",
            store::overview::BY_AGENCY_AND_STATUS_SQL,
        ),
        ("oldest pending", store::overview::OLDEST_PENDING_SQL),
        ("dead letters", store::deliveries::DEAD_LETTERS_SQL),
        (
            "notifications made per minute",
            store::overview::CREATED_PER_MINUTE_SQL,
        ),
        (
            "notifications left unsent per minute",
            store::overview::LEFT_UNSENT_PER_MINUTE_SQL,
        ),
    ] {
        let p = plan(store, sql).await;
        for line in p.lines() {
            let reads_table_whole = line.starts_with("SCAN") && !line.contains("INDEX");
            assert!(!reads_table_whole, "{name} scans a table: {p}");
        }
        println!("{name}:\n{p}\n");
    }
    // The recent deliveries table reads the newest rows by primary key.
    let recent = plan(
        store,
        "SELECT id FROM deliveries ORDER BY seq DESC LIMIT $1",
    )
    .await;
    assert!(
        !recent.contains("TEMP B-TREE"),
        "recent deliveries sort: {recent}"
    );

    // And the answers are right at this size.
    let mut conn = store.acquire().await.unwrap();
    let counts = store::overview::by_agency_and_status(&mut conn)
        .await
        .unwrap();
    let total = |status: &str| {
        counts
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.n)
            .sum::<i64>()
    };
    assert_eq!(
        (total("dead"), total("pending"), total("delivered")),
        (2_000, 8_000, 90_000)
    );
    let out = store::overview::notifications_per_minute(&mut conn, store::from_ms(t0))
        .await
        .unwrap();
    assert_eq!(out.iter().map(|(_, n)| n).sum::<i64>(), 90_000);
    assert_eq!(
        store::deliveries::dead_letters(&mut conn, 200)
            .await
            .unwrap()
            .len(),
        200
    );
    drop(conn);
    b.tidy().await;
}

async fn a_pause_is_kept_until_resumed_and_queue_health_counts_failed_attempts(store: &Store) {
    operator::pause_agency(store, "ada", "agency-1", "receiver replaced")
        .await
        .unwrap();
    assert!(matches!(
        operator::pause_agency(store, "ada", "agency-1", "again").await,
        Err(OperatorError::AgencyAlready(..))
    ));
    let mut conn = store.acquire().await.unwrap();
    assert!(
        store::agencies::is_paused(&mut conn, "agency-1")
            .await
            .unwrap()
    );
    assert!(
        !store::agencies::is_paused(&mut conn, "agency-0")
            .await
            .unwrap()
    );
    let pauses = store::agencies::pauses(&mut conn).await.unwrap();
    assert_eq!(
        (pauses[0].paused_by.as_str(), pauses[0].reason.as_str()),
        ("operator:ada", "receiver replaced")
    );
    drop(conn);
    operator::resume_agency(store, "ada", "agency-1")
        .await
        .unwrap();
    assert!(matches!(
        operator::resume_agency(store, "ada", "agency-1").await,
        Err(OperatorError::AgencyAlready(..))
    ));
    let mut conn = store.acquire().await.unwrap();
    assert!(
        !store::agencies::is_paused(&mut conn, "agency-1")
            .await
            .unwrap()
    );

    // Ten deliveries to one agency, each attempted once (seeded with attempts = 1): the
    // delivered ones succeeded first time, the others failed.
    let t0 = store::to_ms(chrono::Utc::now());
    drop(conn);
    seed(
        store,
        10,
        1,
        t0,
        "CASE WHEN i <= 6 THEN 'delivered' WHEN i <= 8 THEN 'pending' ELSE 'dead' END",
    )
    .await;
    let mut conn = store.acquire().await.unwrap();
    let h = store::agencies::queue_health(&mut conn, "agency-0")
        .await
        .unwrap();
    assert_eq!((h.attempts, h.failed_attempts, h.retrying), (10, 4, 2));
    assert_eq!(h.last_success, Some(store::from_ms(t0 + 6)));
    let none = store::agencies::queue_health(&mut conn, "nobody")
        .await
        .unwrap();
    assert_eq!(none, store::agencies::QueueHealth::default());
    drop(conn);
    let audited = actions(store).await;
    for action in ["agency.paused", "agency.resumed"] {
        assert!(
            audited
                .iter()
                .any(|(a, b)| a == "operator:ada" && b == action)
        );
    }
}

/// A child with one identifier, as identity resolution would have made it.
async fn child_with(store: &Store, scheme: &str, value: &str) -> Uuid {
    let mut conn = store.acquire().await.unwrap();
    let c = store::identity::create_child(&mut conn).await.unwrap();
    store::identity::link(&mut conn, scheme, value, c)
        .await
        .unwrap();
    store::identity::add_evidence(&mut conn, c, "LOVELACE|2015-12-10|LS1")
        .await
        .unwrap();
    c
}

async fn possible_match(store: &Store, a: Uuid, b: Uuid) -> Uuid {
    let mut conn = store.acquire().await.unwrap();
    store::identity::open_review(
        &mut conn,
        "possible_match",
        Some(a),
        Some(b),
        None,
        None,
        "test",
    )
    .await
    .unwrap()
}

async fn decide(store: &Store, id: Uuid, confirm: bool) -> store::reviews::Decided {
    let mut tx = store.begin().await.unwrap();
    let d = if confirm {
        store::reviews::confirm(&mut tx, id, "operator:ada").await
    } else {
        store::reviews::reject(&mut tx, id, "operator:ada").await
    }
    .unwrap();
    tx.commit().await.unwrap();
    d
}

async fn a_confirmed_possible_match_merges_the_children_and_a_rejected_one_is_not_proposed_again(
    store: &Store,
) {
    use store::reviews::Decided;
    // Confirm: NHS number on one record, UPN on the other; afterwards both name one child.
    let a = child_with(store, "nhs", "9434765919").await;
    let b = child_with(store, "upn", "B801200005001").await;
    let review = possible_match(store, a, b).await;
    let third = child_with(store, "local:la-send/capita", "C-9").await;
    let dangling = possible_match(store, third, a.max(b)).await;
    {
        let mut conn = store.acquire().await.unwrap();
        assert_eq!(
            store::reviews::open_possible_matches(&mut conn, 10)
                .await
                .unwrap()
                .len(),
            2
        );
    }
    let (into, from) = (a.min(b), a.max(b));
    assert_eq!(
        decide(store, review, true).await,
        Decided::Merged { from, into }
    );
    let mut conn = store.acquire().await.unwrap();
    for (scheme, value) in [("nhs", "9434765919"), ("upn", "B801200005001")] {
        assert_eq!(
            store::identity::lookup(&mut conn, scheme, value)
                .await
                .unwrap(),
            Some(into),
            "{scheme} names the surviving child"
        );
    }
    let r = store::reviews::get(&mut conn, review)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "confirmed");
    let moved = store::reviews::get(&mut conn, dangling)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        moved.other_child_id.as_deref(),
        Some(into.to_string().as_str()),
        "another review of the merged child now names the survivor"
    );
    drop(conn);
    assert_eq!(
        decide(store, review, false).await,
        Decided::NotOpen("confirmed".into()),
        "a decided review cannot be decided again"
    );

    // Reject: recorded, and the pair is not proposed again.
    assert_eq!(decide(store, dangling, false).await, Decided::Rejected);
    let mut conn = store.acquire().await.unwrap();
    assert!(
        store::identity::pair_reviewed(&mut conn, into, third)
            .await
            .unwrap()
    );
    assert!(
        store::identity::pair_reviewed(&mut conn, third, into)
            .await
            .unwrap(),
        "in either order"
    );
    assert!(
        store::reviews::open_possible_matches(&mut conn, 10)
            .await
            .unwrap()
            .is_empty()
    );
    drop(conn);

    // Two NHS numbers can never be one child, whoever confirms it.
    let x = child_with(store, "nhs", "9434765870").await;
    let y = child_with(store, "nhs", "9434765919-other").await;
    let clash = possible_match(store, x, y).await;
    assert_eq!(
        decide(store, clash, true).await,
        Decided::Conflict("NHS number".into())
    );
    let mut conn = store.acquire().await.unwrap();
    assert_eq!(
        store::reviews::get(&mut conn, clash)
            .await
            .unwrap()
            .unwrap()
            .status,
        "open",
        "a refused confirmation leaves the review open"
    );
    drop(conn);

    let entries = actions(store).await;
    for action in [
        "identity.merged",
        "identity_review.confirmed",
        "identity_review.rejected",
    ] {
        assert!(
            entries
                .iter()
                .any(|(actor, a)| actor == "operator:ada" && a == action),
            "{action} audited: {entries:?}"
        );
    }
}

async fn handoff(store: &Store, child: Uuid, due: Option<i64>, state: &str) -> Uuid {
    let now = chrono::Utc::now();
    let id = Uuid::now_v7();
    let mut conn = store.acquire().await.unwrap();
    store::handoffs::insert(
        &mut conn,
        &store::handoffs::NewHandoff {
            id,
            kind: "referral",
            reference: "R",
            child_id: child,
            from_agency: "la-send",
            to_agency: "camhs-north",
            event_id: Uuid::now_v7(),
            clock_start: now,
            period: "5 working days".into(),
            due_at: due.map(|h| now + chrono::Duration::hours(h)),
            next_check_at: None,
            made_at: now,
            parent_id: None,
        },
    )
    .await
    .unwrap();
    sqlx::query("UPDATE handoffs SET state = $1 WHERE id = $2")
        .bind(state)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .unwrap();
    id
}

async fn handoffs_needing_attention_are_due_soon_breached_or_escalated(store: &Store) {
    let child = {
        let mut conn = store.acquire().await.unwrap();
        store::identity::create_child(&mut conn).await.unwrap()
    };
    let breached = handoff(store, child, Some(-2), "made").await;
    let soon = handoff(store, child, Some(3), "delivered").await;
    let later = handoff(store, child, Some(24 * 10), "made").await;
    let answered = handoff(store, child, Some(-5), "accepted").await;
    let escalated_paused = handoff(store, child, None, "delivered").await;
    sqlx::query("UPDATE handoffs SET escalation_step = 1, escalated_at = $1 WHERE id = $2")
        .bind(store::to_ms(chrono::Utc::now()))
        .bind(escalated_paused.to_string())
        .execute(store.pool())
        .await
        .unwrap();
    let mut conn = store.acquire().await.unwrap();
    let due_before = chrono::Utc::now() + chrono::Duration::hours(24);
    let ids: Vec<Uuid> = store::handoffs::needing_attention(&mut conn, due_before, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(
        ids,
        vec![breached, soon, escalated_paused],
        "soonest deadline first, then escalated ones without a deadline"
    );
    assert!(!ids.contains(&later) && !ids.contains(&answered));
}

/// Appends an audit entry at `at_ms` directly (the store stamps `now` on real ones).
async fn audit_at(store: &Store, at_ms: i64, agency: &str, event: Option<&str>, action: &str) {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, event_id, agency) VALUES ($1, 'hub', $2, $3, $4)",
    )
    .bind(at_ms)
    .bind(action)
    .bind(event.map(str::to_owned))
    .bind(agency)
    .execute(store.pool())
    .await
    .unwrap();
}

async fn the_audit_log_pages_newest_first_by_child_agency_and_time(store: &Store) {
    use store::audit_search::{AuditFilter, page};
    let child = {
        let mut conn = store.acquire().await.unwrap();
        store::identity::create_child(&mut conn).await.unwrap()
    };
    let event = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO events (id, kind, source_id, source_agency, child_id, occurred_at, received_at, body)
         VALUES ($1, 'referral.made', 'la', 'la-send', $2, 0, 0, '{}')",
    )
    .bind(&event)
    .bind(child.to_string())
    .execute(store.pool())
    .await
    .unwrap();
    let t0 = 1_700_000_000_000_i64;
    for i in 0..250_i64 {
        let agency = if i % 2 == 0 { "school" } else { "camhs" };
        let about = (i % 10 == 0).then_some(event.as_str());
        audit_at(store, t0 + i * 60_000, agency, about, &format!("a{i}")).await;
    }
    let mut conn = store.acquire().await.unwrap();
    let actions = |p: &store::audit_search::AuditPage| -> Vec<String> {
        p.entries.iter().map(|e| e.action.clone()).collect()
    };

    // Every entry, newest first, in three pages that join without a gap or an overlap.
    let mut seen = Vec::new();
    let mut filter = AuditFilter::default();
    loop {
        let p = page(&mut conn, &filter, 100).await.unwrap();
        seen.extend(actions(&p));
        match p.next_before {
            Some(b) => filter.before = Some(b),
            None => break,
        }
    }
    let all: Vec<String> = (0..250).rev().map(|i| format!("a{i}")).collect();
    assert_eq!(seen, all);

    let by_agency = page(
        &mut conn,
        &AuditFilter {
            agency: Some("camhs".into()),
            ..Default::default()
        },
        1000,
    )
    .await
    .unwrap();
    assert_eq!(by_agency.entries.len(), 125);
    assert!(
        by_agency
            .entries
            .iter()
            .all(|e| e.agency.as_deref() == Some("camhs"))
    );

    let by_child = page(
        &mut conn,
        &AuditFilter {
            child: Some(child),
            ..Default::default()
        },
        1000,
    )
    .await
    .unwrap();
    assert_eq!(
        actions(&by_child),
        (0..25)
            .rev()
            .map(|i| format!("a{}", i * 10))
            .collect::<Vec<_>>()
    );

    // Minutes 100 to 109: from inclusive, until exclusive; with the agency too.
    let range = AuditFilter {
        from: Some(store::from_ms(t0 + 100 * 60_000)),
        until: Some(store::from_ms(t0 + 110 * 60_000)),
        ..Default::default()
    };
    let p = page(&mut conn, &range, 1000).await.unwrap();
    assert_eq!(
        actions(&p),
        (100..110)
            .rev()
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
    );
    let p = page(
        &mut conn,
        &AuditFilter {
            agency: Some("school".into()),
            ..range.clone()
        },
        3,
    )
    .await
    .unwrap();
    assert_eq!(actions(&p), ["a108", "a106", "a104"]);
    let rest = page(
        &mut conn,
        &AuditFilter {
            agency: Some("school".into()),
            before: p.next_before,
            ..range
        },
        3,
    )
    .await
    .unwrap();
    assert_eq!(actions(&rest), ["a102", "a100"]);
    assert_eq!(rest.next_before, None);
    let empty = page(
        &mut conn,
        &AuditFilter {
            from: Some(store::from_ms(t0 + 1000 * 60_000)),
            ..Default::default()
        },
        10,
    )
    .await
    .unwrap();
    assert!(empty.entries.is_empty());
}

/// SQLite's plan for `sql` with `binds` text parameters, one line per step.
async fn plan_with(store: &Store, sql: &str, binds: usize) -> String {
    use sqlx::Row;
    let mut conn = store.acquire().await.unwrap();
    let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
    for _ in 0..binds {
        q = q.bind(1_i64);
    }
    let rows = q.fetch_all(&mut *conn).await.unwrap();
    rows.iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn with_100000_audit_entries_the_audit_log_page_reads_only_through_indexes() {
    let b = backends::sqlite().await;
    let store = &b.store;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
         INSERT INTO audit_log (at, actor, action, event_id, agency)
         SELECT i * 1000, 'hub', 'route.allowed', 'e' || (i % 5000), 'agency-' || (i % 20) FROM n",
    )
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
         INSERT INTO events (id, kind, source_id, source_agency, child_id, occurred_at, received_at, body)
         SELECT 'e' || i, 'referral.made', 's', 'la', 'c' || (i % 1000), 0, 0, '{}' FROM n",
    )
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    use store::audit_search::{FIRST_AT_OR_AFTER_SQL, LAST_BEFORE_SQL, page_sql};
    let mut cases = vec![
        ("first at or after", FIRST_AT_OR_AFTER_SQL.to_owned(), 1),
        ("last before", LAST_BEFORE_SQL.to_owned(), 1),
    ];
    for (child, agency, min, max) in [
        (false, false, false, false),
        (false, false, false, true),
        (false, true, false, true),
        (false, false, true, true),
        (true, false, false, false),
        (true, true, true, true),
        (false, true, true, true),
    ] {
        let binds = [child, agency, min, max].iter().filter(|x| **x).count() + 1;
        cases.push(("page", page_sql(child, agency, min, max), binds));
    }
    for (name, sql, binds) in cases {
        let p = plan_with(store, &sql, binds).await;
        println!("{name}: {sql}\n{p}\n");
        // Unfiltered, the newest page walks the primary key backwards and stops at the limit
        // (`SCAN audit_log` with no sort); any filter must seek through an index.
        let unfiltered = !sql.contains("WHERE");
        for line in p.lines() {
            let reads_table_whole =
                line.starts_with("SCAN") && !line.contains("INDEX") && !unfiltered;
            assert!(!reads_table_whole, "{name} scans a table: {sql}\n{p}");
        }
        if !sql.contains("child_id") {
            assert!(!p.contains("TEMP B-TREE"), "{name} sorts: {sql}\n{p}");
        }
    }
    b.tidy().await;
}
