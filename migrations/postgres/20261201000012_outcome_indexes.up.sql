-- As migrations/sqlite/20261201000012_outcome_indexes.up.sql: only the
-- outcomes other than accepted get an index entry.
DROP INDEX callbacks_outcome;
--bun:split
CREATE INDEX callbacks_rejected ON callbacks (id) WHERE outcome = 'rejected';
--bun:split
CREATE INDEX callbacks_unmatched ON callbacks (id) WHERE outcome = 'unmatched';
--bun:split
CREATE INDEX callbacks_duplicate ON callbacks (id) WHERE outcome = 'duplicate';
