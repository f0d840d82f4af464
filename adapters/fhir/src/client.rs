//! [`FhirClient`]: the few FHIR REST interactions the adapter needs, over `fhir-sdk`'s client.
//!
//! What fhir-sdk gives us: its request machinery, which calls our token source on a 401 and
//! retries the request once with the new token, refuses to follow a link to another origin (a
//! `next` link can never carry our token to another host), and refuses a server whose
//! `Content-Type` names a FHIR major version other than 4; and its R4B model types, with which
//! the sink builds its `Communication`.
//!
//! Where we go around it, and why: every request goes through `send_custom_request` with JSON
//! bodies read as `serde_json::Value` instead of the typed `search`/`read`/`create`:
//! - UK Core is FHIR R4 (4.0.1) and fhir-sdk has only R4B models; reading R4 resources as R4B
//!   would fail or drop elements on the few places the two differ, and the normaliser names the
//!   exact JSON path of each problem, which typed parsing loses.
//! - The typed calls send `Accept: application/fhir+json; fhirVersion=4.3`, which a strict R4
//!   server may refuse with 406; we send plain `application/fhir+json`.
//! - Its `create` has no conditional create (`If-None-Exist`), which the sink needs so a retried
//!   delivery never makes a second Communication.
//! - Its built-in retries are turned off: the hub's own loops retry (the poll at its next
//!   interval, the delivery worker with backoff), so one attempt here is one request.
//!
//! fhir-sdk logs each request's method and URL at `info`; our URLs carry only resource types,
//! server ids and `_lastUpdated`/`_count` parameters, never an identifier or other child data.

use std::sync::{Arc, Mutex};

use fhir_sdk::client::{Client, RequestSettings};
use fhir_sdk::version::FhirR4B;
use reqwest::header::{self, HeaderValue};
use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::auth::{Credentials, TokenSource};
use crate::config::{FhirConfigError, FhirServerConfig};
use crate::error::{FhirError, Operation, parse_operation_outcome};

/// The media type sent and expected: FHIR JSON, with no version parameter (see the module doc).
pub const FHIR_JSON: &str = "application/fhir+json";
/// The W3C Trace Context header a traced delivery attempt sends, so a FHIR server that traces
/// joins the hub's trace. It names the trace only.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// A client for one FHIR server. Cheap to clone.
#[derive(Clone)]
pub struct FhirClient {
    sdk: Client<FhirR4B>,
    base: Url,
    credentials: Credentials,
    /// The token source's error from inside fhir-sdk's 401 callback, which fhir-sdk can only
    /// hand back as text: kept here so the caller sees the typed error.
    callback_error: Arc<Mutex<Option<FhirError>>>,
}

