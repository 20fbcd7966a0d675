-- Parley schema, version 13, for PostgreSQL (written for 15, and checked on it).
-- PostgreSQL support began at version 13, so this one file is versions 1-13 there: the state
-- SQLite reaches through ../0001_initial.sql ... ../0013_residents_data.sql, whose comments
-- say why each part is there. Every later version has a file in both folders. Never edit a
-- released migration.
--
-- Same tables, columns (in the same order), constraints and index names as on SQLite. Types:
-- INTEGER is BIGINT (an INTEGER PRIMARY KEY an identity), REAL is DOUBLE PRECISION. Times
-- stay ISO 8601 text, compared as text; JSON stays text; flags stay 0/1 integers. The app's
-- SQL is written once, in SQLite's dialect (bot/store/postgres.py hands it to psycopg, with
-- LIKE as ILIKE), so the functions below give PostgreSQL the four of SQLite's JSON functions
-- it uses, with SQLite's answers.

-- -- SQLite's JSON functions, over text holding JSON ----------------------------------------
--
-- Bodies are SQL-standard (bound to what they call when created, whatever the search_path of
-- a later caller, as an index expression needs) or PL/pgSQL calling only pg_catalog. The JSON
-- type keeps the document's own text, so key order and values are as the resident's data
-- wrote them; JSON is parsed where it is read, and text that is not JSON is an error, as on
-- SQLite ("malformed JSON"). PostgreSQL's own json_each(json) stays as it is, for a json
-- argument: these take text.

