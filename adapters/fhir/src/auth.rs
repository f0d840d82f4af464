//! Authorising requests: a fixed bearer token, or NHS England's signed-JWT client credentials.
//!
//! The signed-JWT flow (application-restricted access to NHS APIs): the client signs a short
//! assertion with its RSA private key (RS512, the registered key's `kid` in the header;
//! `iss` = `sub` = client id, `aud` = the token URL, a fresh `jti`, `exp` under five minutes
//! ahead) and posts it to the token endpoint as `client_credentials` with
//! `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`. The access
//! token that comes back is sent as `Authorization: Bearer` until shortly before it expires.
//!
//! Why a [`TokenSource`] with a cache: the NHS token endpoint rate-limits, and asking for a
//! token per request would double every request. The cache renews a token [`REFRESH_MARGIN`]
//! before the expiry the endpoint stated (half the lifetime for very short-lived tokens), and
//! the client renews once more, at once, if the server answers 401 anyway (a token revoked
//! early, a server that restarted). Concurrent callers share one renewal: the cache is behind
//! an async mutex, so a burst of requests at expiry makes one token request, not many.
//!
//! Nothing here ever logs or formats the private key, an assertion or a token.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA512, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use reqwest::header::HeaderValue;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use tokio::time::Instant;

use crate::config::{FhirAuthConfig, FhirConfigError};
use crate::error::{FhirError, Operation};

/// How long before the stated expiry a cached token is renewed.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// How far ahead the assertion's `exp` is set: under the five minutes NHS England allows, with
/// room for the two clocks to disagree.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(240);
/// The lifetime assumed when the token endpoint states none (OAuth makes `expires_in` optional).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// How requests to one server are authorised, built from [`FhirAuthConfig`].
#[derive(Clone)]
pub(crate) enum Credentials {
    None,
    Bearer(HeaderValue),
    SignedJwt(Arc<TokenSource>),
}

impl Credentials {
    /// Checks and loads the configured credentials (reads the private key file once).
    pub(crate) fn build(
        config: &FhirAuthConfig,
        http: &reqwest::Client,
    ) -> Result<Self, FhirConfigError> {
        match config {
            FhirAuthConfig::None => Ok(Self::None),
            FhirAuthConfig::Bearer { token } => Ok(Self::Bearer(bearer(token).map_err(|_| {
                FhirConfigError::invalid("auth.token", "must be printable ASCII without spaces")
            })?)),
            FhirAuthConfig::SignedJwt {
                token_url,
                client_id,
                key_id,
                private_key_file,
            } => {
                let token_url = crate::config::parse_http_url("auth.token_url", token_url)?;
                let key = load_private_key(private_key_file)?;
                Ok(Self::SignedJwt(Arc::new(TokenSource {
                    http: http.clone(),
                    token_url,
                    client_id: client_id.trim().to_owned(),
                    key_id: key_id.trim().to_owned(),
                    key,
                    cache: tokio::sync::Mutex::new(None),
                })))
            }
        }
    }
}

/// `Bearer {token}`, marked sensitive so `Debug` of a request or header map never shows it.
fn bearer(token: &str) -> Result<HeaderValue, reqwest::header::InvalidHeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Reads an RSA private key from a PEM file: PKCS#8 (`PRIVATE KEY`) or PKCS#1
/// (`RSA PRIVATE KEY`). Errors name the key and the kind of problem, never the contents.
fn load_private_key(path: &Path) -> Result<RsaKeyPair, FhirConfigError> {
    let err = |reason: String| FhirConfigError::invalid("auth.private_key_file", reason);
    let pem = std::fs::read(path)
        .map_err(|e| err(format!("`{}` cannot be read: {e}", path.display())))?;
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        err(format!(
            "`{}` must hold a PEM RSA private key (PRIVATE KEY or RSA PRIVATE KEY)",
            path.display()
        ))
    })?;
    let key = match &der {
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => {
            return Err(err(format!(
                "`{}` holds a key that is not RSA; RS512 needs an RSA key",
                path.display()
            )));
        }
    };
    key.map_err(|e| {
        err(format!(
            "`{}` holds a key the RS512 signer refused ({e})",
            path.display()
        ))
    })
}

/// A cached access token: the header to send and when to renew it.
struct Cached {
    header: HeaderValue,
    renew_at: Instant,
}

