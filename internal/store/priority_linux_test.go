package store

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// threadsAt counts this process's threads whose nice value is nice
// (field 19 of /proc/self/task/TID/stat).
func threadsAt(t *testing.T, nice int) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "stat"))
		if err != nil {
			continue // the thread ended meanwhile
		}
		// The command name, field 2, is in parentheses and may hold spaces.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if v, err := strconv.Atoi(fields[16]); err == nil && v == nice {
			n++
		}
	}
	return n
}

// mayRaise tells whether this process may raise a thread's priority, on a
// thread of its own, put back at once.
func mayRaise() error {
	res := make(chan error)
	go func() {
		undo, err := raiseOwnThread()
		if err == nil {
			undo()
		}
		res <- err
	}()
	return <-res
}

func TestWriterRunsRaised(t *testing.T) {
	dir := t.TempDir()
	plain, err := Open("sqlite://"+filepath.Join(dir, "plain.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.WriterRaised() || threadsAt(t, writerNice) != 0 {
		t.Fatal("a writer was raised without RaiseWriter")
	}
	plain.Close()

	st, err := Open("sqlite://"+filepath.Join(dir, "c.db"), Options{RaiseWriter: true})
	if err != nil {
		t.Fatal(err)
	}
	raisedThreads := threadsAt(t, writerNice)
	permitted := mayRaise()
	if permitted != nil {
		t.Logf("not permitted: %v", permitted)
		if st.WriterRaised() || raisedThreads != 0 {
			t.Fatalf("the writer says raised (%v, %d threads) though the process may not raise: %v", st.WriterRaised(), raisedThreads, permitted)
		}
		st.Close()
		return
	}
	if !st.WriterRaised() || raisedThreads != 1 {
		t.Fatalf("writer raised %v, %d threads at nice %d; want the writer's one", st.WriterRaised(), raisedThreads, writerNice)
	}
	// The writer still commits from its thread: the migrations are writes.
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// The raised thread ends with the writer, or is put back: no other
	// goroutine ever runs at the writer's priority.
	if n := threadsAt(t, writerNice); n != 0 {
		t.Fatalf("%d threads at the writer's priority outlived the store", n)
	}
}
