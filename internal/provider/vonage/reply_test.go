package vonage

import (
	"encoding/json"
	"net/http"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/voice"
)

const prompt = "Press 1 to acknowledge. Press 2 to resolve."

func inputRequest(body string) *provider.Request {
	return &provider.Request{Method: http.MethodPost, URL: callhookURL + "?a=b", Body: []byte(body),
		Header: http.Header{"Content-Type": {"application/json"}}}
}

func dtmf(digit string, a voice.Action, changed bool) provider.Applied {
	return provider.Applied{Event: voice.Event{CallID: "u-1", Type: voice.EventDTMF, Status: voice.StatusAnswered, Digit: digit},
		Action: a, Changed: changed, Matched: true}
}

func TestReply(t *testing.T) {
	alert := &provider.AlertInfo{ID: 7, Title: "Disk full on db-1", State: voice.AlertAcknowledged}
	inputBody := `{"uuid":"u-1","dtmf":{"digits":"9","timed_out":false},"timestamp":"2026-01-01T00:00:00.000Z"}`
	tests := []struct {
		name string
		body string
		out  provider.Outcome
		// want is the NCCO; nil means a non-NCCO reply ({}).
		want []NCCOAction
	}{
		{"acknowledged", inputBody, provider.Outcome{Events: []provider.Applied{dtmf("1", voice.ActionAcknowledge, true)}, Alert: alert, Prompt: prompt},
			[]NCCOAction{{Action: "talk", Text: "Alert acknowledged. Disk full on db-1."}}},
		{"resolved", inputBody, provider.Outcome{Events: []provider.Applied{dtmf("2", voice.ActionResolve, true)},
			Alert: &provider.AlertInfo{Title: "CPU hot!", State: voice.AlertResolved}, Prompt: prompt},
			[]NCCOAction{{Action: "talk", Text: "Alert resolved. CPU hot!"}}},
		{"resolved without an alert", inputBody, provider.Outcome{Events: []provider.Applied{dtmf("2", voice.ActionResolve, true)}},
			[]NCCOAction{{Action: "talk", Text: "Alert resolved."}}},
		{"already acknowledged", inputBody, provider.Outcome{Events: []provider.Applied{dtmf("1", voice.ActionAcknowledge, false)}, Alert: alert},
			[]NCCOAction{{Action: "talk", Text: "Alert is already acknowledged. Disk full on db-1."}}},
		{"unmapped digit re-prompts", inputBody, provider.Outcome{Events: []provider.Applied{dtmf("9", voice.ActionNone, false)}, Alert: alert, Prompt: prompt, MaxDigits: 1},
			[]NCCOAction{
				{Action: "talk", Text: "Sorry, that input was not recognized. Press 1 to acknowledge. Press 2 to resolve.", BargeIn: true},
				{Action: "input", Type: []string{"dtmf"}, DTMF: &DTMFInput{MaxDigits: 1, SubmitOnHash: true, TimeOut: 10},
					EventURL: []string{callhookURL + "?a=b"}, EventMethod: "POST"},
			}},
		{"timed out without digits", `{"uuid":"u-1","dtmf":{"digits":"","timed_out":true}}`,
			provider.Outcome{Events: []provider.Applied{dtmf("", voice.ActionNone, false)}, Prompt: prompt},
			[]NCCOAction{{Action: "talk", Text: "No input was received. Goodbye."}}},
		{"duplicate without events", inputBody, provider.Outcome{Duplicate: true, Prompt: prompt},
			[]NCCOAction{{Action: "talk", Text: "Your input was received. Goodbye."}}},
		{"status event", `{"uuid":"u-1","status":"answered"}`,
			provider.Outcome{Events: []provider.Applied{{Event: voice.Event{CallID: "u-1", Type: voice.EventStatus, Status: voice.StatusAnswered}}}},
			nil},
		{"duplicate status event", `{"uuid":"u-1","status":"answered"}`, provider.Outcome{Duplicate: true}, nil},
		{"unparseable body", `nope`, provider.Outcome{}, nil},
	}
	p := New(provider.Config{}, provider.Deps{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := p.Reply(inputRequest(tt.body), tt.out)
			if rep.Status != http.StatusOK || rep.ContentType != "application/json" {
				t.Fatalf("reply status %d type %q", rep.Status, rep.ContentType)
			}
			if tt.want == nil {
				var obj map[string]any
				if err := json.Unmarshal(rep.Body, &obj); err != nil || len(obj) != 0 {
					t.Fatalf("reply %s, want an empty JSON object (%v)", rep.Body, err)
				}
				return
			}
			var got []NCCOAction
			if err := json.Unmarshal(rep.Body, &got); err != nil {
				t.Fatalf("reply %s is not an NCCO array: %v", rep.Body, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ncco = %s, want %d actions", rep.Body, len(tt.want))
			}
			for i := range got {
				if !equalAction(got[i], tt.want[i]) {
					t.Errorf("action %d = %+v, want %+v (body %s)", i, got[i], tt.want[i], rep.Body)
				}
			}
		})
	}
}

