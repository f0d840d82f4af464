-- The dashboard's identity review, handoffs and audit log pages. Each repeated read is answered
-- from an index, because the events and audit tables grow without bound.

-- A child's events (the evidence on a possible match, a child's timeline page, the audit log
-- filtered by child), without scanning every event.
CREATE INDEX events_child ON events(child_id, received_at);

-- Open identity reviews, oldest first; and whether a pair was already proposed or rejected.
CREATE INDEX identity_reviews_status ON identity_reviews(status, created_at);
CREATE INDEX identity_reviews_pair ON identity_reviews(child_id, other_child_id);

-- Open handoffs by deadline (approaching, breached), without reading closed ones.
CREATE INDEX handoffs_open_due ON handoffs(due_at) WHERE state IN ('made', 'delivered');
CREATE INDEX handoffs_open_escalated ON handoffs(escalated_at)
    WHERE state IN ('made', 'delivered') AND escalation_step > 0;

-- The audit log page: newest first within a time range, by agency, by event (and so by child).
CREATE INDEX audit_log_at ON audit_log(at, seq);
CREATE INDEX audit_log_agency ON audit_log(agency, seq) WHERE agency IS NOT NULL;
CREATE INDEX audit_log_event ON audit_log(event_id);
