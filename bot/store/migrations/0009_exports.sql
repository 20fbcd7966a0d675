-- Exports: every export is recorded, and whether it carried residents' addresses. Files
-- sent to staff (an export, a results chart) are made when they are sent: the outbox keeps
-- what to make, never a copy of residents' data.

CREATE TABLE exports (
    id            INTEGER PRIMARY KEY,
    what          TEXT NOT NULL,          -- responses, votes, ideas, decisions, contacts, messages
    format        TEXT NOT NULL,          -- csv or floip
    filters       TEXT NOT NULL,          -- JSON: flow, poll, since, until
    rows          INTEGER,                -- NULL until written
    addresses     INTEGER NOT NULL DEFAULT 0,  -- 1: raw phone numbers or chat ids included
    requested_by  TEXT NOT NULL,          -- 'cli' or 'contact <id>': never an address
    created_at    TEXT NOT NULL
) STRICT;

-- Secrets Parley makes for itself: the key of pseudonymous ids in exports, when
-- PARLEY_EXPORT_SECRET does not give one.
CREATE TABLE secrets (
    name          TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- A file to make and send with the message: JSON, like {"export": {...}} or {"chart": ...}.
ALTER TABLE outbox ADD COLUMN attachment TEXT;

-- A flow's answers in the order they came (the FLOIP export, `parley answers --flow`),
-- read without sorting them all first, as the index by flow and step needed; no query
-- looks answers up by step.
DROP INDEX answers_flow;
CREATE INDEX answers_flow ON answers (flow_id);
