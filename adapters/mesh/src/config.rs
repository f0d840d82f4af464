//! The MESH client's configuration, and the one place it is checked.
//!
//! Everything that can be wrong with the configuration is caught by [`MeshConfig::build`] at
//! start-up, with an error naming the key and never repeating a secret, so a typo in a mailbox id
//! or an unreadable certificate does not surface hours later as a failed poll.

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::client::MeshClient;

/// The per-request timeout when none is configured, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// The longest per-request timeout accepted, in milliseconds (ten minutes: a 100 MB chunk over a
/// slow link).
pub const MAX_TIMEOUT_MS: u64 = 600_000;
/// The chunk size when none is configured: 19 MiB, under the 20 MB per-request limit MESH sets
/// for internet-facing clients.
pub const DEFAULT_CHUNK_SIZE_BYTES: usize = 19 * 1024 * 1024;
/// The largest chunk accepted: MESH's 100 MB per-request limit over HSCN.
pub const MAX_CHUNK_SIZE_BYTES: usize = 100 * 1000 * 1000;
/// The most message ids asked for in one inbox list; MESH returns at most 500 per call.
pub const MAX_INBOX_PAGE: u32 = 500;
/// The fewest message ids the v2 inbox list accepts as `max_results`.
pub const MIN_INBOX_PAGE: u32 = 10;

/// How to reach one MESH mailbox.
///
/// ```toml
/// base_url = "https://msg.intspineservices.nhs.uk"
/// mailbox_id = "X26ABC1"
/// password = "${MESH_PASSWORD}"
/// shared_key = "${file:/run/secrets/mesh-shared-key}"
/// tls_client_identity_pem = "${file:/run/secrets/mesh-client.pem}"
/// tls_ca_pem = "${file:/etc/throughline/nhs-ca.pem}"
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshConfig {
    /// The environment's base URL, without `/messageexchange`: for example
    /// `https://msg.intspineservices.nhs.uk` (INT) or `https://mesh-sync.spineservices.nhs.uk`
    /// (production). Plain `http` is accepted only for a loopback host (the local sandbox).
    pub base_url: String,
    /// The mailbox this client acts as, as issued at onboarding (for example `X26ABC1`). It is
    /// upper-cased; it may not contain `:`, `/` or whitespace.
    pub mailbox_id: String,
    /// The mailbox password. Only used inside the HMAC; never sent, never logged.
    pub password: String,
    /// The environment's shared secret (the HMAC key). Never sent, never logged.
    pub shared_key: String,
    /// Client certificate chain and private key, PEM, in one string: the certificate MESH issued
    /// for this mailbox. Real MESH requires it (mutual TLS); the sandbox does not.
    #[serde(default)]
    pub tls_client_identity_pem: Option<String>,
    /// Extra CA certificates (PEM) to trust for the MESH server, added to the system roots; for
    /// environments whose server certificate is issued by an NHS CA.
    #[serde(default)]
    pub tls_ca_pem: Option<String>,
    /// How long one HTTP request may take, connecting included, in milliseconds (1 to 600000;
    /// default 60000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Payloads larger than this are sent in chunks of this many bytes (1 to 100000000; default
    /// 19 MiB).
    #[serde(default = "default_chunk_size_bytes")]
    pub chunk_size_bytes: usize,
    /// How many message ids one poll asks MESH for (10 to 500; default 500). A poll that returns
    /// this many should be followed at once by another.
    #[serde(default = "default_inbox_page")]
    pub inbox_page_size: u32,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}
fn default_chunk_size_bytes() -> usize {
    DEFAULT_CHUNK_SIZE_BYTES
}
fn default_inbox_page() -> u32 {
    MAX_INBOX_PAGE
}

impl fmt::Debug for MeshConfig {
    /// Never prints the password, shared key or private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshConfig")
            .field("base_url", &self.base_url)
            .field("mailbox_id", &self.mailbox_id)
            .field("password", &"<redacted>")
            .field("shared_key", &"<redacted>")
            .field(
                "tls_client_identity_pem",
                &self.tls_client_identity_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("tls_ca_pem", &self.tls_ca_pem.as_ref().map(|_| "<set>"))
            .field("timeout_ms", &self.timeout_ms)
            .field("chunk_size_bytes", &self.chunk_size_bytes)
            .field("inbox_page_size", &self.inbox_page_size)
            .finish()
    }
}

