-- Real channels. A contact who blocked the bot is unreachable until they write again.
ALTER TABLE contacts ADD COLUMN unreachable_at TEXT;

-- The dispatcher's retries wait until next_attempt_at. The provider's own report on a
-- sent message (queued, sent, delivered, undelivered, failed, read) is kept apart from
-- the outbox status, which says what Parley did with it.
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN delivery TEXT;
ALTER TABLE outbox ADD COLUMN delivery_error TEXT;
ALTER TABLE outbox ADD COLUMN delivery_at TEXT;
CREATE INDEX outbox_provider ON outbox (provider_id) WHERE provider_id IS NOT NULL;
-- A contact's messages go out in order: only the oldest queued one is ever due.
CREATE INDEX outbox_contact_queued ON outbox (contact_id, id) WHERE status = 'queued';
