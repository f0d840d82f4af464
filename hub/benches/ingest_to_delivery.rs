//! Benchmark: HTTP ingest → webhook delivery, fan-out 3, durable (every input committed to the
//! store before it is acknowledged, every delivery recorded).
//!
//! Starts the release `throughline` binary on a fresh SQLite file (or the PostgreSQL database at
//! `THROUGHLINE_BENCH_STORE_URL`), three real HTTP receivers on loopback, and posts
//! `BENCH_EVENTS` events (default 2000) from `BENCH_CONCURRENCY` concurrent clients (default 16).
//! Each event is about one of `BENCH_CHILDREN` children (default 100), each involved with all
//! three receiving agencies, so every event fans out to three deliveries.
//!
//! Reports events per second (first post to last delivery) and the p50/p99 latency from the
//! start of each POST to the arrival of each of its notifications.
//!
//! Run: `cargo bench -p throughline-hub --bench ingest_to_delivery`

#[path = "../../tests/common/nhs.rs"]
mod nhs;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

type Arrivals = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

async fn receiver(arrivals: Arrivals) -> String {
    async fn receive(State(a): State<Arrivals>, body: Bytes) -> &'static str {
        let at = Instant::now();
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let id = v["event_id"].as_str().unwrap_or_default().to_owned();
        a.lock().unwrap().entry(id).or_default().push(at);
        "ok"
    }
    let app = axum::Router::new()
        .route("/n", axum::routing::post(receive))
        .with_state(arrivals);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/n")
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn nhs_numbers(count: usize) -> Vec<String> {
    nhs::test_nhs_numbers(500000, count)
}

fn event(nhs: &str, kind: &str, payload: Value) -> Value {
    json!({
        "schema_version": 1,
        "occurred_at": chrono::Utc::now(),
        "source": {"agency": "la-send", "system": "bench", "adapter": "http"},
        "subject": {"identifiers": {"nhs_number": nhs}},
        "kind": kind,
        "payload": payload,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it, and
    // then it is a quick smoke test of the benchmark itself.
    let measuring = std::env::args().any(|a| a == "--bench");
    let events = env_or("BENCH_EVENTS", if measuring { 2000 } else { 60 });
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let children = env_or("BENCH_CHILDREN", if measuring { 100 } else { 5 });
    let arrivals: Arrivals = Arc::default();
    let urls = [
        receiver(arrivals.clone()).await,
        receiver(arrivals.clone()).await,
        receiver(arrivals.clone()).await,
    ];

    let dir = tempfile::tempdir().unwrap();
    let store_url = std::env::var("THROUGHLINE_BENCH_STORE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The LA's source enrols the recipients and sends every kind measured: explicit rules, as
    // the role's defaults would refuse both (docs/security.md).
    let mut config = format!(
        "[store]\nurl = \"{store_url}\"\n[api]\nlisten = \"127.0.0.1:{port}\"\n[log]\nlevel = \"warn\"\n\
         [[agencies]]\nid = \"la-send\"\nrole = \"send\"\n\
         [[sources]]\nid = \"la\"\nagency = \"la-send\"\napi_key = \"${{BENCH_KEY}}\"\n\
         may_send = [\"*\"]\nmay_change_involvement_of = [\"*\"]\n\
         [[routes]]\nkinds = [\"*\"]\nroles = [\"recipient\"]\n"
    );
    for (i, url) in urls.iter().enumerate() {
        config.push_str(&format!(
            "[[agencies]]\nid = \"agency-{i}\"\nrole = \"recipient\"\n\
             sink = {{ type = \"webhook\", url = \"{url}\", secret = \"${{BENCH_SECRET}}\" }}\n\
             [[sharing_agreements]]\nid = \"isa-{i}\"\nagency = \"agency-{i}\"\nkinds = [\"*\"]\n\
             fields = [\"subject.identifiers.nhs_number\", \"payload.*\"]\n"
        ));
    }
    let config_path = dir.path().join("bench.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut hub = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["run", "--config"])
        .arg(&config_path)
        .env("BENCH_KEY", "bench-key-0123456789abcdef")
        .env("BENCH_SECRET", "bench-secret-0123456789")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Set-up (not measured): every child involved with all three agencies.
    let kids = nhs_numbers(children);
    for nhs in &kids {
        for i in 0..3 {
            let e = event(
                nhs,
                "involvement.started",
                json!({"agency": format!("agency-{i}"), "on": "2026-11-01"}),
            );
            let r = http
                .post(format!("{base}/v1/events"))
                .bearer_auth("bench-key-0123456789abcdef")
                .json(&e)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 202);
        }
    }
    // Let the set-up notifications drain before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    arrivals.lock().unwrap().clear();

    // Measured: `events` events, `concurrency` clients.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let (http, base, kids, sent, next) = (
            http.clone(),
            base.clone(),
            kids.clone(),
            sent.clone(),
            next.clone(),
        );
        clients.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= events {
                    break;
                }
                // Each event a new fact: the same fact about a child again is history, which
                // the hub commits but sends to nobody (docs/handoffs.md).
                let started_on = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()
                    + chrono::Days::new(n as u64);
                let e = event(
                    &kids[n % kids.len()],
                    "sen_support.started",
                    json!({"started_on": started_on.to_string(), "primary_need": "SLCN"}),
                );
                let t = Instant::now();
                let r = http
                    .post(format!("{base}/v1/events"))
                    .bearer_auth("bench-key-0123456789abcdef")
                    .json(&e)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 202);
                let v: Value = r.json().await.unwrap();
                sent.lock()
                    .unwrap()
                    .insert(v["event_ids"][0].as_str().unwrap().to_owned(), t);
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    let ingested = started.elapsed();
    let expected = events * 3;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let got: usize = {
            let a = arrivals.lock().unwrap();
            let s = sent.lock().unwrap();
            a.iter()
                .filter(|(id, _)| s.contains_key(*id))
                .map(|(_, v)| v.len())
                .sum()
        };
        if got >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = arrivals.lock().unwrap();
    let s = sent.lock().unwrap();
    let mut latencies = Vec::new();
    let mut last = started;
    for (id, t0) in s.iter() {
        for at in a.get(id).map(Vec::as_slice).unwrap_or_default() {
            latencies.push(at.duration_since(*t0));
            last = last.max(*at);
        }
    }
    latencies.sort();
    let total = last.duration_since(started);
    println!(
        "ingest_to_delivery: store={} events={events} concurrency={concurrency} fan_out=3 deliveries={}/{expected}",
        if store_url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
        latencies.len()
    );
    println!(
        "  ingest only:        {:.0} events/s ({:.2?})",
        events as f64 / ingested.as_secs_f64(),
        ingested
    );
    println!(
        "  ingest to delivery: {:.0} events/s, {:.0} deliveries/s ({:.2?})",
        events as f64 / total.as_secs_f64(),
        latencies.len() as f64 / total.as_secs_f64(),
        total
    );
    println!(
        "  latency p50 {:.1?}  p99 {:.1?}  max {:.1?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );
    hub.kill().unwrap();
    let _ = hub.wait();
    assert_eq!(latencies.len(), expected, "every notification must arrive");
}
