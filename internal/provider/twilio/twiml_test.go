package twilio

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/provider/twilio/twimltest"
	"callhook/internal/voice"
)

const cbURL = "https://callhook.example.com/api/integrations/voice/callback/ch_1/s3cr3t?x=1"

func gatherRequest(method string) *provider.Request {
	body := form("CallSid", "CA1", "CallStatus", "in-progress", "Digits", "1")
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	r := &provider.Request{Method: method, URL: cbURL, Header: h, Body: []byte(body)}
	if method == http.MethodGet {
		r.URL += "&" + body
		r.Body = nil
	}
	return r
}

func TestGatherReply(t *testing.T) {
	dtmf := voice.Event{CallID: "CA1", Type: voice.EventDTMF, Digit: "1"}
	alert := &provider.AlertInfo{ID: 7, Title: "Disk <full> & db-1", State: voice.AlertAcknowledged}
	tests := []struct {
		name   string
		out    provider.Outcome
		shape  string
		say    string
		prompt string
	}{
		{"acknowledged", provider.Outcome{Alert: alert, Events: []provider.Applied{{Event: dtmf, Action: voice.ActionAcknowledge, Changed: true, Matched: true}}},
			"Say Hangup", "Alert acknowledged. Disk <full> & db-1", ""},
		{"resolved without alert info", provider.Outcome{Events: []provider.Applied{{Event: dtmf, Action: voice.ActionResolve, Changed: true, Matched: true}}},
			"Say Hangup", "Alert resolved.", ""},
		{"already acknowledged", provider.Outcome{Alert: alert, Events: []provider.Applied{{Event: dtmf, Action: voice.ActionAcknowledge, Matched: true}}},
			"Say Hangup", "This alert was already acknowledged. Disk <full> & db-1", ""},
		{"already resolved", provider.Outcome{Alert: &provider.AlertInfo{State: voice.AlertResolved}, Events: []provider.Applied{{Event: dtmf, Action: voice.ActionAcknowledge, Matched: true}}},
			"Say Hangup", "This alert was already resolved.", ""},
		{"no alert linked", provider.Outcome{Events: []provider.Applied{{Event: dtmf, Action: voice.ActionAcknowledge}}},
			"Say Hangup", sayNoAlert, ""},
		{"unmapped digit", provider.Outcome{Prompt: "Press 1 to acknowledge. Press 2 to resolve.", Events: []provider.Applied{{Event: dtmf, Matched: true}}},
			"Say Gather(Say) Say", sayNotFound, "Press 1 to acknowledge. Press 2 to resolve."},
		{"empty digit, no prompt", provider.Outcome{Events: []provider.Applied{{Event: voice.Event{Type: voice.EventDTMF}, Matched: true}}},
			"Say Gather(Say) Say", sayNotFound, sayDefaultPrompt},
		{"duplicate", provider.Outcome{Duplicate: true}, "Say Hangup", sayDuplicate, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := twimltest.Parse(t, RenderReply(gatherRequest(http.MethodPost), tt.out))
			if got := twimltest.Shape(d.Verbs); got != tt.shape {
				t.Fatalf("verbs %q, want %q", got, tt.shape)
			}
			if got := d.Verbs[0].Text; got != tt.say {
				t.Errorf("say %q, want %q", got, tt.say)
			}
			if tt.prompt != "" {
				g := d.Verbs[1]
				if g.Attr("input") != "dtmf" || g.Attr("method") != "POST" || g.Attr("action") != cbURL {
					t.Errorf("gather attrs %v", g.Attrs)
				}
				if g.Nodes[0].Text != tt.prompt {
					t.Errorf("prompt %q, want %q", g.Nodes[0].Text, tt.prompt)
				}
			}
		})
	}
}

func TestGatherReplyGETActionURL(t *testing.T) {
	d := twimltest.Parse(t, RenderReply(gatherRequest(http.MethodGet), provider.Outcome{}))
	action := d.Verbs[1].Attr("action")
	u, err := url.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("x") != "1" || q.Has("CallSid") || q.Has("Digits") || q.Has("CallStatus") {
		t.Errorf("action %q keeps Twilio's parameters or loses ours", action)
	}
	if !strings.HasPrefix(action, "https://callhook.example.com/api/integrations/voice/callback/ch_1/s3cr3t?") {
		t.Errorf("action %q", action)
	}
}

func TestStatusReply(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	r := &provider.Request{Method: http.MethodPost, URL: cbURL, Header: h,
		Body: []byte(form("CallSid", "CA1", "CallStatus", "ringing", "CallbackSource", "call-progress-events"))}
	d := twimltest.Parse(t, New(nil, provider.Deps{}).Reply(r, provider.Outcome{}))
	if len(d.Verbs) != 0 {
		t.Errorf("status reply has verbs %q", twimltest.Shape(d.Verbs))
	}
}

