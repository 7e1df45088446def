package callback_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"callhook/internal/callback"
	"callhook/internal/channel"
	"callhook/internal/provider"
	"callhook/internal/provider/generic"
	"callhook/internal/provider/twilio"
	"callhook/internal/store"
	"callhook/internal/store/storetest"
	"callhook/internal/voice"
)

type env struct {
	t    testing.TB
	st   *store.Store
	svc  *callback.Service
	ch   *store.Channel
	now  time.Time
	feed chan []voice.FeedItem
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st := storetest.Open(t)
	e := &env{t: t, st: st, now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), feed: make(chan []voice.FeedItem, 100)}
	st.SetOnCommit(func(items []voice.FeedItem) {
		select {
		case e.feed <- items:
		default: // nobody is reading (benchmarks): never block the writer
		}
	})
	reg := provider.NewRegistry(generic.Spec())
	e.svc = &callback.Service{Store: st, Providers: reg, PublicURL: "http://127.0.0.1:8080", Now: func() time.Time { return e.now }}
	m := &channel.Manager{Store: st, Providers: reg, PublicURL: "http://127.0.0.1:8080"}
	ch, err := m.Create(context.Background(), channel.Input{ID: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	e.ch = ch
	return e
}

func (e *env) post(body string) callback.Result {
	return e.postWith(e.ch.ID, e.ch.Secret, "application/json", body, nil)
}

func (e *env) postWith(chID, secret, ct, body string, hdr map[string]string) callback.Result {
	h := http.Header{}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		h.Set(k, v)
	}
	return e.svc.Handle(context.Background(), callback.Inbound{ChannelID: chID, Secret: secret, Method: "POST",
		Header: h, Body: []byte(body)})
}

// register registers a call for alert (0: none) through the same transaction
// the API uses.
func (e *env) register(providerCallID string, alertID int64) *store.Call {
	e.t.Helper()
	c := &store.Call{ChannelID: e.ch.ID, Provider: "generic", ProviderCallID: providerCallID, To: "+15550001"}
	if alertID != 0 {
		c.AlertID = &alertID
	}
	err := e.st.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.RegisterCall(ctx, c, e.ch, e.now)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) alert() int64 {
	e.t.Helper()
	a := &store.Alert{Title: "disk full", Severity: "critical", ChannelID: &e.ch.ID}
	if err := e.st.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.CreateAlert(ctx, a, e.now)
	}); err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

