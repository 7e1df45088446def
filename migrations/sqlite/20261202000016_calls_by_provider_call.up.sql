-- A call's unique key leads with the provider's call id, so the one index
-- serves both the writer's lookups (provider call id, channel, provider)
-- and the API's provider call id filter, which had an index of its own:
-- both were written at a random place for every new call (1.6 of the 37
-- log frames of a 20-callback transaction went to that second one;
-- docs/architecture.md, "The writer"). SQLite cannot change a table
-- constraint, so calls is rebuilt as in 20261201000001_isolation; foreign
-- keys are off while its rows move so events keep pointing at them.
PRAGMA foreign_keys = OFF;
--bun:split
CREATE TABLE calls_new (
  id               INTEGER PRIMARY KEY,
  channel_id       TEXT NOT NULL,
  alert_id         INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
  provider         TEXT NOT NULL,
  provider_call_id TEXT NOT NULL,
  direction        TEXT NOT NULL DEFAULT 'outbound',
  from_number      TEXT NOT NULL DEFAULT '',
  to_number        TEXT NOT NULL DEFAULT '',
  message          TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL,
  duration_s       REAL,
  mos              REAL,
  poll_attempts    INTEGER NOT NULL DEFAULT 0,
  next_poll_at     TIMESTAMP,
  created_at       TIMESTAMP NOT NULL,
  updated_at       TIMESTAMP NOT NULL,
  UNIQUE (provider_call_id, channel_id, provider)
);
--bun:split
INSERT INTO calls_new SELECT id, channel_id, alert_id, provider, provider_call_id, direction, from_number,
  to_number, message, status, duration_s, mos, poll_attempts, next_poll_at, created_at, updated_at FROM calls;
--bun:split
DROP TABLE calls;
--bun:split
ALTER TABLE calls_new RENAME TO calls;
--bun:split
CREATE INDEX calls_alert ON calls (alert_id);
--bun:split
CREATE INDEX calls_channel ON calls (channel_id, id);
--bun:split
CREATE INDEX calls_poll ON calls (next_poll_at) WHERE next_poll_at IS NOT NULL;
--bun:split
CREATE INDEX calls_status ON calls (status, id);
--bun:split
PRAGMA foreign_keys = ON;
