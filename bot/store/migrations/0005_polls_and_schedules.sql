-- Polls, votes, and broadcasts that can be drafted, scheduled, paused, and carry a
-- poll or a survey flow as well as a message. Schedules live here, not in memory.

CREATE TABLE polls (
    id            INTEGER PRIMARY KEY,
    question      TEXT NOT NULL,          -- JSON {language: text}
    options       TEXT NOT NULL,          -- JSON [{"id", "text": {language: text}, "words"}]
    language      TEXT NOT NULL,          -- the source language: always translated
    multiple      INTEGER NOT NULL DEFAULT 0,
    results       TEXT NOT NULL DEFAULT 'send' CHECK (results IN ('send', 'public', 'private')),
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
    closes_at     TEXT,
    created_by    TEXT NOT NULL,          -- 'cli' or 'contact <id>': never an address
    created_at    TEXT NOT NULL,
    closed_at     TEXT
) STRICT;

-- One row per resident and poll: the last vote counts.
CREATE TABLE votes (
    poll_id       INTEGER NOT NULL REFERENCES polls (id),
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    choice        TEXT NOT NULL,          -- JSON [option ids]
    language      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    voted_at      TEXT NOT NULL,
    changes       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (poll_id, contact_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE broadcasts_new (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL DEFAULT 'message'
                    CHECK (kind IN ('message', 'flow', 'poll', 'reminder', 'results')),
    texts         TEXT,                   -- JSON {language: text}, for a message
    flow_id       TEXT,                   -- the flow it starts (a poll's is 'poll-<id>')
    poll_id       INTEGER REFERENCES polls (id),
    parent_id     INTEGER REFERENCES broadcasts_new (id),  -- what a reminder reminds of
    audience      TEXT NOT NULL,          -- JSON, as chosen (for the record)
    status        TEXT NOT NULL CHECK (status IN
                    ('draft', 'scheduled', 'sending', 'queued', 'cancelled')),
    recipients    INTEGER NOT NULL DEFAULT 0,
    send_at       TEXT,                   -- NULL: as soon as it is confirmed
    remind_after  INTEGER,                -- seconds after sending, for non-responders
    paused_at     TEXT,                   -- while set, nothing more of it is sent
    created_by    TEXT NOT NULL DEFAULT 'cli',
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    queued_at     TEXT
) STRICT;
INSERT INTO broadcasts_new (id, texts, audience, status, recipients, created_at, started_at,
                            queued_at)
    SELECT id, texts, audience, status, recipients, created_at, created_at, queued_at
    FROM broadcasts;
DROP TABLE broadcasts;
ALTER TABLE broadcasts_new RENAME TO broadcasts;

-- Work that must happen at a time: send a broadcast, remind its non-responders, close a
-- poll. APScheduler is armed from this table at start-up; done_at makes each run once.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('send', 'remind', 'close')),
    target        INTEGER NOT NULL,       -- a broadcast id ('send', 'remind') or a poll id
    due_at        TEXT NOT NULL,
    done_at       TEXT,
    UNIQUE (kind, target)
) STRICT;
CREATE INDEX jobs_due ON jobs (due_at) WHERE done_at IS NULL;

-- The broadcast that started a session (a poll or survey sent to an audience).
ALTER TABLE sessions ADD COLUMN broadcast_id INTEGER REFERENCES broadcasts (id);

DROP INDEX outbox_broadcast;
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, contact_id)
    WHERE broadcast_id IS NOT NULL;
