//! The FHIR adapter's configuration, and the one place it is checked.
//!
//! Everything that can be wrong is caught at start-up by the `validate`/`build` methods, with an
//! error naming the key and never repeating a secret, so a typo in a token URL or an unreadable
//! private key does not surface hours later as a failed poll.
//!
//! Three shapes share the server keys ([`FhirServerConfig`]): a hub source polling a server
//! ([`FhirSourceConfig`]), a hub sink writing to one ([`FhirSinkConfig`]), and the mapping
//! tables the `fhir` format reads by ([`FhirMappingConfig`]), which push and poll sources share.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;

/// The per-request timeout when none is configured, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// The longest per-request timeout accepted, in milliseconds.
pub const MAX_TIMEOUT_MS: u64 = 600_000;
/// How many resources one search page asks for when none is configured.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// The most resources one search page may ask for.
pub const MAX_PAGE_SIZE: u32 = 1_000;
/// How often a hub source polls when none is configured: one minute.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 60_000;
/// The shortest poll interval accepted (for tests against a local server).
pub const MIN_POLL_INTERVAL_MS: u64 = 100;
/// The longest poll interval accepted: a day.
pub const MAX_POLL_INTERVAL_MS: u64 = 86_400_000;
/// The identifier system a sink's Communications carry the notification's idempotency key
/// under, when none is configured.
pub const DEFAULT_IDENTIFIER_SYSTEM: &str = "urn:throughline:idempotency-key";

/// How to reach one FHIR R4 server.
///
/// ```toml
/// base_url = "https://fhir.example-trust.nhs.uk/R4"
/// auth = { type = "signed_jwt", token_url = "https://api.example-trust.nhs.uk/oauth2/token", client_id = "throughline", key_id = "throughline-1", private_key_file = "/run/secrets/fhir-key.pem" }
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirServerConfig {
    /// The server's base URL, the part before `/{type}`: for example
    /// `https://fhir.example-trust.nhs.uk/R4`. Plain `http` is accepted only for a loopback
    /// host (a local test server).
    pub base_url: String,
    /// How requests are authorised (default: not at all).
    #[serde(default)]
    pub auth: FhirAuthConfig,
    /// How long one HTTP request may take, connecting included, in milliseconds (1 to 600000;
    /// default 30000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra CA certificates (PEM) to trust for the server and its token endpoint, added to the
    /// system roots; for servers whose certificate is issued by an NHS CA.
    #[serde(default)]
    pub tls_ca_pem: Option<String>,
}

/// How requests to a FHIR server are authorised.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FhirAuthConfig {
    /// No `Authorization` header (a server on a private network, a local test server).
    #[default]
    None,
    /// A fixed bearer token: `Authorization: Bearer {token}`. A 401 is final: there is nothing
    /// to refresh.
    Bearer {
        /// The token, as `"${ENV_VAR}"` or `"${file:/path}"`. Never logged.
        token: String,
    },
    /// NHS England's application-restricted signed-JWT client credentials: an RS512-signed
    /// assertion (`kid`, `iss` = `sub` = client id, `aud` = token URL, `jti`, `exp` within five
    /// minutes) is exchanged at `token_url` for an access token, which is cached until shortly
    /// before it expires and renewed once after a 401.
    SignedJwt {
        /// The OAuth 2.0 token endpoint, e.g. `https://int.api.service.nhs.uk/oauth2/token`.
        token_url: String,
        /// The client id (the NHS developer portal's API key): the assertion's `iss` and `sub`.
        client_id: String,
        /// The id of the registered public key (the JWKS `kid`), sent in the assertion's header.
        key_id: String,
        /// A PEM file holding the RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1
        /// `RSA PRIVATE KEY`). Read once at start-up; its contents are never logged.
        private_key_file: PathBuf,
    },
}

impl FhirAuthConfig {
    /// `none`, `bearer` or `signed_jwt`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer { .. } => "bearer",
            Self::SignedJwt { .. } => "signed_jwt",
        }
    }
}

impl fmt::Debug for FhirAuthConfig {
    /// Never prints the bearer token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Bearer { .. } => f.write_str("Bearer { token: <redacted> }"),
            Self::SignedJwt {
                token_url,
                client_id,
                key_id,
                private_key_file,
            } => f
                .debug_struct("SignedJwt")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("key_id", key_id)
                .field("private_key_file", private_key_file)
                .finish(),
        }
    }
}

