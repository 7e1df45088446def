-- As migrations/sqlite/20261201000013_drop_calls_in_progress.up.sql:
-- calls_status serves the count of calls in progress.
DROP INDEX calls_in_progress;
