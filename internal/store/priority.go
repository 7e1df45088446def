package store

import "runtime"

// The writer is the one serial step of the write path: every callback
// waits for its transaction. Under load it spends about a third of its
// time in the commit's fsync, and each time it comes back the Go scheduler
// may have given its processor to request handlers, so it waits for one
// again (a runtime trace: 41 % running, 38 % in system calls, 13 %
// runnable), while the HTTP handlers and any load generator beside the
// server compete with it for the cores as equals. Raised, the writer runs
// on a thread of its own at nice writerNice, and the caller gives the
// process one more processor than it has cores (cmd/callhook), so a
// processor is free whenever the writer returns from its fsync and the
// kernel lets its thread run first. Back to back on two cores, ten pairs of
// signed Twilio runs: 6,341 -> 7,122 callbacks/s on average, ahead in 10 of
// 10 (docs/architecture.md, "The writer"). One more processor without the
// raised priority was slower (three equal threads on two cores), so the
// caller adds it only when the raise succeeded.

// writerNice is the writer thread's nice value: well ahead of the request
// handlers (0) without starving them.
const writerNice = -10

// raiseOwnThread locks the calling goroutine to its OS thread and raises
// that thread's priority; undo puts the priority back. Where raising is not
// permitted it gives the thread back and returns why. A goroutine that ends
// locked ends its thread too, except the main thread, which Go parks for
// good: undo is what keeps the raised priority from outliving the writer.
func raiseOwnThread() (undo func(), err error) {
	runtime.LockOSThread()
	undo, err = raiseThread()
	if err != nil {
		runtime.UnlockOSThread()
	}
	return undo, err
}
