-- Ideas from residents, resident panels chosen by lot, panel votes, and decisions sent
-- back to everyone who took part.

-- An idea as the resident sent it. ``text`` is never shown while ``pii`` is set: staff see
-- ``shown_text``, where what looks like a phone number, email or address is replaced.
CREATE TABLE ideas (
    id            INTEGER PRIMARY KEY,
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    session_id    INTEGER REFERENCES sessions (id),   -- the idea flow it came through
    inbound_id    INTEGER REFERENCES inbound (id),
    text          TEXT NOT NULL,
    shown_text    TEXT NOT NULL,
    pii           TEXT,                   -- JSON ["phone", "email", "address"]; NULL: none
    language      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    category      TEXT,
    area          TEXT,
    status        TEXT NOT NULL DEFAULT 'new' CHECK (status IN
                    ('new', 'approved', 'rejected', 'merged', 'shortlisted', 'decided')),
    reason        TEXT,                   -- why it was not taken forward
    merged_into   INTEGER REFERENCES ideas (id),
    poll_id       INTEGER REFERENCES polls (id),   -- the poll it was shortlisted into
    created_at    TEXT NOT NULL,
    moderated_by  TEXT,                   -- 'cli' or 'contact <id>'
    moderated_at  TEXT
) STRICT;
CREATE INDEX ideas_status ON ideas (status, id);
CREATE INDEX ideas_contact ON ideas (contact_id);
CREATE INDEX ideas_session ON ideas (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX ideas_merged ON ideas (merged_into) WHERE merged_into IS NOT NULL;

-- A resident panel: invited by a seeded sample (stage 1), selected by lot among the
-- volunteers (stage 2).
CREATE TABLE panels (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    invite_id     INTEGER REFERENCES broadcasts (id),  -- the invitation broadcast
    invite_seed   INTEGER NOT NULL,
    size          INTEGER,                -- k, once selected
    seed          INTEGER,                -- the selection's seed
    quotas        TEXT,                   -- JSON [{category, value, min, max}]
    min_probability REAL,
    max_probability REAL,
    created_at    TEXT NOT NULL,
    selected_at   TEXT
) STRICT;

-- Volunteers of a panel and what became of them.
CREATE TABLE panel_members (
    panel_id      INTEGER NOT NULL REFERENCES panels (id),
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    number        INTEGER NOT NULL,       -- V1, V2, ...: how reports name volunteers
    profile       TEXT NOT NULL,          -- JSON {category: value}
    status        TEXT NOT NULL DEFAULT 'volunteer' CHECK (status IN
                    ('volunteer', 'selected', 'reserve', 'accepted', 'declined')),
    probability   REAL,                   -- chance of selection, from the lottery
    replaces      INTEGER REFERENCES contacts (id),  -- a replacement: whom
    volunteered_at TEXT NOT NULL,
    answered_at   TEXT,
    PRIMARY KEY (panel_id, contact_id),
    UNIQUE (panel_id, number)
) STRICT, WITHOUT ROWID;

-- A panel vote is a poll put to a panel's members, with a quorum and a threshold.
ALTER TABLE polls ADD COLUMN panel_id INTEGER REFERENCES panels (id);
ALTER TABLE polls ADD COLUMN quorum TEXT;     -- '50%': share of members who must vote
ALTER TABLE polls ADD COLUMN threshold TEXT;  -- 'majority', 'two-thirds' or '80%'
ALTER TABLE polls ADD COLUMN outcome TEXT;    -- JSON, recorded when it closes

-- A decision answers polls, surveys and ideas; each time it is sent (first, then each
-- progress update) is one broadcast, to the same people.
CREATE TABLE decisions (
    id            INTEGER PRIMARY KEY,
    language      TEXT NOT NULL,          -- the source language: always in texts
    answers       TEXT NOT NULL,          -- JSON ["poll:3", "flow:priorities", "idea:12"]
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE decision_sends (
    id            INTEGER PRIMARY KEY,
    decision_id   INTEGER NOT NULL REFERENCES decisions (id),
    status        TEXT NOT NULL CHECK (status IN ('agreed', 'rejected', 'in_progress', 'done')),
    texts         TEXT NOT NULL,          -- JSON {language: text}
    broadcast_id  INTEGER NOT NULL REFERENCES broadcasts (id),
    created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX decision_sends_decision ON decision_sends (decision_id, id);