impl fmt::Debug for FhirServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FhirServerConfig")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("timeout_ms", &self.timeout_ms)
            .field("tls_ca_pem", &self.tls_ca_pem.as_ref().map(|_| "<set>"))
            .finish()
    }
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// Why a FHIR configuration was rejected. Each message names the config key and never repeats a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirConfigError {
    /// A key's value is unusable.
    #[error("`{key}`: {reason}")]
    Invalid { key: String, reason: String },
    /// A number is outside its range.
    #[error("`{key}`: must be between {min} and {max}, found {found}")]
    OutOfRange {
        key: &'static str,
        min: u64,
        max: u64,
        found: u64,
    },
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {reason}")]
    Client { reason: String },
}

impl FhirConfigError {
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// The config key the error is about (`auth.token_url`, `page_size`...), or `None` when it
    /// is not about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. } => Some(key),
            Self::OutOfRange { key, .. } => Some(key),
            Self::Client { .. } => None,
        }
    }

    /// What is wrong, without the key: for callers that print the key themselves.
    pub fn reason(&self) -> String {
        match self {
            Self::Invalid { reason, .. } => reason.clone(),
            Self::OutOfRange {
                min, max, found, ..
            } => format!("must be between {min} and {max}, found {found}"),
            Self::Client { .. } => self.to_string(),
        }
    }
}

impl FhirServerConfig {
    /// A configuration with no authorisation and the default timeout.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            auth: FhirAuthConfig::None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            tls_ca_pem: None,
        }
    }

    /// Checks everything that can be checked without reading files or building a client.
    pub fn validate(&self) -> Result<(), FhirConfigError> {
        parse_http_url("base_url", &self.base_url)?;
        in_range("timeout_ms", self.timeout_ms, 1, MAX_TIMEOUT_MS)?;
        match &self.auth {
            FhirAuthConfig::None => {}
            FhirAuthConfig::Bearer { token } => {
                if token.trim().is_empty() {
                    return Err(FhirConfigError::invalid("auth.token", "must not be empty"));
                }
                if !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(FhirConfigError::invalid(
                        "auth.token",
                        "must be printable ASCII without spaces",
                    ));
                }
            }
            FhirAuthConfig::SignedJwt {
                token_url,
                client_id,
                key_id,
                private_key_file,
            } => {
                parse_http_url("auth.token_url", token_url)?;
                non_blank("auth.client_id", client_id)?;
                non_blank("auth.key_id", key_id)?;
                if private_key_file.as_os_str().is_empty() {
                    return Err(FhirConfigError::invalid(
                        "auth.private_key_file",
                        "must name a PEM file",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Everything [`validate`](Self::validate) checks, and that the private key file (if any)
    /// holds a usable RSA key: all a configuration check can know without the server.
    pub fn check(&self) -> Result<(), FhirConfigError> {
        crate::client::FhirClient::build(self).map(|_| ())
    }

    /// The validated base URL.
    pub(crate) fn base(&self) -> Result<Url, FhirConfigError> {
        parse_http_url("base_url", &self.base_url)
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// The resource types a poll source can search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum PolledResource {
    ServiceRequest,
    Encounter,
    EpisodeOfCare,
    Flag,
}

impl PolledResource {
    /// Every type, in the order a default source polls them.
    pub const ALL: [PolledResource; 4] = [
        Self::ServiceRequest,
        Self::Encounter,
        Self::EpisodeOfCare,
        Self::Flag,
    ];

    /// The FHIR resource type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceRequest => "ServiceRequest",
            Self::Encounter => "Encounter",
            Self::EpisodeOfCare => "EpisodeOfCare",
            Self::Flag => "Flag",
        }
    }
}

impl fmt::Display for PolledResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hub source polling one FHIR server: the server's [`FhirServerConfig`] keys, flat, plus
/// what to search and how often.
///
/// ```toml
/// fhir = { base_url = "https://fhir.example-trust.nhs.uk/R4", resources = ["ServiceRequest", "Encounter"], poll_interval_ms = 60000 }
/// ```
///
/// Unknown keys are refused, as in [`FhirServerConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirSourceConfig {
    /// The server polled: every [`FhirServerConfig`] key.
    pub server: FhirServerConfig,
    /// Which resource types are searched, each with its own cursor (default: ServiceRequest,
    /// Encounter, EpisodeOfCare and Flag). Patients are only read, to identify subjects.
    pub resources: Vec<PolledResource>,
    /// How many resources one search page asks for (`_count`; 1 to 1000, default 100).
    pub page_size: u32,
    /// How often the searches run, in milliseconds (100 to 86400000; default 60000). A search
    /// follows its `next` links to the end before waiting again.
    pub poll_interval_ms: u64,
    /// Where a resource type with no stored cursor starts: resources last updated at or after
    /// this instant (RFC 3339). Default: from the beginning.
    pub start_from: Option<DateTime<Utc>>,
}

/// A hub sink writing each notification to one agency's FHIR server as a `Communication`: the
/// server's [`FhirServerConfig`] keys, flat, plus how to address the agency.
///
/// Unknown keys are refused, as in [`FhirServerConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirSinkConfig {
    /// The server written to: every [`FhirServerConfig`] key.
    pub server: FhirServerConfig,
    /// The receiving agency's ODS code: the Communication's `recipient` Organization
    /// identifier. Without it the Communication names no recipient.
    pub recipient_ods: Option<String>,
    /// The identifier system under which each Communication carries the notification's
    /// idempotency key; a retried delivery finds the first Communication by it and creates no
    /// second one (default `urn:throughline:idempotency-key`).
    pub identifier_system: String,
}

/// The keys a source adds to [`FhirServerConfig`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceKeys {
    #[serde(default = "default_resources")]
    resources: Vec<PolledResource>,
    #[serde(default = "default_page_size")]
    page_size: u32,
    #[serde(default = "default_poll_interval_ms")]
    poll_interval_ms: u64,
    #[serde(default)]
    start_from: Option<DateTime<Utc>>,
}