impl std::fmt::Debug for FhirClient {
    /// The base URL only: the client's settings hold the `Authorization` header.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirClient")
            .field("base_url", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// One page of search results.
#[derive(Debug, Default)]
pub struct SearchPage {
    /// The matching resources (`search.mode` absent or `match`), in the server's order.
    pub matches: Vec<Value>,
    /// Resources the server added with `_include` (`search.mode = include`).
    pub included: Vec<Value>,
    /// The `next` link, if there are more pages.
    pub next: Option<Url>,
}

/// What a conditional create did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// 201: a new resource.
    New,
    /// 200: a resource matching the `If-None-Exist` condition already existed; nothing was made.
    AlreadyExisted,
}

impl FhirClient {
    /// Validates `config`, reads the private key if there is one and builds the HTTP client.
    pub fn build(config: &FhirServerConfig) -> Result<Self, FhirConfigError> {
        config.validate()?;
        let base = config.base()?;
        let mut http = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(config.timeout())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "throughline-adapter-fhir/",
                env!("CARGO_PKG_VERSION")
            ));
        if let Some(pem) = &config.tls_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                FhirConfigError::invalid(
                    "tls_ca_pem",
                    format!("must hold PEM CA certificates ({e})"),
                )
            })?;
            if certs.is_empty() {
                return Err(FhirConfigError::invalid(
                    "tls_ca_pem",
                    "holds no PEM certificate",
                ));
            }
            http = http.tls_certs_merge(certs);
        }
        let http = http.build().map_err(|e| FhirConfigError::Client {
            reason: e.to_string(),
        })?;
        let credentials = Credentials::build(&config.auth, &http)?;
        let mut settings = RequestSettings::default()
            .retries(0)
            .timeout(Some(config.timeout()));
        if let Credentials::Bearer(value) = &credentials {
            settings = settings.header(header::AUTHORIZATION, value.clone());
        }
        let builder = Client::<FhirR4B>::builder()
            .base_url(base.clone())
            .client(http)
            .request_settings(settings);
        let callback_error = Arc::new(Mutex::new(None));
        let built = match &credentials {
            Credentials::SignedJwt(tokens) => {
                let (tokens, slot) = (tokens.clone(), callback_error.clone());
                builder
                    .auth_callback(move |_http: reqwest::Client| {
                        let (tokens, slot) = (tokens.clone(), slot.clone());
                        async move {
                            tokens.renew().await.inspect_err(|e| {
                                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
                            })
                        }
                    })
                    .build()
            }
            _ => builder.build(),
        };
        let sdk = built.map_err(|e| FhirConfigError::Client {
            reason: e.to_string(),
        })?;
        Ok(Self {
            sdk,
            base,
            credentials,
            callback_error,
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The signed-JWT token source, if the server uses one.
    pub fn token_source(&self) -> Option<&Arc<TokenSource>> {
        match &self.credentials {
            Credentials::SignedJwt(t) => Some(t),
            _ => None,
        }
    }

    /// `[base]/{segments...}`.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Reads the CapabilityStatement (`GET [base]/metadata`): the start-up check that the
    /// server is there and speaks FHIR 4.x. With signed-JWT auth the request carries the first
    /// token, so a wrong key or client id stops start-up rather than the first poll.
    pub async fn capabilities(&self) -> Result<(), FhirError> {
        let url = self.url(&["metadata"]);
        let (status, body, _) = self
            .send(Operation::Capabilities, move |http| http.get(url))
            .await?;
        if !status.is_success() {
            return Err(rejected(Operation::Capabilities, status, &body, None));
        }
        let value = json(Operation::Capabilities, &body)?;
        if value.get("resourceType").and_then(Value::as_str) != Some("CapabilityStatement") {
            return Err(FhirError::Protocol {
                operation: Operation::Capabilities,
                reason: "`metadata` did not return a CapabilityStatement".to_owned(),
            });
        }
        if let Some(version) = value.get("fhirVersion").and_then(Value::as_str)
            && !version.starts_with("4.")
        {
            return Err(FhirError::Protocol {
                operation: Operation::Capabilities,
                reason: format!("the server speaks FHIR {version}; this adapter speaks R4 (4.x)"),
            });
        }
        Ok(())
    }

    /// `GET` one search page (a search URL or a `next` link) and splits the Bundle.
    pub async fn search_page(&self, url: Url) -> Result<SearchPage, FhirError> {
        let (status, body, _) = self
            .send(Operation::Search, move |http| http.get(url))
            .await?;
        if !status.is_success() {
            return Err(rejected(Operation::Search, status, &body, None));
        }
        let bundle = json(Operation::Search, &body)?;
        if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Err(FhirError::Protocol {
                operation: Operation::Search,
                reason: "the search result is not a Bundle".to_owned(),
            });
        }
        let mut page = SearchPage::default();
        for entry in bundle
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(resource) = entry.get("resource") else {
                continue;
            };
            match entry
                .get("search")
                .and_then(|s| s.get("mode"))
                .and_then(Value::as_str)
            {
                None | Some("match") => page.matches.push(resource.clone()),
                Some("include") => page.included.push(resource.clone()),
                // `outcome`: an OperationOutcome about the search itself, not a result.
                Some(_) => {}
            }
        }
        page.next = bundle
            .get("link")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|l| l.get("relation").and_then(Value::as_str) == Some("next"))
            .and_then(|l| l.get("url").and_then(Value::as_str))
            .map(|u| {
                self.base.join(u).map_err(|_| FhirError::Protocol {
                    operation: Operation::Search,
                    reason: "the `next` link is not a URL".to_owned(),
                })
            })
            .transpose()?;
        Ok(page)
    }

    /// `GET [base]/{type}/{id}`: `None` if the server says 404 or 410.
    pub async fn read(&self, resource_type: &str, id: &str) -> Result<Option<Value>, FhirError> {
        let url = self.url(&[resource_type, id]);
        let (status, body, _) = self
            .send(Operation::Read, move |http| http.get(url))
            .await?;
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(rejected(Operation::Read, status, &body, None));
        }
        let value = json(Operation::Read, &body)?;
        if value.get("resourceType").and_then(Value::as_str) != Some(resource_type) {
            return Err(FhirError::Protocol {
                operation: Operation::Read,
                reason: format!("reading a {resource_type} returned another resource type"),
            });
        }
        Ok(Some(value))
    }

    /// `POST [base]/{type}` with `If-None-Exist: {condition}`: creates the resource unless one
    /// matching the condition exists. `traceparent`, when given, is sent as that header.
    pub async fn create_if_none_exist(
        &self,
        resource_type: &str,
        body: Vec<u8>,
        condition: &str,
        traceparent: Option<&str>,
    ) -> Result<Created, FhirError> {
        let url = self.url(&[resource_type]);
        let condition = HeaderValue::from_str(condition).map_err(|_| FhirError::Protocol {
            operation: Operation::Create,
            reason: "the If-None-Exist condition is not a valid header value".to_owned(),
        })?;
        // A malformed value (it comes from the hub's own store) is left out, not sent broken.
        let traceparent = traceparent.and_then(|t| HeaderValue::from_str(t).ok());
        let (status, response, retry_after) = self
            .send(Operation::Create, move |http| {
                let request = http
                    .post(url)
                    .header(header::CONTENT_TYPE, FHIR_JSON)
                    .header("If-None-Exist", condition);
                match traceparent {
                    Some(value) => request.header(TRACEPARENT_HEADER, value),
                    None => request,
                }
                .body(body)
            })
            .await?;
        match status {
            StatusCode::CREATED => Ok(Created::New),
            s if s.is_success() => Ok(Created::AlreadyExisted),
            s => Err(rejected(Operation::Create, s, &response, retry_after)),
        }
    }

    /// Sends one request through fhir-sdk with the current token, and reads the whole answer.
    async fn send<F>(
        &self,
        operation: Operation,
        make: F,
    ) -> Result<(StatusCode, bytes::Bytes, Option<std::time::Duration>), FhirError>
    where
        F: FnOnce(&reqwest::Client) -> reqwest::RequestBuilder + Send,
    {
        if let Credentials::SignedJwt(tokens) = &self.credentials {
            let value = tokens.header().await?;
            self.sdk
                .patch_request_settings(|s| s.header(header::AUTHORIZATION, value));
        }
        let response = self
            .sdk
            .send_custom_request(|http| make(http).header(header::ACCEPT, FHIR_JSON))
            .await
            .map_err(|e| self.sdk_error(operation, e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        let body = response.bytes().await.map_err(|e| FhirError::Transport {
            operation,
            reason: describe_reqwest(&e),
        })?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(FhirError::Unauthorised {
                operation,
                status: status.as_u16(),
            });
        }
        Ok((status, body, retry_after))
    }

    fn sdk_error(&self, operation: Operation, e: fhir_sdk::client::Error) -> FhirError {
        use fhir_sdk::client::Error as E;
        match e {
            E::Request(e) => FhirError::Transport {
                operation,
                reason: describe_reqwest(&e),
            },
            E::AuthCallback(_) => self
                .callback_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or(FhirError::Protocol {
                    operation: Operation::Token,
                    reason: "the token could not be renewed".to_owned(),
                }),
            E::DifferentOrigin(_) => FhirError::Protocol {
                operation,
                reason: "the server linked to another origin; the link was not followed".to_owned(),
            },
            E::DifferentFhirVersion(v) => FhirError::Protocol {
                operation,
                reason: format!("the server answered as FHIR {v}; this adapter speaks R4 (4.x)"),
            },
            other => FhirError::Protocol {
                operation,
                reason: other.to_string(),
            },
        }
    }
}

