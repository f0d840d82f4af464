-- The operators' dashboard: local accounts and server-side sessions.
CREATE TABLE operators (
    username       TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,    -- argon2id, PHC string
    role           TEXT NOT NULL,    -- operator | admin | auditor
    created_at     BIGINT NOT NULL,
    disabled       BIGINT NOT NULL DEFAULT 0
);

-- The cookie holds a random 256-bit id; only its SHA-256 is stored, so a copy of the store
-- cannot be used to take over a session.
CREATE TABLE operator_sessions (
    id_hash     TEXT PRIMARY KEY,
    username    TEXT NOT NULL REFERENCES operators(username),
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL
);
CREATE INDEX operator_sessions_username ON operator_sessions(username);

-- What the dashboard reads every second must not scan the deliveries table: notifications out
-- per minute (and the retention sweep) read this; a delivery enters it once, when delivered.
CREATE INDEX deliveries_delivered_at ON deliveries(delivered_at) WHERE delivered_at IS NOT NULL;
-- Dead letters, newest first, without reading the live queues.
CREATE INDEX deliveries_dead ON deliveries(seq) WHERE status = 'dead';

-- Agencies whose deliveries an operator paused: the queue keeps filling, nothing is sent until
-- resumed. A row, not a flag in memory, so that a pause survives a restart and holds on every
-- instance sharing the store.
CREATE TABLE agency_pauses (
    agency     TEXT PRIMARY KEY,
    paused_at  BIGINT NOT NULL,
    paused_by  TEXT NOT NULL,
    reason     TEXT NOT NULL
);
