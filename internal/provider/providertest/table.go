package providertest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider"
)

// Row is one line of a provider's table in docs/providers.md: a provider
// event, the fixture in the adapter's testdata/ that carries it, and the
// normalized event it must give.
type Row struct {
	Event     string
	Fixture   string
	EventType string
	Status    string
	Digit     string
	Message   string
}

// Table reads the table of provider name from docs/providers.md: the rows
// between the lines "<!-- table:NAME -->" and "<!-- end -->". The first two
// rows (header and separator) are skipped; a cell holding only "—" is empty.
func Table(t testing.TB, name string) []Row {
	t.Helper()
	path := filepath.Join(repoRoot(t), "docs", "providers.md")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []Row
	in, header := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "<!-- table:"+name+" -->":
			in, header = true, 0
			continue
		case in && line == "<!-- end -->":
			in = false
			continue
		case !in || !strings.HasPrefix(line, "|"):
			continue
		}
		if header < 2 {
			header++
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
			if cells[i] == "—" {
				cells[i] = ""
			}
		}
		if len(cells) != 6 {
			t.Fatalf("%s: table %s: row %q has %d cells, want 6", path, name, line, len(cells))
		}
		rows = append(rows, Row{Event: cells[0], Fixture: cells[1], EventType: cells[2], Status: cells[3],
			Digit: cells[4], Message: cells[5]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no table for %s", path, name)
	}
	return rows
}

// CheckTable parses the fixture of every row of provider name's table with
// p and compares the first event with the row, so the documented table, the
// fixtures and the adapter cannot drift apart. Every row's fixture must be
// listed in testdata/manifest.json (method, content type, URL, headers).
func CheckTable(t *testing.T, name string, p provider.Provider) {
	t.Helper()
	m := Load(t)
	byFile := map[string]Fixture{}
	for _, fx := range m.Fixtures {
		byFile[fx.File] = fx
	}
	now := time.Now()
	for _, r := range Table(t, name) {
		fx, ok := byFile[r.Fixture]
		if !ok {
			t.Errorf("%s: row %q names fixture %q, which testdata/manifest.json does not list", name, r.Event, r.Fixture)
			continue
		}
		events, err := p.Parse(fx.Request(now))
		if err != nil {
			t.Errorf("%s: %s (%s): %v", name, r.Event, r.Fixture, err)
			continue
		}
		if len(events) == 0 {
			t.Errorf("%s: %s (%s): no event", name, r.Event, r.Fixture)
			continue
		}
		e := events[0]
		if string(e.Type) != r.EventType || string(e.Status) != r.Status || e.Digit != r.Digit || e.Message != r.Message {
			t.Errorf("%s: %s (%s):\n got type=%q status=%q digit=%q message=%q\nwant type=%q status=%q digit=%q message=%q",
				name, r.Event, r.Fixture, e.Type, e.Status, e.Digit, e.Message, r.EventType, r.Status, r.Digit, r.Message)
		}
	}
}

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}
