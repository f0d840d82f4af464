//! The `NHSMESH` authorisation header that every MESH request carries.
//!
//! MESH does not use a bearer token or a session: each request proves knowledge of the mailbox
//! password and the environment's shared key with an HMAC over a fresh nonce and the current
//! time. The header is
//!
//! ```text
//! NHSMESH {mailbox_id}:{nonce}:{nonce_count}:{timestamp}:{hmac}
//! ```
//!
//! where `timestamp` is UTC `YYYYMMDDHHMM` and `hmac` is lowercase hex HMAC-SHA256, keyed with the
//! shared key, over `{mailbox_id}:{nonce}:{nonce_count}:{password}:{timestamp}`. The password
//! itself never travels. Real MESH treats each token as single-use and rejects a timestamp more
//! than two hours from its clock, so the client makes a new token (new nonce) for every request
//! rather than caching one.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The authorisation scheme name MESH expects.
pub const SCHEME: &str = "NHSMESH";

/// The parts of one authorisation token that vary per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenParts<'a> {
    /// A unique value per token; MESH documents it as a GUID.
    pub nonce: &'a str,
    /// How many times this nonce has been used; always 1 here, since each request has a new nonce.
    pub nonce_count: u32,
    /// UTC time as `YYYYMMDDHHMM`.
    pub timestamp: &'a str,
}

/// The full `Authorization` header value for `mailbox_id`, from fixed token parts. Deterministic,
/// so it can be checked against a known vector; [`authorization_now`] is what requests use.
pub fn authorization(
    mailbox_id: &str,
    password: &str,
    shared_key: &str,
    parts: &TokenParts<'_>,
) -> String {
    let TokenParts {
        nonce,
        nonce_count,
        timestamp,
    } = parts;
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(shared_key.as_bytes())
        .expect("HMAC-SHA256 accepts a key of any length");
    mac.update(format!("{mailbox_id}:{nonce}:{nonce_count}:{password}:{timestamp}").as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    format!("{SCHEME} {mailbox_id}:{nonce}:{nonce_count}:{timestamp}:{hash}")
}

/// A fresh header for a request made at `now`: a new random nonce, nonce count 1.
pub fn authorization_now(
    mailbox_id: &str,
    password: &str,
    shared_key: &str,
    now: DateTime<Utc>,
) -> String {
    let nonce = uuid::Uuid::new_v4().to_string();
    let timestamp = mesh_timestamp(now);
    authorization(
        mailbox_id,
        password,
        shared_key,
        &TokenParts {
            nonce: &nonce,
            nonce_count: 1,
            timestamp: &timestamp,
        },
    )
}

/// `now` in the token's `YYYYMMDDHHMM` form (UTC, minute precision).
pub fn mesh_timestamp(now: DateTime<Utc>) -> String {
    now.format("%Y%m%d%H%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Computed independently from the published formula:
    /// `HMAC-SHA256(key = "TestKey",
    ///   msg = "X26ABC1:3f2b8a1e-2c4d-4e5f-9a6b-7c8d9e0f1a2b:1:password:202401151030")`
    /// with Python's `hmac` module (and cross-checked with the sandbox's own
    /// `generate_cipher_text`).
    const KNOWN_HASH: &str = "c7607139a6066f44465ae08c1ecb213b3cdd7402dcb26ea1d579c41e590d1aac";

    #[test]
    fn header_matches_a_vector_computed_from_the_spec() {
        let header = authorization(
            "X26ABC1",
            "password",
            "TestKey",
            &TokenParts {
                nonce: "3f2b8a1e-2c4d-4e5f-9a6b-7c8d9e0f1a2b",
                nonce_count: 1,
                timestamp: "202401151030",
            },
        );
        assert_eq!(
            header,
            format!(
                "NHSMESH X26ABC1:3f2b8a1e-2c4d-4e5f-9a6b-7c8d9e0f1a2b:1:202401151030:{KNOWN_HASH}"
            )
        );
    }

    #[test]
    fn header_never_contains_the_password_or_shared_key() {
        let now = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 59).unwrap();
        let header = authorization_now("X26ABC1", "s3cret-pass", "s3cret-key", now);
        assert!(!header.contains("s3cret"), "{header}");
    }

    #[test]
    fn each_header_has_a_fresh_nonce_and_a_minute_timestamp() {
        let now = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 59).unwrap();
        let a = authorization_now("X26ABC1", "password", "TestKey", now);
        let b = authorization_now("X26ABC1", "password", "TestKey", now);
        assert_ne!(a, b);
        let fields: Vec<&str> = a.trim_start_matches("NHSMESH ").split(':').collect();
        assert_eq!(fields.len(), 5, "{a}");
        assert_eq!(fields[0], "X26ABC1");
        assert!(uuid::Uuid::parse_str(fields[1]).is_ok(), "{a}");
        assert_eq!(fields[2], "1");
        assert_eq!(fields[3], "202401151030");
        assert_eq!(fields[4].len(), 64);
    }
}
