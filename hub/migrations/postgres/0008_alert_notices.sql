-- Alerts have episodes: open until the problem clears, then resolved (`status = 'resolved'`,
-- `resolved_at` set). A recurrence after that opens a new alert row, so each episode is one row.
ALTER TABLE alerts ADD COLUMN resolved_at BIGINT;

-- The durable outbox of operator notices: one row when an alert opens and one when it resolves,
-- written in the same transaction as the alert itself, so a notice cannot be lost to a crash or
-- to a channel that is down. The notifier sends each to every configured operator channel.
CREATE TABLE alert_notices (
    id            TEXT PRIMARY KEY,   -- UUIDv7: orders notices in time
    alert_id      TEXT NOT NULL,
    transition    TEXT NOT NULL,      -- opened | resolved
    created_at    BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT,
    -- A notifier (of any instance) holds the notice until then; also the next retry's time.
    claimed_until BIGINT,
    done_at       BIGINT               -- every configured channel has it
);
CREATE INDEX alert_notices_pending ON alert_notices(done_at, alert_id);

-- Which channels already have a notice: a retry sends only to the channels that do not.
CREATE TABLE alert_notice_sends (
    notice_id  TEXT NOT NULL,
    channel    TEXT NOT NULL,
    sent_at    BIGINT NOT NULL,
    PRIMARY KEY (notice_id, channel)
);
