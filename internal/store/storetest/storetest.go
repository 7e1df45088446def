// Package storetest opens a migrated store in a test's temporary folder, the
// one way the packages above the store get a real database in their tests.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"callhook/internal/store"
)

// Open returns a migrated SQLite store in t's temporary folder, closed when
// the test ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open("sqlite://"+filepath.Join(t.TempDir(), "test.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}
