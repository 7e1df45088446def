package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver the server itself writes with

	"callhook/internal/provider/generic"
)

// The kill test and the start-up and memory benchmarks run the real binary,
// as an operator does, so that nothing of the process (its flags, its
// start-up, its shutdown or lack of one) is left out of the check.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// callhookBinary builds ./cmd/callhook once per test run. go test runs the
// test binary from its own work folder (go-build…/b001) and removes that
// folder when the run ends, so the server binary is put next to it; a test
// binary run from anywhere else builds into its test's temporary folder.
func callhookBinary(tb testing.TB) string {
	tb.Helper()
	exe, err := os.Executable()
	if err == nil && strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(exe))), "go-build") {
		binOnce.Do(func() {
			binPath = filepath.Join(filepath.Dir(exe), "callhook")
			binErr = buildCallhook(binPath)
		})
		if binErr != nil {
			tb.Fatal(binErr)
		}
		return binPath
	}
	p := filepath.Join(tb.TempDir(), "callhook")
	if err := buildCallhook(p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// buildCallhook builds the package this test is in with the go command and
// GOTOOLCHAIN of the test's environment (the Makefile exports it). The
// server is built without -race even under go test -race: the race detector
// would multiply its memory and slow its writes, which are what is measured.
func buildCallhook(out string) error {
	cmd := exec.Command("go", "build", "-o", out, ".")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build callhook: %w\n%s", err, stderr.String())
	}
	return nil
}

// serverProc is one running "callhook serve".
type serverProc struct {
	cmd    *exec.Cmd
	url    string
	log    string        // path of its stderr
	ready  time.Duration // from exec to the first 200 of /readyz
	exited chan struct{}
}

const killAdminPassword = "kill-test-admin-password"

// serverEnv is the environment of every callhook command the tests run: the
// test's own CALLHOOK_* settings must not leak into the server.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CALLHOOK_") {
			env = append(env, kv)
		}
	}
	return append(env, "CALLHOOK_ADMIN_PASSWORD="+killAdminPassword, "CALLHOOK_LOG_LEVEL=warn")
}

// startServer runs "callhook serve" on a free port of 127.0.0.1 with the
// SQLite file db and returns once /readyz answers 200.
func startServer(tb testing.TB, bin, db string) *serverProc {
	tb.Helper()
	return startServe(tb, bin, "sqlite://"+db, filepath.Dir(db), nil)
}

// startServe runs "callhook serve" on a free port of 127.0.0.1 with the
// database dbURL and the extra environment env, its log in logDir, and
// returns once /readyz answers 200. The address is read from the line the
// server prints once it listens, so no port is guessed.
func startServe(tb testing.TB, bin, dbURL, logDir string, env []string) *serverProc {
	tb.Helper()
	logf, err := os.CreateTemp(logDir, "serve-*.log")
	if err != nil {
		tb.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dbURL)
	cmd.Env = append(serverEnv(), env...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p := &serverProc{cmd: cmd, log: logf.Name(), exited: make(chan struct{})}
	urls := make(chan string, 1)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "callhook is up: open "); ok {
				urls <- strings.TrimSuffix(rest, " in a browser")
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
	}()
	tb.Cleanup(func() {
		p.kill()
		if tb.Failed() {
			if b, _ := os.ReadFile(p.log); len(b) > 0 {
				tb.Logf("server log %s:\n%s", p.log, lastBytes(b, 4096))
			}
		}
	})
	deadline := time.After(15 * time.Second)
	select {
	case p.url = <-urls:
	case <-p.exited:
		b, _ := os.ReadFile(p.log)
		tb.Fatalf("callhook serve exited before listening: %s", lastBytes(b, 4096))
	case <-deadline:
		tb.Fatal("callhook serve did not print its address within 15s")
	}
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.url + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.ready = time.Since(start)
				client.CloseIdleConnections()
				return p
			}
		}
		select {
		case <-p.exited:
			b, _ := os.ReadFile(p.log)
			tb.Fatalf("callhook serve exited before ready: %s", lastBytes(b, 4096))
		case <-deadline:
			tb.Fatalf("%s/readyz not 200 within 15s (last error %v)", p.url, err)
		case <-time.After(time.Millisecond):
		}
	}
}

