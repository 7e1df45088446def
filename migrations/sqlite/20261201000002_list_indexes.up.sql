-- Every list filter of the API reads an index, never the whole table:
-- calls by status and by provider call id, newest first.
CREATE INDEX calls_status ON calls (status, id);
--bun:split
CREATE INDEX calls_provider_call ON calls (provider_call_id);
--bun:split
CREATE INDEX alerts_channel ON alerts (channel_id, id);
