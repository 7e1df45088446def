package telnyx

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// apiCall is one request the fake Telnyx API received.
type apiCall struct {
	Method, Path, Auth, ContentType string
	Body                            map[string]any
}

// fakeAPI is an httptest Telnyx API that records requests and answers with
// status and body.
type fakeAPI struct {
	*httptest.Server
	mu    sync.Mutex
	calls []apiCall
}

func newFakeAPI(t *testing.T, status int, body string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c := apiCall{Method: r.Method, Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type")}
		if err := json.Unmarshal(b, &c.Body); err != nil {
			t.Errorf("request body is not JSON: %v: %s", err, b)
		}
		f.mu.Lock()
		f.calls = append(f.calls, c)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) requests() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...)
}

var testConfig = provider.Config{"api_key": "KEYtest123", "connection_id": "1684641123236054244", "from": "+13125550100"}

func TestPlaceCall(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, `{"data":{"call_control_id":"v3:placed","call_leg_id":"leg","call_session_id":"sess","is_alive":false,"record_type":"call"}}`)
	p := New(testConfig, provider.Deps{BaseURL: api.URL + "/"})
	got, err := p.PlaceCall(context.Background(), provider.PlaceRequest{
		To:          "+13125550199",
		Message:     "Alert: Disk full on db1.",
		Prompt:      "Press 1 to acknowledge. Press 2 to resolve.",
		CallbackURL: "https://hooks.example.com/api/integrations/voice/callback/1/secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ProviderCallID != "v3:placed" || got.Status != voice.StatusQueued {
		t.Errorf("placed = %+v", got)
	}
	reqs := api.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v2/calls" || r.Auth != "Bearer KEYtest123" || r.ContentType != "application/json" {
		t.Errorf("request = %s %s auth=%q ct=%q", r.Method, r.Path, r.Auth, r.ContentType)
	}
	want := map[string]string{
		"connection_id":      "1684641123236054244",
		"to":                 "+13125550199",
		"from":               "+13125550100",
		"webhook_url":        "https://hooks.example.com/api/integrations/voice/callback/1/secret",
		"webhook_url_method": "POST",
	}
	for k, v := range want {
		if r.Body[k] != v {
			t.Errorf("body[%s] = %v, want %q", k, r.Body[k], v)
		}
	}
	cs, _ := r.Body["client_state"].(string)
	raw, err := base64.StdEncoding.DecodeString(cs)
	if err != nil {
		t.Fatalf("client_state is not base64: %v", err)
	}
	var st map[string]any
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("client_state is not JSON: %v", err)
	}
	if st["app"] != "callhook" || st["msg"] != "Alert: Disk full on db1." || st["prompt"] != "Press 1 to acknowledge. Press 2 to resolve." {
		t.Errorf("client_state = %v", st)
	}
}

func TestPlaceCallOptions(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, `{"data":{"call_control_id":"v3:x"}}`)
	p := New(testConfig, provider.Deps{BaseURL: api.URL})
	// From overrides the configured caller id; no callback URL leaves the
	// connection's webhook in charge; a long message is capped in client_state.
	_, err := p.PlaceCall(context.Background(), provider.PlaceRequest{To: "+13125550199", From: "+13125550111", Message: strings.Repeat("é", 3000)})
	if err != nil {
		t.Fatal(err)
	}
	b := api.requests()[0].Body
	if b["from"] != "+13125550111" {
		t.Errorf("from = %v", b["from"])
	}
	if _, ok := b["webhook_url"]; ok {
		t.Error("webhook_url sent without a callback URL")
	}
	st, ok := decodeState(b["client_state"].(string))
	if !ok || len(st.Message) > maxStateMessage || !strings.HasPrefix(st.Message, "éé") {
		t.Errorf("client_state message of %d bytes, ok=%v", len(st.Message), ok)
	}
}

func TestPlaceCallErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     provider.Config
		status  int
		resp    string
		to      string
		wantErr string
	}{
		{"no api key", provider.Config{"connection_id": "c", "from": "+13125550100"}, 200, `{}`, "+13125550199", "api_key"},
		{"no connection", provider.Config{"api_key": "k", "from": "+13125550100"}, 200, `{}`, "+13125550199", "connection_id"},
		{"no from", provider.Config{"api_key": "k", "connection_id": "c"}, 200, `{}`, "+13125550199", "caller id"},
		{"no to", testConfig, 200, `{}`, "", "destination"},
		{"api error", testConfig, 422, `{"errors":[{"code":"10015","title":"Invalid value","detail":"to is not a valid number"}]}`, "+13125550199", "HTTP 422: Invalid value: to is not a valid number (code 10015)"},
		{"plain error", testConfig, 500, `oops`, "+13125550199", "HTTP 500: oops"},
		{"no call id", testConfig, 200, `{"data":{}}`, "+13125550199", "call_control_id"},
		{"bad json", testConfig, 200, `{`, "+13125550199", "decode response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.status, tt.resp)
			p := New(tt.cfg, provider.Deps{BaseURL: api.URL})
			_, err := p.PlaceCall(context.Background(), provider.PlaceRequest{To: tt.to})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "KEYtest123") {
				t.Error("error leaks the api key")
			}
		})
	}
}

// applied builds the Outcome event of one webhook with client state st.
func applied(native string, typ voice.EventType, digit string, st string, action voice.Action, changed bool) provider.Applied {
	e := voice.Event{CallID: "v3:call/1", Type: typ, Native: native, Digit: digit, IdempotencyKey: "evt-9", Status: voice.StatusAnswered}
	if st != "" {
		e.Raw = map[string]string{"client_state": st}
	}
	if typ == "" {
		e.Type = voice.EventStatus
	}
	return provider.Applied{Event: e, Action: action, Changed: changed, Matched: true}
}

func withStatus(a provider.Applied, status string) provider.Applied {
	if a.Event.Raw == nil {
		a.Event.Raw = map[string]string{}
	}
	a.Event.Raw["status"] = status
	return a
}

