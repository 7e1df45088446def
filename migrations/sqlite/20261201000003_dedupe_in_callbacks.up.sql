-- The duplicate key of a callback is a column of its row, unique where set
-- (the first delivery of a provider's event), instead of a row of its own in
-- a second table: one insert and one index entry per callback fewer.
ALTER TABLE callbacks ADD COLUMN dedupe_key BLOB;
--bun:split
UPDATE callbacks SET dedupe_key = d.key FROM dedupe AS d WHERE d.callback_id = callbacks.id;
--bun:split
CREATE UNIQUE INDEX callbacks_dedupe ON callbacks (dedupe_key) WHERE dedupe_key IS NOT NULL;
--bun:split
DROP TABLE dedupe;