/// Why a MESH configuration was rejected. Each message names the config key and never repeats a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeshConfigError {
    /// `base_url` is not a usable URL.
    #[error("`base_url`: {reason}")]
    BaseUrl { reason: String },
    /// `mailbox_id` is empty or has characters that break the token or the path.
    #[error("`mailbox_id`: {reason}")]
    MailboxId { reason: String },
    /// A secret (`password`, `shared_key`) is empty.
    #[error("`{key}`: must not be empty")]
    EmptySecret { key: &'static str },
    /// `tls_client_identity_pem` or `tls_ca_pem` could not be read as PEM.
    #[error("`{key}`: {reason}")]
    Tls { key: &'static str, reason: String },
    /// A number is outside its range.
    #[error("`{key}`: must be between {min} and {max}, found {found}")]
    OutOfRange {
        key: &'static str,
        min: u64,
        max: u64,
        found: u64,
    },
    /// Another key of a source or sink configuration is unusable (`to_mailbox`, `workflow_id`).
    #[error("`{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {reason}")]
    Client { reason: String },
}

impl MeshConfigError {
    /// The config key the error is about, or `None` when it is not about one key.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            Self::BaseUrl { .. } => Some("base_url"),
            Self::MailboxId { .. } => Some("mailbox_id"),
            Self::EmptySecret { key }
            | Self::Tls { key, .. }
            | Self::OutOfRange { key, .. }
            | Self::Invalid { key, .. } => Some(key),
            Self::Client { .. } => None,
        }
    }

    /// What is wrong, without the key: for callers that print the key themselves, as
    /// `file: key: reason`.
    pub fn reason(&self) -> String {
        match self {
            Self::BaseUrl { reason }
            | Self::MailboxId { reason }
            | Self::Tls { reason, .. }
            | Self::Invalid { reason, .. } => reason.clone(),
            Self::EmptySecret { .. } => "must not be empty".to_owned(),
            Self::OutOfRange {
                min, max, found, ..
            } => {
                format!("must be between {min} and {max}, found {found}")
            }
            Self::Client { .. } => self.to_string(),
        }
    }
}

impl MeshConfig {
    /// A configuration with default timeout, chunk size and page size, and no TLS extras.
    pub fn new(
        base_url: impl Into<String>,
        mailbox_id: impl Into<String>,
        password: impl Into<String>,
        shared_key: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            mailbox_id: mailbox_id.into(),
            password: password.into(),
            shared_key: shared_key.into(),
            tls_client_identity_pem: None,
            tls_ca_pem: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            chunk_size_bytes: DEFAULT_CHUNK_SIZE_BYTES,
            inbox_page_size: MAX_INBOX_PAGE,
        }
    }

    /// Checks everything without building an HTTP client.
    pub fn validate(&self) -> Result<(), MeshConfigError> {
        parse_base_url(&self.base_url)?;
        check_mailbox_id(&self.mailbox_id)?;
        if self.password.is_empty() {
            return Err(MeshConfigError::EmptySecret { key: "password" });
        }
        if self.shared_key.is_empty() {
            return Err(MeshConfigError::EmptySecret { key: "shared_key" });
        }
        in_range("timeout_ms", self.timeout_ms, 1, MAX_TIMEOUT_MS)?;
        in_range(
            "chunk_size_bytes",
            self.chunk_size_bytes as u64,
            1,
            MAX_CHUNK_SIZE_BYTES as u64,
        )?;
        in_range(
            "inbox_page_size",
            u64::from(self.inbox_page_size),
            u64::from(MIN_INBOX_PAGE),
            u64::from(MAX_INBOX_PAGE),
        )?;
        Ok(())
    }

    /// Validates the configuration and builds the client (and its HTTP connection pool, once).
    pub fn build(&self) -> Result<MeshClient, MeshConfigError> {
        self.validate()?;
        let base_url = parse_base_url(&self.base_url)?;
        let mut http = reqwest::Client::builder()
            .timeout(Duration::from_millis(self.timeout_ms))
            .connect_timeout(Duration::from_millis(self.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "throughline-adapter-mesh/",
                env!("CARGO_PKG_VERSION")
            ));
        if let Some(pem) = &self.tls_client_identity_pem {
            // reqwest's error text describes the PEM problem, not its contents.
            let identity =
                reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| MeshConfigError::Tls {
                    key: "tls_client_identity_pem",
                    reason: format!("must hold a PEM certificate chain and its private key ({e})"),
                })?;
            http = http.identity(identity);
        }
        if let Some(pem) = &self.tls_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                MeshConfigError::Tls {
                    key: "tls_ca_pem",
                    reason: format!("must hold PEM CA certificates ({e})"),
                }
            })?;
            if certs.is_empty() {
                return Err(MeshConfigError::Tls {
                    key: "tls_ca_pem",
                    reason: "holds no PEM certificate".to_owned(),
                });
            }
            http = http.tls_certs_merge(certs);
        }
        let http = http.build().map_err(|e| MeshConfigError::Client {
            reason: e.to_string(),
        })?;
        Ok(MeshClient::from_parts(
            http,
            base_url,
            self.mailbox_id.to_ascii_uppercase(),
            self.password.clone(),
            self.shared_key.clone(),
            self.chunk_size_bytes,
            self.inbox_page_size,
        ))
    }
}