// kill sends SIGKILL, so the process gets no chance to finish anything, and
// reaps it. os.Process signals through a pidfd, so killing a process that
// was already reaped is harmless rather than a signal to a reused pid.
func (p *serverProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// peakRSS returns VmHWM of the process, the most resident memory it has had.
func (p *serverProc) peakRSS() (kb int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.cmd.Process.Pid)
}

func lastBytes(b []byte, n int) []byte { return b[max(0, len(b)-n):] }

// adminToken creates an admin API token in db with "callhook token create",
// which also creates and migrates the database.
func adminToken(tb testing.TB, bin, db string) string {
	tb.Helper()
	cmd := exec.Command(bin, "token", "create", "kill-test", "--role", "admin", "--db", "sqlite://"+db)
	cmd.Env = serverEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("token create: %v\n%s", err, stderr.String())
	}
	tok := strings.TrimSpace(string(out))
	if tok == "" || strings.ContainsAny(tok, " \n") {
		tb.Fatalf("token create printed %q", out)
	}
	return tok
}

// signedChannel creates a generic channel whose callbacks must be signed.
func signedChannel(tb testing.TB, url, token, secret string) channelJSON {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"name": "Kill test",
		"provider": map[string]any{"type": "generic", "config": map[string]string{"signing_secret": secret}}})
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/channels", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var ch channelJSON
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &ch) != nil || ch.ID == "" {
		tb.Fatalf("create channel: %d %s", resp.StatusCode, raw)
	}
	return ch
}

// acked is a callback the server answered 2xx: it promised it is stored.
type acked struct {
	id   int64 // X-Callhook-Callback-Id, 0 if absent
	body string
}

// loadResult is what a load run saw.
type loadResult struct {
	acked    []acked
	refused  map[int]int // non-2xx answers by status
	failures int         // requests without an answer (the kill cuts them)
}

// sendCallbacks posts signed generic callbacks, each with its own call id,
// from workers senders over kept-alive connections until ctx ends or limit
// callbacks were sent (limit 0: no limit). Every answered 2xx is recorded.
func sendCallbacks(ctx context.Context, ch channelJSON, secret, prefix string, workers int, limit int64) loadResult {
	client := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true}}
	defer client.CloseIdleConnections()
	var (
		mu    sync.Mutex
		res   = loadResult{refused: map[int]int{}}
		next  atomic.Int64
		wg    sync.WaitGroup
		fails atomic.Int64
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []acked
			refused := map[int]int{}
			defer func() {
				mu.Lock()
				res.acked = append(res.acked, mine...)
				for k, v := range refused {
					res.refused[k] += v
				}
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				n := next.Add(1)
				if limit > 0 && n > limit {
					return
				}
				body := fmt.Sprintf(`{"call_id":"%s-%d","event_type":"status","status":"ringing"}`, prefix, n)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ch.CallbackURL, strings.NewReader(body))
				ts := time.Now().Unix()
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(generic.HeaderTimestamp, strconv.FormatInt(ts, 10))
				req.Header.Set(generic.HeaderSignature, generic.Sign(secret, ts, []byte(body)))
				resp, err := client.Do(req)
				if err != nil {
					fails.Add(1)
					continue
				}
				// A 2xx status line is the promise, even if the kill cuts
				// the body that follows it.
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					id, _ := strconv.ParseInt(resp.Header.Get("X-Callhook-Callback-Id"), 10, 64)
					mine = append(mine, acked{id: id, body: body})
				} else {
					refused[resp.StatusCode]++
				}
			}
		}()
	}
	wg.Wait()
	res.failures = int(fails.Load())
	return res
}

