//! NHS England's `mesh-sandbox` (PyPI), started on its own loopback port for a test: the real
//! MESH API to test against, shared by this crate's tests and the hub's end-to-end tests (behind
//! the `sandbox` feature, so nothing of it ships in the hub).
//!
//! Each sandbox has an in-memory store (or the read-only `canned` one) and full `NHSMESH` HMAC
//! checking, so tests share no state. Its mailboxes are X26ABC1, X26ABC2 and X26ABC3, all with
//! password [`PASSWORD`]; workflow `TEST_WORKFLOW` goes from X26ABC1 to X26ABC2 and
//! `TEST_WORKFLOW_ACK` back (its `store/data/*.jsonl`). `scripts/services` installs it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{MeshClient, MeshConfig};

/// The shared key every test sandbox checks `NHSMESH` headers with.
pub const SHARED_KEY: &str = "throughline-test-shared-key";
/// Every sandbox mailbox's password.
pub const PASSWORD: &str = "password";

/// A running sandbox, killed (and its scratch directory removed) when dropped.
pub struct Sandbox {
    child: Child,
    pub base_url: String,
    dir: std::path::PathBuf,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Sandbox {
    /// A sandbox with an empty in-memory store.
    pub async fn start() -> Self {
        Self::start_with_store("memory").await
    }

    /// `store_mode` is the sandbox's `STORE_MODE`: `memory` (empty, writable) or `canned`
    /// (read-only, pre-loaded with the sandbox's own example messages). Panics with what to do
    /// if the sandbox is not installed or does not come up: this is test support.
    pub async fn start_with_store(store_mode: &str) -> Self {
        let importable = Command::new("python3")
            .args(["-c", "import mesh_sandbox"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            importable,
            "mesh-sandbox is not installed (`python3 -c \"import mesh_sandbox\"` failed); \
             run scripts/services or `pip install mesh-sandbox`"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let dir = std::env::temp_dir().join(format!(
            "throughline-mesh-sandbox-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("sandbox scratch directory");
        let log = std::fs::File::create(dir.join("sandbox.log")).expect("sandbox log file");
        let child = Command::new("python3")
            .args([
                "-m",
                "uvicorn",
                "mesh_sandbox.api:app",
                "--host",
                "127.0.0.1",
            ])
            .args(["--port", &port.to_string(), "--workers", "1"])
            .env("STORE_MODE", store_mode)
            .env("AUTH_MODE", "full")
            .env("SHARED_KEY", SHARED_KEY)
            .env("MAILBOXES_DATA_DIR", &dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("python3 -m uvicorn starts");
        let sandbox = Sandbox {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            dir: dir.clone(),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let health = http
                .get(format!("{}/health", sandbox.base_url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return sandbox;
            }
            let log = std::fs::read_to_string(dir.join("sandbox.log")).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "mesh-sandbox did not answer /health within 60s; its log:\n{log}"
            );
            // Readiness polling of an external process, not a timing assumption under test.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The configuration of a client acting as `mailbox_id`.
    pub fn config(&self, mailbox_id: &str) -> MeshConfig {
        let mut config = MeshConfig::new(&self.base_url, mailbox_id, PASSWORD, SHARED_KEY);
        config.timeout_ms = 10_000;
        config
    }

    /// A client acting as `mailbox_id`.
    pub fn client(&self, mailbox_id: &str) -> MeshClient {
        self.config(mailbox_id).build().expect("valid MESH config")
    }
}
