-- Handoffs: referrals, transfers and closure notices between agencies, tracked until the
-- receiving agency answers. `next_check_at` is the durable timer the scheduler polls.
CREATE TABLE handoffs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,   -- referral | transfer | closure | ehc_needs_assessment | ehc_plan | annual_review
    reference        TEXT NOT NULL,   -- the sender's own reference (referral id, request id, plan id)
    child_id         TEXT NOT NULL REFERENCES children(id),
    from_agency      TEXT NOT NULL,
    to_agency        TEXT NOT NULL,
    event_id         TEXT NOT NULL,   -- the event that made it
    state            TEXT NOT NULL,   -- made | delivered | accepted | declined | redirected | closed
    clock_start      BIGINT NOT NULL,
    period           TEXT NOT NULL,   -- the deadline period, e.g. "2 working days"; pauses recompute from it
    due_at           BIGINT,          -- NULL while an exemption pauses the clock
    pauses           TEXT NOT NULL,   -- JSON array of {from, until}
    escalation_step  BIGINT NOT NULL, -- steps of the escalation chain sent so far
    next_check_at    BIGINT,          -- when the scheduler next acts; NULL when nothing is pending
    made_at          BIGINT NOT NULL,
    delivered_at     BIGINT,
    acknowledged_at  BIGINT,
    acknowledged_by  TEXT,            -- the acknowledging event's id
    new_owner        TEXT,
    escalated_at     BIGINT,          -- when the last step of the chain was sent
    parent_id        TEXT             -- the handoff this one continues (a redirect)
);
CREATE INDEX handoffs_timer ON handoffs(next_check_at);
CREATE INDEX handoffs_child ON handoffs(child_id, kind, reference);
CREATE INDEX handoffs_event ON handoffs(event_id);

-- One row per escalation step sent; the primary key makes each step fire once, ever.
CREATE TABLE handoff_escalations (
    handoff_id    TEXT NOT NULL REFERENCES handoffs(id),
    step          BIGINT NOT NULL,
    recipient     TEXT NOT NULL,
    reason        TEXT NOT NULL,
    scheduled_at  BIGINT NOT NULL,
    sent_at       BIGINT NOT NULL,
    PRIMARY KEY (handoff_id, step)
);

-- Plans that oblige someone to lead: a child with either must never be left without a lead agency.
ALTER TABLE children ADD COLUMN ehc_plan BIGINT NOT NULL DEFAULT 0;
ALTER TABLE children ADD COLUMN child_protection_plan BIGINT NOT NULL DEFAULT 0;
