-- The dashboard counts calls in progress on every live refresh; a partial
-- index holds only those calls, so a finished call leaves it and it stays small.
CREATE INDEX calls_in_progress ON calls (status) WHERE status IN ('queued', 'ringing', 'answered');
