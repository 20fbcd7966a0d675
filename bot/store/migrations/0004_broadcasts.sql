-- Broadcasts: one message to an audience, written to the outbox in batches.
CREATE TABLE broadcasts (
    id            INTEGER PRIMARY KEY,
    texts         TEXT NOT NULL,          -- JSON {language: text}
    audience      TEXT NOT NULL,          -- JSON, as chosen (for the record)
    status        TEXT NOT NULL CHECK (status IN ('sending', 'queued', 'cancelled')),
    recipients    INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    queued_at     TEXT
) STRICT;

-- Which broadcast an outbox message belongs to (NULL for replies): broadcast SMS wait
-- out quiet hours, replies to a resident who just wrote do not.
ALTER TABLE outbox ADD COLUMN broadcast_id INTEGER REFERENCES broadcasts (id);
CREATE INDEX outbox_broadcast ON outbox (broadcast_id) WHERE broadcast_id IS NOT NULL;
CREATE INDEX answers_contact_flow ON answers (contact_id, flow_id);