/// The keys a sink adds to [`FhirServerConfig`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkKeys {
    #[serde(default)]
    recipient_ods: Option<String>,
    #[serde(default = "default_identifier_system")]
    identifier_system: String,
}

fn default_resources() -> Vec<PolledResource> {
    PolledResource::ALL.to_vec()
}
fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}
fn default_poll_interval_ms() -> u64 {
    DEFAULT_POLL_INTERVAL_MS
}
fn default_identifier_system() -> String {
    DEFAULT_IDENTIFIER_SYSTEM.to_owned()
}

/// Splits one flat table into the [`FhirServerConfig`] keys and the rest, and deserialises
/// each half strictly, so an unknown key is refused by name. (`#[serde(flatten)]` would let
/// unknown keys through silently.)
fn split_flat<'de, D, T>(deserializer: D) -> Result<(FhirServerConfig, T), D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error;
    const SERVER_KEYS: &[&str] = &["base_url", "auth", "timeout_ms", "tls_ca_pem"];
    let table = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
    let (server, own): (serde_json::Map<_, _>, serde_json::Map<_, _>) = table
        .into_iter()
        .partition(|(k, _)| SERVER_KEYS.contains(&k.as_str()));
    // serde_json's messages name the key and the expected type, never a string's value.
    let server = FhirServerConfig::deserialize(serde_json::Value::Object(server))
        .map_err(D::Error::custom)?;
    let own = T::deserialize(serde_json::Value::Object(own)).map_err(D::Error::custom)?;
    Ok((server, own))
}

impl<'de> Deserialize<'de> for FhirSourceConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (server, own) = split_flat::<D, SourceKeys>(deserializer)?;
        Ok(Self {
            server,
            resources: own.resources,
            page_size: own.page_size,
            poll_interval_ms: own.poll_interval_ms,
            start_from: own.start_from,
        })
    }
}

impl<'de> Deserialize<'de> for FhirSinkConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (server, own) = split_flat::<D, SinkKeys>(deserializer)?;
        Ok(Self {
            server,
            recipient_ods: own.recipient_ods,
            identifier_system: own.identifier_system,
        })
    }
}

impl FhirSourceConfig {
    /// A source polling every resource type at `base_url` with the defaults.
    pub fn new(server: FhirServerConfig) -> Self {
        Self {
            server,
            resources: default_resources(),
            page_size: DEFAULT_PAGE_SIZE,
            poll_interval_ms: DEFAULT_POLL_INTERVAL_MS,
            start_from: None,
        }
    }

