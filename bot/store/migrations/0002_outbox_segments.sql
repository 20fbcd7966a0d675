-- SMS cost: how many segments each outbound SMS takes (NULL for channels not billed so).
ALTER TABLE outbox ADD COLUMN segments INTEGER;
