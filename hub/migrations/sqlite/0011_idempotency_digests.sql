-- Idempotency that looks at content (issue 13). A repeated event id or idempotency key is a
-- duplicate only when its body is the same: the SHA-256 of the canonical body (the normalised
-- submissions, re-serialised) is kept beside each, and a different body is a conflict, held in
-- quarantine with both digests. Rows from before this migration have no digest: a repeat of
-- them is still answered as a duplicate.
ALTER TABLE received_inputs ADD COLUMN body_sha256 TEXT;
CREATE TABLE event_digests (
    event_id    TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL
);