/// How often a hub source polls its inbox when none is configured: five minutes, the most often
/// MESH asks a client to poll.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 300_000;
/// The shortest poll interval accepted (for the local sandbox; real MESH asks for five minutes).
pub const MIN_POLL_INTERVAL_MS: u64 = 100;
/// The longest poll interval accepted: MESH asks every mailbox to poll at least once a day.
pub const MAX_POLL_INTERVAL_MS: u64 = 86_400_000;

/// A hub source reading one MESH mailbox: the mailbox's [`MeshConfig`] keys, flat, plus how
/// often to poll.
///
/// ```toml
/// mesh = { base_url = "https://msg.intspineservices.nhs.uk", mailbox_id = "X26ABC1", password = "${MESH_PASSWORD}", shared_key = "${MESH_SHARED_KEY}", poll_interval_ms = 300000 }
/// ```
///
/// Unknown keys are refused, as in [`MeshConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshSourceConfig {
    /// The mailbox polled: every [`MeshConfig`] key.
    pub mailbox: MeshConfig,
    /// How often the inbox is listed, in milliseconds (100 to 86400000; default 300000). MESH
    /// asks for no more than every five minutes and at least once a day; a list that came back
    /// full is followed at once by another.
    pub poll_interval_ms: u64,
}

/// A hub sink sending each notification from one MESH mailbox to another: the sending
/// mailbox's [`MeshConfig`] keys, flat, plus the recipient and workflow.
///
/// Unknown keys are refused, as in [`MeshConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshSinkConfig {
    /// The sending mailbox: every [`MeshConfig`] key.
    pub mailbox: MeshConfig,
    /// The recipient agency's mailbox id (`Mex-To`).
    pub to_mailbox: String,
    /// The workflow agreed with the recipient and registered with MESH for both mailboxes
    /// (`Mex-WorkflowID`).
    pub workflow_id: String,
    /// How often the sending mailbox's inbox is read for non-delivery reports, in milliseconds
    /// (100 to 86400000; default 300000, MESH's five minutes).
    pub report_poll_interval_ms: u64,
}

/// The keys a source adds to [`MeshConfig`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceKeys {
    #[serde(default = "default_poll_interval_ms")]
    poll_interval_ms: u64,
}

/// The keys a sink adds to [`MeshConfig`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkKeys {
    to_mailbox: String,
    workflow_id: String,
    #[serde(default = "default_poll_interval_ms")]
    report_poll_interval_ms: u64,
}

