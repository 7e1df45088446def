-- A callback's dedupe key is stored under its call: the call's id, 8 bytes
-- big-endian (0 for a callback that names no call), then the key, as on
-- SQLite (docs/architecture.md, "The writer"). The call is the one the
-- callback's first event was applied to.
UPDATE callbacks SET dedupe_key = int8send(coalesce(
    (SELECT e.call_id FROM events AS e WHERE e.callback_id = callbacks.id ORDER BY e.id LIMIT 1), 0)) || dedupe_key
  WHERE dedupe_key IS NOT NULL;
