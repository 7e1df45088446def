package dispatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"callhook/internal/auth"
	"callhook/internal/channel"
	"callhook/internal/dispatch"
	"callhook/internal/provider"
	"callhook/internal/provider/generic"
	"callhook/internal/store"
	"callhook/internal/store/storetest"
	"callhook/internal/voice"
)

// fakeAPI is a calling service speaking the generic provider's HTTP API.
type fakeAPI struct {
	mu     sync.Mutex
	status map[string]string
	placed []map[string]string
	fail   bool
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer api-token" {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/v1/calls":
		if f.fail {
			http.Error(w, `{"error":"insufficient balance"}`, http.StatusPaymentRequired)
			return
		}
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		f.placed = append(f.placed, body)
		id := "api-call-" + strconv.Itoa(len(f.placed))
		f.status[id] = "queued"
		json.NewEncoder(w).Encode(map[string]string{"call_id": id, "status": "queued"})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/calls/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/calls/")
		json.NewEncoder(w).Encode(map[string]any{"call_id": id, "status": f.status[id], "duration_s": 12})
	default:
		http.NotFound(w, r)
	}
}

func setup(t *testing.T) (*dispatch.Dispatcher, *store.Store, *fakeAPI, *store.Channel, *time.Time) {
	t.Helper()
	st := storetest.Open(t)
	ctx := context.Background()
	api := &fakeAPI{status: map[string]string{}}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	reg := provider.NewRegistry(generic.Spec())
	if err := st.SetGlobalProvider(ctx, "generic", map[string]string{"api_url": srv.URL + "/v1", "api_token": "api-token"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	chm := &channel.Manager{Store: st, Providers: reg, PublicURL: "https://hooks.example.com"}
	ch, err := chm.Create(ctx, channel.Input{ID: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{Store: st, Channels: chm, Now: clock, PollInterval: 10 * time.Second, PollMaxInterval: time.Minute}
	return d, st, api, ch, &now
}

func TestCreateAlertPlacesCallsAndPollerFollowsThem(t *testing.T) {
	d, st, api, ch, now := setup(t)
	ctx := context.Background()
	id, err := d.CreateAlert(ctx, dispatch.AlertInput{Title: "API down", Message: "5xx above 10%", ChannelID: ch.ID, Targets: []string{"+15550001"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(api.placed) != 1 || api.placed[0]["to"] != "+15550001" ||
		api.placed[0]["callback_url"] != "https://hooks.example.com/api/integrations/voice/callback/ops/"+ch.Secret ||
		!strings.Contains(api.placed[0]["message"], "API down") || !strings.Contains(api.placed[0]["message"], "Press 1 to acknowledge") {
		t.Fatalf("placed %+v", api.placed)
	}
	al, _ := st.AlertView(ctx, id)
	if len(al.Calls) != 1 || al.Calls[0].ProviderCallID != "api-call-1" || al.Calls[0].Status != "queued" {
		t.Fatalf("alert calls %+v", al.Calls)
	}
	callID := al.Calls[0].ID
	if n := d.PollOnce(ctx); n != 0 {
		t.Errorf("polled %d calls before the interval", n)
	}
	*now = now.Add(11 * time.Second)
	api.status["api-call-1"] = "answered"
	if n := d.PollOnce(ctx); n != 1 {
		t.Fatalf("polled %d, want 1", n)
	}
	v, _ := st.CallView(ctx, callID)
	if v.Status != "answered" || len(v.Events) != 1 || v.Events[0].Native != "poll" {
		t.Fatalf("after poll: %+v", v)
	}
	// Unchanged status: polled again after the back-off, nothing recorded.
	*now = now.Add(11 * time.Second)
	if n := d.PollOnce(ctx); n != 0 {
		t.Errorf("second poll came before its doubled interval")
	}
	*now = now.Add(10 * time.Second)
	d.PollOnce(ctx)
	if v, _ = st.CallView(ctx, callID); len(v.Events) != 1 {
		t.Errorf("an unchanged poll added an event: %d", len(v.Events))
	}
	api.status["api-call-1"] = "completed"
	*now = now.Add(time.Minute)
	d.PollOnce(ctx)
	v, _ = st.CallView(ctx, callID)
	if v.Status != "completed" || v.DurationS == nil || *v.DurationS != 12 {
		t.Errorf("after terminal poll: %+v", v)
	}
	*now = now.Add(time.Hour)
	if n := d.PollOnce(ctx); n != 0 {
		t.Errorf("a finished call is still polled")
	}
}

func TestPlaceFailureIsRecorded(t *testing.T) {
	d, st, api, ch, _ := setup(t)
	api.fail = true
	ctx := context.Background()
	id, err := d.CreateAlert(ctx, dispatch.AlertInput{Title: "x", ChannelID: ch.ID, Targets: []string{"+15550002"}})
	if err != nil {
		t.Fatal(err)
	}
	al, _ := st.AlertView(ctx, id)
	if len(al.Calls) != 1 || al.Calls[0].Status != "failed" {
		t.Fatalf("calls %+v", al.Calls)
	}
	v, _ := st.CallView(ctx, al.Calls[0].ID)
	if len(v.Events) != 1 || v.Events[0].EventType != "error" || !strings.Contains(v.Events[0].Message, "insufficient balance") {
		t.Errorf("events %+v", v.Events)
	}
}

func TestAlertValidation(t *testing.T) {
	d, _, _, ch, _ := setup(t)
	for _, in := range []dispatch.AlertInput{
		{Title: ""},
		{Title: "x", Severity: "apocalyptic"},
		{Title: "x", ChannelID: ch.ID, Targets: []string{"not a number"}},
		{Title: "x", Targets: []string{"+15550001"}},
		{Title: "x", ChannelID: "nope"},
	} {
		if _, err := d.CreateAlert(context.Background(), in); err == nil {
			t.Errorf("CreateAlert(%+v) = nil error", in)
		}
	}
}

// recordingPlacer is a provider that records the calls it is asked to place.
type recordingPlacer struct {
	provider.Provider
	placed *[]provider.PlaceRequest
}

func (p recordingPlacer) PlaceCall(_ context.Context, req provider.PlaceRequest) (provider.PlacedCall, error) {
	*p.placed = append(*p.placed, req)
	return provider.PlacedCall{ProviderCallID: "rec-" + req.To + "-" + strconv.Itoa(len(*p.placed)), Status: voice.StatusQueued}, nil
}

func TestPlaceCallSendsTheChannelsKeypadMapping(t *testing.T) {
	d, st, _, _, _ := setup(t)
	ctx := context.Background()
	var placed []provider.PlaceRequest
	reg := provider.NewRegistry(generic.Spec(), provider.Spec{Name: "recording",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			g, err := generic.Spec().New(cfg, deps)
			return recordingPlacer{Provider: g, placed: &placed}, err
		}})
	d.Channels.Providers = reg
	if err := st.SetGlobalProvider(ctx, "recording", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	dtmf := map[string]string{"1": "acknowledge", "787": "resolve"}
	ch, err := (&channel.Manager{Store: st, Providers: reg}).Create(ctx, channel.Input{ID: "multi", DTMFMap: &dtmf})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.PlaceCall(ctx, dispatch.CallInput{ChannelID: ch.ID, To: "+15550003", Message: "Disk full"}); err != nil {
		t.Fatal(err)
	}
	if len(placed) != 1 || placed[0].Prompt != "Press 1 to acknowledge. Press 7 8 7 to resolve." || placed[0].MaxDigits != 3 {
		t.Fatalf("placed %+v, want the channel's prompt and MaxDigits 3", placed)
	}
}

func TestCallAgainPlacesOneCallPerDistinctTarget(t *testing.T) {
	d, st, api, ch, _ := setup(t)
	ctx := context.Background()
	api.fail = true
	id, err := d.CreateAlert(ctx, dispatch.AlertInput{Title: "Disk full", Message: "db-1 at 99%", ChannelID: ch.ID,
		Targets: []string{"+15550011", "+15550012", "+15550011"}})
	if err != nil {
		t.Fatal(err)
	}
	api.fail = false
	ids, err := d.CallAgain(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || len(api.placed) != 2 || api.placed[0]["to"] != "+15550011" || api.placed[1]["to"] != "+15550012" {
		t.Fatalf("placed %+v (ids %v), want one call to each of the two numbers, in order", api.placed, ids)
	}
	if !strings.Contains(api.placed[0]["message"], "Alert: Disk full. db-1 at 99%") {
		t.Errorf("message %q, want the alert's", api.placed[0]["message"])
	}
	al, _ := st.AlertView(ctx, id)
	if len(al.Calls) != 5 || al.Calls[3].ID != ids[0] || al.Calls[3].Status != "queued" {
		t.Fatalf("alert calls %+v, want the three failed and two new ones", al.Calls)
	}

	// A resolved alert, and one without calls, are refused.
	bare, _ := d.CreateAlert(ctx, dispatch.AlertInput{Title: "No targets"})
	if _, err := d.CallAgain(ctx, bare); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("call again without calls: %v, want invalid", err)
	}
	if _, err := d.ChangeAlert(ctx, id, voice.ActionResolve, auth.Principal{Name: "ops"}, "console"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CallAgain(ctx, id); !errors.Is(err, store.ErrConflict) {
		t.Errorf("call again on a resolved alert: %v, want conflict", err)
	}
	if _, err := d.CallAgain(ctx, 999); !store.IsNotFound(err) {
		t.Errorf("call again on a missing alert: %v, want not found", err)
	}
}

func TestPlacedCallRecordsTheConfiguredCallerID(t *testing.T) {
	d, st, _, _, _ := setup(t)
	ctx := context.Background()
	var placed []provider.PlaceRequest
	reg := provider.NewRegistry(generic.Spec(), provider.Spec{Name: "recording",
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			g, err := generic.Spec().New(cfg, deps)
			return recordingPlacer{Provider: g, placed: &placed}, err
		}})
	d.Channels.Providers = reg
	if err := st.SetGlobalProvider(ctx, "recording", map[string]string{"from": "+14155550123"}); err != nil {
		t.Fatal(err)
	}
	ch, err := (&channel.Manager{Store: st, Providers: reg}).Create(ctx, channel.Input{ID: "caller"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, want string }{
		{"", "+14155550123"},
		{"+14155550999", "+14155550999"},
	} {
		id, err := d.PlaceCall(ctx, dispatch.CallInput{ChannelID: ch.ID, To: "+15550004", From: tc.from})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := st.CallView(ctx, id)
		if v.From != tc.want {
			t.Errorf("from %q: call's from = %q, want %q", tc.from, v.From, tc.want)
		}
		if last := placed[len(placed)-1]; last.From != tc.from {
			t.Errorf("from %q: the provider was asked to call from %q; only an explicit from overrides its config", tc.from, last.From)
		}
	}
}

// A sequential alert calls its targets one after another: the next when the
// previous call ended and nobody acknowledged, none once someone did.
func TestSequentialEscalation(t *testing.T) {
	d, st, api, ch, now := setup(t)
	ctx := context.Background()
	if _, err := d.CreateAlert(ctx, dispatch.AlertInput{Title: "x", ChannelID: ch.ID, Mode: "loud"}); err == nil {
		t.Fatal("an unknown mode was accepted")
	}
	id, err := d.CreateAlert(ctx, dispatch.AlertInput{Title: "DB down", ChannelID: ch.ID, Mode: "sequential",
		Targets: []string{"+15550001", "+15550002", "+15550003"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(api.placed) != 1 || api.placed[0]["to"] != "+15550001" {
		t.Fatalf("placed %+v, want the first target only", api.placed)
	}
	if n := d.EscalateOnce(ctx); n != 0 {
		t.Fatalf("escalated %d while the first call is in progress", n)
	}
	end := func(status voice.Status) {
		t.Helper()
		al, _ := st.AlertView(ctx, id)
		last := al.Calls[len(al.Calls)-1]
		c, err := st.Call(ctx, last.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.AddCallEvent(ctx, c, voice.Event{Type: voice.EventStatus, Status: status, Sequence: -1}, *now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	end(voice.StatusNoAnswer)
	if n := d.EscalateOnce(ctx); n != 1 || len(api.placed) != 2 || api.placed[1]["to"] != "+15550002" {
		t.Fatalf("after no answer: escalated %d, placed %+v", n, api.placed)
	}
	if n := d.EscalateOnce(ctx); n != 0 {
		t.Fatalf("escalated again while the second call is in progress")
	}
	if err := st.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ChangeAlert(ctx, id, voice.ActionAcknowledge, store.AlertActor{Actor: "test", Via: "api"}, *now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	end(voice.StatusCompleted)
	if n := d.EscalateOnce(ctx); n != 0 || len(api.placed) != 2 {
		t.Fatalf("escalated %d after the acknowledgement (placed %d)", n, len(api.placed))
	}
	al, _ := st.AlertView(ctx, id)
	if al.Mode != "sequential" || len(al.PendingTargets) != 1 || al.PendingTargets[0] != "+15550003" {
		t.Errorf("alert %+v", al)
	}
}