func equalAction(a, b NCCOAction) bool {
	if a.Action != b.Action || a.Text != b.Text || a.BargeIn != b.BargeIn || a.EventMethod != b.EventMethod ||
		len(a.Type) != len(b.Type) || len(a.EventURL) != len(b.EventURL) || (a.DTMF == nil) != (b.DTMF == nil) {
		return false
	}
	for i := range a.Type {
		if a.Type[i] != b.Type[i] {
			return false
		}
	}
	for i := range a.EventURL {
		if a.EventURL[i] != b.EventURL[i] {
			return false
		}
	}
	return a.DTMF == nil || *a.DTMF == *b.DTMF
}

func TestMaxDigits(t *testing.T) {
	// maxDigits of the input action is Outcome.MaxDigits, capped at Vonage's
	// 20, and Vonage's default when the outcome does not say.
	p := New(provider.Config{}, provider.Deps{})
	body := `{"uuid":"u-1","dtmf":{"digits":"9","timed_out":false}}`
	for maxDigits, want := range map[int]int{0: defaultMaxDigits, 1: 1, 3: 3, 16: 16, 25: 20} {
		out := provider.Outcome{Events: []provider.Applied{dtmf("9", voice.ActionNone, false)}, Prompt: prompt, MaxDigits: maxDigits}
		var got []NCCOAction
		if err := json.Unmarshal(p.Reply(inputRequest(body), out).Body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[1].DTMF == nil || got[1].DTMF.MaxDigits != want {
			t.Errorf("MaxDigits %d: ncco %+v, want input maxDigits %d", maxDigits, got, want)
		}
	}
}

// TestReplyForFixtures checks the reply to every documented event: {} for
// events that are not input, and for input without digits a goodbye NCCO
// rather than a re-prompt.
func TestReplyForFixtures(t *testing.T) {
	m := providertest.Load(t)
	p := fixtureProvider(t, m)
	for _, fx := range m.Fixtures {
		r := fx.Request(fixtureNow)
		evs, err := p.Parse(r)
		if err != nil {
			t.Fatalf("%s: %v", fx.File, err)
		}
		out := provider.Outcome{Events: []provider.Applied{{Event: evs[0], Matched: true}}, Prompt: prompt}
		got := p.Reply(r, out)
		want := "{}"
		switch {
		case evs[0].Type == voice.EventDTMF && evs[0].Digit == "":
			want = `[{"action":"talk","text":"No input was received. Goodbye."}]`
		case evs[0].Type == voice.EventDTMF:
			continue // digits that map to nothing re-prompt; TestReply covers it
		}
		if got.Status != http.StatusOK || string(got.Body) != want {
			t.Errorf("%s: reply = %d %s, want 200 %s", fx.File, got.Status, got.Body, want)
		}
	}
}
