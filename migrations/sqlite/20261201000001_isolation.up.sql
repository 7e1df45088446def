-- Channel isolation: a call is found by (channel, provider, provider call id),
-- so one channel's URL can never change another channel's calls. SQLite
-- cannot drop a table constraint, so calls is rebuilt; foreign keys are off
-- while its rows move so events keep pointing at them.
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
  UNIQUE (channel_id, provider, provider_call_id)
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
CREATE INDEX calls_in_progress ON calls (status) WHERE status IN ('queued', 'ringing', 'answered');
--bun:split
PRAGMA foreign_keys = ON;
--bun:split
-- Unmatched events wait for a call of their own channel.
DROP INDEX events_unmatched;
--bun:split
CREATE INDEX events_unmatched ON events (channel_id, provider, provider_call_id) WHERE call_id IS NULL;
--bun:split
-- A callback's detail page lists its events.
CREATE INDEX events_callback ON events (callback_id);
--bun:split
-- Replay is offered only for callbacks that passed the secret check.
ALTER TABLE callbacks ADD COLUMN secret_ok INTEGER NOT NULL DEFAULT 0;
--bun:split
UPDATE callbacks SET secret_ok = 1 WHERE outcome <> 'rejected' OR reason NOT IN ('unknown_channel', 'bad_secret', 'rate_limited', 'too_large');
--bun:split
-- Inbound callers may act on the channel's alerts only from these numbers (JSON list).
ALTER TABLE channels ADD COLUMN inbound_allow TEXT NOT NULL DEFAULT '[]';