fn json(operation: Operation, body: &[u8]) -> Result<Value, FhirError> {
    serde_json::from_slice(body).map_err(|e| FhirError::Protocol {
        operation,
        // A syntax error's position, never the text around it.
        reason: format!(
            "the body is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    })
}

fn rejected(
    operation: Operation,
    status: StatusCode,
    body: &[u8],
    retry_after: Option<std::time::Duration>,
) -> FhirError {
    let (issue, diagnostics) = parse_operation_outcome(body);
    FhirError::Rejected {
        operation,
        status: status.as_u16(),
        issue,
        diagnostics,
        retry_after,
    }
}

/// A reqwest error without its URL, with its causes: "operation timed out", "connection
/// refused".
pub(crate) fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "the exchange failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date, relative to `now`; a date in
/// the past is "now". Anything else is ignored, leaving the hub's own backoff in charge.
pub(crate) fn parse_retry_after(
    value: &str,
    now: std::time::SystemTime,
) -> Option<std::time::Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(std::time::Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn urls_are_built_under_the_base_path() {
        let client =
            FhirClient::build(&FhirServerConfig::new("http://127.0.0.1:1/fhir/R4/")).unwrap();
        assert_eq!(
            client.url(&["Patient", "p-1"]).as_str(),
            "http://127.0.0.1:1/fhir/R4/Patient/p-1"
        );
        let client =
            FhirClient::build(&FhirServerConfig::new("http://127.0.0.1:1/fhir/R4")).unwrap();
        assert_eq!(
            client.url(&["metadata"]).as_str(),
            "http://127.0.0.1:1/fhir/R4/metadata"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_retriable_transport_error() {
        // Port 1 on loopback refuses connections: no server is needed to see the refusal.
        let mut config = FhirServerConfig::new("http://127.0.0.1:1/fhir/R4");
        config.timeout_ms = 2_000;
        let client = FhirClient::build(&config).unwrap();
        let err = client.capabilities().await.unwrap_err();
        assert!(matches!(err, FhirError::Transport { .. }), "{err}");
        assert!(err.is_retriable());
        assert!(!err.to_string().contains("127.0.0.1"), "{err}");
    }
}