fn default_poll_interval_ms() -> u64 {
    DEFAULT_POLL_INTERVAL_MS
}

/// Splits one flat table into the [`MeshConfig`] keys and the rest, and deserialises each half
/// strictly, so an unknown key is refused by name. (`#[serde(flatten)]` would let unknown keys
/// through silently.)
fn split_flat<'de, D, T>(deserializer: D) -> Result<(MeshConfig, T), D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error;
    const MAILBOX_KEYS: &[&str] = &[
        "base_url",
        "mailbox_id",
        "password",
        "shared_key",
        "tls_client_identity_pem",
        "tls_ca_pem",
        "timeout_ms",
        "chunk_size_bytes",
        "inbox_page_size",
    ];
    let table = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
    let (mailbox, own): (serde_json::Map<_, _>, serde_json::Map<_, _>) = table
        .into_iter()
        .partition(|(k, _)| MAILBOX_KEYS.contains(&k.as_str()));
    // serde_json's messages name the key and the expected type, never the value.
    let mailbox =
        MeshConfig::deserialize(serde_json::Value::Object(mailbox)).map_err(D::Error::custom)?;
    let own = T::deserialize(serde_json::Value::Object(own)).map_err(D::Error::custom)?;
    Ok((mailbox, own))
}

impl<'de> Deserialize<'de> for MeshSourceConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (mailbox, own) = split_flat::<D, SourceKeys>(deserializer)?;
        Ok(Self {
            mailbox,
            poll_interval_ms: own.poll_interval_ms,
        })
    }
}

impl<'de> Deserialize<'de> for MeshSinkConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (mailbox, own) = split_flat::<D, SinkKeys>(deserializer)?;
        Ok(Self {
            mailbox,
            to_mailbox: own.to_mailbox,
            workflow_id: own.workflow_id,
            report_poll_interval_ms: own.report_poll_interval_ms,
        })
    }
}

impl MeshSourceConfig {
    /// Checks everything without building an HTTP client.
    pub fn validate(&self) -> Result<(), MeshConfigError> {
        self.mailbox.validate()?;
        in_range(
            "poll_interval_ms",
            self.poll_interval_ms,
            MIN_POLL_INTERVAL_MS,
            MAX_POLL_INTERVAL_MS,
        )
    }

    /// The poll interval.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }
}

impl MeshSinkConfig {
    /// Checks everything without building an HTTP client.
    pub fn validate(&self) -> Result<(), MeshConfigError> {
        self.mailbox.validate()?;
        check_mailbox_id(&self.to_mailbox).map_err(|e| MeshConfigError::Invalid {
            key: "to_mailbox",
            reason: e.reason(),
        })?;
        let workflow = self.workflow_id.trim();
        if workflow.is_empty()
            || workflow.len() > 300
            || !workflow.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(MeshConfigError::Invalid {
                key: "workflow_id",
                reason: "must be 1 to 300 printable ASCII characters without spaces".to_owned(),
            });
        }
        in_range(
            "report_poll_interval_ms",
            self.report_poll_interval_ms,
            MIN_POLL_INTERVAL_MS,
            MAX_POLL_INTERVAL_MS,
        )
    }

    /// How often the sending mailbox is read for non-delivery reports.
    pub fn report_poll_interval(&self) -> Duration {
        Duration::from_millis(self.report_poll_interval_ms)
    }
}

fn in_range(key: &'static str, found: u64, min: u64, max: u64) -> Result<(), MeshConfigError> {
    if (min..=max).contains(&found) {
        Ok(())
    } else {
        Err(MeshConfigError::OutOfRange {
            key,
            min,
            max,
            found,
        })
    }
}