    /// Checks everything that can be checked without reading files or building a client.
    pub fn validate(&self) -> Result<(), FhirConfigError> {
        self.server.validate()?;
        if self.resources.is_empty() {
            return Err(FhirConfigError::invalid(
                "resources",
                "must list at least one of ServiceRequest, Encounter, EpisodeOfCare, Flag",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.resources {
            if !seen.insert(*r) {
                return Err(FhirConfigError::invalid(
                    "resources",
                    format!("lists {r} twice"),
                ));
            }
        }
        in_range(
            "page_size",
            u64::from(self.page_size),
            1,
            u64::from(MAX_PAGE_SIZE),
        )?;
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

impl FhirSinkConfig {
    /// A sink writing to `server` with no recipient and the default identifier system.
    pub fn new(server: FhirServerConfig) -> Self {
        Self {
            server,
            recipient_ods: None,
            identifier_system: DEFAULT_IDENTIFIER_SYSTEM.to_owned(),
        }
    }

    /// Checks everything that can be checked without reading files or building a client.
    pub fn validate(&self) -> Result<(), FhirConfigError> {
        self.server.validate()?;
        if let Some(ods) = &self.recipient_ods {
            check_ods_code("recipient_ods", ods)?;
        }
        let system = self.identifier_system.trim();
        if system.is_empty()
            || !system.contains(':')
            || !system.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(FhirConfigError::invalid(
                "identifier_system",
                "must be an absolute URI (e.g. `urn:throughline:idempotency-key`)",
            ));
        }
        Ok(())
    }
}

/// The tables the `fhir` format maps by: which hub agency an ODS code is, and which service an
/// EpisodeOfCare's type is. A source's inputs are read with its own tables (push and poll
/// alike).
///
/// ```toml
/// [sources.fhir_mapping]
/// agencies_by_ods = { RXX = "camhs-north" }
/// services = { "http://snomed.info/sct|310583008" = "camhs", "Community paediatrics" = "community_paediatrics" }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirMappingConfig {
    /// ODS organisation code → hub agency id: the agency a ServiceRequest's `performer` is
    /// referred to. A performer whose code is not listed is a rejection naming the field.
    #[serde(default)]
    pub agencies_by_ods: BTreeMap<String, String>,
    /// EpisodeOfCare `type` → service name in the event (`camhs`, `community_paediatrics`...).
    /// Keys are `system|code`, a bare `code`, or the type's `text`, tried in that order. A type
    /// not listed gives the source's `system` as the service.
    #[serde(default)]
    pub services: BTreeMap<String, String>,
    /// Whether a Patient's NHS number must carry the UK Core verification status extension
    /// (default true). A number whose status is stated and is not `01` (present and verified)
    /// is always rejected; with this off, a Patient that states no status is accepted.
    #[serde(default = "default_true")]
    pub require_verification_status: bool,
}

fn default_true() -> bool {
    true
}

impl Default for FhirMappingConfig {
    /// Empty tables; verification status required.
    fn default() -> Self {
        Self {
            agencies_by_ods: BTreeMap::new(),
            services: BTreeMap::new(),
            require_verification_status: true,
        }
    }
}

impl FhirMappingConfig {
    /// Checks the tables: ODS codes and agency ids well formed, service names not blank.
    /// Whether each agency is configured is the hub's check.
    pub fn validate(&self) -> Result<(), FhirConfigError> {
        for (ods, agency) in &self.agencies_by_ods {
            let key = format!("agencies_by_ods.{ods}");
            check_ods_code(&key, ods)?;
            throughline_contracts::AgencyId::parse(agency)
                .map_err(|e| FhirConfigError::invalid(&key, e.to_string()))?;
        }
        for (ty, service) in &self.services {
            if ty.trim().is_empty() {
                return Err(FhirConfigError::invalid(
                    "services",
                    "keys must not be blank",
                ));
            }
            non_blank(&format!("services.\"{ty}\""), service)?;
        }
        Ok(())
    }
}

fn in_range(key: &'static str, found: u64, min: u64, max: u64) -> Result<(), FhirConfigError> {
    if (min..=max).contains(&found) {
        Ok(())
    } else {
        Err(FhirConfigError::OutOfRange {
            key,
            min,
            max,
            found,
        })
    }
}

fn non_blank(key: &str, value: &str) -> Result<(), FhirConfigError> {
    if value.trim().is_empty() {
        Err(FhirConfigError::invalid(key, "must not be empty"))
    } else {
        Ok(())
    }
}

/// ODS codes are short upper-case alphanumerics (`RXX`, `RX1AB`, `A81001`).
pub(crate) fn check_ods_code(key: &str, code: &str) -> Result<(), FhirConfigError> {
    if (2..=12).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(FhirConfigError::invalid(
            key,
            "must be an ODS code: 2 to 12 ASCII letters and digits",
        ))
    }
}

/// An absolute `https` URL, or `http` to a loopback host; no query or fragment.
pub(crate) fn parse_http_url(key: &str, raw: &str) -> Result<Url, FhirConfigError> {
    let err = |reason: String| FhirConfigError::invalid(key, reason);
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
                "must use https; plain http is only accepted for a loopback host, found `{host}`"
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

#[cfg(test)]
mod tests {
    use super::*;

    fn source(value: serde_json::Value) -> Result<FhirSourceConfig, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn a_flat_source_table_deserialises_with_defaults() {
        let c = source(serde_json::json!({ "base_url": "https://fhir.example/R4" })).unwrap();
        assert_eq!(c.resources, PolledResource::ALL.to_vec());
        assert_eq!(c.page_size, DEFAULT_PAGE_SIZE);
        assert_eq!(c.poll_interval_ms, DEFAULT_POLL_INTERVAL_MS);
        assert_eq!(c.server.auth, FhirAuthConfig::None);
        c.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_refused_by_name_in_either_half() {
        let err =
            source(serde_json::json!({ "base_url": "https://f.example", "page": 5 })).unwrap_err();
        assert!(err.to_string().contains("unknown field `page`"), "{err}");
        let err = source(serde_json::json!({
            "base_url": "https://f.example",
            "auth": { "type": "bearer", "token": "t", "scope": "x" }
        }))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `scope`"), "{err}");
        let err = source(serde_json::json!({
            "base_url": "https://f.example",
            "auth": { "type": "oauth" }
        }))
        .unwrap_err();
        assert!(err.to_string().contains("unknown variant `oauth`"), "{err}");
    }

    #[test]
    fn signed_jwt_auth_deserialises_and_is_checked_key_by_key() {
        let c = source(serde_json::json!({
            "base_url": "https://f.example/R4",
            "auth": {
                "type": "signed_jwt",
                "token_url": "https://f.example/oauth2/token",
                "client_id": "client",
                "key_id": "key-1",
                "private_key_file": "/run/secrets/key.pem"
            }
        }))
        .unwrap();
        c.validate().unwrap();
        let mut bad = c.clone();
        if let FhirAuthConfig::SignedJwt { token_url, .. } = &mut bad.server.auth {
            *token_url = "http://token.example/oauth2/token".into();
        }
        assert_eq!(bad.validate().unwrap_err().key(), Some("auth.token_url"));
        let mut bad = c;
        if let FhirAuthConfig::SignedJwt { key_id, .. } = &mut bad.server.auth {
            key_id.clear();
        }
        assert_eq!(bad.validate().unwrap_err().key(), Some("auth.key_id"));
    }

    #[test]
    fn plain_http_only_to_loopback() {
        FhirServerConfig::new("http://127.0.0.1:8080/fhir/R4")
            .validate()
            .unwrap();
        FhirServerConfig::new("http://localhost/fhir")
            .validate()
            .unwrap();
        let err = FhirServerConfig::new("http://fhir.example/R4")
            .validate()
            .unwrap_err();
        assert_eq!(err.key(), Some("base_url"));
        assert!(err.reason().contains("must use https"), "{err}");
        let err = FhirServerConfig::new("https://fhir.example/R4?x=1")
            .validate()
            .unwrap_err();
        assert!(err.reason().contains("query"), "{err}");
    }

    #[test]
    fn numbers_out_of_range_name_their_key() {
        let mut c = FhirSourceConfig::new(FhirServerConfig::new("https://f.example"));
        c.page_size = 0;
        assert_eq!(c.validate().unwrap_err().key(), Some("page_size"));
        c.page_size = 10;
        c.poll_interval_ms = 5;
        assert_eq!(c.validate().unwrap_err().key(), Some("poll_interval_ms"));
        c.poll_interval_ms = 1_000;
        c.resources.clear();
        assert_eq!(c.validate().unwrap_err().key(), Some("resources"));
    }

    #[test]
    fn debug_never_shows_the_bearer_token() {
        let mut c = FhirServerConfig::new("https://f.example");
        c.auth = FhirAuthConfig::Bearer {
            token: "hunter2-token".into(),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn sink_checks_recipient_ods_and_identifier_system() {
        let c: FhirSinkConfig = serde_json::from_value(serde_json::json!({
            "base_url": "https://f.example/R4",
            "recipient_ods": "RXX"
        }))
        .unwrap();
        assert_eq!(c.identifier_system, DEFAULT_IDENTIFIER_SYSTEM);
        c.validate().unwrap();
        let mut bad = c.clone();
        bad.recipient_ods = Some("R X".into());
        assert_eq!(bad.validate().unwrap_err().key(), Some("recipient_ods"));
        let mut bad = c;
        bad.identifier_system = "not a uri".into();
        assert_eq!(bad.validate().unwrap_err().key(), Some("identifier_system"));
    }

    #[test]
    fn mapping_tables_are_checked() {
        let mut m = FhirMappingConfig::default();
        assert!(m.require_verification_status);
        m.agencies_by_ods.insert("RXX".into(), "camhs-north".into());
        m.validate().unwrap();
        m.agencies_by_ods
            .insert("RYY".into(), "Not An Agency".into());
        assert_eq!(m.validate().unwrap_err().key(), Some("agencies_by_ods.RYY"));
        let parsed: FhirMappingConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        assert!(parsed.require_verification_status);
    }
}
