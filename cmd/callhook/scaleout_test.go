package main

import (
	"bufio"
	"bytes"
	stdsql "database/sql"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uptrace/bun/driver/pgdriver"

	"callhook/internal/voice"
)

// TestScaleOut runs two real "callhook serve" processes on one PostgreSQL
// database, as docs/scale-out.md describes, and checks what the instances
// must coordinate through the database: duplicates across instances, one
// ordered live feed, keypad actions decided on fresh rows, the same state
// seen from both, one status poll per due call, and metrics that add up.
func TestScaleOut(t *testing.T) {
	dsn := scaleOutPostgres(t)
	bin := callhookBinary(t)
	token := pgAdminToken(t, bin, dsn)
	fake := newFakeCallAPI()
	defer fake.srv.Close()
	env := []string{"CALLHOOK_POLL_INTERVAL=200ms", "CALLHOOK_POLL_MAX_INTERVAL=1s"}
	a := startServe(t, bin, dsn, t.TempDir(), env)
	b := startServe(t, bin, dsn, t.TempDir(), env)
	c := &scaleClient{t: t, token: token, http: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	channel := c.createChannel(a.url, fake.srv.URL)
	chA := channel.CallbackURL
	chB := strings.Replace(chA, a.url, b.url, 1)

	// (b) A stream client on B, connected before anything is written.
	stream := dialStream(t, b.url, token, "")
	var (
		gotMu sync.Mutex
		got   []int64
	)
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		for {
			var m struct {
				Seq int64 `json:"seq"`
			}
			if err := stream.ReadJSON(&m); err != nil {
				return
			}
			if m.Seq > 0 {
				gotMu.Lock()
				got = append(got, m.Seq)
				gotMu.Unlock()
			}
		}
	}()

	// (a) Status callbacks of the same calls to both instances at once:
	// each body goes to A and to B, so one of the two is a duplicate.
	var targets []string
	for i := range 20 {
		targets = append(targets, fmt.Sprintf("+155500010%02d", i))
	}
	statusAlert := c.createAlert(a.url, channel.ID, "status", targets...)
	statusCalls := c.alert(a.url, statusAlert).Calls
	var bodies []string
	for _, call := range statusCalls {
		for _, st := range []string{"ringing", "in-progress", "completed"} {
			bodies = append(bodies, fmt.Sprintf(`{"call_id":%q,"event_type":"status","status":%q}`, call.ProviderCallID, st))
		}
	}
	type reply struct {
		body      string
		duplicate bool
	}
	var posted atomic.Int64
	replies := make(chan reply, 2*len(bodies))
	var wg sync.WaitGroup
	for _, body := range bodies {
		for _, u := range []string{chA, chB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				posted.Add(1)
				var r struct {
					Duplicate bool `json:"duplicate"`
				}
				c.postCallback(u, body, &r)
				replies <- reply{body, r.Duplicate}
			}()
		}
	}
	wg.Wait()
	close(replies)
	firsts := map[string]int{}
	for r := range replies {
		if !r.duplicate {
			firsts[r.body]++
		}
	}
	for _, body := range bodies {
		if firsts[body] != 1 {
			t.Errorf("%s: %d deliveries stored as new across the instances, want 1", body, firsts[body])
		}
	}

	// (c) Keypad 1 and 2 on both instances at the same moment, for several
	// alerts: each alert ends resolved and its changes form one chain.
	var alerts []int64
	for i := range 4 {
		alerts = append(alerts, c.createAlert(a.url, channel.ID, "dtmf", fmt.Sprintf("+1555000200%d", i)))
	}
	for _, id := range alerts {
		call := c.alert(a.url, id).Calls[0].ProviderCallID
		start := make(chan struct{})
		for _, digit := range []string{"1", "2"} {
			for _, u := range []string{chA, chB} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					posted.Add(1)
					c.postCallback(u, fmt.Sprintf(`{"call_id":%q,"event_type":"dtmf","digit":%q}`, call, digit), nil)
				}()
			}
		}
		close(start)
	}
	wg.Wait()
	for _, id := range alerts {
		v := c.alert(b.url, id)
		if v.State != "resolved" {
			t.Errorf("alert %d ended %s, want resolved", id, v.State)
		}
		from, seen := "firing", map[string]bool{}
		for _, ch := range v.Changes {
			if ch.FromState != from || seen[ch.ToState] {
				t.Errorf("alert %d: changes %+v are not one chain from firing (a decision on a stale read)", id, v.Changes)
				break
			}
			from, seen[ch.ToState] = ch.ToState, true
		}
		if from != "resolved" {
			t.Errorf("alert %d: changes %+v do not end resolved", id, v.Changes)
		}
	}

	// (e) Calls of a pollable provider: each due poll runs on one instance.
	pollAlert := c.createAlert(a.url, channel.ID, "poll", "+15550003000", "+15550003001", "+15550003002", "+15550003003",
		"+15550003004", "+15550003005", "+15550003006", "+15550003007")
	pollCalls := c.alert(a.url, pollAlert).Calls
	deadline := time.Now().Add(20 * time.Second)
	for {
		done := 0
		for _, pc := range c.alert(a.url, pollAlert).Calls {
			if pc.Status == "completed" {
				done++
			}
		}
		if done == len(pollCalls) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("polled calls not completed within 20s: %d of %d (fetches %v)", done, len(pollCalls), fake.fetches())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Both pollers tick every 2s: give each another tick to poll twice.
	time.Sleep(2500 * time.Millisecond)
	fetches := fake.fetches()
	for _, pc := range pollCalls {
		if n := fetches[pc.ProviderCallID]; n != 1 {
			t.Errorf("call %s polled %d times across the instances, want once", pc.ProviderCallID, n)
		}
	}

	// (d) Both instances report the same calls and alerts.
	callsA, callsB := c.callStates(a.url), c.callStates(b.url)
	if len(callsA) < 20+len(alerts)+len(pollCalls) {
		t.Errorf("%d calls, want at least %d", len(callsA), 20+len(alerts)+len(pollCalls))
	}
	if fmt.Sprint(callsA) != fmt.Sprint(callsB) {
		t.Errorf("calls differ between instances:\nA %v\nB %v", callsA, callsB)
	}
	for _, call := range c.alert(b.url, statusAlert).Calls {
		if call.Status != "completed" {
			t.Errorf("call %s ended %s, want completed", call.ProviderCallID, call.Status)
		}
	}
	for _, id := range append(alerts, statusAlert, pollAlert) {
		va, vb := c.alert(a.url, id), c.alert(b.url, id)
		if va.State != vb.State || len(va.Changes) != len(vb.Changes) {
			t.Errorf("alert %d: A says %s (%d changes), B says %s (%d changes)", id, va.State, len(va.Changes), vb.State, len(vb.Changes))
		}
	}

	// (b) The stream on B got every feed row once, in order: the same rows
	// a client resuming on A reads back from the feed table.
	time.Sleep(500 * time.Millisecond)
	stream.Close()
	<-streamDone
	gotMu.Lock()
	defer gotMu.Unlock()
	if len(got) == 0 {
		t.Fatal("the stream on B received nothing")
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("stream on B: sequence numbers not strictly increasing: %v", got)
	}
	replay := dialStream(t, a.url, token, "?after="+strconv.FormatInt(got[0]-1, 10))
	var want []int64
	for {
		replay.SetReadDeadline(time.Now().Add(time.Second))
		var m struct {
			Seq int64 `json:"seq"`
		}
		if err := replay.ReadJSON(&m); err != nil {
			break
		}
		if m.Seq > 0 && m.Seq <= got[len(got)-1] {
			want = append(want, m.Seq)
		}
	}
	replay.Close()
	if !slices.Equal(got, want) {
		t.Errorf("stream on B has %d rows, the feed %d (first %d, last %d)", len(got), len(want), got[0], got[len(got)-1])
	}

	// Metrics: the two scrapes add up to every callback posted.
	var sum float64
	var jobs float64
	for _, p := range []*serverProc{a, b} {
		m := c.metrics(p.url)
		for name, v := range m {
			if strings.HasPrefix(name, "callhook_callbacks_total{") && strings.Contains(name, `provider="generic"`) {
				sum += v
			}
		}
		jobs += m["callhook_store_commit_jobs_sum"]
		for _, series := range []string{"callhook_store_commit_seconds_count", "callhook_notify_lag_seconds_count",
			"callhook_poll_lag_seconds_count", "callhook_live_dropped_total"} {
			if _, ok := m[series]; !ok {
				t.Errorf("%s: no %s", p.url, series)
			}
		}
	}
	if int64(sum) != posted.Load() {
		t.Errorf("callhook_callbacks_total{provider=\"generic\"} adds up to %v over both instances, %d were posted", sum, posted.Load())
	}
	if jobs < float64(len(bodies)) {
		t.Errorf("commits held %v writes over both instances, want at least the %d stored callbacks", jobs, len(bodies))
	}
}

