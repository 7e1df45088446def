// Package migrations embeds callhook's append-only SQL migrations. Files are
// never edited once released; a change is a new file.
package migrations

import "embed"

// SQLite holds the SQLite migrations (bun migrate naming: <version>_<name>.up.sql).
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// Postgres holds the PostgreSQL migrations: the same schema and meaning as
// SQLite's, in PostgreSQL's types (docs/scale-out.md).
//
//go:embed postgres/*.sql
var Postgres embed.FS
