-- Where each polling source has read up to, per stream (a FHIR source: one per resource type),
-- so a restart resumes there. A cursor moves only past inputs that are committed or kept in
-- quarantine, so what lies beyond it is read again, and deduplicated, after a crash.
CREATE TABLE source_cursors (
    source_id     TEXT NOT NULL,
    stream        TEXT NOT NULL,
    cursor_value  TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (source_id, stream)
);
