-- Several processes sending from one database (see SQLite's 0014_several_processes.sql).

-- The process sending a queued message, until when: another process leaves it alone
-- meanwhile, and sends it once the claim has expired (its claimer died mid-call).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;

-- The process writing a broadcast's recipients to the outbox, until when (renewed with
-- each batch): one process at a time, so nobody is written twice.
ALTER TABLE broadcasts ADD COLUMN writer TEXT;
ALTER TABLE broadcasts ADD COLUMN writing_until TEXT;

-- Each lane's pace, shared by every process sending on it: when its next slot is free,
-- in seconds since 1970 (wall-clock time, the same on every host kept by NTP).
CREATE TABLE lanes (
    name          TEXT PRIMARY KEY,       -- 'twilio', 'telegram': a provider account
    next_at       DOUBLE PRECISION NOT NULL
);

-- -- Numbers staff name, given as SQLite gives them ---------------------------------------
--
-- Staff name these rows by number ("parley panel show 1", "notify 1", "Export 3"), and a
-- preview makes one under a savepoint and rolls it back to show what a command would do
-- (bot/desk/context.py rehearse; a refused desk operation is rolled back alike). SQLite's
-- INTEGER PRIMARY KEY gives the next row max(id) + 1, so the one confirmed after its preview
-- takes the number the preview showed; an identity's sequence never rolls back, and would
-- give 2, 4, 6... So these tables have no identity: a row given no id takes
-- max(id) + 1, once the transaction holds its table's advisory lock (kept until it ends), so
-- two transactions never take the same number. The second waits for the first to end and
-- then, in READ COMMITTED, reads max(id) afresh (each statement of a volatile function takes
-- a new snapshot), its row included. These are staff's tables, a row each command: the
-- inbound path's (inbound, outbox, sessions, answers, contacts, ideas...) keep identities.
-- Lock keys: 7411502101 upwards (bot/store/postgres.py's own are 7411502001 and 003).
CREATE FUNCTION parley_next_id() RETURNS trigger
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF NEW.id IS NULL THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(CAST(TG_ARGV[0] AS bigint));
        EXECUTE pg_catalog.format(
            'SELECT coalesce(pg_catalog.max(id), 0) + 1 FROM %I.%I',
            TG_TABLE_SCHEMA, TG_TABLE_NAME)
            INTO NEW.id;
    END IF;
    RETURN NEW;
END
$$;

ALTER TABLE broadcasts ALTER COLUMN id DROP IDENTITY;
CREATE TRIGGER broadcasts_next_id BEFORE INSERT ON broadcasts
    FOR EACH ROW EXECUTE FUNCTION parley_next_id('7411502101');
ALTER TABLE polls ALTER COLUMN id DROP IDENTITY;
CREATE TRIGGER polls_next_id BEFORE INSERT ON polls
    FOR EACH ROW EXECUTE FUNCTION parley_next_id('7411502102');
ALTER TABLE panels ALTER COLUMN id DROP IDENTITY;
CREATE TRIGGER panels_next_id BEFORE INSERT ON panels
    FOR EACH ROW EXECUTE FUNCTION parley_next_id('7411502103');
ALTER TABLE decisions ALTER COLUMN id DROP IDENTITY;
CREATE TRIGGER decisions_next_id BEFORE INSERT ON decisions
    FOR EACH ROW EXECUTE FUNCTION parley_next_id('7411502104');
ALTER TABLE pb_rounds ALTER COLUMN id DROP IDENTITY;
CREATE TRIGGER pb_rounds_next_id BEFORE INSERT ON pb_rounds
    FOR EACH ROW EXECUTE FUNCTION parley_next_id('7411502105');
ALTER TABLE exports ALTER COLUMN id DROP IDENTITY;
CREATE TRIGGER exports_next_id BEFORE INSERT ON exports
    FOR EACH ROW EXECUTE FUNCTION parley_next_id('7411502106');
