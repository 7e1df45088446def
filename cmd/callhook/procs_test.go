package main

import (
	"os"
	"runtime"
	"testing"
)

// procsAtStart is GOMAXPROCS as Go chose it, before any test started a
// server.
var procsAtStart = runtime.GOMAXPROCS(0)

// A server whose writer was raised gives it a processor of its own: one
// more than Go chose, unless GOMAXPROCS is set; otherwise the count stays.
func TestRaisedWriterGetsAProcessor(t *testing.T) {
	a := startApp(t)
	want := procsAtStart
	if a.Store.WriterRaised() && os.Getenv("GOMAXPROCS") == "" {
		want++
	}
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("GOMAXPROCS %d with the writer raised %v (at start %d), want %d", got, a.Store.WriterRaised(), procsAtStart, want)
	}
	// Once per process, however many servers start.
	startApp(t)
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("GOMAXPROCS %d after a second server, want %d", got, want)
	}
}
