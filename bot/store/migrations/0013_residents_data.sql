-- Residents' data: consent on record for every contact texted, erasure at a resident's
-- request or when retention says, the audit log for what Parley does by itself, and the
-- indexes the daily retention job reads old rows by.

-- The consent messages rely on: set when a contact first texts in, is imported with a
-- consent record, or opts back in. NULL: no consent on record, so no broadcast reaches them.
ALTER TABLE contacts ADD COLUMN consent_at TEXT;
-- Erased (``parley contacts forget``, FORGET ME, retention): the address, fields and
-- everything they wrote are gone; the row stays, anonymous, so counts still add up.
ALTER TABLE contacts ADD COLUMN forgotten_at TEXT;
-- The resident sent FORGET ME and has not yet confirmed with YES.
ALTER TABLE contacts ADD COLUMN forget_asked_at TEXT;

-- Consent events gain 'declined' (said no when the welcome asked may we send questions).
CREATE TABLE consents_new (
    id            INTEGER PRIMARY KEY,
    contact_id    INTEGER NOT NULL REFERENCES contacts (id),
    event         TEXT NOT NULL CHECK (event IN ('consent', 'declined', 'opt_out', 'opt_in')),
    at            TEXT NOT NULL,          -- when the resident said so
    how           TEXT NOT NULL,          -- 'paper form at the community centre', 'texted JOIN'
    recorded_by   TEXT NOT NULL,          -- 'parley', a shell user, a staff account
    recorded_at   TEXT NOT NULL
) STRICT;
INSERT INTO consents_new SELECT id, contact_id, event, at, how, recorded_by, recorded_at
    FROM consents;
DROP TABLE consents;
ALTER TABLE consents_new RENAME TO consents;
CREATE INDEX consents_contact ON consents (contact_id, id);

-- What happened before consent was kept: a contact who texted in consented by texting, one
-- who opted out did so when the contact row says.
INSERT INTO consents (contact_id, event, at, how, recorded_by, recorded_at)
    SELECT c.id, 'consent', c.created_at, 'texted in first', 'parley',
           strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
    FROM contacts c
    WHERE EXISTS (SELECT 1 FROM inbound i WHERE i.contact_id = c.id)
      AND NOT EXISTS (SELECT 1 FROM consents k WHERE k.contact_id = c.id);
INSERT INTO consents (contact_id, event, at, how, recorded_by, recorded_at)
    SELECT id, 'opt_out', opted_out_at, 'opted out', 'parley',
           strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
    FROM contacts WHERE opted_out_at IS NOT NULL;
UPDATE contacts SET consent_at = (
    SELECT max(at) FROM consents k
    WHERE k.contact_id = contacts.id AND k.event IN ('consent', 'opt_in'));

-- Who may be sent questions now needs consent on record too (the expression is the one
-- bot/outreach/audience.py writes).
DROP INDEX contacts_reachable;
CREATE INDEX contacts_reachable ON contacts
    (channel, language, coalesce(json_extract(fields, '$.consent'), ''))
    WHERE opted_out_at IS NULL AND unreachable_at IS NULL AND consent_at IS NOT NULL;

-- The audit log also records what Parley does by itself (the daily retention job).
CREATE TABLE audit_new (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,          -- 'contact 12' (phone), shell user (cli), account (web)
    role          TEXT NOT NULL,
    front         TEXT NOT NULL CHECK (front IN ('phone', 'cli', 'web', 'system')),
    action        TEXT NOT NULL,          -- 'broadcast.send', 'poll.close', ...
    target        TEXT NOT NULL DEFAULT '',  -- 'broadcast 4', 'poll 2', 'ID-4821'
    detail        TEXT NOT NULL DEFAULT '{}'  -- JSON: never an address or a resident's words
) STRICT;
INSERT INTO audit_new SELECT id, at, actor, role, front, action, target, detail FROM audit;
DROP TABLE audit;
ALTER TABLE audit_new RENAME TO audit;
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_actor ON audit (actor, id);

-- Retention reads only what it has not erased yet, oldest first.
CREATE INDEX inbound_kept ON inbound (received_at) WHERE text != '';
CREATE INDEX outbox_kept ON outbox (created_at) WHERE text != '';
CREATE INDEX answers_kept ON answers (answered_at) WHERE raw != '';
CREATE INDEX ideas_kept ON ideas (created_at) WHERE text != '';
CREATE INDEX contacts_heard ON contacts (last_seen_at) WHERE forgotten_at IS NULL;
-- Ended conversations whose answers (a copy of what the answers table holds) are kept.
CREATE INDEX sessions_kept ON sessions (ended_at)
    WHERE ended_at IS NOT NULL AND state NOT LIKE '%"answers":{}%';
