package store

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// raiseThread asks the kernel to run the calling OS thread first when it
// wakes (priority.go): a short time slice, which Linux's EEVDF scheduler
// (6.12 and later) lets any thread ask for, and nice writerNice where the
// process may raise a priority (CAP_SYS_NICE, or a RLIMIT_NICE that allows
// it). It fails only when neither took effect; undo puts both back.
func raiseThread() (undo func(), err error) {
	tid := unix.Gettid()
	was, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return nil, err
	}
	if was.Policy != unix.SCHED_NORMAL {
		return nil, fmt.Errorf("the thread runs under scheduling policy %d, left as it is", was.Policy)
	}
	want := unix.SchedAttr{Policy: unix.SCHED_NORMAL, Nice: writerNice, Runtime: writerSlice}
	niceErr := unix.SchedSetAttr(tid, &want, 0)
	if niceErr != nil {
		want.Nice = was.Nice
		if err := unix.SchedSetAttr(tid, &want, 0); err != nil {
			return nil, err
		}
	}
	// A slice of 0 is the kernel's default again (it reports the default as
	// the thread's slice, so was cannot tell it from one asked for).
	undo = func() { _ = unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: was.Policy, Nice: was.Nice}, 0) }
	// Kernels before EEVDF accept a slice for this policy and ignore it.
	got, err := unix.SchedGetAttr(tid, 0)
	if err != nil || (niceErr != nil && got.Runtime != writerSlice) {
		undo()
		return nil, errors.Join(errors.New("this kernel has no short slices (Linux 6.12)"), niceErr, err)
	}
	return undo, nil
}
