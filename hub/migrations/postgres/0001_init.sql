-- Throughline store, PostgreSQL dialect. Timestamps are milliseconds since the Unix epoch; JSON is TEXT.

CREATE TABLE children (
    id          TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL
);

-- Deterministic links: one row per identifier, pointing at the one child it identifies.
CREATE TABLE child_identifiers (
    scheme      TEXT NOT NULL,   -- nhs | upn | local:<agency>/<system>
    value       TEXT NOT NULL,
    child_id    TEXT NOT NULL REFERENCES children(id),
    first_seen  BIGINT NOT NULL,
    PRIMARY KEY (scheme, value)
);
CREATE INDEX child_identifiers_child ON child_identifiers(child_id);

-- Demographic evidence, as a normalised match key only: used to raise possible matches.
CREATE TABLE child_evidence (
    child_id    TEXT NOT NULL REFERENCES children(id),
    match_key   TEXT NOT NULL,
    PRIMARY KEY (child_id, match_key)
);
CREATE INDEX child_evidence_key ON child_evidence(match_key);

CREATE TABLE identity_reviews (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,   -- possible_match | conflict
    child_id        TEXT,
    other_child_id  TEXT,
    event_id        TEXT,
    quarantine_id   TEXT,
    detail          TEXT NOT NULL,
    status          TEXT NOT NULL,   -- open | resolved
    created_at      BIGINT NOT NULL
);

CREATE TABLE involvements (
    child_id    TEXT NOT NULL REFERENCES children(id),
    agency      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    started_by  TEXT NOT NULL,       -- event id, or 'registration'
    ended_at    BIGINT,
    ended_by    TEXT,
    PRIMARY KEY (child_id, agency)
);

CREATE TABLE events (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    source_agency  TEXT NOT NULL,
    child_id       TEXT NOT NULL,
    occurred_at    BIGINT NOT NULL,
    received_at    BIGINT NOT NULL,
    body           TEXT NOT NULL
);
CREATE INDEX events_received ON events(received_at);

-- One row per (event, recipient). `seq` orders each agency's queue.
CREATE TABLE deliveries (
    seq                BIGSERIAL PRIMARY KEY,
    id                 TEXT NOT NULL UNIQUE,
    event_id           TEXT NOT NULL REFERENCES events(id),
    agency             TEXT NOT NULL,
    child_id           TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL,
    sharing_agreement  TEXT NOT NULL,
    notification       TEXT NOT NULL,
    status             TEXT NOT NULL,   -- pending | delivered | dead
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT NOT NULL,
    last_error         TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    delivered_at       BIGINT
);
CREATE INDEX deliveries_queue ON deliveries(agency, status, seq);
CREATE INDEX deliveries_event ON deliveries(event_id);

CREATE TABLE quarantine (
    id                 TEXT PRIMARY KEY,
    received_at        BIGINT NOT NULL,
    source_id          TEXT NOT NULL,
    step               TEXT NOT NULL,
    problems           TEXT NOT NULL,
    format             TEXT NOT NULL,   -- the native format, so a replay reads it the same way
    content_type       TEXT,
    message_id         TEXT,
    raw                BYTEA NOT NULL,
    status             TEXT NOT NULL,   -- held | replayed | discarded
    resolved_at        BIGINT,
    resolved_by        TEXT,
    replayed_event_ids TEXT
);
CREATE INDEX quarantine_status ON quarantine(status, received_at);

CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    dedupe_key   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    agency       TEXT,
    detail       TEXT NOT NULL,
    status       TEXT NOT NULL,   -- open | closed
    first_at     BIGINT NOT NULL,
    last_at      BIGINT NOT NULL,
    occurrences  BIGINT NOT NULL
);
CREATE INDEX alerts_open ON alerts(dedupe_key, status);

-- Append-only: every routing decision, disclosure and operator action.
CREATE TABLE audit_log (
    seq                BIGSERIAL PRIMARY KEY,
    at                 BIGINT NOT NULL,
    actor              TEXT NOT NULL,
    action             TEXT NOT NULL,
    event_id           TEXT,
    agency             TEXT,
    sharing_agreement  TEXT,
    fields             TEXT,
    detail             TEXT
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Inputs already committed, by their upstream message id (AMQP message-id, Kafka offset, HTTP
-- Idempotency-Key): a redelivered input is answered from here instead of committed twice.
CREATE TABLE received_inputs (
    source_id   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    event_ids   TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (source_id, message_id)
);
