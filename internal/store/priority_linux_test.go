package store

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// threadsAs counts this process's threads at nice writerNice and those
// with the writer's time slice.
func threadsAs(t *testing.T) (niced, sliced int) {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			t.Fatal(err)
		}
		a, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			continue // the thread ended meanwhile
		}
		if a.Nice == writerNice {
			niced++
		}
		if a.Runtime == writerSlice {
			sliced++
		}
	}
	return niced, sliced
}

// kernelAllows asks the kernel itself, on a thread of its own put back at
// once, whether this process may set a nice of writerNice and whether it
// keeps a time slice of writerSlice at the thread's own nice. A thread under
// another policy than SCHED_NORMAL (chrt) is left as it is.
func kernelAllows(t *testing.T) (nice, slice bool) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := unix.Gettid()
		was, err := unix.SchedGetAttr(tid, 0)
		if err != nil || was.Policy != unix.SCHED_NORMAL {
			return
		}
		defer unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: was.Policy, Nice: was.Nice}, 0)
		nice = unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: was.Policy, Nice: writerNice}, 0) == nil
		if unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: was.Policy, Nice: was.Nice, Runtime: writerSlice}, 0) == nil {
			a, err := unix.SchedGetAttr(tid, 0)
			slice = err == nil && a.Runtime == writerSlice
		}
	}()
	<-done
	return nice, slice
}

// The writer asks for a short slice wherever the kernel keeps one, with no
// privilege, and for nice -10 where the process may set it; neither
// outlives the store, and nothing else in the process gets them.
func TestWriterRunsRaised(t *testing.T) {
	dir := t.TempDir()
	plain, err := Open("sqlite://"+filepath.Join(dir, "plain.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n, s := threadsAs(t); plain.WriterRaised() || n+s != 0 {
		t.Fatal("a writer was raised without RaiseWriter")
	}
	plain.Close()

	mayNice, maySlice := kernelAllows(t)
	t.Logf("the kernel allows nice %d: %v; a slice of %d ns: %v", writerNice, mayNice, writerSlice, maySlice)
	st, err := Open("sqlite://"+filepath.Join(dir, "c.db"), Options{RaiseWriter: true})
	if err != nil {
		t.Fatal(err)
	}
	niced, sliced := threadsAs(t)
	want := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	if st.WriterRaised() != (mayNice || maySlice) || niced != want(mayNice) || sliced != want(maySlice) {
		t.Fatalf("writer raised %v, %d threads at nice %d and %d with a slice of %d ns; the kernel allows nice %v, slice %v",
			st.WriterRaised(), niced, writerNice, sliced, writerSlice, mayNice, maySlice)
	}
	// The writer still commits from its thread: the migrations are writes.
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// The raised thread ends with the writer, or is put back: no other
	// goroutine ever runs as the writer did.
	if n, s := threadsAs(t); n+s != 0 {
		t.Fatalf("%d threads at the writer's nice and %d with its slice outlived the store", n, s)
	}
}
