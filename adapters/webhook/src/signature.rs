//! Signing requests so receivers can tell they came from the hub, unaltered and recently.
//!
//! The scheme is Stripe's, chosen because many receivers already have code for it:
//!
//! ```text
//! Throughline-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<body>")>
//! ```
//!
//! Signing the timestamp together with the exact body bytes lets a receiver check both that the
//! body was not changed and that the request is fresh, so a captured request cannot be replayed
//! outside the tolerance window (the idempotency key deduplicates replays inside it). A receiver
//! may list several `v1=` values (during secret rotation); [`verify`] accepts the header if any
//! of them matches.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header the signature is sent in.
pub const SIGNATURE_HEADER: &str = "Throughline-Signature";

/// Why a signature header was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not a comma-separated list of `key=value` pairs with one integer `t`.
    #[error("malformed signature header: {reason}")]
    Malformed { reason: &'static str },
    /// The header has no `v1=` signature.
    #[error("signature header has no v1 signature")]
    NoSignature,
    /// No `v1=` signature matches the body and timestamp.
    #[error("no v1 signature matches the body and timestamp")]
    Mismatch,
    /// The signature matches but its timestamp is further from now than the tolerance.
    #[error("signature timestamp {timestamp} is more than {tolerance_secs} s from now ({now})")]
    OutsideTolerance {
        timestamp: i64,
        now: i64,
        tolerance_secs: i64,
    },
}

/// Signs `body` at `timestamp` (unix seconds) and returns the `Throughline-Signature` header
/// value: `t=<timestamp>,v1=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = keyed_mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Checks a `Throughline-Signature` header against the received body bytes.
///
/// Accepts the header when one of its `v1=` signatures matches (compared in constant time) and
/// its timestamp is within `tolerance_secs` of `now` (unix seconds), in either direction.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let parsed = parse_header(header)?;
    if parsed.signatures.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let mac = keyed_mac(secret, parsed.timestamp, body);
    let matches = parsed.signatures.iter().any(|candidate| {
        // A value that is not hex cannot match; it is not a reason to reject the others.
        hex::decode(candidate).is_ok_and(|tag| mac.clone().verify_slice(&tag).is_ok())
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if now.abs_diff(parsed.timestamp) > tolerance_secs.max(0).unsigned_abs() {
        return Err(SignatureError::OutsideTolerance {
            timestamp: parsed.timestamp,
            now,
            tolerance_secs,
        });
    }
    Ok(())
}

fn keyed_mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (long keys are hashed first), so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

struct ParsedHeader<'a> {
    timestamp: i64,
    signatures: Vec<&'a str>,
}

fn parse_header(header: &str) -> Result<ParsedHeader<'_>, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (key, value) = item
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed {
                reason: "expected comma-separated key=value pairs",
            })?;
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed {
                        reason: "more than one t",
                    });
                }
                let t = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed {
                        reason: "t is not an integer number of seconds",
                    })?;
                timestamp = Some(t);
            }
            "v1" => signatures.push(value),
            // Other schemes (a future v2, Stripe's test-mode v0) are ignored, not rejected.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed {
        reason: "no t timestamp",
    })?;
    Ok(ParsedHeader {
        timestamp,
        signatures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_0123456789abcdef";
    const BODY: &[u8] = br#"{"kind":"referral.made"}"#;
    const NOW: i64 = 1_767_225_600;

    #[test]
    fn sign_then_verify_round_trips() {
        let header = sign(SECRET, NOW, BODY);
        assert_eq!(verify(SECRET, &header, BODY, NOW, 300), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, NOW + 300, 300), Ok(()));
    }

    #[test]
    fn sign_produces_t_and_lowercase_hex_v1() {
        let header = sign(SECRET, NOW, BODY);
        let (t, v1) = header.split_once(',').unwrap();
        assert_eq!(t, format!("t={NOW}"));
        let hex = v1.strip_prefix("v1=").unwrap();
        assert_eq!(hex.len(), 64);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn matches_a_known_hmac_sha256_vector() {
        // The primitive is HMAC-SHA256 (RFC 4231 test case 2)...
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // ...over exactly "<t>.<body>".
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"42.hello");
        let expected = format!("t=42,v1={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sign(b"Jefe", 42, b"hello"), expected);
    }

    #[test]
    fn rejects_a_tampered_body() {
        let header = sign(SECRET, NOW, BODY);
        let tampered = br#"{"kind":"referral.closed"}"#;
        assert_eq!(
            verify(SECRET, &header, tampered, NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_tampered_timestamp() {
        let header =
            sign(SECRET, NOW, BODY).replace(&format!("t={NOW}"), &format!("t={}", NOW + 1));
        assert_eq!(
            verify(SECRET, &header, BODY, NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_different_secret() {
        let header = sign(b"another-secret-of-16+", NOW, BODY);
        assert_eq!(
            verify(SECRET, &header, BODY, NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_an_old_timestamp_outside_tolerance() {
        let header = sign(SECRET, NOW - 301, BODY);
        assert_eq!(
            verify(SECRET, &header, BODY, NOW, 300),
            Err(SignatureError::OutsideTolerance {
                timestamp: NOW - 301,
                now: NOW,
                tolerance_secs: 300
            })
        );
    }

    #[test]
    fn rejects_a_future_timestamp_outside_tolerance() {
        let header = sign(SECRET, NOW + 301, BODY);
        assert!(matches!(
            verify(SECRET, &header, BODY, NOW, 300),
            Err(SignatureError::OutsideTolerance { .. })
        ));
    }

    #[test]
    fn rejects_malformed_headers() {
        for header in [
            "",
            "garbage",
            "v1=abcd",
            "t=notanumber,v1=abcd",
            "t=1,t=2,v1=abcd",
            "t=1;v1=abcd",
        ] {
            assert!(
                matches!(
                    verify(SECRET, header, BODY, NOW, 300),
                    Err(SignatureError::Malformed { .. })
                ),
                "accepted {header:?}"
            );
        }
        assert_eq!(
            verify(SECRET, &format!("t={NOW}"), BODY, NOW, 300),
            Err(SignatureError::NoSignature)
        );
        assert_eq!(
            verify(SECRET, &format!("t={NOW},v1=not-hex"), BODY, NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn accepts_any_matching_v1_and_ignores_other_schemes() {
        let header = sign(SECRET, NOW, BODY);
        let v1 = header.split_once(',').unwrap().1;
        let rotated = format!("t={NOW},v0=ignored,v1={},{v1}", "00".repeat(32));
        assert_eq!(verify(SECRET, &rotated, BODY, NOW, 300), Ok(()));
    }
}
