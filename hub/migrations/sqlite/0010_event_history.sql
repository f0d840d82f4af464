-- History is not news (issue 12). An event that only restates the child's past (its `as_at` is
-- more than `history.window` after it happened, or the hub already holds the same fact) is
-- committed and on the child's timeline, but opens no handoff or clock and notifies nobody.
-- `history` records that decision (1 = history, 0 = news); `fact` is the SHA-256 of the event's
-- kind and canonical payload, so "the same fact about the same child" is one indexed lookup.
-- Events committed before this migration have no fact: they are never matched as known.
ALTER TABLE events ADD COLUMN history BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN fact TEXT;
CREATE INDEX events_fact ON events(child_id, fact);