-- JSON text without the whitespace between tokens, as SQLite writes JSON it returns: each
-- match is either a string literal, kept whole, or whitespace outside one, dropped.
CREATE FUNCTION json(doc text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN pg_catalog.regexp_replace(
        CAST(CAST(doc AS pg_catalog.json) AS text),
        '("(?:[^"\\]|\\.)*")|[ \t\n\r]+', '\1', 'g');

-- A SQLite JSON path ('$', '$.key', '$."key with spaces"', '$.list[0]', one after another)
-- as the steps of PostgreSQL's #> operator. SQLite refuses any other path, and so does this.
CREATE FUNCTION sqlite_json_path(path text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    steps text[] := '{}';
    rest text;
    step text[];
BEGIN
    IF pg_catalog.left(path, 1) <> '$' THEN
        RAISE EXCEPTION 'JSON path error near ''%''', path
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    rest := pg_catalog.substr(path, 2);
    WHILE rest <> '' LOOP
        -- ."quoted key" | .key (up to the next . or [) | [index]
        step := pg_catalog.regexp_match(rest, '^(\."([^"]*)"|\.([^."[][^.[]*)|\[([0-9]+)\])');
        IF step IS NULL THEN
            RAISE EXCEPTION 'JSON path error near ''%''', rest
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        steps := steps || coalesce(step[2], step[3], step[4]);
        rest := pg_catalog.substr(rest, pg_catalog.length(step[1]) + 1);
    END LOOP;
    RETURN steps;
END
$$;

-- A JSON value as SQLite's json_extract and json_each give it, in text: a string unquoted, a
-- number as written, true and false as 1 and 0 (SQLite's integers), null as NULL, an object
-- or an array as its compact JSON text (see json()). In PL/pgSQL, so the value is found once
-- per call (an inlined SQL function would look it up again for each use of it).
CREATE FUNCTION sqlite_json_text(value pg_catalog.json) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
BEGIN
    RETURN CASE pg_catalog.json_typeof(value)
        WHEN 'string' THEN value #>> '{}'
        WHEN 'number' THEN CAST(value AS text)
        WHEN 'boolean' THEN CASE CAST(value AS text) WHEN 'true' THEN '1' ELSE '0' END
        WHEN 'null' THEN NULL
        ELSE pg_catalog.regexp_replace(
            CAST(value AS text), '("(?:[^"\\]|\\.)*")|[ \t\n\r]+', '\1', 'g')
    END;
END
$$;

-- json_extract(doc, '$.key'): the value there (see sqlite_json_text), NULL when there is none.
CREATE FUNCTION json_extract(doc text, path text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN sqlite_json_text(CAST(doc AS pg_catalog.json) #> sqlite_json_path(path));

-- json_each(doc): an object's members (key, value), an array's elements (key: the index, from
-- 0), or a lone scalar (key NULL), in the document's order; no rows for NULL.
CREATE FUNCTION json_each(doc text) RETURNS TABLE (key text, value text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT found.key, found.value
    FROM (
        SELECT member.key, sqlite_json_text(member.value) AS value, member.n
        FROM pg_catalog.json_each(
            CASE WHEN pg_catalog.json_typeof(CAST(doc AS pg_catalog.json)) = 'object'
                THEN CAST(doc AS pg_catalog.json) ELSE CAST('{}' AS pg_catalog.json) END
        ) WITH ORDINALITY AS member (key, value, n)
        UNION ALL
        SELECT CAST(element.n - 1 AS text), sqlite_json_text(element.value), element.n
        FROM pg_catalog.json_array_elements(
            CASE WHEN pg_catalog.json_typeof(CAST(doc AS pg_catalog.json)) = 'array'
                THEN CAST(doc AS pg_catalog.json) ELSE CAST('[]' AS pg_catalog.json) END
        ) WITH ORDINALITY AS element (value, n)
        UNION ALL
        SELECT NULL, sqlite_json_text(CAST(doc AS pg_catalog.json)), 1
        WHERE pg_catalog.json_typeof(CAST(doc AS pg_catalog.json)) NOT IN ('object', 'array')
    ) AS found
    ORDER BY found.n;
END;

-- json_set(doc, '$.key', value): doc with the member ``key`` set to ``value`` (JSON text),
-- replacing the first of that name in place or added at the end; compact, as SQLite writes
-- it. A document that is not an object comes back unchanged; a NULL value sets JSON null.
-- Only '$.key' paths: those are all Parley uses.
CREATE FUNCTION json_set(doc text, path text, value text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    object pg_catalog.json := CAST(doc AS pg_catalog.json);
    named text[];
    name text;
    member text;
    hit bigint;
    members text;
BEGIN
    IF doc IS NULL THEN
        RETURN NULL;
    END IF;
    -- The minified text of doc (see json()); and of the new value, checked as JSON.
    doc := pg_catalog.regexp_replace(doc, '("(?:[^"\\]|\\.)*")|[ \t\n\r]+', '\1', 'g');
    IF path IS NULL OR pg_catalog.json_typeof(object) <> 'object' THEN
        RETURN doc;
    END IF;
    named := pg_catalog.regexp_match(path, '^\$\.(?:"([^"]*)"|([^."[][^.[]*))$');
    IF named IS NULL THEN
        RAISE EXCEPTION 'json_set: only ''$.key'' paths are supported, not ''%''', path
            USING ERRCODE = 'feature_not_supported';
    END IF;
    name := coalesce(named[1], named[2]);
    member := pg_catalog.regexp_replace(
        CAST(CAST(coalesce(value, 'null') AS pg_catalog.json) AS text),
        '("(?:[^"\\]|\\.)*")|[ \t\n\r]+', '\1', 'g');
    SELECT pg_catalog.min(m.n) INTO hit
    FROM pg_catalog.json_each(object) WITH ORDINALITY AS m (key, value, n)
    WHERE m.key = name;
    SELECT pg_catalog.string_agg(
            CAST(pg_catalog.to_json(m.key) AS text) || ':'
                || CASE WHEN m.n = hit THEN member ELSE CAST(m.value AS text) END,
            ',' ORDER BY m.n)
        INTO members
    FROM pg_catalog.json_each(object) WITH ORDINALITY AS m (key, value, n);
    IF hit IS NULL THEN
        members := pg_catalog.concat_ws(
            ',', members, CAST(pg_catalog.to_json(name) AS text) || ':' || member);
    END IF;
    RETURN pg_catalog.regexp_replace(
        '{' || members || '}', '("(?:[^"\\]|\\.)*")|[ \t\n\r]+', '\1', 'g');
END
$$;

-- PostgreSQL reads json('{}') with a literal as a cast to its json type, not as a call of
-- json(text) above (a call with a text argument is one): json_set takes that too.
CREATE FUNCTION json_set(doc text, path text, value pg_catalog.json) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN json_set(doc, path, CAST(value AS text));

-- SQLite's NOCASE for account names: equal, and unique, whatever their case. ICU's
-- comparison at secondary strength ignores case in every script (NOCASE only in ASCII).
CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

-- -- Tables, in the order SQLite's migrations made them -------------------------------------
-- (A reference to a table made later is added once that table exists, at the end.)

CREATE TABLE contacts (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    channel       TEXT NOT NULL,          -- 'sms', 'telegram', ...
    address       TEXT NOT NULL,          -- phone number or chat id: never logged
    language      TEXT,
    opted_out_at  TEXT,                   -- NULL while the contact accepts messages
    fields        TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    unreachable_at TEXT,                  -- blocked the bot: until they write again
    previous_seen_at TEXT,                -- when they wrote before their latest message
    consent_at    TEXT,                   -- NULL: no consent on record, so no broadcast
    forgotten_at  TEXT,                   -- erased: the row stays, anonymous
    forget_asked_at TEXT,                 -- sent FORGET ME, not yet confirmed
    UNIQUE (channel, address)
);

CREATE TABLE inbound (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    contact_id    BIGINT NOT NULL REFERENCES contacts (id),
    channel       TEXT NOT NULL,
    provider_id   TEXT NOT NULL,          -- the provider's message id, for de-duplication
    text          TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    handled_at    TEXT,                   -- NULL until acted on; replayed at start-up
    error         TEXT,
    pressed       TEXT,                   -- a button press: the message it was on
    UNIQUE (channel, provider_id)
);
CREATE INDEX inbound_pending ON inbound (contact_id, id) WHERE handled_at IS NULL;

CREATE TABLE sessions (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    contact_id    BIGINT NOT NULL REFERENCES contacts (id),
    flow_id       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                    ('active', 'interrupted', 'completed', 'failed', 'expired', 'stopped')),
    state         TEXT NOT NULL,          -- the engine's Session as JSON
    parent_id     BIGINT REFERENCES sessions (id),  -- the session this one interrupted
    started_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    ended_at      TEXT,
    broadcast_id  BIGINT                  -- REFERENCES broadcasts (id), added below
);
CREATE UNIQUE INDEX sessions_one_active ON sessions (contact_id) WHERE status = 'active';
CREATE INDEX sessions_flow ON sessions (flow_id, started_at);

CREATE TABLE answers (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    session_id    BIGINT NOT NULL REFERENCES sessions (id),
    contact_id    BIGINT NOT NULL REFERENCES contacts (id),
    inbound_id    BIGINT REFERENCES inbound (id),
    flow_id       TEXT NOT NULL,
    step_id       TEXT NOT NULL,
    value         TEXT NOT NULL,          -- JSON: option id, [option ids], number, text
    raw           TEXT NOT NULL,          -- what the resident sent
    language      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    answered_at   TEXT NOT NULL
);
CREATE INDEX answers_session ON answers (session_id);

CREATE TABLE outbox (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    contact_id    BIGINT NOT NULL REFERENCES contacts (id),
    channel       TEXT NOT NULL,
    kind          TEXT NOT NULL DEFAULT 'reply' CHECK (kind IN ('reply', 'compliance')),
    text          TEXT NOT NULL,
    buttons       TEXT,                   -- JSON [[label, reply], ...]
    language      TEXT,
    reply_to      BIGINT REFERENCES inbound (id),
    status        TEXT NOT NULL DEFAULT 'queued' CHECK (status IN
                    ('queued', 'sent', 'delivered', 'failed', 'cancelled')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    provider_id   TEXT,
    error         TEXT,
    created_at    TEXT NOT NULL,
    sent_at       TEXT,
    segments      BIGINT,                 -- SMS segments (NULL for channels not billed so)
    next_attempt_at TEXT,                 -- a retry waits until then
    delivery      TEXT,                   -- the provider's report: delivered, failed, ...
    delivery_error TEXT,
    delivery_at   TEXT,
    broadcast_id  BIGINT,                 -- REFERENCES broadcasts (id), added below
    attachment    TEXT,                   -- JSON: a file to make and send with it
    replaces      TEXT                    -- the pressed message this one redraws
);
CREATE INDEX outbox_queued ON outbox (id) WHERE status = 'queued';
CREATE INDEX outbox_provider ON outbox (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX outbox_contact_queued ON outbox (contact_id, id) WHERE status = 'queued';
CREATE INDEX answers_contact_flow ON answers (contact_id, flow_id);

CREATE TABLE polls (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    question      TEXT NOT NULL,          -- JSON {language: text}
    options       TEXT NOT NULL,          -- JSON [{"id", "text": {language: text}, "words"}]
    language      TEXT NOT NULL,          -- the source language: always translated
    multiple      BIGINT NOT NULL DEFAULT 0,
    results       TEXT NOT NULL DEFAULT 'send' CHECK (results IN ('send', 'public', 'private')),
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
    closes_at     TEXT,
    created_by    TEXT NOT NULL,          -- 'cli' or 'contact <id>': never an address
    created_at    TEXT NOT NULL,
    closed_at     TEXT,
    panel_id      BIGINT,                 -- REFERENCES panels (id), added below
    quorum        TEXT,                   -- '50%': share of members who must vote
    threshold     TEXT,                   -- 'majority', 'two-thirds' or '80%'
    outcome       TEXT,                   -- JSON, recorded when it closes
    public_token  TEXT                    -- its public results page, /r/<token>
);

CREATE TABLE votes (
    poll_id       BIGINT NOT NULL REFERENCES polls (id),
    contact_id    BIGINT NOT NULL REFERENCES contacts (id),
    choice        TEXT NOT NULL,          -- JSON [option ids]
    language      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    voted_at      TEXT NOT NULL,
    changes       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (poll_id, contact_id)
);

CREATE TABLE broadcasts (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind          TEXT NOT NULL DEFAULT 'message'
                    CHECK (kind IN ('message', 'flow', 'poll', 'reminder', 'results')),
    texts         TEXT,                   -- JSON {language: text}, for a message
    flow_id       TEXT,                   -- the flow it starts (a poll's is 'poll-<id>')
    poll_id       BIGINT REFERENCES polls (id),
    parent_id     BIGINT REFERENCES broadcasts (id),  -- what a reminder reminds of
    audience      TEXT NOT NULL,          -- JSON, as chosen (for the record)
    status        TEXT NOT NULL CHECK (status IN
                    ('draft', 'scheduled', 'sending', 'queued', 'cancelled')),
    recipients    BIGINT NOT NULL DEFAULT 0,
    send_at       TEXT,                   -- NULL: as soon as it is confirmed
    remind_after  BIGINT,                 -- seconds after sending, for non-responders
    paused_at     TEXT,                   -- while set, nothing more of it is sent
    created_by    TEXT NOT NULL DEFAULT 'cli',
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    queued_at     TEXT
);
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, contact_id)
    WHERE broadcast_id IS NOT NULL;
CREATE INDEX sessions_contact ON sessions (contact_id, id);

CREATE TABLE ideas (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    contact_id    BIGINT NOT NULL REFERENCES contacts (id),
    session_id    BIGINT REFERENCES sessions (id),   -- the idea flow it came through
    inbound_id    BIGINT REFERENCES inbound (id),
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
    merged_into   BIGINT REFERENCES ideas (id),
    poll_id       BIGINT REFERENCES polls (id),   -- the poll it was shortlisted into
    created_at    TEXT NOT NULL,
    moderated_by  TEXT,                   -- 'cli' or 'contact <id>'
    moderated_at  TEXT
);
CREATE INDEX ideas_status ON ideas (status, id);
CREATE INDEX ideas_contact ON ideas (contact_id);
CREATE INDEX ideas_session ON ideas (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX ideas_merged ON ideas (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE panels (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL,
    invite_id     BIGINT REFERENCES broadcasts (id),  -- the invitation broadcast
    invite_seed   BIGINT NOT NULL,
    size          BIGINT,                 -- k, once selected
    seed          BIGINT,                 -- the selection's seed
    quotas        TEXT,                   -- JSON [{category, value, min, max}]
    min_probability DOUBLE PRECISION,
    max_probability DOUBLE PRECISION,
    created_at    TEXT NOT NULL,
    selected_at   TEXT
);

CREATE TABLE panel_members (
    panel_id      BIGINT NOT NULL REFERENCES panels (id),
    contact_id    BIGINT NOT NULL REFERENCES contacts (id),
    number        BIGINT NOT NULL,        -- V1, V2, ...: how reports name volunteers
    profile       TEXT NOT NULL,          -- JSON {category: value}
    status        TEXT NOT NULL DEFAULT 'volunteer' CHECK (status IN
                    ('volunteer', 'selected', 'reserve', 'accepted', 'declined')),
    probability   DOUBLE PRECISION,       -- chance of selection, from the lottery
    replaces      BIGINT REFERENCES contacts (id),  -- a replacement: whom
    volunteered_at TEXT NOT NULL,
    answered_at   TEXT,
    PRIMARY KEY (panel_id, contact_id),
    UNIQUE (panel_id, number)
);

CREATE TABLE decisions (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    language      TEXT NOT NULL,          -- the source language: always in texts
    answers       TEXT NOT NULL,          -- JSON ["poll:3", "flow:priorities", "idea:12"]
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE decision_sends (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    decision_id   BIGINT NOT NULL REFERENCES decisions (id),
    status        TEXT NOT NULL CHECK (status IN ('agreed', 'rejected', 'in_progress', 'done')),
    texts         TEXT NOT NULL,          -- JSON {language: text}
    broadcast_id  BIGINT NOT NULL REFERENCES broadcasts (id),
    created_at    TEXT NOT NULL
);
CREATE INDEX decision_sends_decision ON decision_sends (decision_id, id);

CREATE TABLE exports (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    what          TEXT NOT NULL,          -- responses, votes, ideas, decisions, contacts, messages
    format        TEXT NOT NULL,          -- csv or floip
    filters       TEXT NOT NULL,          -- JSON: flow, poll, since, until
    rows          BIGINT,                 -- NULL until written
    addresses     BIGINT NOT NULL DEFAULT 0,  -- 1: raw phone numbers or chat ids included
    requested_by  TEXT NOT NULL,          -- 'cli' or 'contact <id>': never an address
    created_at    TEXT NOT NULL
);

CREATE TABLE secrets (
    name          TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX answers_flow ON answers (flow_id);
CREATE INDEX polls_open ON polls (id) WHERE status = 'open' AND panel_id IS NULL;
CREATE INDEX broadcasts_poll ON broadcasts (poll_id, id) WHERE poll_id IS NOT NULL;

CREATE TABLE staff_accounts (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name          TEXT COLLATE nocase NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('organiser', 'worker')),
    password      TEXT NOT NULL,          -- an Argon2id hash, never the password itself
    created_at    TEXT NOT NULL,
    password_at   TEXT NOT NULL           -- when it was last set
);

CREATE TABLE staff_sessions (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    token         TEXT NOT NULL UNIQUE,   -- SHA-256 of the token in the signed cookie
    account_id    BIGINT NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    seen_at       TEXT NOT NULL,          -- ended after 8 hours without being seen
    ended_at      TEXT                    -- signed out, or the password changed
);
CREATE INDEX staff_sessions_account ON staff_sessions (account_id) WHERE ended_at IS NULL;

CREATE TABLE sign_in_failures (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name          TEXT COLLATE nocase NOT NULL,  -- the account name tried
    address       TEXT NOT NULL,          -- the client's network address, kept 15 minutes
    at            TEXT NOT NULL
);
CREATE INDEX sign_in_failures_name ON sign_in_failures (name, at);
CREATE INDEX sign_in_failures_address ON sign_in_failures (address, at);
CREATE UNIQUE INDEX polls_public ON polls (public_token) WHERE public_token IS NOT NULL;
CREATE INDEX contacts_language ON contacts (language, id);
CREATE INDEX contacts_channel ON contacts (channel, id);
CREATE INDEX contacts_opted_out ON contacts (id) WHERE opted_out_at IS NOT NULL;
CREATE INDEX inbound_contact ON inbound (contact_id, id);
CREATE INDEX outbox_contact ON outbox (contact_id, id);
CREATE INDEX votes_contact ON votes (contact_id);
CREATE INDEX outbox_broadcast_state ON outbox (broadcast_id, status, delivery)
    WHERE broadcast_id IS NOT NULL;

CREATE TABLE form_posts (
    token         TEXT PRIMARY KEY,       -- a form's one-time token
    location      TEXT NOT NULL,          -- where its first sending led
    at            TEXT NOT NULL
);
CREATE INDEX outbox_failed ON outbox (created_at) WHERE status = 'failed';
CREATE INDEX outbox_undelivered ON outbox (delivery_at)
    WHERE delivery IN ('undelivered', 'failed');

CREATE TABLE pb_rounds (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL,
    budget        BIGINT NOT NULL CHECK (budget > 0),
    currency      TEXT NOT NULL,          -- ISO 4217: GBP
    audience      TEXT NOT NULL,          -- JSON Audience: who may vote
    style         TEXT NOT NULL CHECK (style IN ('approval', 'k_approval', 'ranking')),
    k             BIGINT CHECK (k IS NULL OR k > 0),  -- the most a ballot may choose
    rule          TEXT NOT NULL CHECK (rule IN ('greedy', 'mes')),  -- what decides
    language      TEXT NOT NULL,          -- the language the bids are written in first
    phase         TEXT NOT NULL DEFAULT 'bids' CHECK (phase IN
                    ('bids', 'screening', 'voting', 'counted')),
    panel_id      BIGINT REFERENCES panels (id),     -- the panel that screens
    screening_at  TEXT,                   -- when each phase begins, if scheduled
    voting_at     TEXT,
    counted_at    TEXT,
    ballot_id     BIGINT REFERENCES broadcasts (id), -- the broadcast of the ballot
    count         TEXT,                   -- JSON: both rules' outcomes, once counted
    decision_id   BIGINT REFERENCES decisions (id),  -- the results sent back
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE pb_bids (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    round_id      BIGINT NOT NULL REFERENCES pb_rounds (id),
    number        BIGINT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    cost          BIGINT NOT NULL CHECK (cost > 0),
    proposer      TEXT NOT NULL,          -- the group's name
    proposer_id   BIGINT REFERENCES contacts (id),  -- who hears about the bid
    ward          TEXT,
    idea_id       BIGINT REFERENCES ideas (id),     -- sent in by text as an idea
    status        TEXT NOT NULL DEFAULT 'proposed' CHECK (status IN
                    ('proposed', 'eligible', 'ineligible')),
    reason        TEXT,                   -- the panel's reason
    poll_id       BIGINT REFERENCES polls (id),     -- the panel's vote on it
    told_at       TEXT,                   -- when its proposer heard the screening
    created_at    TEXT NOT NULL,
    UNIQUE (round_id, number)
);
CREATE INDEX pb_bids_poll ON pb_bids (poll_id) WHERE poll_id IS NOT NULL;

CREATE TABLE pb_ballots (
    round_id      BIGINT NOT NULL REFERENCES pb_rounds (id),
    contact_id    BIGINT NOT NULL REFERENCES contacts (id),
    choice        TEXT NOT NULL,          -- JSON [bid number, ...], in rank order for a ranking
    language      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    cast_at       TEXT NOT NULL,
    changes       BIGINT NOT NULL DEFAULT 0,  -- times it was cast again
    PRIMARY KEY (round_id, contact_id)
);
CREATE INDEX pb_ballots_contact ON pb_ballots (contact_id);

CREATE TABLE jobs (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN
                    ('send', 'remind', 'close', 'pb_screening', 'pb_voting', 'pb_counted')),
    target        BIGINT NOT NULL,        -- a broadcast, a poll or a round
    due_at        TEXT NOT NULL,
    done_at       TEXT,
    UNIQUE (kind, target)
);
CREATE INDEX jobs_due ON jobs (due_at) WHERE done_at IS NULL;

CREATE TABLE consents (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    contact_id    BIGINT NOT NULL REFERENCES contacts (id),
    event         TEXT NOT NULL CHECK (event IN ('consent', 'declined', 'opt_out', 'opt_in')),
    at            TEXT NOT NULL,          -- when the resident said so
    how           TEXT NOT NULL,          -- 'paper form at the community centre', 'texted JOIN'
    recorded_by   TEXT NOT NULL,          -- 'parley', a shell user, a staff account
    recorded_at   TEXT NOT NULL
);
CREATE INDEX consents_contact ON consents (contact_id, id);
-- Who may be sent questions (the expression is the one bot/outreach/audience.py writes).
CREATE INDEX contacts_reachable ON contacts
    (channel, language, coalesce(json_extract(fields, '$.consent'), ''))
    WHERE opted_out_at IS NULL AND unreachable_at IS NULL AND consent_at IS NOT NULL;

CREATE TABLE audit (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,          -- 'contact 12' (phone), shell user (cli), account (web)
    role          TEXT NOT NULL,
    front         TEXT NOT NULL CHECK (front IN ('phone', 'cli', 'web', 'system')),
    action        TEXT NOT NULL,          -- 'broadcast.send', 'poll.close', ...
    target        TEXT NOT NULL DEFAULT '',  -- 'broadcast 4', 'poll 2', 'ID-4821'
    detail        TEXT NOT NULL DEFAULT '{}'  -- JSON: never an address or a resident's words
);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_actor ON audit (actor, id);

-- Retention reads only what it has not erased yet, oldest first.
CREATE INDEX inbound_kept ON inbound (received_at) WHERE text != '';
CREATE INDEX outbox_kept ON outbox (created_at) WHERE text != '';
CREATE INDEX answers_kept ON answers (answered_at) WHERE raw != '';
CREATE INDEX ideas_kept ON ideas (created_at) WHERE text != '';
CREATE INDEX contacts_heard ON contacts (last_seen_at) WHERE forgotten_at IS NULL;
-- Ended conversations whose answers are kept. SQLite's LIKE ignores case, and the app's
-- LIKE reaches PostgreSQL as ILIKE: the same condition, so queries can use the index.
CREATE INDEX sessions_kept ON sessions (ended_at)
    WHERE ended_at IS NOT NULL AND state NOT ILIKE '%"answers":{}%';

-- References to tables made after the referring one (SQLite added these columns later).
ALTER TABLE sessions ADD FOREIGN KEY (broadcast_id) REFERENCES broadcasts (id);
ALTER TABLE outbox ADD FOREIGN KEY (broadcast_id) REFERENCES broadcasts (id);
ALTER TABLE polls ADD FOREIGN KEY (panel_id) REFERENCES panels (id);
