//! The project's FHIR test server (`tests/fhir-server/`: medplum's FHIR router over an
//! in-memory repository, in Node), started on its own loopback port for a test: a real FHIR
//! search, create and rest-hook implementation to test against, shared by this crate's tests
//! and the hub's end-to-end tests (behind the `test-server` feature, so nothing of it ships).
//!
//! Each server has its own empty store, so tests share no state. With [`Options::signed_jwt`]
//! it also serves `POST /oauth2/token`, verifying RS512 client assertions with a key pair made
//! for the test ([`TestKey`]); `GET /_test/stats` counts tokens issued. `scripts/services`
//! installs its node_modules (`npm ci --prefix tests/fhir-server`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use crate::config::{FhirAuthConfig, FhirServerConfig};

/// The server's folder, from this crate.
fn server_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fhir-server")
}

/// An RSA key pair made for one test, as PEM files in a scratch folder removed on drop.
pub struct TestKey {
    dir: PathBuf,
    /// The private key (PKCS#8 PEM), for the adapter's `auth.private_key_file`.
    pub private_pem: PathBuf,
    /// The public key (SubjectPublicKeyInfo PEM), for the server's token endpoint.
    pub public_pem: PathBuf,
}

impl TestKey {
    /// A new 2048-bit key pair.
    pub fn generate() -> Arc<Self> {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("an RSA key pair");
        let private = key.as_der().expect("PKCS#8 DER");
        let public = key.public_key().as_der().expect("SPKI DER");
        let dir =
            std::env::temp_dir().join(format!("throughline-fhir-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("key scratch folder");
        let private_pem = dir.join("client-private.pem");
        let public_pem = dir.join("client-public.pem");
        std::fs::write(
            &private_pem,
            crate::pem::encode("PRIVATE KEY", private.as_ref()),
        )
        .expect("private key file");
        std::fs::write(
            &public_pem,
            crate::pem::encode("PUBLIC KEY", public.as_ref()),
        )
        .expect("public key file");
        Arc::new(Self {
            dir,
            private_pem,
            public_pem,
        })
    }
}

impl Drop for TestKey {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How to start a server.
#[derive(Default, Clone)]
pub struct Options {
    /// Require this static bearer token on every request but `/metadata`.
    pub bearer_token: Option<String>,
    /// Serve the signed-JWT token endpoint for this key, and require its tokens.
    pub signed_jwt: Option<Arc<TestKey>>,
    /// How long issued tokens live (the server's `FHIR_TOKEN_TTL_SECONDS`).
    pub token_ttl_seconds: Option<u64>,
    /// Listen on this port (to restart a server where a client expects it); default a free one.
    pub port: Option<u16>,
}

/// A running server, killed when dropped.
pub struct TestServer {
    child: tokio::process::Child,
    /// `http://127.0.0.1:{port}/fhir/R4`.
    pub base_url: String,
    /// The port it listens on.
    pub port: u16,
    options: Options,
    log: PathBuf,
}

impl TestServer {
    /// A server with no authorisation.
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// A server as `options` say. Panics with what to do if Node or the server's packages are
    /// missing, or it does not come up: this is test support.
    pub async fn start_with(options: Options) -> Self {
        let dir = server_dir();
        assert!(
            dir.join("node_modules/@medplum/fhir-router").is_dir(),
            "the FHIR test server's packages are not installed; run scripts/services or \
             `npm ci --prefix tests/fhir-server`"
        );
        let log = std::env::temp_dir().join(format!(
            "throughline-fhir-server-{}.log",
            uuid::Uuid::new_v4()
        ));
        let log_file = std::fs::File::create(&log).expect("server log file");
        let mut command = tokio::process::Command::new("node");
        command
            .arg("--experimental-websocket")
            .arg(dir.join("server.mjs"))
            .env("PORT", options.port.unwrap_or(0).to_string())
            .env("HOST", "127.0.0.1")
            .env_remove("FHIR_BEARER_TOKEN")
            .env_remove("FHIR_TOKEN_ENDPOINT_PUBLIC_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true);
        if let Some(token) = &options.bearer_token {
            command.env("FHIR_BEARER_TOKEN", token);
        }
        if let Some(key) = &options.signed_jwt {
            command.env("FHIR_TOKEN_ENDPOINT_PUBLIC_KEY", &key.public_pem);
        }
        if let Some(ttl) = options.token_ttl_seconds {
            command.env("FHIR_TOKEN_TTL_SECONDS", ttl.to_string());
        }
        let mut child = command.spawn().expect("`node` starts (Node 20 or later)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await;
        let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
        let line = match first {
            Ok(Ok(Some(line))) => line,
            other => panic!(
                "the FHIR test server did not say it was listening within 60s ({other:?}); its \
                 log:\n{}",
                read_log()
            ),
        };
        let base_url = line
            .strip_prefix("FHIR server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the FHIR test server: {line}"))
            .trim()
            .to_owned();
        let port = base_url
            .split(':')
            .nth(2)
            .and_then(|p| p.split('/').next())
            .and_then(|p| p.parse().ok())
            .expect("a port in the base URL");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            base_url,
            port,
            options,
            log,
        }
    }

    /// Stops this server and starts a new, empty one on the same port with the same options:
    /// what a client sees when the server restarts (its data and issued tokens are gone).
    pub async fn restart(mut self) -> Self {
        let _ = self.child.kill().await;
        let mut options = self.options.clone();
        options.port = Some(self.port);
        Self::start_with(options).await
    }

    /// Stops the server and waits until it has exited: its port refuses connections after.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// `http://127.0.0.1:{port}`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The token endpoint's URL (when started with [`Options::signed_jwt`]).
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.origin())
    }

    /// The adapter's configuration for this server, with the auth it was started with.
    pub fn config(&self) -> FhirServerConfig {
        let mut config = FhirServerConfig::new(&self.base_url);
        config.timeout_ms = 10_000;
        if let Some(key) = &self.options.signed_jwt {
            config.auth = FhirAuthConfig::SignedJwt {
                token_url: self.token_url(),
                client_id: "throughline-test".into(),
                key_id: "test-key-1".into(),
                private_key_file: key.private_pem.clone(),
            };
        } else if let Some(token) = &self.options.bearer_token {
            config.auth = FhirAuthConfig::Bearer {
                token: token.clone(),
            };
        }
        config
    }

    /// `GET /_test/stats`: `tokens_issued` and `requests`.
    pub async fn stats(&self) -> Value {
        reqwest::get(format!("{}/_test/stats", self.origin()))
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats JSON")
    }

    /// A request to the server carrying whatever authorisation it requires (its static bearer
    /// token, or a token fetched with the test key), for tests that seed or read data.
    pub async fn admin(&self) -> Admin {
        let token = if let Some(t) = &self.options.bearer_token {
            Some(t.clone())
        } else if self.options.signed_jwt.is_some() {
            let client = crate::FhirClient::build(&self.config()).expect("client");
            let tokens = client.token_source().expect("signed JWT").clone();
            let header = tokens.header().await.expect("a test token");
            Some(
                header
                    .to_str()
                    .expect("ASCII")
                    .trim_start_matches("Bearer ")
                    .to_owned(),
            )
        } else {
            None
        };
        Admin {
            http: reqwest::Client::new(),
            base_url: self.base_url.clone(),
            token,
        }
    }

    /// The server's log so far (method, path and status per request).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Direct access to a test server, bypassing the adapter: to seed resources and read back.
pub struct Admin {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
}

impl Admin {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("{}/{path}", self.base_url))
            .header("Content-Type", "application/fhir+json")
            .header("Accept", "application/fhir+json");
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        r
    }

