-- The menu's "Vote in a poll" looks up, each time a resident asks, the open polls and
-- the broadcasts that put them to residents (whether each went to everyone, or to this
-- resident: outbox_broadcast answers that). Index both rather than scanning.
CREATE INDEX polls_open ON polls (id) WHERE status = 'open' AND panel_id IS NULL;
CREATE INDEX broadcasts_poll ON broadcasts (poll_id, id) WHERE poll_id IS NOT NULL;