// scaleOutPostgres is a fresh database on the server CALLHOOK_TEST_POSTGRES
// names, else on a throwaway cluster .ci/postgres starts for this test (as
// the store's PostgreSQL tests do). It fails, never skips, when none starts.
func scaleOutPostgres(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("CALLHOOK_TEST_POSTGRES")
	if admin == "" {
		script, err := filepath.Abs("../../.ci/postgres")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(script, "start")
		cmd.Env = append(os.Environ(), "PG_FSYNC=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("PostgreSQL could not be started with .ci/postgres (set CALLHOOK_TEST_POSTGRES to use a running server): %v\n%s", err, stderr.String())
		}
		var dir string
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), "=")
			switch k {
			case "CALLHOOK_TEST_POSTGRES":
				admin = v
			case "CALLHOOK_TEST_POSTGRES_DIR":
				dir = v
			}
		}
		t.Cleanup(func() { exec.Command(script, "stop", dir).Run() })
	}
	name := fmt.Sprintf("scaleout_%d", time.Now().UnixNano())
	psql := func(sql string) {
		db := stdsql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(admin)))
		defer db.Close()
		if _, err := db.Exec(sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	psql("CREATE DATABASE " + name)
	t.Cleanup(func() { psql("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// pgAdminToken migrates the database and creates an admin API token in it
// with "callhook token create", before either server starts.
func pgAdminToken(t *testing.T, bin, dsn string) string {
	t.Helper()
	cmd := exec.Command(bin, "token", "create", "scale-out", "--role", "admin", "--db", dsn)
	cmd.Env = serverEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// fakeCallAPI is a generic provider's calling API: POST /calls names a call
// "poll-N" when the message it carries (the alert's) says "poll", else
// "dtmf-N"; GET /calls/{id} answers
// "completed" for "poll" calls and "in-progress" for others, and counts
// the fetches of each call.
type fakeCallAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	placed int
	fetch  map[string]int
}

func newFakeCallAPI() *fakeCallAPI {
	f := &fakeCallAPI{fetch: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/calls":
			var in struct {
				Message string `json:"message"`
			}
			json.NewDecoder(r.Body).Decode(&in)
			f.placed++
			kind := "dtmf"
			if strings.Contains(in.Message, "poll") {
				kind = "poll"
			}
			fmt.Fprintf(w, `{"call_id":"%s-%d","status":"queued"}`, kind, f.placed)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/calls/"):
			id := strings.TrimPrefix(r.URL.Path, "/calls/")
			f.fetch[id]++
			st := "in-progress"
			if strings.HasPrefix(id, "poll-") {
				st = "completed"
			}
			fmt.Fprintf(w, `{"call_id":%q,"status":%q}`, id, st)
		default:
			http.NotFound(w, r)
		}
	}))
	return f
}

func (f *fakeCallAPI) fetches() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.fetch)
}

