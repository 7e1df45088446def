-- The live feed gets one row per committed transaction instead of one per
-- item: a callback made three or four rows (its call, event, call update
-- and itself), each with its own insert, index entry and sqlite_sequence
-- update, a tenth of the writer's time. A row holds the items numbered
-- seq .. last, as a JSON array (docs/architecture.md, "The live feed").
-- The rows there are kept, one item each.
CREATE TABLE feed_pages (
  seq        INTEGER PRIMARY KEY,
  last       INTEGER NOT NULL,
  items      TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL
);
--bun:split
INSERT INTO feed_pages (seq, last, items, created_at)
  SELECT seq, seq, json_array(json_object('type', type, 'call_id', call_id, 'alert_id', alert_id,
    'channel_id', channel_id, 'created_at', created_at, 'data', json(data))), created_at
  FROM feed ORDER BY seq;
--bun:split
DROP TABLE feed;
--bun:split
ALTER TABLE feed_pages RENAME TO feed;
