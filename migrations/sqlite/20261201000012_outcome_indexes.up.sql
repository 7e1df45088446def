-- Most callbacks are accepted and nobody lists them by outcome: only the
-- other outcomes get an index entry (a partial index per outcome, which
-- SQLite uses for "outcome = '…'"), one index entry per callback fewer.
DROP INDEX callbacks_outcome;
--bun:split
CREATE INDEX callbacks_rejected ON callbacks (id) WHERE outcome = 'rejected';
--bun:split
CREATE INDEX callbacks_unmatched ON callbacks (id) WHERE outcome = 'unmatched';
--bun:split
CREATE INDEX callbacks_duplicate ON callbacks (id) WHERE outcome = 'duplicate';