    /// `POST /{type}`: creates `resource`, returning what the server stored.
    pub async fn create(&self, resource: &Value) -> Value {
        let ty = resource["resourceType"].as_str().expect("a resourceType");
        let response = self
            .request(reqwest::Method::POST, ty)
            .body(resource.to_string())
            .send()
            .await
            .expect("create");
        let status = response.status();
        let body: Value = response.json().await.expect("create response JSON");
        assert!(
            status.is_success(),
            "creating a {ty} failed with {status}: {body}"
        );
        body
    }

    /// `PUT /{type}/{id}`: updates `resource` (which carries its id).
    pub async fn update(&self, resource: &Value) -> Value {
        let ty = resource["resourceType"].as_str().expect("a resourceType");
        let id = resource["id"].as_str().expect("an id");
        let response = self
            .request(reqwest::Method::PUT, &format!("{ty}/{id}"))
            .body(resource.to_string())
            .send()
            .await
            .expect("update");
        let status = response.status();
        let body: Value = response.json().await.expect("update response JSON");
        assert!(
            status.is_success(),
            "updating a {ty} failed with {status}: {body}"
        );
        body
    }

    /// `GET /{path}` as JSON (a search such as `Communication?identifier=...`, or a read).
    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("get");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(
            status.is_success(),
            "GET {path} failed with {status}: {body}"
        );
        body
    }
}
