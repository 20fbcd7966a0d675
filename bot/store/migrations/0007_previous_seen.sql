-- When a contact wrote before their latest message, set by the same upsert that marks
-- them seen: NULL only for a contact whose first message this is. It tells a new
-- resident from a returning one (greeted "welcome back" after a long time away).
ALTER TABLE contacts ADD COLUMN previous_seen_at TEXT;