func TestReact(t *testing.T) {
	dialed := callState{Step: stepDialed, Message: "Alert: Disk full on db1.", Prompt: "Press 1 to acknowledge. Press 2 to resolve."}.encode()
	gathering := func(tries int) string {
		return callState{Step: stepGather, Message: "Alert: Disk full on db1.", Prompt: "Press 1 to acknowledge.", Tries: tries}.encode()
	}
	bye := callState{Step: stepBye}.encode()
	alert := &provider.AlertInfo{ID: 7, Title: "CPU high", Message: "load 12 on web1", State: voice.AlertFiring}
	const prompt = "Press 1 to acknowledge. Press 2 to resolve."

	tests := []struct {
		name      string
		out       provider.Outcome
		action    string         // "" means no command
		payload   string         // expected spoken text
		step      string         // expected client_state step
		tries     int            // expected client_state tries
		maxDigits float64        // expected maximum_digits of a gather
		extra     map[string]any // other body fields to check
	}{
		{name: "answered outbound call gathers with the placed message",
			out:    provider.Outcome{Prompt: prompt, Events: []provider.Applied{applied("call.answered", "", "", dialed, "", false)}},
			action: "gather_using_speak", payload: "Alert: Disk full on db1. Press 1 to acknowledge. Press 2 to resolve.", step: stepGather, tries: 1, maxDigits: 1,
			extra: map[string]any{"voice": "female", "language": "en-US", "valid_digits": "0123456789*#", "minimum_digits": float64(1), "command_id": "evt-9:gather_using_speak"}},
		{name: "answered with direction outbound and no state speaks the alert",
			out: provider.Outcome{Prompt: "Press 7 8 7 to acknowledge.", MaxDigits: 3, Alert: alert, Events: []provider.Applied{func() provider.Applied {
				a := applied("call.answered", "", "", "", "", false)
				a.Event.Direction = voice.Outbound
				return a
			}()}},
			action: "gather_using_speak", payload: "Alert: CPU high. load 12 on web1. Press 7 8 7 to acknowledge.", step: stepGather, tries: 1, maxDigits: 3},
		{name: "answered with more keys than a mapping may have caps maximum_digits",
			out:    provider.Outcome{Prompt: prompt, MaxDigits: 40, Events: []provider.Applied{applied("call.answered", "", "", dialed, "", false)}},
			action: "gather_using_speak", payload: "Alert: Disk full on db1. Press 1 to acknowledge. Press 2 to resolve.", step: stepGather, tries: 1, maxDigits: 16},
		{name: "answered without prompt falls back to client_state prompt",
			out:    provider.Outcome{Events: []provider.Applied{applied("call.answered", "", "", dialed, "", false)}},
			action: "gather_using_speak", payload: "Alert: Disk full on db1. Press 1 to acknowledge. Press 2 to resolve.", step: stepGather, tries: 1, maxDigits: 1},
		{name: "answered call not ours is left alone",
			out: provider.Outcome{Prompt: prompt, Alert: alert, Events: []provider.Applied{applied("call.answered", "", "", "", "", false)}}},
		{name: "answered call with foreign client_state is left alone",
			out: provider.Outcome{Prompt: prompt, Events: []provider.Applied{applied("call.answered", "", "", "aGF2ZSBhIG5pY2UgZGF5ID1d", "", false)}}},
		{name: "duplicate callback sends nothing",
			out: provider.Outcome{Duplicate: true, Prompt: prompt, Events: []provider.Applied{applied("call.answered", "", "", dialed, "", false)}}},
		{name: "gather ended with acknowledge confirms",
			out:    provider.Outcome{Prompt: prompt, Alert: &provider.AlertInfo{State: voice.AlertAcknowledged}, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventDTMF, "1", gathering(1), voice.ActionAcknowledge, true), "valid")}},
			action: "speak", payload: "Alert acknowledged.", step: stepBye, extra: map[string]any{"command_id": "evt-9:speak"}},
		{name: "gather ended after the per-digit event applied it still confirms",
			out:    provider.Outcome{Prompt: prompt, Alert: &provider.AlertInfo{State: voice.AlertAcknowledged}, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventDTMF, "1", gathering(1), voice.ActionAcknowledge, false), "valid")}},
			action: "speak", payload: "Alert acknowledged.", step: stepBye},
		{name: "gather ended with resolve confirms",
			out:    provider.Outcome{Prompt: prompt, Alert: &provider.AlertInfo{State: voice.AlertResolved}, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventDTMF, "2", gathering(1), voice.ActionResolve, true), "valid")}},
			action: "speak", payload: "Alert resolved.", step: stepBye},
		{name: "gather ended with an action but no alert linked",
			out:    provider.Outcome{Prompt: prompt, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventDTMF, "1", gathering(1), voice.ActionAcknowledge, false), "valid")}},
			action: "speak", payload: "No change was made.", step: stepBye},
		{name: "acknowledge on a resolved alert says so",
			out:    provider.Outcome{Prompt: prompt, Alert: &provider.AlertInfo{State: voice.AlertResolved}, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventDTMF, "1", gathering(1), voice.ActionAcknowledge, false), "valid")}},
			action: "speak", payload: "The alert is already resolved.", step: stepBye},
		{name: "gather ended with an unmapped digit gathers again",
			out:    provider.Outcome{Prompt: prompt, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventDTMF, "9", gathering(1), "", false), "valid")}},
			action: "gather_using_speak", payload: "Input not recognized. Press 1 to acknowledge. Press 2 to resolve.", step: stepGather, tries: 2, maxDigits: 1},
		{name: "gather timeout gathers again",
			out:    provider.Outcome{Prompt: prompt, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventStatus, "", gathering(2), "", false), "timeout")}},
			action: "gather_using_speak", payload: "Input not recognized. Press 1 to acknowledge. Press 2 to resolve.", step: stepGather, tries: 3, maxDigits: 1},
		{name: "third failed gather says goodbye",
			out:    provider.Outcome{Prompt: prompt, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventStatus, "", gathering(3), "", false), "timeout")}},
			action: "speak", payload: "Goodbye.", step: stepBye},
		{name: "gather ended by hangup sends nothing",
			out: provider.Outcome{Prompt: prompt, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventStatus, "", gathering(1), "", false), "call_hangup")}}},
		{name: "gather not ours sends nothing",
			out: provider.Outcome{Prompt: prompt, Events: []provider.Applied{withStatus(applied("call.gather.ended", voice.EventDTMF, "9", "", "", false), "valid")}}},
		{name: "per-digit event during our gather waits for gather ended",
			out: provider.Outcome{Prompt: prompt, Events: []provider.Applied{applied("call.dtmf.received", voice.EventDTMF, "1", gathering(1), voice.ActionAcknowledge, true)}}},
		{name: "dtmf outside a gather that changed the alert confirms",
			out:    provider.Outcome{Prompt: prompt, Events: []provider.Applied{applied("call.dtmf.received", voice.EventDTMF, "2", "", voice.ActionResolve, true)}},
			action: "speak", payload: "Alert resolved.", step: stepBye},
		{name: "dtmf outside a gather that changed nothing is silent",
			out: provider.Outcome{Prompt: prompt, Events: []provider.Applied{applied("call.dtmf.received", voice.EventDTMF, "1", "", voice.ActionAcknowledge, false)}}},
		{name: "our last words ended: hang up",
			out:    provider.Outcome{Events: []provider.Applied{withStatus(applied("call.speak.ended", "", "", bye, "", false), "completed")}},
			action: "hangup", extra: map[string]any{"command_id": "evt-9:hangup"}},
		{name: "last words cut by the caller: nothing to hang up",
			out: provider.Outcome{Events: []provider.Applied{withStatus(applied("call.speak.ended", "", "", bye, "", false), "call_hangup")}}},
		{name: "speak ended of a gather prompt sends nothing",
			out: provider.Outcome{Events: []provider.Applied{applied("call.speak.ended", "", "", gathering(1), "", false)}}},
		{name: "hangup sends nothing",
			out: provider.Outcome{Events: []provider.Applied{applied("call.hangup", "", "", dialed, "", false)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, http.StatusOK, `{"data":{"result":"ok"}}`)
			p := New(testConfig, provider.Deps{BaseURL: api.URL})
			if err := p.React(context.Background(), nil, tt.out); err != nil {
				t.Fatalf("React: %v", err)
			}
			reqs := api.requests()
			if tt.action == "" {
				if len(reqs) != 0 {
					t.Fatalf("sent %d commands, want none: %+v", len(reqs), reqs)
				}
				return
			}
			if len(reqs) != 1 {
				t.Fatalf("sent %d commands, want 1", len(reqs))
			}
			r := reqs[0]
			if wantPath := "/v2/calls/v3:call%2F1/actions/" + tt.action; r.Method != http.MethodPost || r.Path != wantPath {
				t.Errorf("request = %s %s, want POST %s", r.Method, r.Path, wantPath)
			}
			if r.Auth != "Bearer KEYtest123" || r.ContentType != "application/json" {
				t.Errorf("auth=%q content-type=%q", r.Auth, r.ContentType)
			}
			if tt.payload != "" && r.Body["payload"] != tt.payload {
				t.Errorf("payload = %q, want %q", r.Body["payload"], tt.payload)
			}
			if tt.step != "" {
				st, ok := decodeState(r.Body["client_state"].(string))
				if !ok || st.Step != tt.step || st.Tries != tt.tries {
					t.Errorf("client_state = %+v (ok=%v), want step %q tries %d", st, ok, tt.step, tt.tries)
				}
			}
			if tt.action == "gather_using_speak" && r.Body["maximum_digits"] != tt.maxDigits {
				t.Errorf("maximum_digits = %v, want %v", r.Body["maximum_digits"], tt.maxDigits)
			}
			if tt.action == "speak" && (r.Body["voice"] != "female" || r.Body["language"] != "en-US") {
				t.Errorf("speak voice/language = %v/%v", r.Body["voice"], r.Body["language"])
			}
			for k, v := range tt.extra {
				if r.Body[k] != v {
					t.Errorf("body[%s] = %v, want %v", k, r.Body[k], v)
				}
			}
		})
	}
}