// scaleClient calls the API of either instance with the admin token.
type scaleClient struct {
	t     *testing.T
	token string
	http  *http.Client
}

func (c *scaleClient) do(method, u string, in, out any, want int) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, u, err, raw)
		}
	}
}

// createChannel creates an unsigned generic channel whose calls are placed
// and polled through apiURL.
func (c *scaleClient) createChannel(base, apiURL string) channelJSON {
	var ch channelJSON
	c.do(http.MethodPost, base+"/api/v1/channels", map[string]any{"name": "Scale-out",
		"provider": map[string]any{"type": "generic", "config": map[string]string{"api_url": apiURL}}}, &ch, http.StatusCreated)
	return ch
}

// createAlert creates an alert calling targets; kind, its title and message,
// names its calls at the fake API.
func (c *scaleClient) createAlert(base, channelID, kind string, targets ...string) int64 {
	var v voice.AlertView
	c.do(http.MethodPost, base+"/api/v1/alerts", map[string]any{"title": "Scale-out " + kind, "message": kind,
		"channel_id": channelID, "targets": targets}, &v, http.StatusCreated)
	return v.ID
}

func (c *scaleClient) alert(base string, id int64) voice.AlertView {
	var v voice.AlertView
	c.do(http.MethodGet, base+"/api/v1/alerts/"+strconv.FormatInt(id, 10), nil, &v, http.StatusOK)
	return v
}

// postCallback posts a callback and fails the test unless it is answered 200.
func (c *scaleClient) postCallback(u, body string, out any) {
	resp, err := c.http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		c.t.Error(err)
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Errorf("POST %s: %d %s", body, resp.StatusCode, raw)
		return
	}
	if out != nil {
		json.Unmarshal(raw, out)
	}
}

// callStates lists every call of the database as one instance reports it.
func (c *scaleClient) callStates(base string) []voice.CallView {
	var page struct {
		Items []voice.CallView `json:"items"`
	}
	c.do(http.MethodGet, base+"/api/v1/calls?limit=500", nil, &page, http.StatusOK)
	slices.SortFunc(page.Items, func(x, y voice.CallView) int { return int(x.ID - y.ID) })
	for i := range page.Items {
		// Only what the database decides is compared.
		page.Items[i] = voice.CallView{ID: page.Items[i].ID, ProviderCallID: page.Items[i].ProviderCallID, Status: page.Items[i].Status}
	}
	return page.Items
}

// metrics scrapes /metrics into series → value (histograms' _sum and
// _count included).
func (c *scaleClient) metrics(base string) map[string]float64 {
	resp, err := c.http.Get(base + "/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

func dialStream(t *testing.T, base, token, query string) *websocket.Conn {
	t.Helper()
	u := strings.Replace(base, "http://", "ws://", 1) + "/api/v1/stream" + query
	conn, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	return conn
}
