-- callhook schema, SQLite. Integer primary keys everywhere (sequential inserts
-- keep pages hot); the only random-key index is the 16-byte dedupe key.
CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE sessions (
  id         BLOB PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
  token_hash   BLOB NOT NULL UNIQUE,
  prefix       TEXT NOT NULL,
  created_at   TIMESTAMP NOT NULL,
  last_used_at TIMESTAMP,
  revoked_at   TIMESTAMP
);
--bun:split
CREATE TABLE provider_settings (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  type       TEXT NOT NULL,
  config     TEXT NOT NULL DEFAULT '{}',
  updated_at TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE channels (
  id                     TEXT PRIMARY KEY,
  name                   TEXT NOT NULL,
  secret                 TEXT NOT NULL,
  prev_secret            TEXT,
  prev_secret_expires_at TIMESTAMP,
  dtmf_map               TEXT NOT NULL DEFAULT '{}',
  provider_type          TEXT,
  provider_config        TEXT,
  created_at             TIMESTAMP NOT NULL,
  updated_at             TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE alerts (
  id              INTEGER PRIMARY KEY,
  title           TEXT NOT NULL,
  message         TEXT NOT NULL DEFAULT '',
  severity        TEXT NOT NULL DEFAULT 'critical',
  state           TEXT NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
  channel_id      TEXT,
  acknowledged_by TEXT,
  acknowledged_at TIMESTAMP,
  resolved_by     TEXT,
  resolved_at     TIMESTAMP,
  created_at      TIMESTAMP NOT NULL,
  updated_at      TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX alerts_state ON alerts (state, id);
--bun:split
CREATE TABLE alert_changes (
  id         INTEGER PRIMARY KEY,
  alert_id   INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  from_state TEXT NOT NULL,
  to_state   TEXT NOT NULL,
  actor      TEXT NOT NULL,
  via        TEXT NOT NULL,
  call_id    INTEGER,
  digit      TEXT,
  created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX alert_changes_alert ON alert_changes (alert_id, id);
--bun:split
CREATE TABLE calls (
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
  UNIQUE (provider, provider_call_id)
);
--bun:split
CREATE INDEX calls_alert ON calls (alert_id);
--bun:split
CREATE INDEX calls_channel ON calls (channel_id, id);
--bun:split
CREATE INDEX calls_poll ON calls (next_poll_at) WHERE next_poll_at IS NOT NULL;
--bun:split
CREATE TABLE callbacks (
  id             INTEGER PRIMARY KEY,
  channel_id     TEXT NOT NULL,
  provider       TEXT NOT NULL DEFAULT '',
  method         TEXT NOT NULL,
  path           TEXT NOT NULL,
  query          TEXT NOT NULL DEFAULT '',
  content_type   TEXT NOT NULL DEFAULT '',
  headers        TEXT NOT NULL DEFAULT '{}',
  body           BLOB,
  body_size      INTEGER NOT NULL DEFAULT 0,
  body_truncated INTEGER NOT NULL DEFAULT 0,
  outcome        TEXT NOT NULL,
  reason         TEXT NOT NULL DEFAULT '',
  error          TEXT NOT NULL DEFAULT '',
  status_code    INTEGER NOT NULL,
  event_count    INTEGER NOT NULL DEFAULT 0,
  replay_of      INTEGER,
  remote_addr    TEXT NOT NULL DEFAULT '',
  received_at    TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX callbacks_outcome ON callbacks (outcome, id);
--bun:split
CREATE INDEX callbacks_channel ON callbacks (channel_id, id);
--bun:split
CREATE TABLE dedupe (
  key         BLOB PRIMARY KEY,
  callback_id INTEGER NOT NULL
) WITHOUT ROWID;
--bun:split
CREATE TABLE events (
  id               INTEGER PRIMARY KEY,
  callback_id      INTEGER NOT NULL,
  call_id          INTEGER REFERENCES calls (id) ON DELETE CASCADE,
  channel_id       TEXT NOT NULL,
  provider         TEXT NOT NULL,
  provider_call_id TEXT NOT NULL,
  event_type       TEXT NOT NULL,
  status           TEXT NOT NULL,
  digit            TEXT NOT NULL DEFAULT '',
  action           TEXT NOT NULL DEFAULT '',
  applied          INTEGER NOT NULL DEFAULT 0,
  native           TEXT NOT NULL DEFAULT '',
  message          TEXT NOT NULL DEFAULT '',
  seq              INTEGER NOT NULL DEFAULT -1,
  occurred_at      TIMESTAMP,
  received_at      TIMESTAMP NOT NULL,
  raw              TEXT
);
--bun:split
CREATE INDEX events_call ON events (call_id, id);
--bun:split
CREATE INDEX events_unmatched ON events (provider, provider_call_id) WHERE call_id IS NULL;
--bun:split
CREATE TABLE feed (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  type       TEXT NOT NULL,
  call_id    INTEGER,
  alert_id   INTEGER,
  channel_id TEXT,
  data       TEXT NOT NULL DEFAULT '{}',
  created_at TIMESTAMP NOT NULL
);
