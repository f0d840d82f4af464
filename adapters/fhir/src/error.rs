//! What can go wrong talking to a FHIR server or its token endpoint, and whether to retry.
//!
//! Messages name the operation, the resource type and what the server answered (status, the
//! OperationOutcome's issue code and a scrubbed, shortened diagnostics text). They never carry a
//! resource body, a search result, a token or a private key: FHIR bodies are child data, and a
//! server's diagnostics may quote the request back, so digits in them are masked (NHS numbers,
//! dates of birth) and only their first [`MAX_DIAGNOSTICS_CHARS`] characters are kept.

use std::fmt;
use std::time::Duration;

use crate::config::FhirConfigError;

/// The FHIR interaction a request was part of, named in every error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `GET [base]/metadata`: the start-up check.
    Capabilities,
    /// `GET [base]/{type}?...` and the `next` links of its result pages.
    Search,
    /// `GET [base]/{type}/{id}`.
    Read,
    /// `POST [base]/{type}` (conditional, with `If-None-Exist`).
    Create,
    /// `POST {token_url}`: NHS-style signed-JWT client credentials.
    Token,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Capabilities => "capabilities",
            Self::Search => "search",
            Self::Read => "read",
            Self::Create => "create",
            Self::Token => "token request",
        })
    }
}

/// Why a FHIR interaction failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    /// The configuration is invalid (raised when a client, source or sink is built).
    #[error(transparent)]
    Config(#[from] FhirConfigError),
    /// The server or the token endpoint could not be reached, or the exchange did not complete
    /// (timeout, connection refused, TLS failure). Worth retrying.
    #[error("FHIR {operation}: request failed: {reason}")]
    Transport {
        operation: Operation,
        reason: String,
    },
    /// The server answered 401 or 403 even with a fresh token (or to the static bearer token):
    /// the credentials are wrong or lack the scope for this interaction.
    #[error(
        "FHIR {operation}: not authorised (HTTP {status}); check the `auth` settings for this server"
    )]
    Unauthorised { operation: Operation, status: u16 },
    /// The token endpoint refused the signed client assertion.
    #[error("FHIR token request: refused with HTTP {status}{detail}")]
    TokenRefused {
        status: u16,
        /// The OAuth `error` code and description, prefixed with `: `, or empty.
        detail: String,
    },
    /// The server refused the request with another status.
    #[error("FHIR {operation}: refused with HTTP {status}{}", describe(issue.as_deref(), diagnostics.as_deref()))]
    Rejected {
        operation: Operation,
        status: u16,
        /// The first OperationOutcome issue's `code` (`invalid`, `not-found`, `duplicate`...).
        issue: Option<String>,
        /// The first issue's `diagnostics` (or `details.text`), scrubbed and shortened.
        diagnostics: Option<String>,
        /// The server's `Retry-After`, when it sent one (429, 503).
        retry_after: Option<Duration>,
    },
    /// The server answered in a way this client does not understand (a body that is not a FHIR
    /// JSON resource, a search result that is not a Bundle, a FHIR version other than 4).
    #[error("FHIR {operation}: unexpected response: {reason}")]
    Protocol {
        operation: Operation,
        reason: String,
    },
}

impl FhirError {
    /// Whether trying again later may succeed: transport failures, 408, 429 and 5xx (from the
    /// server or its token endpoint). Anything else needs someone to change something.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Rejected { status, .. } | Self::TokenRefused { status, .. } => {
                retriable_status(*status)
            }
            _ => false,
        }
    }

    /// The server's own request about when to retry, if it made one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Rejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// 408 Request Timeout, 429 Too Many Requests and every 5xx.
pub(crate) fn retriable_status(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

fn describe(issue: Option<&str>, diagnostics: Option<&str>) -> String {
    match (issue, diagnostics) {
        (Some(i), Some(d)) => format!(" (issue `{i}`: {d})"),
        (Some(i), None) => format!(" (issue `{i}`)"),
        (None, Some(d)) => format!(" ({d})"),
        (None, None) => String::new(),
    }
}

/// The longest diagnostics text kept, in characters.
pub const MAX_DIAGNOSTICS_CHARS: usize = 200;

/// The first issue's code and scrubbed diagnostics from an OperationOutcome body, if the body
/// is one. Any other body (HTML, a resource) yields nothing, so it is never repeated.
pub(crate) fn parse_operation_outcome(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    if value.get("resourceType").and_then(|v| v.as_str()) != Some("OperationOutcome") {
        return (None, None);
    }
    let Some(issue) = value
        .get("issue")
        .and_then(|i| i.as_array())
        .and_then(|i| i.first())
    else {
        return (None, None);
    };
    let code = issue
        .get("code")
        .and_then(|c| c.as_str())
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_owned);
    let text = issue
        .get("diagnostics")
        .and_then(|d| d.as_str())
        .or_else(|| {
            issue
                .get("details")
                .and_then(|d| d.get("text"))
                .and_then(|t| t.as_str())
        })
        .map(scrub)
        .filter(|t| !t.is_empty());
    (code, text)
}

/// Masks every digit (an NHS number, a date of birth quoted back by the server), flattens
/// control characters and keeps the first [`MAX_DIAGNOSTICS_CHARS`] characters.
pub(crate) fn scrub(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                '#'
            } else if c.is_control() {
                ' '
            } else {
                c
            }
        })
        .take(MAX_DIAGNOSTICS_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_issue_and_masks_digits() {
        let body = br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"Patient 9990000018 born 2015-01-02 is unknown"}]}"#;
        let (code, text) = parse_operation_outcome(body);
        assert_eq!(code.as_deref(), Some("invalid"));
        let text = text.unwrap();
        assert!(!text.contains("999") && !text.contains("2015"), "{text}");
        assert!(text.starts_with("Patient ########## born"), "{text}");
    }

    #[test]
    fn ignores_bodies_that_are_not_an_operation_outcome() {
        assert_eq!(parse_operation_outcome(b"<html>502</html>"), (None, None));
        let resource = br#"{"resourceType":"Patient","id":"p1"}"#;
        assert_eq!(parse_operation_outcome(resource), (None, None));
    }

    #[test]
    fn keeps_diagnostics_short() {
        let long = "x".repeat(5_000);
        assert_eq!(scrub(&long).chars().count(), MAX_DIAGNOSTICS_CHARS);
    }

    #[test]
    fn retriable_for_transport_timeouts_throttling_and_server_errors() {
        let rejected = |status| FhirError::Rejected {
            operation: Operation::Create,
            status,
            issue: None,
            diagnostics: None,
            retry_after: None,
        };
        assert!(rejected(503).is_retriable());
        assert!(rejected(429).is_retriable());
        assert!(rejected(408).is_retriable());
        assert!(!rejected(422).is_retriable());
        assert!(!rejected(404).is_retriable());
        assert!(
            FhirError::Transport {
                operation: Operation::Search,
                reason: "timed out".into()
            }
            .is_retriable()
        );
        assert!(
            !FhirError::Unauthorised {
                operation: Operation::Search,
                status: 401
            }
            .is_retriable()
        );
    }
}
