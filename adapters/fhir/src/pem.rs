//! PEM encoding of DER keys, for tests that make their own RSA keys (the token endpoint of the
//! test server reads a PEM public key; the adapter reads a PEM private key).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// `-----BEGIN {label}-----`, the base64 of `der` in 64-character lines, `-----END {label}-----`.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
