package plivo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

const (
	testAuthID = "MAXXXXXXXXXXXXXXXXXX"
	testToken  = "plivo-test-auth-token-0123456789abcdef"
)

func apiProvider(base string, cfg provider.Config) *Provider {
	full := provider.Config{"auth_id": testAuthID, "auth_token": testToken, "from": "+14155550123"}
	for k, v := range cfg {
		full[k] = v
	}
	return New(full, provider.Deps{BaseURL: base})
}

func checkBasicAuth(t *testing.T, r *http.Request) {
	t.Helper()
	id, tok, ok := r.BasicAuth()
	if !ok || id != testAuthID || tok != testToken {
		t.Errorf("basic auth = %q, %v", id, ok)
	}
}

func TestPlaceCall(t *testing.T) {
	for _, resp := range []string{
		`{"message":"call fired","request_uuid":"9834029e-58b6-11e1-b8b7-a5bd0e4e126f","api_id":"97ceeb52"}`,
		`{"message":"calls fired","request_uuid":["9834029e-58b6-11e1-b8b7-a5bd0e4e126f"],"api_id":"97ceeb52"}`,
	} {
		var got CreateCall
		var raw map[string]any
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/v1/Account/"+testAuthID+"/Call/" {
				t.Errorf("request %s %s", r.Method, r.URL.Path)
			}
			checkBasicAuth(t, r)
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			b, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(b, &got); err != nil {
				t.Errorf("body: %v", err)
			}
			_ = json.Unmarshal(b, &raw)
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(resp))
		}))
		p := apiProvider(srv.URL+"/", nil)
		placed, err := p.PlaceCall(context.Background(), provider.PlaceRequest{To: "+12125550199", Message: "Disk full",
			CallbackURL: callhookURL + "?a=b", Prompt: prompt})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if placed.ProviderCallID != "9834029e-58b6-11e1-b8b7-a5bd0e4e126f" || placed.Status != voice.StatusQueued {
			t.Errorf("placed = %+v", placed)
		}
		cb := callhookURL + "?a=b"
		wantBody := CreateCall{From: "14155550123", To: "12125550199", AnswerURL: cb, AnswerMethod: "POST",
			HangupURL: cb, HangupMethod: "POST", RingURL: cb, RingMethod: "POST"}
		if got != wantBody {
			t.Errorf("body = %+v\nwant   %+v", got, wantBody)
		}
		for _, k := range []string{"from", "to", "answer_url", "answer_method", "hangup_url", "hangup_method", "ring_url"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("body lacks %q: %v", k, raw)
			}
		}
	}
}

func TestPlaceCallErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"api_id":"x","error":"authentication failed"}`))
	}))
	defer srv.Close()
	req := provider.PlaceRequest{To: "12125550199", CallbackURL: callhookURL}
	tests := []struct {
		name string
		p    *Provider
		req  provider.PlaceRequest
		want string
	}{
		{"HTTP 401", apiProvider(srv.URL, nil), req, "HTTP 401"},
		{"no token", apiProvider(srv.URL, provider.Config{"auth_token": ""}), req, "auth_token"},
		{"no from", apiProvider(srv.URL, provider.Config{"from": ""}), req, "from"},
		{"several destinations", apiProvider(srv.URL, nil), provider.PlaceRequest{To: "1<2", CallbackURL: callhookURL}, "one destination"},
		{"no callback", apiProvider(srv.URL, nil), provider.PlaceRequest{To: "1"}, "callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.PlaceCall(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "plivo: ") {
				t.Fatalf("PlaceCall: %v, want a plivo error about %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("API called %d times, want once", n)
	}
}

func TestFetchCall(t *testing.T) {
	const id = "34a17f97-b594-4018-9615-75b11f427b32"
	tests := []struct {
		name        string
		cdr, live   string // "" means 404
		want        voice.Event
		wantErr     string
		wantDur     float64
		wantRequest int32
	}{
		{"completed record", `{"answer_time":"2020-12-05 18:02:32+05:30","bill_duration":4,"call_direction":"outbound",
			"call_duration":4,"call_state":"ANSWER","call_uuid":"` + id + `","from_number":"+1111111111","hangup_cause_code":4000,
			"hangup_cause_name":"Normal Hangup","hangup_source":"Answer XML","to_number":"2222222222"}`, "",
			voice.Event{CallID: id, Type: voice.EventStatus, Status: voice.StatusCompleted, Native: "poll", Direction: voice.Outbound,
				From: "+1111111111", To: "2222222222", Message: "call_state=ANSWER; hangup_cause_name=Normal Hangup"}, "", 4, 1},
		{"busy record", `{"call_state":"BUSY","call_uuid":"` + id + `","call_duration":0}`, "",
			voice.Event{CallID: id, Type: voice.EventStatus, Status: voice.StatusBusy, Native: "poll", Message: "call_state=BUSY"}, "", 0, 1},
		{"live call", "", `{"direction":"outbound","from":"15856338537","call_status":"in-progress","call_uuid":"` + id + `","to":"14154290945"}`,
			voice.Event{CallID: id, Type: voice.EventStatus, Status: voice.StatusAnswered, Native: "poll", Direction: voice.Outbound,
				From: "15856338537", To: "14154290945", Message: "call_status=in-progress"}, "", -1, 2},
		{"not found anywhere", "", "", voice.Event{}, "not found", -1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				if r.Method != http.MethodGet || r.URL.Path != "/v1/Account/"+testAuthID+"/Call/"+id+"/" {
					t.Errorf("request %s %s", r.Method, r.URL.Path)
				}
				checkBasicAuth(t, r)
				body := tt.cdr
				if r.URL.Query().Get("status") == "live" {
					body = tt.live
				}
				if body == "" {
					http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
					return
				}
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			e, err := apiProvider(srv.URL, nil).FetchCall(context.Background(), id)
			if n.Load() != tt.wantRequest {
				t.Errorf("%d requests, want %d", n.Load(), tt.wantRequest)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FetchCall: %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.CallID != tt.want.CallID || e.Type != tt.want.Type || e.Status != tt.want.Status || e.Native != tt.want.Native ||
				e.Direction != tt.want.Direction || e.From != tt.want.From || e.To != tt.want.To || e.Message != tt.want.Message {
				t.Errorf("event = %+v\nwant    %+v", e, tt.want)
			}
			if tt.wantDur >= 0 && (e.DurationS == nil || *e.DurationS != tt.wantDur) {
				t.Errorf("duration = %v, want %v", e.DurationS, tt.wantDur)
			}
		})
	}
}

func TestMapCallState(t *testing.T) {
	tests := map[string]voice.Status{
		"ANSWER": voice.StatusCompleted, "busy": voice.StatusBusy, "NO ANSWER": voice.StatusNoAnswer,
		"no-answer": voice.StatusNoAnswer, "CANCEL": voice.StatusCancelled, "timeout": voice.StatusFailed,
		"ringing": voice.StatusRinging, "EARLY MEDIA": voice.StatusUnknown, "": voice.StatusUnknown,
	}
	for in, want := range tests {
		if got := MapCallState(in); got != want {
			t.Errorf("MapCallState(%q) = %s, want %s", in, got, want)
		}
	}
}