func (e *env) call(id int64) voice.CallView {
	e.t.Helper()
	v, err := e.st.CallView(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) lastCallback() *store.Callback {
	e.t.Helper()
	p, err := e.st.Callbacks(context.Background(), store.ListFilter{Limit: 1})
	if err != nil || len(p.Items) == 0 {
		e.t.Fatalf("no callback stored: %v", err)
	}
	cb, err := e.st.Callback(context.Background(), p.Items[0].ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return cb
}

func TestRejections(t *testing.T) {
	e := newEnv(t)
	big := `{"call_id":"x","event_type":"status","status":"ringing","pad":"` + strings.Repeat("a", 100) + `"}`
	tests := []struct {
		name       string
		channel    string
		secret     string
		ct         string
		body       string
		tooLarge   bool
		wantStatus int
		wantReason string
		wantInBody string
	}{
		{"unknown channel", "nope", e.ch.Secret, "application/json", `{}`, false, 404, callback.ReasonUnknownChannel, `"not found"`},
		{"wrong secret", e.ch.ID, "wrong", "application/json", `{}`, false, 404, callback.ReasonBadSecret, `"not found"`},
		{"empty secret", e.ch.ID, "", "application/json", `{}`, false, 404, callback.ReasonBadSecret, `"not found"`},
		{"malformed JSON", e.ch.ID, e.ch.Secret, "application/json", `{"call_id":`, false, 400, callback.ReasonBadPayload, "invalid JSON"},
		{"missing call_id", e.ch.ID, e.ch.Secret, "application/json", `{"event_type":"status","status":"ringing"}`, false, 400, callback.ReasonBadPayload, "call_id is required"},
		{"wrong content type", e.ch.ID, e.ch.Secret, "text/plain", `call_id=a`, false, 415, callback.ReasonUnsupportedMedia, "application/json"},
		{"form content type", e.ch.ID, e.ch.Secret, "application/x-www-form-urlencoded", `call_id=a`, false, 415, callback.ReasonUnsupportedMedia, ""},
		{"too large", e.ch.ID, e.ch.Secret, "application/json", big, true, 413, callback.ReasonTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {tt.ct}}
			res := e.svc.Handle(context.Background(), callback.Inbound{ChannelID: tt.channel, Secret: tt.secret,
				Method: "POST", Header: h, Body: []byte(tt.body), TooLarge: tt.tooLarge})
			if res.Status != tt.wantStatus || res.Reason != tt.wantReason {
				t.Fatalf("status %d reason %q, want %d %q (body %s)", res.Status, res.Reason, tt.wantStatus, tt.wantReason, res.Body)
			}
			if !strings.Contains(string(res.Body), tt.wantInBody) {
				t.Errorf("body %s does not name %q", res.Body, tt.wantInBody)
			}
			cb := e.lastCallback()
			if cb.Outcome != store.OutcomeRejected || cb.Reason != tt.wantReason || cb.StatusCode != tt.wantStatus {
				t.Errorf("stored outcome %q reason %q status %d", cb.Outcome, cb.Reason, cb.StatusCode)
			}
			if string(cb.Body) != tt.body {
				t.Errorf("stored body %q, want %q", cb.Body, tt.body)
			}
			if strings.Contains(cb.Path, e.ch.Secret) {
				t.Errorf("stored path %q contains the secret", cb.Path)
			}
		})
	}
	// Unknown channel and wrong secret answer the very same body.
	a := e.postWith("nope", "x", "application/json", "{}", nil)
	b := e.postWith(e.ch.ID, "x", "application/json", "{}", nil)
	if string(a.Body) != string(b.Body) || a.Status != b.Status {
		t.Errorf("unknown channel %d %s vs wrong secret %d %s: an oracle", a.Status, a.Body, b.Status, b.Body)
	}
}

func TestStatusLifecycleAndOutOfOrder(t *testing.T) {
	e := newEnv(t)
	c := e.register("call-1", 0)
	for i, st := range []string{"ringing", "answered", "completed", "answered", "ringing"} {
		// Distinct bodies: a byte-identical retry would be a duplicate instead.
		res := e.post(fmt.Sprintf(`{"call_id":"call-1","event_type":"status","status":%q,"message":"n%d"}`, st, i))
		if res.Status != 200 || res.Outcome != store.OutcomeAccepted {
			t.Fatalf("%s: %d %s %s", st, res.Status, res.Outcome, res.Body)
		}
	}
	v := e.call(c.ID)
	if v.Status != "completed" {
		t.Errorf("status %q, want completed (late answered/ringing must not move it back)", v.Status)
	}
	if len(v.Events) != 5 {
		t.Errorf("timeline has %d events, want all 5 kept", len(v.Events))
	}
	if got := v.Events[len(v.Events)-1].Status; got != "ringing" {
		t.Errorf("last timeline event %q, want the late ringing kept", got)
	}
}

func TestTimelineOrderedBySequence(t *testing.T) {
	e := newEnv(t)
	c := e.register("seq-1", 0)
	for _, p := range []struct{ seq, st string }{{"2", "answered"}, {"0", "queued"}, {"3", "completed"}, {"1", "ringing"}} {
		if res := e.post(`{"call_id":"seq-1","event_type":"status","status":"` + p.st + `","sequence":` + p.seq + `}`); res.Status != 200 {
			t.Fatal(res.Status, string(res.Body))
		}
	}
	v := e.call(c.ID)
	var got []string
	for _, ev := range v.Events {
		got = append(got, ev.Status)
	}
	if strings.Join(got, ",") != "queued,ringing,answered,completed" || v.Status != "completed" {
		t.Errorf("timeline %v status %s", got, v.Status)
	}
}

