-- Which hub instance delivers each agency's queue. One holder at a time, renewed as it works and
-- taken over when it lapses: several instances sharing one store do not send the same
-- notification twice in normal running, and each agency's order holds across them.
CREATE TABLE delivery_leases (
    agency      TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
