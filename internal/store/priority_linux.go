package store

import "golang.org/x/sys/unix"

// raiseThread raises the priority of the calling OS thread (priority.go);
// undo puts it back. It needs CAP_SYS_NICE (or a RLIMIT_NICE that allows
// it).
func raiseThread() (undo func(), err error) {
	tid := unix.Gettid()
	// Getpriority answers 20 - nice, so that it is never negative.
	was, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return nil, err
	}
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, writerNice); err != nil {
		return nil, err
	}
	return func() { _ = unix.Setpriority(unix.PRIO_PROCESS, tid, 20-was) }, nil
}
