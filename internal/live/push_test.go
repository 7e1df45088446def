package live

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"callhook/internal/store"
	"callhook/internal/voice"
	"callhook/views"
)

// fakeReads counts the renderer's store reads.
type fakeReads struct {
	feed   []voice.FeedItem
	counts atomic.Int32
	alerts atomic.Int32
	// firingReads counts the reads of the firing alerts (the failed-calls
	// summary).
	firingReads atomic.Int32
	// alert, when set, is what AlertView returns (its ID set to the one asked).
	alert *voice.AlertView
	stats []voice.Stat
}

func (f *fakeReads) FeedAfter(_ context.Context, after int64, limit int) ([]voice.FeedItem, error) {
	var out []voice.FeedItem
	for _, it := range f.feed {
		if it.Seq > after && len(out) < limit {
			out = append(out, it)
		}
	}
	return out, nil
}

func (f *fakeReads) LastSeq(context.Context) (int64, error) {
	if len(f.feed) == 0 {
		return 0, nil
	}
	return f.feed[len(f.feed)-1].Seq, nil
}

func (f *fakeReads) DashboardCounts(context.Context, time.Time, int) (store.Counts, error) {
	f.counts.Add(1)
	return store.Counts{InProgress: 1, Firing: 2, Cap: countCap}, nil
}

func (f *fakeReads) AlertView(_ context.Context, id int64) (voice.AlertView, error) {
	f.alerts.Add(1)
	if f.alert != nil {
		a := *f.alert
		a.ID = id
		return a, nil
	}
	return voice.AlertView{ID: id, Title: "Disk full", State: "firing", Severity: "critical"}, nil
}

func (f *fakeReads) Alerts(context.Context, store.ListFilter) (store.Page[store.Alert], error) {
	f.firingReads.Add(1)
	return store.Page[store.Alert]{Items: []store.Alert{{ID: 3, State: "firing"}}}, nil
}

func (f *fakeReads) AlertViews(ctx context.Context, as []store.Alert) ([]voice.AlertView, error) {
	var out []voice.AlertView
	for _, a := range as {
		v := voice.AlertView{ID: a.ID, Title: "Disk full", State: "firing"}
		if f.alert != nil {
			v = *f.alert
			v.ID = a.ID
		}
		out = append(out, v)
	}
	return out, nil
}

func (f *fakeReads) Stats(context.Context) ([]voice.Stat, error) { return f.stats, nil }

func (f *fakeReads) Alert(_ context.Context, id int64) (*store.Alert, error) {
	return &store.Alert{ID: id, Title: "Disk full", State: "firing"}, nil
}

func (f *fakeReads) CachedChannel(_ context.Context, id string) (*store.Channel, error) {
	return &store.Channel{ID: id, Name: id}, nil
}

func ptr[T any](v T) *T { return &v }

func callItem(seq, callID int64, status string) voice.FeedItem {
	b, _ := json.Marshal(voice.CallView{ID: callID, Status: status, ChannelID: "oncall", Provider: "generic"})
	return voice.FeedItem{Seq: seq, Type: voice.FeedCallUpdated, CallID: ptr(callID), Data: string(b)}
}

func eventItem(seq, callID, eventID int64, status string) voice.FeedItem {
	b, _ := json.Marshal(voice.EventView{ID: eventID, EventType: "status", Status: status})
	return voice.FeedItem{Seq: seq, Type: voice.FeedEvent, CallID: ptr(callID), Data: string(b)}
}

func alertItem(seq, alertID int64) voice.FeedItem {
	b, _ := json.Marshal(voice.AlertView{ID: alertID, Title: "Disk full", State: "firing"})
	return voice.FeedItem{Seq: seq, Type: voice.FeedAlertCreated, AlertID: ptr(alertID), Data: string(b)}
}

// queued holds the lines of a client's frames not yet read by recv.
var queued = map[*Client][]frame{}

