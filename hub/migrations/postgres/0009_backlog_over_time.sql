-- The overview's backlog plot works the queue back from now, minute by minute: notifications
-- made in each minute of the last hour, and those that left the queue without being delivered
-- (dead, or discarded) in each. Both are read through these indexes, never the whole table.
CREATE INDEX deliveries_created_at ON deliveries(created_at);
CREATE INDEX deliveries_left_unsent ON deliveries(updated_at) WHERE status IN ('dead', 'discarded');
