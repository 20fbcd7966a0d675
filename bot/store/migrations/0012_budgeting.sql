-- Participatory budgeting: a round with a budget, the bids (projects) groups make, the
-- panel's screening, one ballot per resident, and the count.

-- A budgeting round. Phases go bids -> screening -> voting -> counted, by hand or at the
-- times given (each a job). Money is in whole units of ``currency`` (pounds, not pence).
CREATE TABLE pb_rounds (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    budget        INTEGER NOT NULL CHECK (budget > 0),
    currency      TEXT NOT NULL,          -- ISO 4217: GBP
    audience      TEXT NOT NULL,          -- JSON Audience: who may vote
    style         TEXT NOT NULL CHECK (style IN ('approval', 'k_approval', 'ranking')),
    k             INTEGER CHECK (k IS NULL OR k > 0),  -- the most a ballot may choose
    rule          TEXT NOT NULL CHECK (rule IN ('greedy', 'mes')),  -- what decides
    language      TEXT NOT NULL,          -- the language the bids are written in first
    phase         TEXT NOT NULL DEFAULT 'bids' CHECK (phase IN
                    ('bids', 'screening', 'voting', 'counted')),
    panel_id      INTEGER REFERENCES panels (id),     -- the panel that screens
    screening_at  TEXT,                   -- when each phase begins, if scheduled
    voting_at     TEXT,
    counted_at    TEXT,
    ballot_id     INTEGER REFERENCES broadcasts (id), -- the broadcast of the ballot
    count         TEXT,                   -- JSON: both rules' outcomes, once counted
    decision_id   INTEGER REFERENCES decisions (id),  -- the results sent back
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

-- A bid: a project a group proposes, with its cost. ``number`` is how staff, the ballot
-- and Pabulib files name it. Texts are JSON {language: text}.
CREATE TABLE pb_bids (
    id            INTEGER PRIMARY KEY,
    round_id      INTEGER NOT NULL REFERENCES pb_rounds (id),
    number        INTEGER NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    cost          INTEGER NOT NULL CHECK (cost > 0),
    proposer      TEXT NOT NULL,          -- the group's name
    proposer_id   INTEGER REFERENCES contacts (id),  -- who hears about the bid
    ward          TEXT,
    idea_id       INTEGER REFERENCES ideas (id),     -- sent in by text as an idea
    status        TEXT NOT NULL DEFAULT 'proposed' CHECK (status IN
                    ('proposed', 'eligible', 'ineligible')),
    reason        TEXT,                   -- the panel's reason
    poll_id       INTEGER REFERENCES polls (id),     -- the panel's vote on it
    told_at       TEXT,                   -- when its proposer heard the screening
    created_at    TEXT NOT NULL,
    UNIQUE (round_id, number)
) STRICT;
CREATE INDEX pb_bids_poll ON pb_bids (poll_id) WHERE poll_id IS NOT NULL;

-- One ballot per resident and round, the last one cast counting until voting closes.
-- ``choice`` is JSON [bid number, ...], in rank order for a ranking.
CREATE TABLE pb_ballots (
    round_id      INTEGER NOT NULL REFERENCES pb_rounds (id),
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    choice        TEXT NOT NULL,
    language      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    cast_at       TEXT NOT NULL,
    changes       INTEGER NOT NULL DEFAULT 0,  -- times it was cast again
    PRIMARY KEY (round_id, contact_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX pb_ballots_contact ON pb_ballots (contact_id);

-- A button press that redraws the message it is on (a ballot's ticks): the pressed
-- message, and the outbox row that replaces it.
ALTER TABLE inbound ADD COLUMN pressed TEXT;
ALTER TABLE outbox ADD COLUMN replaces TEXT;

-- Jobs change a round's phase too.
CREATE TABLE jobs_new (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN
                    ('send', 'remind', 'close', 'pb_screening', 'pb_voting', 'pb_counted')),
    target        INTEGER NOT NULL,       -- a broadcast, a poll or a round
    due_at        TEXT NOT NULL,
    done_at       TEXT,
    UNIQUE (kind, target)
) STRICT;
INSERT INTO jobs_new SELECT id, kind, target, due_at, done_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (due_at) WHERE done_at IS NULL;
