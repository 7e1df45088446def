-- A callback's dedupe key is stored under its call: the call's id, 8 bytes
-- big-endian (0 for a callback that names no call), then the key. Calls get
-- ids in the order they are created and a call's callbacks arrive while it
-- is in progress, so a transaction's keys land together at the end of the
-- unique index; led by the provider's time in seconds alone, each key went
-- to a random page of that second's (docs/architecture.md, "The writer").
-- The call is the one the callback's first event was applied to; || makes
-- text, and the key stays a blob.
UPDATE callbacks SET dedupe_key = CAST(unhex(printf('%016x', coalesce(
    (SELECT e.call_id FROM events AS e WHERE e.callback_id = callbacks.id ORDER BY e.id LIMIT 1), 0))) || dedupe_key AS BLOB)
  WHERE dedupe_key IS NOT NULL;
