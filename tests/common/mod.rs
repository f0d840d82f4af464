//! Shared harness for the end-to-end tests: the real `throughline` binary, a temporary store,
//! and real local HTTP receivers standing in for agencies' systems.
//!
//! Receivers are real HTTP servers on loopback (axum), scripted per test: answer 200, answer a
//! given status, hang, or answer slowly. Nothing here mocks the hub.
#![allow(dead_code, unused_imports)]

pub mod brokers;
pub mod mesh;
pub mod nhs;

pub use nhs::test_nhs_numbers;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

/// What a receiver does with one request.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    Status(u16),
    /// Never answers (the hub's timeout must cut it off).
    Hang,
    /// Answers with the status after a delay.
    Slow(u64, u16),
}

/// One request a receiver saw.
#[derive(Debug, Clone)]
pub struct Received {
    pub status: u16,
    pub idempotency_key: String,
    pub signature_ok: bool,
    pub body: Value,
}

impl Received {
    pub fn event_id(&self) -> String {
        self.body["event_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

struct ReceiverState {
    secret: String,
    script: Mutex<VecDeque<Behaviour>>,
    default: Mutex<Behaviour>,
    received: Mutex<Vec<Received>>,
    in_flight: Mutex<usize>,
    max_in_flight: Mutex<usize>,
}

/// A local agency receiver.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<ReceiverState>,
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let behaviour = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(*state.default.lock().unwrap());
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let now = chrono::Utc::now().timestamp();
    let signature_ok = throughline_adapter_webhook::verify(
        state.secret.as_bytes(),
        &header("throughline-signature"),
        &body,
        now,
        300,
    )
    .is_ok();
    let status = match behaviour {
        Behaviour::Status(s) => s,
        Behaviour::Slow(ms, s) => {
            {
                let mut n = state.in_flight.lock().unwrap();
                *n += 1;
                let mut max = state.max_in_flight.lock().unwrap();
                *max = (*max).max(*n);
            }
            tokio::time::sleep(Duration::from_millis(ms)).await;
            *state.in_flight.lock().unwrap() -= 1;
            s
        }
        Behaviour::Hang => {
            *state.in_flight.lock().unwrap() += 1;
            state.received.lock().unwrap().push(Received {
                status: 0,
                idempotency_key: header("idempotency-key"),
                signature_ok,
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            });
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::OK;
        }
    };
    state.received.lock().unwrap().push(Received {
        status,
        idempotency_key: header("idempotency-key"),
        signature_ok,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    pub async fn start(secret: &str) -> Self {
        let state = Arc::new(ReceiverState {
            secret: secret.to_owned(),
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(Behaviour::Status(200)),
            received: Mutex::new(Vec::new()),
            in_flight: Mutex::new(0),
            max_in_flight: Mutex::new(0),
        });
        let app = axum::Router::new()
            .route("/notifications", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}/notifications"),
            state,
        }
    }

    /// Behaviours for the next requests, in order; then the default.
    pub fn script(&self, behaviours: &[Behaviour]) {
        self.state
            .script
            .lock()
            .unwrap()
            .extend(behaviours.iter().copied());
    }

    pub fn set_default(&self, b: Behaviour) {
        *self.state.default.lock().unwrap() = b;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Requests answered 2xx.
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    pub fn delivered_for(&self, event_id: &str) -> Vec<Received> {
        self.delivered()
            .into_iter()
            .filter(|r| r.event_id() == event_id)
            .collect()
    }

    pub fn attempts_for(&self, event_id: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.event_id() == event_id)
            .collect()
    }

    /// The most requests this receiver ever had in progress at once.
    pub fn max_in_flight(&self) -> usize {
        *self.state.max_in_flight.lock().unwrap()
    }

    pub fn in_flight(&self) -> usize {
        *self.state.in_flight.lock().unwrap()
    }
}

pub const SCHOOL_KEY: &str = "test-school-key-0123456789";
pub const CAMHS_KEY: &str = "test-camhs-key-0123456789";
pub const LA_KEY: &str = "test-la-send-key-0123456789";
pub const CSC_KEY: &str = "test-csc-extract-key-0123456789";
pub const SECRET: &str = "test-webhook-secret-0123456789";
/// `api.operator_api_key` where a test configures it (`${TEST_OPERATOR_KEY}`).
pub const OPERATOR_KEY: &str = "test-operator-key-0123456789";

/// Per-agency webhook settings for a test hub.
pub struct Agencies<'a> {
    pub school: &'a Receiver,
    pub camhs: &'a Receiver,
    pub youth_justice: &'a Receiver,
    pub school_timeout_ms: u64,
    pub camhs_timeout_ms: u64,
}

/// A hub configuration with three receiving agencies and a sending LA SEND team:
/// - `oakfield-primary` (school) may receive every kind: UPN and the whole payload;
/// - `camhs-north` (health) may receive EHC needs assessment requests and referrals: the NHS
///   number, the date of birth, and only the request or referral id;
/// - `youth-justice` is routed everything but has no sharing agreement at all.
pub fn config(store_url: &str, port: u16, a: &Agencies) -> String {
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
max_attempts = 5
initial_backoff_ms = 50
max_backoff_ms = 400
poll_interval_ms = 100

[[agencies]]
id = "oakfield-primary"
role = "school"
sink = {{ type = "webhook", url = "{school}", secret = "${{TEST_WEBHOOK_SECRET}}", timeout_ms = {school_timeout} }}

[[agencies]]
id = "camhs-north"
role = "health"
sink = {{ type = "webhook", url = "{camhs}", secret = "${{TEST_WEBHOOK_SECRET}}", timeout_ms = {camhs_timeout} }}

[[agencies]]
id = "youth-justice"
role = "youth_justice"
sink = {{ type = "webhook", url = "{yjs}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "la-send"
role = "send"

[[sources]]
id = "oakfield-mis"
agency = "oakfield-primary"
system = "arbor"
api_key = "${{TEST_SCHOOL_KEY}}"

[[sources]]
id = "camhs-epr"
agency = "camhs-north"
system = "rio"
api_key = "${{TEST_CAMHS_KEY}}"

[[sources]]
id = "la-send-system"
agency = "la-send"
system = "capita-one"
api_key = "${{TEST_LA_KEY}}"
# The LA's team registers other agencies' involvement (docs/security.md); this configuration
# names no `[handoffs] local_authority`, so the rule is explicit.
may_change_involvement_of = ["*"]

[[routes]]
kinds = ["*"]
roles = ["school", "youth_justice"]

[[routes]]
kinds = ["ehc_needs_assessment.requested", "referral.made"]
roles = ["health"]

[[sharing_agreements]]
id = "ISA-school"
agency = "oakfield-primary"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = ["ehc_needs_assessment.requested", "referral.made"]
fields = ["subject.identifiers.nhs_number", "subject.demographics.date_of_birth", "payload.request_id", "payload.referral_id"]
"#,
        school = a.school.url,
        camhs = a.camhs.url,
        yjs = a.youth_justice.url,
        school_timeout = a.school_timeout_ms,
        camhs_timeout = a.camhs_timeout_ms,
    )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `throughline` process.
pub struct Hub {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub base: String,
    log_path: PathBuf,
    http: reqwest::Client,
}

fn env_pairs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("TEST_SCHOOL_KEY", SCHOOL_KEY),
        ("TEST_CAMHS_KEY", CAMHS_KEY),
        ("TEST_LA_KEY", LA_KEY),
        ("TEST_CSC_KEY", CSC_KEY),
        ("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
        ("TEST_WEBHOOK_SECRET", SECRET),
        ("TEST_OPERATOR_KEY", OPERATOR_KEY),
        ("TEST_MESH_PASSWORD", mesh::PASSWORD),
        ("TEST_MESH_SHARED_KEY", mesh::SHARED_KEY),
    ]
}

impl Hub {
    /// Writes the configuration `make(store_url, port)` into a fresh temporary directory with a
    /// SQLite store there, and starts the hub.
    pub async fn start(make: impl FnOnce(&str, u16) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let store_url = format!("sqlite://{}", dir.path().join("store.db").display());
        let config_path = dir.path().join("hub.toml");
        std::fs::write(&config_path, make(&store_url, port)).unwrap();
        let mut hub = Self {
            child: None,
            log_path: dir.path().join("hub.log"),
            dir,
            config_path,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        hub.spawn().await;
        hub
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_throughline"));
        cmd.arg("run")
            .arg("--config")
            .arg(&self.config_path)
            .env_remove("RUST_LOG")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        for (k, v) in env_pairs() {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("start throughline"));
        // Wait for the API (bounded: a hub that never comes up fails the test with its log).
        for _ in 0..300 {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("hub exited with {status}; log:\n{}", self.logs());
            }
            if let Ok(r) = self.http.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("hub did not become ready; log:\n{}", self.logs());
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    pub async fn post(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status == 422 {
            assert_eq!(ct.as_deref(), Some("application/problem+json"));
        }
        (status, v)
    }

    pub async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Posts a canonical event and returns its id, asserting it was accepted.
    pub async fn submit(&self, key: &str, event: &Value) -> String {
        let (status, body) = self.post(key, "/v1/events", event).await;
        assert_eq!(status, 202, "event not accepted: {body}");
        body["event_ids"][0].as_str().unwrap().to_owned()
    }

    /// Runs a CLI command against this hub's configuration.
    pub fn cli(&self, args: &[&str]) -> String {
        self.cli_with_env(args, &[])
    }

    /// Runs a CLI command with extra environment variables (a password, say, which the CLI
    /// never takes as an argument).
    pub fn cli_with_env(&self, args: &[&str], extra: &[(&str, &str)]) -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_throughline"));
        cmd.args(args).arg("--config").arg(&self.config_path);
        for (k, v) in env_pairs().into_iter().chain(extra.iter().copied()) {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "throughline {args:?} failed: {text}");
        text
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Fails if any of `needles` (child data used by the test) appears in the hub's log output.
    pub fn assert_logs_free_of(&self, needles: &[&str]) {
        let logs = self.logs();
        assert!(!logs.is_empty(), "no logs captured");
        for n in needles {
            assert!(!logs.contains(n), "child data `{n}` appeared in the logs");
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `check` until it holds. The bound only stops a broken test from hanging forever;
/// no test asserts how long anything took.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// A canonical event submission.
pub fn event(
    agency: &str,
    identifiers: Value,
    demographics: Value,
    kind: &str,
    payload: Value,
) -> Value {
    json!({
        "schema_version": 1,
        "occurred_at": chrono::Utc::now(),
        "source": {"agency": agency, "system": "test", "adapter": "http"},
        "subject": {"identifiers": identifiers, "demographics": demographics},
        "kind": kind,
        "payload": payload,
    })
}
