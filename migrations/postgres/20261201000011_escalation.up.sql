-- Escalation (as migrations/sqlite/20261201000004_escalation.up.sql): an
-- alert in "sequential" mode calls its targets one after another;
-- pending_targets (a JSON list) are the ones not called yet.
ALTER TABLE alerts ADD COLUMN mode TEXT NOT NULL DEFAULT 'all';
--bun:split
ALTER TABLE alerts ADD COLUMN pending_targets TEXT NOT NULL DEFAULT '[]';
--bun:split
CREATE INDEX alerts_escalating ON alerts (id) WHERE mode = 'sequential' AND state = 'firing' AND pending_targets <> '[]';
