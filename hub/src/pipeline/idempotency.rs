//! Idempotency that looks at content: a repeated event id or idempotency key is a duplicate only
//! when it carries the same body (issue 13). A sender that reuses an id for something else has a
//! bug, or is replaying one agency's id over another's record; either way, dropping the second
//! body silently (the old behaviour) lost it without anyone knowing. It is now a conflict, kept
//! in quarantine with both digests, and the API answers 409 `idempotency-conflict`.
//!
//! The digest is of the *canonical* body: the normalised submissions serialised again, so the same
//! event resent with other whitespace or key order is still the same body. The hub's own
//! additions (a generated id, the arrival time) are not part of it.

use serde::Serialize;
use sha2::{Digest, Sha256};
use throughline_contracts::event::{EventSubmission, FieldProblem};

/// The SHA-256 (hex) of `value`'s canonical JSON.
pub fn canonical_sha256<T: Serialize + ?Sized>(value: &T) -> String {
    // Serialising the contract types cannot fail (no maps with non-string keys); an empty
    // body still digests to something stable.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// The digest of a whole input: every submission, in order.
pub fn input_sha256(submissions: &[EventSubmission]) -> String {
    canonical_sha256(submissions)
}

/// The problem when `field` (an event id, or the input's idempotency key) was committed with a
/// body whose digest is `committed`, and now comes with `presented`. Digests are not child data:
/// they let an operator tell which body was first, from the quarantine and the audit.
pub fn conflict(field: &str, what: &str, committed: &str, presented: &str) -> FieldProblem {
    FieldProblem::new(
        field,
        format!(
            "{what} was already committed with a different body \
             (committed body sha256 {committed}, this body sha256 {presented})"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_event_with_other_whitespace_and_key_order_has_the_same_digest() {
        let a = r#"{"schema_version":1,"occurred_at":"2026-11-20T09:00:00Z",
            "source":{"agency":"a","system":"s","adapter":"http"},
            "subject":{"identifiers":{"nhs_number":"9434765919"}},
            "kind":"sen_support.ended","payload":{"on":"2026-11-01"}}"#;
        let b = r#"{ "kind": "sen_support.ended", "payload": { "on": "2026-11-01" },
            "subject": { "identifiers": { "nhs_number": "943 476 5919" } },
            "source": { "system": "s", "agency": "a", "adapter": "http" },
            "occurred_at": "2026-11-20T09:00:00Z", "schema_version": 1 }"#;
        let a: EventSubmission = serde_json::from_str(a).unwrap();
        let b: EventSubmission = serde_json::from_str(b).unwrap();
        assert_eq!(canonical_sha256(&a), canonical_sha256(&b));
        let mut c = b.clone();
        c.occurred_at += chrono::Duration::seconds(1);
        assert_ne!(canonical_sha256(&a), canonical_sha256(&c));
    }
}