fn parse_base_url(raw: &str) -> Result<Url, MeshConfigError> {
    let err = |reason: String| MeshConfigError::BaseUrl { reason };
    let url =
        Url::parse(raw).map_err(|e| err(format!("must be an absolute http or https URL ({e})")))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| err("must name a host".to_owned()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(err(format!(
                "must use https (MESH requires TLS); plain http is only accepted for a loopback \
                 host, found `{host}`"
            )));
        }
        other => return Err(err(format!("must use https, found scheme `{other}`"))),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err("must not have a query or fragment".to_owned()));
    }
    Ok(url)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn check_mailbox_id(raw: &str) -> Result<(), MeshConfigError> {
    if raw.is_empty() {
        return Err(MeshConfigError::MailboxId {
            reason: "must not be empty".to_owned(),
        });
    }
    if raw.len() > 100
        || !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(MeshConfigError::MailboxId {
            reason: "must be up to 100 ASCII letters, digits, `-` or `_`".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> MeshConfig {
        MeshConfig::new(url, "x26abc1", "hunter2-password", "hunter2-key")
    }

    #[test]
    fn builds_for_https_and_loopback_http() {
        assert!(
            config("https://msg.intspineservices.nhs.uk")
                .build()
                .is_ok()
        );
        assert!(config("http://127.0.0.1:8700").build().is_ok());
        assert!(config("http://localhost:8700").build().is_ok());
        assert!(config("http://[::1]:8700").build().is_ok());
    }

    #[test]
    fn upper_cases_the_mailbox_id() {
        let client = config("http://127.0.0.1:8700").build().unwrap();
        assert_eq!(client.mailbox_id(), "X26ABC1");
    }

    #[test]
    fn rejects_plain_http_to_a_remote_host_naming_base_url() {
        let err = config("http://msg.intspineservices.nhs.uk")
            .validate()
            .unwrap_err();
        assert_eq!(err.key(), Some("base_url"));
        assert!(err.to_string().contains("must use https"), "{err}");
    }

    #[test]
    fn rejects_a_bad_mailbox_id_and_empty_secrets() {
        let mut c = config("https://mesh.example");
        c.mailbox_id = "X26:ABC".into();
        assert_eq!(c.validate().unwrap_err().key(), Some("mailbox_id"));
        let mut c = config("https://mesh.example");
        c.password.clear();
        assert_eq!(c.validate().unwrap_err().key(), Some("password"));
        let mut c = config("https://mesh.example");
        c.shared_key.clear();
        assert_eq!(c.validate().unwrap_err().key(), Some("shared_key"));
    }

    #[test]
    fn rejects_numbers_out_of_range() {
        let mut c = config("https://mesh.example");
        c.chunk_size_bytes = 0;
        assert_eq!(c.validate().unwrap_err().key(), Some("chunk_size_bytes"));
        let mut c = config("https://mesh.example");
        c.inbox_page_size = 501;
        assert_eq!(c.validate().unwrap_err().key(), Some("inbox_page_size"));
        let mut c = config("https://mesh.example");
        c.timeout_ms = 0;
        assert_eq!(c.validate().unwrap_err().key(), Some("timeout_ms"));
    }

    #[test]
    fn rejects_an_unreadable_client_identity_without_repeating_it() {
        let mut c = config("https://mesh.example");
        c.tls_client_identity_pem = Some("not-a-pem-hunter2".into());
        let err = c.build().unwrap_err();
        assert_eq!(err.key(), Some("tls_client_identity_pem"));
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn deserialises_with_defaults_and_rejects_unknown_keys() {
        let c: MeshConfig = serde_json::from_value(serde_json::json!({
            "base_url": "https://mesh.example",
            "mailbox_id": "X26ABC1",
            "password": "p",
            "shared_key": "k",
        }))
        .unwrap();
        assert_eq!(c.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(c.chunk_size_bytes, DEFAULT_CHUNK_SIZE_BYTES);
        assert_eq!(c.inbox_page_size, MAX_INBOX_PAGE);
        let err = serde_json::from_value::<MeshConfig>(serde_json::json!({
            "base_url": "https://mesh.example",
            "mailbox_id": "X26ABC1",
            "password": "p",
            "shared_key": "k",
            "mailbox": "X",
        }))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `mailbox`"), "{err}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut c = config("https://mesh.example");
        c.tls_client_identity_pem = Some("-----BEGIN PRIVATE KEY-----hunter2".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