// recv reads one line of a client's frames (the renderer joins a batch's
// messages for one console into one frame, one JSON object a line) or
// fails after a second.
func recv(t *testing.T, c *Client) frame {
	t.Helper()
	if q := queued[c]; len(q) > 0 {
		queued[c] = q[1:]
		return q[0]
	}
	select {
	case f := <-c.send:
		var q []frame
		for line := range bytes.SplitSeq(f.data, []byte("\n")) {
			q = append(q, frame{seq: f.seq, data: line})
		}
		queued[c] = q[1:]
		return q[0]
	case <-time.After(time.Second):
		t.Fatal("no frame")
	}
	return frame{}
}

func none(t *testing.T, c *Client) {
	t.Helper()
	if q := queued[c]; len(q) > 0 {
		t.Fatalf("unexpected frame %s", q[0].data)
	}
	select {
	case f := <-c.send:
		t.Fatalf("unexpected frame %s", f.data)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestPushRendersOnceForEverySubscriber(t *testing.T) {
	reads := &fakeReads{}
	h := NewHub(16)
	defer h.Close()
	h.StartRenderer(reads, views.Live{})
	var subs []*Client
	for range 50 {
		subs = append(subs, h.SubscribeConsole("u", false, []string{"dashboard"}))
	}
	api := h.Subscribe("")
	h.Publish([]voice.FeedItem{callItem(1, 7, "ringing"), alertItem(2, 3)})

	var first []byte
	for i, c := range subs {
		push, att := recv(t, c), recv(t, c)
		if i == 0 {
			first = push.data
			// HTML goes as it is: \u003c for every < doubled a push's size.
			if bytes.Contains(push.data, []byte(`\u003c`)) || !bytes.Contains(push.data, []byte(`<tr id=`)) {
				t.Fatalf("push escapes its HTML: %.200s", push.data)
			}
		} else if &push.data[0] != &first[0] {
			t.Fatal("subscribers got separately encoded pushes: the batch was rendered more than once")
		}
		var m pushMsg
		if err := json.Unmarshal(push.data, &m); err != nil || m.Type != "push" || m.Seq != 2 || m.Topic != "dashboard" {
			t.Fatalf("push %s", push.data)
		}
		regions := map[string]bool{}
		for _, f := range m.Frags {
			regions[f.Region+"/"+f.ID] = true
		}
		for _, want := range []string{"dash-calls/call-row-7", "dash-alerts/alert-card-3", "dash-counters/"} {
			if !regions[want] {
				t.Fatalf("push lacks %s: %s", want, push.data)
			}
		}
		var a attentionMsg
		if err := json.Unmarshal(att.data, &a); err != nil || a.Type != "attention" || a.Firing != 2 || len(a.New) != 1 || a.New[0].ID != 3 {
			t.Fatalf("attention %s", att.data)
		}
	}
	if n, m := reads.counts.Load(), reads.alerts.Load(); n != 1 || m != 1 {
		t.Errorf("store read %d counts and %d alerts for 50 subscribers, want 1 and 1", n, m)
	}
	// The API stream still gets the JSON rows, and no fragments.
	if f := <-api.send; f.seq != 2 || len(streamRows(t, f.rows.bytes)) != 2 {
		t.Fatalf("api frame %+v, want the batch's 2 rows", f)
	}
	none(t, api)
}

func TestPushTopicsAndOrder(t *testing.T) {
	h := NewHub(64)
	defer h.Close()
	h.StartRenderer(&fakeReads{}, views.Live{})
	call7 := h.SubscribeConsole("u", false, []string{"call:7"})
	call8 := h.SubscribeConsole("u", false, []string{"call:8"})
	for seq := int64(1); seq <= 5; seq++ {
		h.Publish([]voice.FeedItem{eventItem(seq, 7, 100+seq, "ringing")})
	}
	var last int64
	seen := 0
	for seen < 5 {
		f := recv(t, call7)
		var m pushMsg
		if err := json.Unmarshal(f.data, &m); err != nil || m.Topic != "call:7" {
			t.Fatalf("frame %s", f.data)
		}
		if m.Seq <= last {
			t.Fatalf("seq %d after %d: out of order", m.Seq, last)
		}
		last = m.Seq
		for _, fr := range m.Frags {
			if fr.Region != "call-timeline" || !strings.Contains(fr.HTML, `id="`+fr.ID+`"`) {
				t.Fatalf("fragment %+v", fr)
			}
			seen++
		}
	}
	if last != 5 {
		t.Errorf("last seq %d, want 5", last)
	}
	none(t, call8) // a page of another call hears nothing of call 7
}

func TestCatchUp(t *testing.T) {
	reads := &fakeReads{}
	for seq := int64(1); seq <= resumeMax+10; seq++ {
		reads.feed = append(reads.feed, eventItem(seq, 7, seq, "ringing"))
	}
	tests := []struct {
		name       string
		after      int64
		wantType   string
		wantSeq    int64
		wantFrames int
	}{
		{"a few missed: pushed", resumeMax + 5, "push", resumeMax + 10, 1},
		{"none missed", resumeMax + 10, "", resumeMax + 10, 0},
		{"too far behind: reload", 1, "reload", resumeMax + 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]byte
			seq, firing, ok := catchUp(context.Background(), reads, views.Live{}, false, []string{"call:7"}, tt.after, func(b []byte) bool {
				got = append(got, b)
				return true
			})
			if !ok || seq != tt.wantSeq || firing == nil || *firing != 2 || len(got) != tt.wantFrames {
				t.Fatalf("seq %d ok %v frames %d, want seq %d and %d frames", seq, ok, len(got), tt.wantSeq, tt.wantFrames)
			}
			if tt.wantFrames == 0 {
				return
			}
			var m pushMsg
			if err := json.Unmarshal(got[0], &m); err != nil || m.Type != tt.wantType {
				t.Fatalf("frame %s, want %s", got[0], tt.wantType)
			}
			if tt.wantType == "push" && len(m.Frags) != 5 {
				t.Errorf("%d fragments for 5 missed events", len(m.Frags))
			}
		})
	}
}