// TestFixtureReplies checks that every documented callback is answered as
// Twilio expects: TwiML with a <Gather> for gather actions and inbound voice
// requests, an empty <Response/> for everything else, never an error.
func TestFixtureReplies(t *testing.T) {
	p := New(nil, provider.Deps{})
	for _, fx := range providertest.Load(t).Fixtures {
		if fx.ContentType == "application/json" {
			continue // notifications: TestNotificationReply
		}
		r := fx.Request(time.Now())
		evs, err := p.Parse(r)
		if err != nil {
			t.Fatalf("%s: %v", fx.File, err)
		}
		out := provider.Outcome{Events: []provider.Applied{{Event: evs[0]}}, Alert: &provider.AlertInfo{ID: 1, Title: "Disk full", State: voice.AlertFiring}}
		rep := p.Reply(r, out)
		if rep.Status != http.StatusOK {
			t.Errorf("%s: reply status %d", fx.File, rep.Status)
		}
		d := twimltest.Parse(t, rep)
		shape := twimltest.Shape(d.Verbs)
		switch {
		case fx.Expected.Action == NativeGather:
			if shape != "Say Gather(Say) Say" {
				t.Errorf("%s: gather reply %s", fx.File, shape)
			}
		case fx.File == "voice_inbound.form":
			if shape != "Gather(Say) Say" {
				t.Errorf("%s: voice reply %s", fx.File, shape)
			}
		case fx.File == "dial_action_busy.form":
			// A <Dial> action on an inbound call is a voice request too: the
			// caller hears the alert and may press a key.
			if shape != "Gather(Say) Say" {
				t.Errorf("%s: dial action reply %s", fx.File, shape)
			}
		default:
			if len(d.Verbs) != 0 {
				t.Errorf("%s: reply has verbs %s", fx.File, shape)
			}
		}
	}
}

func TestNotificationReply(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	r := &provider.Request{Method: http.MethodPost, URL: cbURL, Header: h, Body: []byte(`{"twi_call_sid":"CA1","twi_to":"client:bob"}`)}
	for _, tt := range []struct {
		delivered bool
		status    int
	}{{true, http.StatusOK}, {false, http.StatusNotFound}} {
		rep := RenderReply(r, provider.Outcome{Delivered: tt.delivered})
		var body struct {
			Delivered *bool `json:"delivered"`
		}
		if err := json.Unmarshal(rep.Body, &body); err != nil || body.Delivered == nil {
			t.Fatalf("body %s: %v", rep.Body, err)
		}
		if rep.Status != tt.status || rep.ContentType != "application/json" || *body.Delivered != tt.delivered {
			t.Errorf("delivered=%v: reply %d %q %s", tt.delivered, rep.Status, rep.ContentType, rep.Body)
		}
	}
}

func TestCallTwiMLEscapes(t *testing.T) {
	doc := CallTwiML(`Disk "full" </Say><Hangup/> & more`, "Press 1.", "https://h.example/cb?a=1&b=2")
	d := twimltest.Unmarshal(t, doc)
	if got := twimltest.Shape(d.Verbs); got != "Gather(Say) Say" {
		t.Fatalf("verbs %q", got)
	}
	g := d.Verbs[0]
	if g.Attr("action") != "https://h.example/cb?a=1&b=2" || g.Attr("timeout") != "10" || g.Attr("input") != "dtmf" || g.Attr("method") != "POST" {
		t.Errorf("gather attrs %v", g.Attrs)
	}
	if got := g.Nodes[0].Text; got != `Disk "full" </Say><Hangup/> & more Press 1.` {
		t.Errorf("say %q", got)
	}
	if d.Verbs[1].Text != sayNoInput {
		t.Errorf("goodbye %q", d.Verbs[1].Text)
	}
}

func TestIsInboundVoiceRequest(t *testing.T) {
	tests := []struct {
		v    url.Values
		want bool
	}{
		{url.Values{"CallSid": {"CA1"}, "Direction": {"inbound"}, "CallStatus": {"ringing"}}, true},
		{url.Values{"CallSid": {"CA1"}, "Direction": {"inbound"}, "CallStatus": {"ringing"}, "CallbackSource": {"call-progress-events"}}, false},
		{url.Values{"CallSid": {"CA1"}, "Direction": {"outbound-api"}, "CallStatus": {"in-progress"}}, false},
		{url.Values{"CallSid": {"CA1"}, "Direction": {"inbound"}, "CallStatus": {"completed"}}, false},
		{url.Values{"CallSid": {"CA1"}, "Direction": {"inbound"}, "UnstableSpeechResult": {"ack"}}, false},
		{url.Values{"CallSid": {"CA1"}, "Direction": {"inbound"}, "AnsweredBy": {"human"}}, false},
	}
	for _, tt := range tests {
		if got := IsInboundVoiceRequest(tt.v); got != tt.want {
			t.Errorf("IsInboundVoiceRequest(%v) = %v", tt.v, got)
		}
	}
}