func TestDuplicate(t *testing.T) {
	e := newEnv(t)
	a := e.alert()
	c := e.register("dup-1", a)
	body := `{"call_id":"dup-1","event_type":"dtmf","digit":"1"}`
	first := e.post(body)
	second := e.post(body)
	if first.Outcome != store.OutcomeAccepted || second.Outcome != store.OutcomeDuplicate || second.Status != 200 {
		t.Fatalf("outcomes %s/%s status %d", first.Outcome, second.Outcome, second.Status)
	}
	if v := e.call(c.ID); len(v.Events) != 1 {
		t.Errorf("%d events after a duplicate, want 1", len(v.Events))
	}
	al, _ := e.st.AlertView(context.Background(), a)
	if len(al.Changes) != 1 || al.State != "acknowledged" {
		t.Errorf("alert %s with %d changes, want acknowledged once", al.State, len(al.Changes))
	}
	// Same provider event id, different bytes: still a duplicate.
	e.post(`{"call_id":"dup-1","event_type":"status","status":"answered","event_id":"ev-9"}`)
	if r := e.post(`{"event_id":"ev-9","call_id":"dup-1","event_type":"status","status":"answered"}`); r.Outcome != store.OutcomeDuplicate {
		t.Errorf("same event_id, reordered keys: outcome %s, want duplicate", r.Outcome)
	}
}

func TestUnknownCallThenRegister(t *testing.T) {
	e := newEnv(t)
	a := e.alert()
	r1 := e.post(`{"call_id":"late-1","event_type":"status","status":"answered"}`)
	r2 := e.post(`{"call_id":"late-1","event_type":"dtmf","digit":"2"}`)
	if r1.Outcome != store.OutcomeUnmatched || r2.Outcome != store.OutcomeUnmatched || r1.Status != 200 {
		t.Fatalf("outcomes %s %s", r1.Outcome, r2.Outcome)
	}
	c := e.register("late-1", a)
	v := e.call(c.ID)
	if len(v.Events) != 2 || v.Status != "answered" {
		t.Fatalf("after register: %d events, status %s", len(v.Events), v.Status)
	}
	al, _ := e.st.AlertView(context.Background(), a)
	if al.State != "resolved" || al.ResolvedBy == nil || !strings.Contains(*al.ResolvedBy, "digit 2") {
		t.Errorf("alert %s by %v, want resolved by the attached digit 2", al.State, al.ResolvedBy)
	}
}

func TestDTMF(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		dtmf      map[string]string
		wantState string
		wantAct   string
	}{
		{"digit 1 acknowledges", `{"call_id":"C","event_type":"dtmf","digit":"1"}`, nil, "acknowledged", "acknowledge"},
		{"digit 2 resolves", `{"call_id":"C","event_type":"dtmf","digit":"2"}`, nil, "resolved", "resolve"},
		{"numeric digit", `{"call_id":"C","event_type":"dtmf","digit":1}`, nil, "acknowledged", "acknowledge"},
		{"action wins over mapping", `{"call_id":"C","event_type":"dtmf","digit":"1","action":"resolve"}`, nil, "resolved", "resolve"},
		{"action without digit", `{"call_id":"C","event_type":"dtmf","action":"acknowledge"}`, nil, "acknowledged", "acknowledge"},
		{"unmapped digit", `{"call_id":"C","event_type":"dtmf","digit":"9"}`, nil, "firing", ""},
		{"custom multi-digit", `{"call_id":"C","event_type":"dtmf","digit":"787"}`, map[string]string{"787": "resolve"}, "resolved", "resolve"},
		{"custom map drops default", `{"call_id":"C","event_type":"dtmf","digit":"1"}`, map[string]string{"5": "acknowledge"}, "firing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.dtmf != nil {
				m := &channel.Manager{Store: e.st, Providers: e.svc.Providers}
				ch, err := m.Update(context.Background(), e.ch.ID, channel.Input{DTMFMap: &tt.dtmf})
				if err != nil {
					t.Fatal(err)
				}
				e.ch = ch
			}
			a := e.alert()
			c := e.register("C", a)
			res := e.post(tt.body)
			if res.Status != 200 {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
			al, _ := e.st.AlertView(context.Background(), a)
			if al.State != tt.wantState {
				t.Errorf("alert state %s, want %s", al.State, tt.wantState)
			}
			v := e.call(c.ID)
			if len(v.Events) != 1 || v.Events[0].Action != tt.wantAct || v.Events[0].EventType != "dtmf" {
				t.Fatalf("events %+v", v.Events)
			}
			if tt.wantState != "firing" {
				if len(al.Changes) != 1 || al.Changes[0].Via != "dtmf" || *al.Changes[0].CallID != c.ID {
					t.Errorf("changes %+v", al.Changes)
				}
			}
			// Pressing again changes nothing more.
			e.post(strings.Replace(tt.body, `"call_id"`, `"message":"again","call_id"`, 1))
			al2, _ := e.st.AlertView(context.Background(), a)
			if len(al2.Changes) != len(al.Changes) {
				t.Errorf("a repeated key changed the alert again: %d changes", len(al2.Changes))
			}
		})
	}
}