func TestValidTopic(t *testing.T) {
	for topic, want := range map[string]bool{
		"dashboard": true, "call:7": true, "alert:12": true, "stats": true,
		"call:": false, "call:07": false, "call:-1": false, "channels": false, "": false, "alert:x": false,
	} {
		if ValidTopic(topic) != want {
			t.Errorf("ValidTopic(%q) = %v", topic, !want)
		}
	}
}

// pushOf reads one push message of topic from c.
func pushOf(t *testing.T, c *Client, topic string) pushMsg {
	t.Helper()
	f := recv(t, c)
	var m pushMsg
	if err := json.Unmarshal(f.data, &m); err != nil || m.Type != "push" || m.Topic != topic {
		t.Fatalf("frame %s, want a push of %s", f.data, topic)
	}
	return m
}

// fragOf returns the fragment of region in m.
func fragOf(t *testing.T, m pushMsg, region string) Frag {
	t.Helper()
	for _, f := range m.Frags {
		if f.Region == region {
			return f
		}
	}
	t.Fatalf("push of %s has no %s fragment: %+v", m.Topic, region, m.Frags)
	return Frag{}
}

func TestPushAlertPage(t *testing.T) {
	failed := []voice.CallView{{ID: 9, Status: "busy", ChannelID: "oncall", Provider: "generic"}}
	tests := []struct {
		name string
		// alert is the alert's state after the change.
		alert            voice.AlertView
		viewer, admin    []string // in the viewer's and the admin's alert-detail
		notViewer        []string
		sameForBothRoles bool
	}{
		{
			name:             "acknowledged on the phone",
			alert:            voice.AlertView{Title: "Disk full", State: "acknowledged", Severity: "critical", AcknowledgedBy: ptr("+15550001111")},
			viewer:           []string{`<dd id="alert-state"><span class="badge acknowledged">`, "+15550001111", `/alerts/3/resolve`},
			admin:            []string{`<span class="badge acknowledged">`},
			notViewer:        []string{`/acknowledge"`, "Call again"},
			sameForBothRoles: true,
		},
		{
			name:      "every call failed",
			alert:     voice.AlertView{Title: "Disk full", State: "firing", Severity: "critical", Calls: failed},
			viewer:    []string{"Nobody has been reached", "An admin can call"},
			admin:     []string{"Nobody has been reached", "/alerts/3/call-again"},
			notViewer: []string{"/call-again"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.alert
			reads := &fakeReads{alert: &a}
			h := NewHub(16)
			defer h.Close()
			h.StartRenderer(reads, views.Live{})
			viewer := h.SubscribeConsole("v", false, []string{"alert:3"})
			admin := h.SubscribeConsole("a", true, []string{"alert:3"})
			other := h.SubscribeConsole("v", false, []string{"alert:4"})
			b, _ := json.Marshal(a)
			h.Publish([]voice.FeedItem{{Seq: 1, Type: voice.FeedAlertUpdated, AlertID: ptr(int64(3)), Data: string(b)}})

			v := fragOf(t, pushOf(t, viewer, "alert:3"), "alert-detail")
			ad := fragOf(t, pushOf(t, admin, "alert:3"), "alert-detail")
			if v.Op != "inner" || ad.Op != "inner" {
				t.Fatalf("ops %q and %q, want inner", v.Op, ad.Op)
			}
			for _, s := range tt.viewer {
				if !strings.Contains(v.HTML, s) {
					t.Errorf("viewer's alert page lacks %q", s)
				}
			}
			for _, s := range tt.admin {
				if !strings.Contains(ad.HTML, s) {
					t.Errorf("admin's alert page lacks %q", s)
				}
			}
			for _, s := range tt.notViewer {
				if strings.Contains(v.HTML, s) {
					t.Errorf("viewer's alert page has %q", s)
				}
			}
			if (v.HTML == ad.HTML) != tt.sameForBothRoles {
				t.Errorf("viewer and admin variants equal: %v, want %v", v.HTML == ad.HTML, tt.sameForBothRoles)
			}
			if strings.Contains(v.HTML, `name="_csrf" value="`) && !strings.Contains(v.HTML, `name="_csrf" value=""`) {
				t.Error("a pushed form carries a session's token")
			}
			// Another alert's page hears nothing of alert 3 but the firing count.
			if f := recv(t, other); !strings.HasPrefix(string(f.data), `{"type":"attention"`) {
				t.Fatalf("alert 4's page got %s", f.data)
			}
			none(t, other)
		})
	}
}