func TestReactErrors(t *testing.T) {
	dialed := callState{Step: stepDialed, Message: "m"}.encode()
	out := provider.Outcome{Events: []provider.Applied{applied("call.answered", "", "", dialed, "", false)}}

	api := newFakeAPI(t, http.StatusUnprocessableEntity, `{"errors":[{"code":"90018","title":"Call has already ended"}]}`)
	err := New(testConfig, provider.Deps{BaseURL: api.URL}).React(context.Background(), nil, out)
	if err == nil || !strings.Contains(err.Error(), "gather_using_speak") || !strings.Contains(err.Error(), "Call has already ended") {
		t.Errorf("err = %v", err)
	}
	err = New(provider.Config{}, provider.Deps{BaseURL: api.URL}).React(context.Background(), nil, out)
	if err == nil || !strings.Contains(err.Error(), "api_key") {
		t.Errorf("no api key: %v", err)
	}
	// Nothing to do needs no credentials.
	if err := New(provider.Config{}, provider.Deps{}).React(context.Background(), nil, provider.Outcome{}); err != nil {
		t.Errorf("empty outcome: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New(testConfig, provider.Deps{BaseURL: api.URL}).React(ctx, nil, out); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestReactWithParsedFixture(t *testing.T) {
	// The real parse → React path: a call.answered whose client_state is the
	// one PlaceCall wrote.
	st := callState{Step: stepDialed, Message: "Alert: Disk full.", Prompt: "Press 1 to acknowledge."}.encode()
	e, err := Parse(jsonRequest(body("call.answered", `,"client_state":"`+st+`"`)))
	if err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI(t, http.StatusOK, `{"data":{"result":"ok"}}`)
	p := New(testConfig, provider.Deps{BaseURL: api.URL})
	if err := p.React(context.Background(), nil, provider.Outcome{Events: []provider.Applied{{Event: e, Matched: true}}}); err != nil {
		t.Fatal(err)
	}
	reqs := api.requests()
	if len(reqs) != 1 || reqs[0].Path != "/v2/calls/v3:abc/actions/gather_using_speak" || reqs[0].Body["payload"] != "Alert: Disk full. Press 1 to acknowledge." {
		t.Fatalf("requests = %+v", reqs)
	}
	if reqs[0].Body["command_id"] != "evt-1:gather_using_speak" {
		t.Errorf("command_id = %v", reqs[0].Body["command_id"])
	}
}

func TestConfirmation(t *testing.T) {
	ack := provider.Applied{Action: voice.ActionAcknowledge}
	res := provider.Applied{Action: voice.ActionResolve}
	state := func(s voice.AlertState) *provider.AlertInfo { return &provider.AlertInfo{State: s} }
	for _, tt := range []struct {
		a     provider.Applied
		alert *provider.AlertInfo
		want  string
	}{
		{provider.Applied{Action: voice.ActionResolve, Changed: true}, nil, "Alert resolved."},
		{ack, nil, "No change was made."},
		{ack, state(voice.AlertAcknowledged), "Alert acknowledged."},
		{res, state(voice.AlertResolved), "Alert resolved."},
		{ack, state(voice.AlertResolved), "The alert is already resolved."},
		{res, state(voice.AlertAcknowledged), "The alert is acknowledged."},
		{ack, state(voice.AlertFiring), "The alert is firing."},
	} {
		if got := confirmation(tt.a, tt.alert); got != tt.want {
			t.Errorf("confirmation(%s, %v) = %q, want %q", tt.a.Action, tt.alert, got, tt.want)
		}
	}
}

func TestHelpers(t *testing.T) {
	if got := truncate("aé", 2); got != "a" {
		t.Errorf("truncate split a rune: %q", got)
	}
	if _, ok := decodeState("!!!"); ok {
		t.Error("garbage client_state decoded")
	}
}
