-- A resident's latest session (which poll they were last asked, for a reply after
-- voting) is looked up for a message with no session under way: index it, rather than
-- scanning every session.
CREATE INDEX sessions_contact ON sessions (contact_id, id);