func TestPushFailedSummaryOnlyWhenItChanges(t *testing.T) {
	a := voice.AlertView{Title: "Disk full", State: "firing", Severity: "critical",
		Calls: []voice.CallView{{ID: 9, Status: "ringing", ChannelID: "oncall"}}}
	reads := &fakeReads{alert: &a}
	h := NewHub(16)
	defer h.Close()
	h.StartRenderer(reads, views.Live{})
	dash := h.SubscribeConsole("v", false, []string{"dashboard"})
	drain := func() pushMsg {
		m := pushOf(t, dash, "dashboard")
		recv(t, dash) // the attention message
		return m
	}
	up := func(seq int64) {
		h.Publish([]voice.FeedItem{{Seq: seq, Type: voice.FeedAlertUpdated, AlertID: ptr(int64(3)), Data: "{}"}})
	}

	// The first change reads the summary (nothing failed yet).
	up(1)
	if f := fragOf(t, drain(), "alerts-failed"); f.Op != "inner" || strings.Contains(f.HTML, "Every call failed") {
		t.Fatalf("summary %+v", f)
	}
	// A change that leaves the alert out of the summary reads nothing more.
	up(2)
	for _, f := range drain().Frags {
		if f.Region == "alerts-failed" {
			t.Fatalf("summary sent again though unchanged: %+v", f)
		}
	}
	// Its call fails: the alert joins the summary.
	a.Calls = []voice.CallView{{ID: 9, Status: "busy", ChannelID: "oncall"}}
	up(3)
	if f := fragOf(t, drain(), "alerts-failed"); !strings.Contains(f.HTML, "Every call failed for 1 firing alert") || !strings.Contains(f.HTML, `href="/alerts/3"`) {
		t.Fatalf("summary %s", f.HTML)
	}
	if n := reads.firingReads.Load(); n != 2 {
		t.Errorf("firing alerts read %d times for 3 changes, want 2 (the first and the one that changed the summary)", n)
	}
}

