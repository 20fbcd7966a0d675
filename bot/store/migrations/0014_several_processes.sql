-- Several processes sending from one database (PostgreSQL; on SQLite one process runs, and
-- the columns are the same so that the two schemas stay one).

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
    next_at       REAL NOT NULL
) STRICT;
