//! The operators' dashboard's page times with a large store: `BENCH_DELIVERIES` deliveries
//! (default 100,000) in SQLite (the embedded default), seeded straight into the tables (not
//! through the pipeline, which would take far longer and is measured elsewhere): one event per
//! four deliveries, 2% of deliveries dead, 8% pending, the rest delivered, spread over 20
//! agencies and the last half hour; and one audit entry per delivery.
//!
//! The hub's real routes (API and dashboard, merged as `app::run` does) serve on a loopback
//! port; an admin operator logs in through the login form, then each page is fetched
//! `BENCH_REQUESTS` times (default 20) one after another and its median and max reported. The
//! live overview is timed as a new event stream's first fragment, measured from the
//! publisher's one-second tick that produced it (not from the request, which mostly waits for
//! the tick).
//!
//! `cargo bench -p throughline-hub --bench dashboard_pages`; `cargo test` runs 2,000
//! deliveries and 3 requests a page as a smoke test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use throughline_hub::api::{self, AppState};
use throughline_hub::config;
use throughline_hub::dashboard::{self, accounts};
use throughline_hub::deliver::Wakers;
use throughline_hub::health::Links;
use throughline_hub::pipeline::Pipeline;
use throughline_hub::store::{self, Store};
use tokio_util::sync::CancellationToken;

const AGENCIES: usize = 20;
const PASSWORD: &str = "a benchmark password, long enough";

fn config_text(dir: &std::path::Path) -> String {
    let secret = dir.join("secret");
    std::fs::write(&secret, "a-benchmark-secret-0123456789").unwrap();
    let mut text = format!(
        "[store]\nurl = \"sqlite://{}\"\n",
        dir.join("hub.db").display()
    );
    for i in 0..AGENCIES {
        text.push_str(&format!(
            "[[agencies]]\nid = \"agency-{i}\"\nrole = \"service\"\n\
             sink = {{ type = \"webhook\", url = \"http://127.0.0.1:9/none\", secret = \"${{file:{s}}}\" }}\n\
             [[sharing_agreements]]\nid = \"isa-{i}\"\nagency = \"agency-{i}\"\nkinds = [\"*\"]\nfields = [\"payload.*\"]\n",
            s = secret.display()
        ));
    }
    text.push_str(&format!(
        "[[sources]]\nid = \"la-api\"\nagency = \"agency-0\"\nsystem = \"bench\"\napi_key = \"${{file:{}}}\"\n\
         [[routes]]\nkinds = [\"*\"]\nroles = [\"service\"]\n",
        secret.display()
    ));
    text
}

/// A UUID-shaped id for row `i` of a kind (`tag`, one hex digit), so detail pages parse it.
fn uuid_sql(tag: char, expr: &str) -> String {
    format!("printf('00000000-0000-7000-{tag}000-%012x', {expr})")
}

/// Seeds `n` deliveries, `n / 4` events and `n` audit entries, made over the last half hour.
async fn seed(store: &Store, n: i64, t0: i64) {
    let events = (n / 4).max(1);
    // Spread evenly over the half hour, one row every `step` ms.
    let step = (30 * 60_000 / n).max(1);
    let mut tx = store.begin().await.unwrap();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO events (id, kind, source_id, source_agency, child_id, occurred_at, received_at, body)
         SELECT {id}, 'referral.made', 'la-api', 'agency-0', 'child-' || (i % 5000), $2 + (i - 1) * 4 * $3, $2 + (i - 1) * 4 * $3,
                '{{\"payload\":{{\"reason\":\"benchmark\"}}}}'
         FROM n",
        id = uuid_sql('9', "i")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(events)
        .bind(t0)
        .bind(step)
        .execute(&mut *tx)
        .await
        .unwrap();
    let status =
        "CASE WHEN i % 50 = 0 THEN 'dead' WHEN i % 10 = 0 THEN 'pending' ELSE 'delivered' END";
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO deliveries (id, event_id, agency, child_id, idempotency_key, sharing_agreement,
                                 notification, status, attempts, next_attempt_at, created_at, updated_at, delivered_at)
         SELECT {id}, {event}, 'agency-' || (i % {AGENCIES}), 'child-' || (((i - 1) / 4 + 1) % 5000),
                {event} || '/' || i, 'isa-' || (i % {AGENCIES}), '{{\"kind\":\"referral.made\"}}',
                {status}, 1, $2 + i * $3, $2 + i * $3, $2 + i * $3,
                CASE WHEN {status} = 'delivered' THEN $2 + i * $3 ELSE NULL END
         FROM n",
        id = uuid_sql('8', "i"),
        event = uuid_sql('9', "(i - 1) / 4 + 1"),
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(n)
        .bind(t0)
        .bind(step)
        .execute(&mut *tx)
        .await
        .unwrap();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO audit_log (at, actor, action, event_id, agency)
         SELECT $2 + i * $3, 'hub', 'route.allowed', {event}, 'agency-' || (i % {AGENCIES}) FROM n",
        event = uuid_sql('9', "(i - 1) / 4 + 1"),
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(n)
        .bind(t0)
        .bind(step)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
}