func TestPushStatsTable(t *testing.T) {
	reads := &fakeReads{stats: []voice.Stat{{ChannelID: "oncall", Provider: "generic", Calls: 1}}}
	h := NewHub(16)
	defer h.Close()
	h.StartRenderer(reads, views.Live{})
	stats := h.SubscribeConsole("v", false, []string{"stats"})
	h.Publish([]voice.FeedItem{callItem(1, 7, "ringing")})
	f := fragOf(t, pushOf(t, stats, "stats"), "stats-table")
	if f.Op != "inner" || !strings.Contains(f.HTML, `data-row="stat-oncall-generic-1-0"`) {
		t.Fatalf("stats fragment %+v", f)
	}

	// The store's cached totals catch up later: the recheck sends them,
	// outside the feed's sequence; an unchanged table is not sent again.
	st := &renderState{stats: f.HTML}
	h.pushStats(reads, views.Live{}, st)
	none(t, stats)
	reads.stats = []voice.Stat{{ChannelID: "oncall", Provider: "generic", Calls: 1, Answered: 1, AnsweredRate: 1}}
	h.pushStats(reads, views.Live{}, st)
	m := pushOf(t, stats, "stats")
	if f := fragOf(t, m, "stats-table"); m.Seq != 0 || !strings.Contains(f.HTML, "stat-oncall-generic-1-1") {
		t.Fatalf("recheck seq %d %+v", m.Seq, f)
	}
}

// TestPushFramesOnceForConsolesAlike: consoles with the same topics and
// role get one message, framed once; a console showing other topics or in
// another role gets its own.
func TestPushFramesOnceForConsolesAlike(t *testing.T) {
	a := voice.AlertView{Title: "Disk full", State: "firing", Calls: []voice.CallView{{ID: 9, Status: "busy"}}}
	h := NewHub(16)
	defer h.Close()
	h.StartRenderer(&fakeReads{alert: &a}, views.Live{})
	var dash []*Client
	for range 3 {
		dash = append(dash, h.SubscribeConsole("v", false, []string{"dashboard"}))
	}
	admin := h.SubscribeConsole("a", true, []string{"dashboard"})
	calls := h.SubscribeConsole("v", false, []string{"dashboard", "calls"})
	h.Publish([]voice.FeedItem{callItem(1, 9, "busy"), {Seq: 2, Type: voice.FeedAlertUpdated, AlertID: ptr(int64(3)), Data: "{}"}})
	get := func(c *Client) frame {
		select {
		case f := <-c.send:
			return f
		case <-time.After(time.Second):
			t.Fatal("no frame")
		}
		return frame{}
	}
	first := get(dash[0])
	if first.pm == nil || first.seq != 2 {
		t.Fatalf("frame seq %d prepared %v", first.seq, first.pm != nil)
	}
	for _, c := range dash[1:] {
		if get(c).pm != first.pm {
			t.Error("consoles with the same topics got separately framed messages")
		}
	}
	for _, c := range []*Client{admin, calls} {
		if f := get(c); f.pm == first.pm || f.pm == nil {
			t.Error("a console with other topics or another role shares the dashboard viewers' message")
		}
	}
}
