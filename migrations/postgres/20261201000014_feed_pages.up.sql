-- As migrations/sqlite/20261201000014_feed_pages.up.sql: one feed row per
-- committed transaction, holding the items numbered seq .. last. The
-- numbers are drawn under the feed lock (docs/scale-out.md), so they need
-- no sequence of their own.
CREATE TABLE feed_pages (
  seq        BIGINT PRIMARY KEY,
  last       BIGINT NOT NULL,
  items      TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
);
--bun:split
INSERT INTO feed_pages (seq, last, items, created_at)
  SELECT seq, seq, json_build_array(json_build_object('type', type, 'call_id', call_id, 'alert_id', alert_id,
    'channel_id', channel_id, 'created_at', created_at, 'data', data::json))::text, created_at
  FROM feed ORDER BY seq;
--bun:split
DROP TABLE feed;
--bun:split
ALTER TABLE feed_pages RENAME TO feed;