/// Logs in through the form and returns the session cookie (`name=value`). The cookie is
/// `Secure`, so it is carried by hand rather than by a cookie jar that would not send it over
/// plain HTTP.
async fn log_in(client: &reqwest::Client, base: &str) -> String {
    let form = client
        .get(format!("{base}/dashboard/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("name=\"password\""));
    let res = client
        .post(format!("{base}/dashboard/login"))
        .header("origin", base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username=bench&password={}",
            PASSWORD.replace(' ', "+").replace(',', "%2C")
        ))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "login: {}", res.status());
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("throughline_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// Median and max, in milliseconds.
fn summary(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(times[times.len() / 2]), ms(times[times.len() - 1]))
}

#[tokio::main]
async fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let knob = |name: &str, bench: usize, test: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if measuring { bench } else { test })
    };
    let deliveries = knob("BENCH_DELIVERIES", 100_000, 2_000);
    let requests = knob("BENCH_REQUESTS", 20, 3).max(1);

    let dir = tempfile::tempdir().unwrap();
    let cfg =
        Arc::new(config::load_str(&dir.path().join("hub.toml"), &config_text(dir.path())).unwrap());
    let store = Store::connect(&cfg.store.url).await.unwrap();
    let now = store::to_ms(chrono::Utc::now());
    let t0 = now - 30 * 60_000;
    let seeding = Instant::now();
    seed(&store, deliveries as i64, t0).await;
    let seeded = seeding.elapsed();
    accounts::add(&store, "bench", "bench", accounts::Role::Admin, PASSWORD)
        .await
        .unwrap();

    let pipeline = Arc::new(Pipeline::new(
        cfg.clone(),
        store,
        Wakers::for_agencies(cfg.agencies.keys()),
    ));
    let links = Links::default();
    let cancel = CancellationToken::new();
    // The live publisher's one-second ticks start (within a millisecond or so) when the
    // dashboard's router is built: a fragment's arrival past the last whole second since then
    // is the time the tick's snapshot took to query, render and reach the client.
    let ticks_from = Instant::now();
    let routes = api::router(AppState {
        pipeline: pipeline.clone(),
        links: links.clone(),
    })
    .merge(dashboard::router(pipeline, links, cancel.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            axum::serve(listener, routes)
                .with_graceful_shutdown(cancel.cancelled_owned())
                .await
                .unwrap();
        }
    });

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = log_in(&client, &base).await;

    let from = chrono::DateTime::from_timestamp_millis(now - 10 * 60_000)
        .unwrap()
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let delivery = format!("00000000-0000-7000-8000-{:012x}", deliveries / 2);
    let pages = [
        ("overview", "/dashboard".to_owned()),
        ("agencies", "/dashboard/agencies".to_owned()),
        ("dead letters", "/dashboard/dead-letters".to_owned()),
        ("quarantine", "/dashboard/quarantine".to_owned()),
        ("handoffs", "/dashboard/handoffs".to_owned()),
        ("identity review", "/dashboard/identity".to_owned()),
        ("audit log, first page", "/dashboard/audit".to_owned()),
        (
            "audit log, by agency and from a time",
            format!("/dashboard/audit?agency=agency-3&from={from}"),
        ),
        ("a delivery", format!("/dashboard/deliveries/{delivery}")),
    ];

    println!(
        "dashboard_pages: deliveries={deliveries} events={} audit entries={deliveries} \
         (seeded in {:.1} s); {requests} requests a page, one at a time",
        (deliveries / 4).max(1),
        seeded.as_secs_f64()
    );
    println!(
        "  {:<40} {:>10} {:>10} {:>10}",
        "page", "median ms", "max ms", "bytes"
    );
    for (name, path) in &pages {
        let mut times = Vec::with_capacity(requests);
        let mut bytes = 0;
        for _ in 0..requests {
            let started = Instant::now();
            let res = client
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            times.push(started.elapsed());
            assert_eq!(status, 200, "{name}: {body}");
            assert!(!body.contains("name=\"password\""), "{name}: not logged in");
            bytes = body.len();
        }
        let (median, max) = summary(times);
        println!("  {name:<40} {median:>10.1} {max:>10.1} {bytes:>10}");
    }

    // One overview snapshot: a new stream's first fragment, timed from the publisher's tick
    // (see `ticks_from`) rather than from the request, which mostly waits for the tick.
    let streams = requests.min(5);
    let mut times = Vec::with_capacity(streams);
    for _ in 0..streams {
        let mut res = client
            .get(format!("{base}/dashboard/events?watch=overview"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let mut got = String::new();
        while !got.contains("overview-live") {
            let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk())
                .await
                .expect("a fragment within 10 s")
                .unwrap()
                .expect("the stream stays open");
            got.push_str(&String::from_utf8_lossy(&chunk));
        }
        let since = ticks_from.elapsed();
        times.push(Duration::from_nanos(
            (since.as_nanos() % Duration::from_secs(1).as_nanos()) as u64,
        ));
    }
    let (median, max) = summary(times);
    println!(
        "  {:<40} {median:>10.1} {max:>10.1} {:>10}",
        "live overview snapshot (from its tick)", "-"
    );

    cancel.cancel();
    server.await.unwrap();
}
