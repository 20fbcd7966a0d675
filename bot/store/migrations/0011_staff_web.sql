-- The staff web: accounts, their sign-in sessions and failed sign-ins; the audit log of
-- every staff action from any front; a poll's public results page; indexes for finding
-- contacts a page at a time; consent as imported; forms sent twice done once.

CREATE TABLE staff_accounts (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('organiser', 'worker')),
    password      TEXT NOT NULL,          -- an Argon2id hash, never the password itself
    created_at    TEXT NOT NULL,
    password_at   TEXT NOT NULL           -- when it was last set
) STRICT;

CREATE TABLE staff_sessions (
    id            INTEGER PRIMARY KEY,
    token         TEXT NOT NULL UNIQUE,   -- SHA-256 of the token in the signed cookie
    account_id    INTEGER NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    seen_at       TEXT NOT NULL,          -- ended after 8 hours without being seen
    ended_at      TEXT                    -- signed out, or the password changed
) STRICT;
CREATE INDEX staff_sessions_account ON staff_sessions (account_id) WHERE ended_at IS NULL;

CREATE TABLE sign_in_failures (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL COLLATE NOCASE,  -- the account name tried
    address       TEXT NOT NULL,          -- the client's network address, kept 15 minutes
    at            TEXT NOT NULL
) STRICT;
CREATE INDEX sign_in_failures_name ON sign_in_failures (name, at);
CREATE INDEX sign_in_failures_address ON sign_in_failures (address, at);

CREATE TABLE audit (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,          -- 'contact 12' (phone), shell user (cli), account (web)
    role          TEXT NOT NULL,
    front         TEXT NOT NULL CHECK (front IN ('phone', 'cli', 'web')),
    action        TEXT NOT NULL,          -- 'broadcast.send', 'poll.close', ...
    target        TEXT NOT NULL DEFAULT '',  -- 'broadcast 4', 'poll 2', 'ID-4821'
    detail        TEXT NOT NULL DEFAULT '{}'  -- JSON: never an address or a resident's words
) STRICT;
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_actor ON audit (actor, id);

ALTER TABLE polls ADD COLUMN public_token TEXT;  -- its public results page, /r/<token>
CREATE UNIQUE INDEX polls_public ON polls (public_token) WHERE public_token IS NOT NULL;

CREATE INDEX contacts_language ON contacts (language, id);
CREATE INDEX contacts_channel ON contacts (channel, id);
CREATE INDEX contacts_opted_out ON contacts (id) WHERE opted_out_at IS NOT NULL;
-- A contact's page: their conversation and their votes, without reading every one.
CREATE INDEX inbound_contact ON inbound (contact_id, id);
CREATE INDEX outbox_contact ON outbox (contact_id, id);
CREATE INDEX votes_contact ON votes (contact_id);
-- A broadcast's progress (sent, delivered, waiting, failed) counted from the index alone.
CREATE INDEX outbox_broadcast_state ON outbox (broadcast_id, status, delivery)
    WHERE broadcast_id IS NOT NULL;
-- A broadcast's preview: who may be sent questions, by channel and language, counted from
-- the index alone (the expression is the one bot/outreach/audience.py writes).
CREATE INDEX contacts_reachable ON contacts
    (channel, language, coalesce(json_extract(fields, '$.consent'), ''))
    WHERE opted_out_at IS NULL AND unreachable_at IS NULL;

CREATE TABLE consents (
    id            INTEGER PRIMARY KEY,
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    event         TEXT NOT NULL CHECK (event IN ('consent', 'opt_out', 'opt_in')),
    at            TEXT NOT NULL,          -- when the resident said so
    how           TEXT NOT NULL,          -- 'paper form at the community centre', 'texted JOIN'
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
) STRICT;
CREATE INDEX consents_contact ON consents (contact_id, id);

CREATE TABLE form_posts (
    token         TEXT PRIMARY KEY,       -- a form's one-time token
    location      TEXT NOT NULL,          -- where its first sending led
    at            TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- The dashboard's outbox health: failures of the last hour, without reading the outbox.
CREATE INDEX outbox_failed ON outbox (created_at) WHERE status = 'failed';
CREATE INDEX outbox_undelivered ON outbox (delivery_at)
    WHERE delivery IN ('undelivered', 'failed');
