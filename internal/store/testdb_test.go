package store

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uptrace/bun/driver/pgdriver"
)

// The store's tests run on SQLite, or on PostgreSQL when CALLHOOK_TEST_DB
// is "postgres" (make test runs both). The PostgreSQL server is the one
// CALLHOOK_TEST_POSTGRES names, else a throwaway cluster that .ci/postgres
// starts for this run and stops after it; if it cannot start, the run fails
// and says why.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv("CALLHOOK_TEST_DB") != "postgres" || os.Getenv("CALLHOOK_TEST_POSTGRES") != "" {
		return m.Run()
	}
	script, err := filepath.Abs("../../.ci/postgres")
	if err == nil {
		var out []byte
		cmd := exec.Command(script, "start")
		cmd.Env = append(os.Environ(), "PG_FSYNC=off")
		cmd.Stderr = os.Stderr
		if out, err = cmd.Output(); err == nil {
			var dir string
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				k, v, _ := strings.Cut(sc.Text(), "=")
				os.Setenv(k, v)
				if k == "CALLHOOK_TEST_POSTGRES_DIR" {
					dir = v
				}
			}
			defer exec.Command(script, "stop", dir).Run()
			return m.Run()
		}
	}
	fmt.Fprintf(os.Stderr, "CALLHOOK_TEST_DB=postgres but PostgreSQL could not be started: %v\n", err)
	return 1
}

// testDSN is a new empty database: a SQLite file, or a PostgreSQL database
// created on the test server.
func testDSN(t *testing.T, name string) string {
	t.Helper()
	if os.Getenv("CALLHOOK_TEST_DB") != "postgres" {
		return "sqlite://" + filepath.Join(t.TempDir(), name)
	}
	admin := os.Getenv("CALLHOOK_TEST_POSTGRES")
	b := make([]byte, 6)
	rand.Read(b)
	db := "t_" + hex.EncodeToString(b)
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(admin)))
	defer sqldb.Close()
	if _, err := sqldb.ExecContext(context.Background(), "CREATE DATABASE "+db); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(admin)))
		defer sqldb.Close()
		sqldb.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

func onPostgres() bool { return os.Getenv("CALLHOOK_TEST_DB") == "postgres" }