/// Signs client assertions and keeps the access token they buy. Shared by every request to one
/// server.
pub struct TokenSource {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    key_id: String,
    key: RsaKeyPair,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// The `Authorization` header to send now: the cached token, or a new one if there is none
    /// or it is due for renewal.
    pub async fn header(&self) -> Result<HeaderValue, FhirError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.header.clone());
        }
        let fresh = self.request_token().await?;
        let header = fresh.header.clone();
        *cache = Some(fresh);
        Ok(header)
    }

    /// A new token, whatever the cache holds: the server refused the cached one (it revoked it
    /// early, or restarted). fhir-sdk runs its 401 callback for one request at a time and
    /// retries the others with its result, so a burst of 401s renews once.
    pub async fn renew(&self) -> Result<HeaderValue, FhirError> {
        let mut cache = self.cache.lock().await;
        let fresh = self.request_token().await?;
        let header = fresh.header.clone();
        *cache = Some(fresh);
        Ok(header)
    }

    /// Signs an assertion and exchanges it for an access token.
    async fn request_token(&self) -> Result<Cached, FhirError> {
        let transport = |e: reqwest::Error| FhirError::Transport {
            operation: Operation::Token,
            reason: crate::client::describe_reqwest(&e),
        };
        let assertion = self.assertion(SystemTime::now())?;
        let response = self
            .http
            .post(self.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            return Err(FhirError::TokenRefused {
                status: status.as_u16(),
                detail: oauth_error(&body),
            });
        }
        let protocol = |reason: &str| FhirError::Protocol {
            operation: Operation::Token,
            reason: reason.to_owned(),
        };
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| protocol("the token response is not JSON"))?;
        let token = value
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| protocol("the token response has no `access_token`"))?;
        let header =
            bearer(token).map_err(|_| protocol("the access token is not a valid header value"))?;
        let lifetime = value
            .get("expires_in")
            .and_then(|v| {
                // NHS England's endpoint sends it as a string ("599"); OAuth says a number.
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        tracing::debug!(
            token_url = %self.token_url,
            lifetime_s = lifetime.as_secs(),
            "FHIR access token issued"
        );
        Ok(Cached {
            header,
            renew_at: Instant::now() + renew_after(lifetime),
        })
    }

    /// The signed client assertion (a compact JWS) as of `now`.
    pub fn assertion(&self, now: SystemTime) -> Result<String, FhirError> {
        let now_s = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let header = serde_json::json!({ "alg": "RS512", "typ": "JWT", "kid": self.key_id });
        let claims = serde_json::json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url.as_str(),
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now_s,
            "exp": now_s + ASSERTION_LIFETIME.as_secs(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA512,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| FhirError::Protocol {
                operation: Operation::Token,
                reason: "the client assertion could not be signed".to_owned(),
            })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// How long a token that lives `lifetime` is used before it is renewed: [`REFRESH_MARGIN`]
/// before its end, or half-way through a token that lives under two margins.
pub fn renew_after(lifetime: Duration) -> Duration {
    if lifetime >= REFRESH_MARGIN * 2 {
        lifetime - REFRESH_MARGIN
    } else {
        lifetime / 2
    }
}

/// `: {error}: {error_description}` from an OAuth error body, shortened; empty for any other
/// body. These are the endpoint's own words about the request (`invalid_client`, "Invalid
/// iss/sub claims"), never child data.
fn oauth_error(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let text = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .map(crate::error::scrub)
            .filter(|s| !s.is_empty())
    };
    match (text("error"), text("error_description")) {
        (Some(e), Some(d)) => format!(": {e}: {d}"),
        (Some(e), None) => format!(": {e}"),
        (None, Some(d)) => format!(": {d}"),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA512, UnparsedPublicKey};

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn source_with_new_key() -> (TokenSource, Vec<u8>) {
        let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public = key.public_key().as_ref().to_vec();
        let pkcs8 = key.as_der().unwrap();
        let dir = std::env::temp_dir().join(format!("fhir-auth-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.pem");
        std::fs::write(&path, crate::pem::encode("PRIVATE KEY", pkcs8.as_ref())).unwrap();
        let loaded = load_private_key(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        (
            TokenSource {
                http: reqwest::Client::new(),
                token_url: "https://api.example/oauth2/token".parse().unwrap(),
                client_id: "client-123".into(),
                key_id: "key-1".into(),
                key: loaded,
                cache: tokio::sync::Mutex::new(None),
            },
            public,
        )
    }

    #[test]
    fn the_assertion_is_an_rs512_jws_with_the_nhs_claims() {
        let (source, public) = source_with_new_key();
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let jws = source.assertion(now).unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "RS512");
        assert_eq!(header["kid"], "key-1");
        let claims = decode(parts[1]);
        assert_eq!(claims["iss"], "client-123");
        assert_eq!(claims["sub"], "client-123");
        assert_eq!(claims["aud"], "https://api.example/oauth2/token");
        assert_eq!(
            claims["exp"],
            1_800_000_000u64 + ASSERTION_LIFETIME.as_secs()
        );
        assert!(claims["exp"].as_u64().unwrap() - 1_800_000_000 <= 300);
        assert!(!claims["jti"].as_str().unwrap().is_empty());
        // The signature verifies with the public key, over header.claims.
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA512, &public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
        // A second assertion has a different jti: the endpoint refuses a replayed one.
        let again = decode(source.assertion(now).unwrap().split('.').nth(1).unwrap());
        assert_ne!(again["jti"], claims["jti"]);
    }

    #[test]
    fn tokens_are_renewed_a_margin_before_expiry_or_half_way_when_short() {
        assert_eq!(
            renew_after(Duration::from_secs(599)),
            Duration::from_secs(569)
        );
        assert_eq!(
            renew_after(Duration::from_secs(40)),
            Duration::from_secs(20)
        );
        assert_eq!(renew_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn an_unreadable_key_file_is_named_without_its_contents() {
        let dir = std::env::temp_dir().join(format!("fhir-auth-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.pem");
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = load_private_key(&path).unwrap_err();
        assert_eq!(err.key(), Some("auth.private_key_file"));
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = load_private_key(&dir.join("missing.pem")).unwrap_err();
        assert!(err.reason().contains("cannot be read"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn oauth_errors_are_kept_short_and_without_digits() {
        let body = br#"{"error":"invalid_client","error_description":"jti 12345 already used"}"#;
        assert_eq!(
            oauth_error(body),
            ": invalid_client: jti ##### already used"
        );
        assert_eq!(oauth_error(b"<html/>"), "");
    }
}
