package store

import "runtime"

// The writer is the one serial step of the write path: every callback
// waits for its transaction. Under load it spends about a third of its
// time in the commit's fsync, and each time it comes back it waits twice:
// for a processor, which the Go scheduler may have given to request
// handlers (a runtime trace: 41 % running, 38 % in system calls, 13 %
// runnable), and for a core, which the kernel shares between it, the
// handlers and any load generator beside the server as equals. Raised, the
// writer runs on a thread of its own that the kernel runs first when it
// wakes, and the caller gives the process one more processor than it has
// cores (cmd/callhook), so a processor is free whenever the writer returns
// from its fsync.
//
// The thread asks for a short time slice (writerSlice): Linux's EEVDF
// scheduler gives a waking thread with a shorter slice an earlier deadline,
// so it preempts the thread on its core, and any thread may ask for one.
// Where the process may raise a priority the thread also runs at nice
// writerNice. Back to back on two cores, signed Twilio runs of 8 to 10 s
// (docs/architecture.md, "The writer"): nice -10 alone took the rate from
// 6,341 to 7,122 callbacks/s over ten pairs; the short slice alone, as a
// user without privilege, from 8,712 to 9,647/s over 18 pairs (ahead in
// 13); the two together were even with nice alone (9,662 and 9,607/s over
// 12 pairs), so the slice is what a server without CAP_SYS_NICE gains.
// One more processor without a raised thread was slower (three equal
// threads on two cores), so the caller adds it only when the raise
// succeeded.

// writerNice is the writer thread's nice value where the process may set
// it: well ahead of the request handlers (0) without starving them.
const writerNice = -10

// writerSlice is the writer thread's time slice in nanoseconds: the
// shortest Linux accepts. The kernel's default is 0.7 ms times (1 + log2 of
// the cores), 1.4 ms on two.
const writerSlice = 100_000

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
