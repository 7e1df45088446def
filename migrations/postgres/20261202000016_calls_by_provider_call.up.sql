-- A call's unique key leads with the provider's call id, so the one index
-- serves both the writer's lookups and the API's provider call id filter,
-- which had an index of its own (as on SQLite; docs/architecture.md, "The
-- writer").
ALTER TABLE calls DROP CONSTRAINT calls_channel_id_provider_provider_call_id_key;
--bun:split
ALTER TABLE calls ADD CONSTRAINT calls_provider_call_key UNIQUE (provider_call_id, channel_id, provider);
--bun:split
DROP INDEX calls_provider_call;