func TestBatchAndError(t *testing.T) {
	e := newEnv(t)
	a := e.alert()
	c := e.register("B", a)
	res := e.post(`[{"call_id":"B","event_type":"status","status":"ringing"},
		{"call_id":"B","event_type":"status","status":"answered"},
		{"call_id":"B","event_type":"dtmf","digit":"1"},
		{"call_id":"unknown","event_type":"status","status":"ringing"},
		{"call_id":"B","event_type":"error","status":"failed","message":"Insufficient balance"}]`)
	if res.Status != 200 || res.Outcome != store.OutcomeAccepted {
		t.Fatalf("%d %s %s", res.Status, res.Outcome, res.Body)
	}
	v := e.call(c.ID)
	if len(v.Events) != 4 || v.Status != "failed" {
		t.Errorf("%d events status %s, want 4 and failed", len(v.Events), v.Status)
	}
	last := v.Events[3]
	if last.EventType != "error" || last.Message != "Insufficient balance" {
		t.Errorf("error event %+v", last)
	}
	var reply struct {
		Events []struct {
			Matched bool `json:"matched"`
		} `json:"events"`
	}
	if err := json.Unmarshal(res.Body, &reply); err != nil || len(reply.Events) != 5 || reply.Events[3].Matched {
		t.Errorf("reply %s", res.Body)
	}
	// One bad item rejects the whole batch and stores nothing but the rejection.
	bad := e.post(`[{"call_id":"B","event_type":"status","status":"ringing"},{"event_type":"status"}]`)
	if bad.Status != 400 || !strings.Contains(string(bad.Body), "item 1") {
		t.Errorf("bad batch: %d %s", bad.Status, bad.Body)
	}
	if v := e.call(c.ID); len(v.Events) != 4 {
		t.Errorf("bad batch added events: %d", len(v.Events))
	}
}