// storedCallbacks reads every callback of channel straight from the SQLite
// file, as body → id: what survived is what is on disk, whatever the server
// says.
func storedCallbacks(t *testing.T, db *sql.DB, channel string) map[string]int64 {
	t.Helper()
	rows, err := db.Query("SELECT id, body FROM callbacks WHERE channel_id = ?", channel)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id int64
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			t.Fatal(err)
		}
		out[string(body)] = id
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkAcked fails t for every acknowledged callback not stored under the
// id the server answered with. Ids are not enough alone: SQLite reuses the
// rowids of a lost tail, so the body is compared too.
func checkAcked(t *testing.T, db *sql.DB, channel string, all []acked) {
	t.Helper()
	stored := storedCallbacks(t, db, channel)
	missing := 0
	for _, a := range all {
		id, ok := stored[a.body]
		switch {
		case !ok:
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged callback %d is not stored: %s", a.id, a.body)
			}
		case a.id == 0:
			t.Errorf("2xx without X-Callhook-Callback-Id for %s", a.body)
		case id != a.id:
			t.Errorf("acknowledged as callback %d but stored as %d: %s", a.id, id, a.body)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged callbacks lost", missing, len(all))
	}
}

// TestSIGKILLLosesNoAcknowledgedCallback kills the server with SIGKILL while
// senders post signed callbacks, restarts it on the same database and checks
// that every callback it answered 2xx is on disk: a 2xx is the server's
// promise that the callback is stored.
func TestSIGKILLLosesNoAcknowledgedCallback(t *testing.T) {
	const (
		rounds  = 3
		workers = 16
		// minAcked keeps the test from passing on a server that answered
		// nothing: each round must carry real load into the kill.
		minAcked = 200
	)
	bin := callhookBinary(t)
	db := filepath.Join(t.TempDir(), "callhook.db")
	token := adminToken(t, bin, db)
	srv := startServer(t, bin, db)
	t.Logf("start to ready on a new database: %s", srv.ready)
	const secret = "kill-test-signing-secret"
	ch := signedChannel(t, srv.url, token, secret)

	rdb, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()

	var all []acked
	for round := 1; round <= rounds; round++ {
		// The server's address changes with each start: senders post to it.
		ch.CallbackURL = srv.url + "/api/integrations/voice/callback/" + ch.ID + "/" + ch.Secret
		ctx, cancel := context.WithCancel(context.Background())
		// A random moment, so the kill lands anywhere in the write path's
		// cycle; long enough for thousands of callbacks on a busy machine.
		delay := time.Second + rand.N(time.Second)
		done := make(chan loadResult, 1)
		go func() { done <- sendCallbacks(ctx, ch, secret, fmt.Sprintf("kill-r%d", round), workers, 0) }()
		time.Sleep(delay)
		rss, rssErr := srv.peakRSS()
		// Once the killed process is reaped its sockets are closed: every
		// request in flight has its answer or its error before cancel.
		srv.kill()
		cancel()
		res := <-done
		if rssErr == nil {
			t.Logf("round %d: VmHWM %.1f MB after %s of load", round, float64(rss)/1024, delay)
		}
		t.Logf("round %d: killed after %s: %d acknowledged, %d refused %v, %d unanswered",
			round, delay, len(res.acked), sum(res.refused), res.refused, res.failures)
		if len(res.acked) < minAcked {
			t.Fatalf("round %d: only %d callbacks acknowledged before the kill: the load did not reach the server", round, len(res.acked))
		}
		all = append(all, res.acked...)

		srv = startServer(t, bin, db)
		t.Logf("round %d: start to ready after SIGKILL: %s", round, srv.ready)
		checkAcked(t, rdb, ch.ID, all)
		if t.Failed() {
			t.FailNow()
		}
	}
	srv.kill()
	var integrity string
	if err := rdb.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check after %d kills: %q %v", rounds, integrity, err)
	}
	t.Logf("%d acknowledged callbacks over %d kills, all stored", len(all), rounds)
}

func sum(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
