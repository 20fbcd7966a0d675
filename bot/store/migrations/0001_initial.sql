-- Parley schema, version 1. Never edit a released migration: add the next file.
-- Times are ISO 8601 text in UTC with offset; JSON columns hold plain JSON text.

CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,          -- 'sms', 'telegram', ...
    address       TEXT NOT NULL,          -- phone number or chat id: never logged
    language      TEXT,
    opted_out_at  TEXT,                   -- NULL while the contact accepts messages
    fields        TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    UNIQUE (channel, address)
) STRICT;

CREATE TABLE inbound (
    id            INTEGER PRIMARY KEY,
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    channel       TEXT NOT NULL,
    provider_id   TEXT NOT NULL,          -- the provider's message id, for de-duplication
    text          TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    handled_at    TEXT,                   -- NULL until acted on; replayed at start-up
    error         TEXT,
    UNIQUE (channel, provider_id)
) STRICT;
CREATE INDEX inbound_pending ON inbound (contact_id, id) WHERE handled_at IS NULL;

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    flow_id       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                    ('active', 'interrupted', 'completed', 'failed', 'expired', 'stopped')),
    state         TEXT NOT NULL,          -- the engine's Session as JSON
    parent_id     INTEGER REFERENCES sessions (id),  -- the session this one interrupted
    started_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    ended_at      TEXT
) STRICT;
CREATE UNIQUE INDEX sessions_one_active ON sessions (contact_id) WHERE status = 'active';
CREATE INDEX sessions_flow ON sessions (flow_id, started_at);

CREATE TABLE answers (
    id            INTEGER PRIMARY KEY,
    session_id    INTEGER NOT NULL REFERENCES sessions (id),
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    inbound_id    INTEGER REFERENCES inbound (id),
    flow_id       TEXT NOT NULL,
    step_id       TEXT NOT NULL,
    value         TEXT NOT NULL,          -- JSON: option id, [option ids], number, text
    raw           TEXT NOT NULL,          -- what the resident sent
    language      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    answered_at   TEXT NOT NULL
) STRICT;
CREATE INDEX answers_flow ON answers (flow_id, step_id);
CREATE INDEX answers_session ON answers (session_id);

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    channel       TEXT NOT NULL,
    kind          TEXT NOT NULL DEFAULT 'reply' CHECK (kind IN ('reply', 'compliance')),
    text          TEXT NOT NULL,
    buttons       TEXT,                   -- JSON [[label, reply], ...]
    language      TEXT,
    reply_to      INTEGER REFERENCES inbound (id),
    status        TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
                    ('queued', 'sent', 'delivered', 'failed', 'cancelled')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    provider_id   TEXT,
    error         TEXT,
    created_at    TEXT NOT NULL,
    sent_at       TEXT
) STRICT;
CREATE INDEX outbox_queued ON outbox (id) WHERE status = 'queued';