func TestSignature(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.st.SetGlobalProvider(ctx, "generic", map[string]string{"signing_secret": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	e.register("S", 0)
	body := `{"call_id":"S","event_type":"status","status":"ringing"}`
	ts := e.now.Unix()
	sig := generic.Sign("s3cret", ts, []byte(body))
	tests := []struct {
		name       string
		hdr        map[string]string
		wantStatus int
		wantReason string
	}{
		{"valid", map[string]string{generic.HeaderTimestamp: strconv.FormatInt(ts, 10), generic.HeaderSignature: sig}, 200, ""},
		{"missing", nil, 401, callback.ReasonBadSignature},
		{"tampered", map[string]string{generic.HeaderTimestamp: strconv.FormatInt(ts, 10), generic.HeaderSignature: generic.Sign("other", ts, []byte(body))}, 401, callback.ReasonBadSignature},
		{"stale", map[string]string{generic.HeaderTimestamp: strconv.FormatInt(ts-600, 10), generic.HeaderSignature: generic.Sign("s3cret", ts-600, []byte(body))}, 401, callback.ReasonStaleTimestamp},
		{"future", map[string]string{generic.HeaderTimestamp: strconv.FormatInt(ts+600, 10), generic.HeaderSignature: generic.Sign("s3cret", ts+600, []byte(body))}, 401, callback.ReasonStaleTimestamp},
		{"timestamp swapped", map[string]string{generic.HeaderTimestamp: strconv.FormatInt(ts-1, 10), generic.HeaderSignature: sig}, 401, callback.ReasonBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.postWith(e.ch.ID, e.ch.Secret, "application/json", body, tt.hdr)
			if res.Status != tt.wantStatus || res.Reason != tt.wantReason {
				t.Errorf("status %d reason %q, want %d %q: %s", res.Status, res.Reason, tt.wantStatus, tt.wantReason, res.Body)
			}
		})
	}
}

func TestSecretRotationGrace(t *testing.T) {
	e := newEnv(t)
	m := &channel.Manager{Store: e.st, Providers: e.svc.Providers, Now: func() time.Time { return e.now }}
	old := e.ch.Secret
	ch, err := m.Rotate(context.Background(), e.ch.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"call_id":"R","event_type":"status","status":"ringing"}`
	if r := e.postWith(ch.ID, old, "application/json", body, nil); r.Status != 200 {
		t.Errorf("old secret in grace: %d", r.Status)
	}
	if r := e.postWith(ch.ID, ch.Secret, "application/json", body+" ", nil); r.Status != 200 {
		t.Errorf("new secret: %d", r.Status)
	}
	e.now = e.now.Add(2 * time.Hour)
	if r := e.postWith(ch.ID, old, "application/json", body+"  ", nil); r.Status != 404 || r.Reason != callback.ReasonBadSecret {
		t.Errorf("old secret after grace: %d %s", r.Status, r.Reason)
	}
}

func TestCommitFailureSendsNo2xx(t *testing.T) {
	e := newEnv(t)
	c := e.register("F", 0)
	before, _ := e.st.Callbacks(context.Background(), store.ListFilter{})
	e.st.SetFailCommit(func() error { return errors.New("disk full") })
	res := e.post(`{"call_id":"F","event_type":"status","status":"answered"}`)
	if res.Status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 when the commit fails", res.Status)
	}
	e.st.SetFailCommit(nil)
	v := e.call(c.ID)
	after, _ := e.st.Callbacks(context.Background(), store.ListFilter{})
	if v.Status != "queued" || len(v.Events) != 0 || len(after.Items) != len(before.Items) {
		t.Errorf("half-written: status %s, %d events, callbacks %d -> %d", v.Status, len(v.Events), len(before.Items), len(after.Items))
	}
	// The provider's retry then succeeds: nothing was left behind that would
	// make it look like a duplicate.
	if r := e.post(`{"call_id":"F","event_type":"status","status":"answered"}`); r.Status != 200 || r.Outcome != store.OutcomeAccepted {
		t.Errorf("retry: %d %s", r.Status, r.Outcome)
	}
}

func TestFeedAfterCommit(t *testing.T) {
	e := newEnv(t)
	// Feed batches are handed over after the writer told the caller, so a
	// batch of an earlier write may still arrive: wait for the one wanted.
	batchWith := func(typ string) []voice.FeedItem {
		t.Helper()
		for {
			select {
			case items := <-e.feed:
				for _, it := range items {
					if it.Type == typ {
						return items
					}
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no feed batch with %s", typ)
			}
		}
	}
	e.register("P", 0)
	batchWith(voice.FeedCallCreated)
	e.post(`{"call_id":"P","event_type":"status","status":"ringing"}`)
	items := batchWith(voice.FeedCallback)
	types := map[string]bool{}
	for _, it := range items {
		types[it.Type] = true
	}
	if !types[voice.FeedEvent] || !types[voice.FeedCallUpdated] || !types[voice.FeedCallback] {
		t.Errorf("feed types %v", types)
	}
	for i := 1; i < len(items); i++ {
		if items[i].Seq <= items[i-1].Seq {
			t.Errorf("feed out of order: %d after %d", items[i].Seq, items[i-1].Seq)
		}
	}
}

func TestInboundCallLinksNewestFiringAlert(t *testing.T) {
	e := newEnv(t)
	e.alert()
	a2 := e.alert()
	// A caller not on the allow-list is recorded and changes nothing.
	e.post(`{"call_id":"IN-0","event_type":"status","status":"ringing","direction":"inbound","from":"+15550199"}`)
	e.post(`{"call_id":"IN-0","event_type":"dtmf","digit":"1"}`)
	if al, _ := e.st.AlertView(context.Background(), a2); al.State != "firing" {
		t.Fatalf("an unlisted caller's 1 left the alert %s", al.State)
	}
	if _, err := e.st.UpdateChannel(context.Background(), e.ch.ID, func(c *store.Channel) error {
		c.InboundAllow = []string{"+15550100"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res := e.post(`{"call_id":"IN-1","event_type":"status","status":"ringing","direction":"inbound","from":"+15550100"}`)
	if res.Outcome != store.OutcomeAccepted {
		t.Fatalf("outcome %s", res.Outcome)
	}
	e.post(`{"call_id":"IN-1","event_type":"dtmf","digit":"1"}`)
	al, _ := e.st.AlertView(context.Background(), a2)
	if al.State != "acknowledged" || !strings.Contains(*al.AcknowledgedBy, "+15550100") {
		t.Errorf("newest alert %s by %v", al.State, al.AcknowledgedBy)
	}
}

// recordingReplier is a provider that records the outcomes it renders.
type recordingReplier struct {
	provider.Provider
	outs *[]provider.Outcome
}

func (p recordingReplier) Reply(r *provider.Request, out provider.Outcome) provider.Reply {
	*p.outs = append(*p.outs, out)
	return p.Provider.Reply(r, out)
}

func TestOutcomeCarriesTheChannelsKeypadMapping(t *testing.T) {
	e := newEnv(t)
	var outs []provider.Outcome
	reg := provider.NewRegistry(generic.Spec(), provider.Spec{Name: "recording",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			g, err := generic.Spec().New(cfg, deps)
			return recordingReplier{Provider: g, outs: &outs}, err
		}})
	e.svc.Providers = reg
	if err := e.st.SetGlobalProvider(context.Background(), "recording", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	dtmf := map[string]string{"1": "acknowledge", "*9#": "resolve"}
	ch, err := (&channel.Manager{Store: e.st, Providers: reg, PublicURL: "http://127.0.0.1:8080"}).Create(context.Background(),
		channel.Input{ID: "multi", DTMFMap: &dtmf})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"call_id":"K1","event_type":"status","status":"ringing"}`
	for range 2 { // the duplicate too
		e.postWith(ch.ID, ch.Secret, "application/json", body, nil)
	}
	if len(outs) != 2 {
		t.Fatalf("%d outcomes rendered, want 2", len(outs))
	}
	for _, out := range outs {
		if out.Prompt != "Press 1 to acknowledge. Press star 9 pound to resolve." || out.MaxDigits != 3 {
			t.Errorf("outcome prompt %q MaxDigits %d, want the channel's mapping and 3", out.Prompt, out.MaxDigits)
		}
	}
	if !outs[1].Duplicate {
		t.Error("second delivery is not a duplicate")
	}
	// The default mapping: one key.
	outs = nil
	e.post(body)
	if len(outs) != 1 || outs[0].MaxDigits != 1 || outs[0].Prompt != "Press 1 to acknowledge. Press 2 to resolve." {
		t.Errorf("default channel outcomes %+v, want MaxDigits 1", outs)
	}
}

func TestDedupeKeyScopes(t *testing.T) {
	ev := []voice.Event{{IdempotencyKey: "a"}}
	if string(callback.DedupeKey("c1", "p", ev, "", []byte("x"))) == string(callback.DedupeKey("c2", "p", ev, "", []byte("x"))) {
		t.Error("dedupe key must be scoped to the channel")
	}
	if k := callback.DedupeKey("c", "p", nil, "", []byte("x")); len(k) != 20 || !bytes.Equal(k[:4], []byte{0, 0, 0, 0}) {
		t.Errorf("dedupe key without an event time = %x, want 20 bytes leading with 4 zero bytes", k)
	}
	// GET callbacks have no body: the query tells them apart.
	if string(callback.DedupeKey("c", "p", nil, "call_id=a&status=ringing", nil)) == string(callback.DedupeKey("c", "p", nil, "call_id=a&status=answered", nil)) {
		t.Error("two GET callbacks with different queries share a dedupe key")
	}
}

// Keys lead with the provider's event time, so the keys of one moment sit
// together in the unique index whatever their hashes: keys of later events
// sort after keys of earlier ones, and a retry gets the same key.
func TestDedupeKeyLeadsWithEventTime(t *testing.T) {
	at := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	var prev []byte
	for i := range 50 {
		ev := []voice.Event{{IdempotencyKey: fmt.Sprintf("CA%032d:%d", i*7919, i%5), OccurredAt: at.Add(time.Duration(i) * time.Second)}}
		k := callback.DedupeKey("c", "twilio", ev, "", nil)
		if !bytes.Equal(k, callback.DedupeKey("c", "twilio", ev, "", nil)) {
			t.Fatal("the same event gave two keys")
		}
		if binary.BigEndian.Uint32(k[:4]) != uint32(ev[0].OccurredAt.Unix()) {
			t.Fatalf("key %x does not lead with the event's time %d", k, ev[0].OccurredAt.Unix())
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Fatalf("key of a later event %x sorts before %x", k, prev)
		}
		prev = k
	}
}

func TestDuplicateRepliesWithOriginalOutcome(t *testing.T) {
	e := newEnv(t)
	a := e.alert()
	e.register("D2", a)
	body := `{"call_id":"D2","event_type":"dtmf","digit":"1"}`
	first := e.post(body)
	second := e.post(body)
	var r1, r2 struct {
		Duplicate bool `json:"duplicate"`
		Events    []struct {
			Action  string `json:"action"`
			Applied bool   `json:"applied"`
		} `json:"events"`
	}
	json.Unmarshal(first.Body, &r1)
	json.Unmarshal(second.Body, &r2)
	if !r2.Duplicate || len(r2.Events) != 1 || r2.Events[0].Action != "acknowledge" || !r2.Events[0].Applied {
		t.Errorf("duplicate reply %s, want the original action (first: %s)", second.Body, first.Body)
	}
}

// TestDuplicateResultIsTheOriginal: a duplicate of a callback committed in
// an earlier transaction carries what the original applied, read back
// after the commit: the actions, the matched call and its alert as it is
// now, which the providers' replies speak ("Alert acknowledged").
func TestDuplicateResultIsTheOriginal(t *testing.T) {
	e := newEnv(t)
	a := e.alert()
	c := e.register("D3", a)
	in := func() store.Ingest {
		return store.Ingest{Callback: &store.Callback{ChannelID: e.ch.ID, Method: "POST", Path: "/x"},
			Channel: e.ch, Provider: "generic", DedupeKey: []byte("dup-result-key-1"), Now: e.now,
			Events: []voice.Event{
				{CallID: "D3", Type: voice.EventStatus, Status: voice.StatusAnswered, Sequence: -1},
				{CallID: "D3", Type: voice.EventDTMF, Digit: "1", Sequence: -1},
				{CallID: "nobody", Type: voice.EventStatus, Status: voice.StatusRinging, Sequence: -1},
			}}
	}
	first, err := e.st.Ingest(context.Background(), in())
	if err != nil {
		t.Fatal(err)
	}
	dup, err := e.st.Ingest(context.Background(), in())
	if err != nil {
		t.Fatal(err)
	}
	if !dup.Duplicate || len(dup.Applied) != 3 {
		t.Fatalf("duplicate result %+v", dup)
	}
	for i, want := range first.Applied {
		got := dup.Applied[i]
		if got.Action != want.Action || got.Changed != want.Changed || got.Matched != want.Matched ||
			got.CallID != want.CallID || got.AlertID != want.AlertID || got.Event.Digit != want.Event.Digit {
			t.Errorf("event %d: duplicate %+v, original %+v", i, got, want)
		}
	}
	if g := dup.Applied[1]; g.Action != "acknowledge" || g.CallID != c.ID || g.AlertID != a || dup.Applied[2].Matched {
		t.Errorf("duplicate events %+v", dup.Applied)
	}
	if dup.Alert == nil || dup.Alert.ID != a || dup.Alert.State != voice.AlertAcknowledged || dup.Alert.Title != "disk full" {
		t.Errorf("duplicate alert %+v, want alert %d acknowledged", dup.Alert, a)
	}
}

func TestAltCallIDMatches(t *testing.T) {
	e := newEnv(t)
	c := e.register("request-uuid-1", 0)
	_, err := e.st.Ingest(context.Background(), store.Ingest{Callback: &store.Callback{ChannelID: e.ch.ID, Method: "POST", Path: "/x"},
		Channel: e.ch, Provider: "generic", DedupeKey: []byte("0123456789abcdef"), Now: e.now,
		Events: []voice.Event{{CallID: "call-uuid-1", AltCallID: "request-uuid-1", Type: voice.EventStatus, Status: voice.StatusRinging, Sequence: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	if v := e.call(c.ID); v.Status != "ringing" || len(v.Events) != 1 {
		t.Errorf("alt id not matched: status %s, %d events", v.Status, len(v.Events))
	}
}

func TestTrustHostForURLSignatures(t *testing.T) {
	e := newEnv(t)
	e.svc.Providers = provider.NewRegistry(generic.Spec(), twilio.Spec())
	token := "0123456789abcdef0123456789abcdef"
	if err := e.st.SetGlobalProvider(context.Background(), "twilio", map[string]string{"auth_token": token}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"CallSid": {"CA1"}, "CallStatus": {"ringing"}}
	seenAs := "http://localhost:9999" + callback.Path + e.ch.ID + "/" + e.ch.Secret
	in := callback.Inbound{ChannelID: e.ch.ID, Secret: e.ch.Secret, Method: "POST", Host: "localhost:9999",
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
			"X-Twilio-Signature": {twilio.Signature(token, seenAs, form)}},
		Body: []byte(form.Encode())}
	if r := e.svc.Handle(context.Background(), in); r.Status != 401 {
		t.Errorf("without TrustHost: %d, want 401", r.Status)
	}
	e.svc.TrustHost = true
	if r := e.svc.Handle(context.Background(), in); r.Status != 200 {
		t.Errorf("with TrustHost: %d %s", r.Status, r.Body)
	}
	in.Host = "evil.example"
	if r := e.svc.Handle(context.Background(), in); r.Status != 401 {
		t.Errorf("other host: %d, want 401", r.Status)
	}
}

func TestStoredStatusIsTheReplyStatus(t *testing.T) {
	e := newEnv(t)
	e.post(`{"call_id":"x","event_type":"status","status":"ringing"}`)
	if cb := e.lastCallback(); cb.StatusCode != 200 || cb.Outcome != store.OutcomeUnmatched {
		t.Errorf("stored %d %s", cb.StatusCode, cb.Outcome)
	}
}

func TestGETCallbacks(t *testing.T) {
	e := newEnv(t)
	c := e.register("G1", 0)
	for _, q := range []string{"call_id=G1&event_type=status&status=ringing", "call_id=G1&event_type=status&status=answered", "call_id=G1&event_type=status&status=answered"} {
		e.svc.Handle(context.Background(), callback.Inbound{ChannelID: e.ch.ID, Secret: e.ch.Secret, Method: "GET", RawQuery: q, Header: http.Header{}})
	}
	v := e.call(c.ID)
	if v.Status != "answered" || len(v.Events) != 2 {
		t.Errorf("GET callbacks: status %s, %d events (the repeat is a duplicate)", v.Status, len(v.Events))
	}
}

func TestPruneFeedKeepsNewest(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.post(fmt.Sprintf(`{"call_id":"p%d","event_type":"status","status":"ringing"}`, i))
	}
	ctx := context.Background()
	last, _ := e.st.LastSeq(ctx)
	n, err := e.st.PruneFeed(ctx, 3)
	if err != nil || n == 0 {
		t.Fatalf("pruned %d: %v", n, err)
	}
	// Each callback committed alone is one feed row of two items (its
	// event and itself); the row holding the third newest item stays whole.
	items, _ := e.st.FeedAfter(ctx, 0, 100)
	if len(items) < 3 || len(items) > 4 || items[len(items)-1].Seq != last {
		t.Errorf("kept %d items ending at %d, want 3 or 4 ending at %d", len(items), items[len(items)-1].Seq, last)
	}
}
