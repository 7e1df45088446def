package wavecell

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// legacyReply is a decoded {"commands":[…]} reply.
type legacyReply struct {
	Commands []map[string]any `json:"commands"`
}

// flowReply is a decoded callflow reply.
type flowReply struct {
	ClientActionID string `json:"clientActionId"`
	Callflow       []struct {
		Action string         `json:"action"`
		Params map[string]any `json:"params"`
	} `json:"callflow"`
}

// outcome runs a body through Parse and wraps its events as the pipeline
// would, with the given action result for DTMF events.
func outcome(t *testing.T, body string, alert *provider.AlertInfo, action voice.Action, changed bool) (*provider.Request, provider.Outcome) {
	t.Helper()
	r := jsonRequest(body)
	events, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	out := provider.Outcome{Alert: alert, Prompt: "Press 1 to acknowledge. Press 2 to resolve.", MaxDigits: 1}
	for _, e := range events {
		a := provider.Applied{Event: e, Matched: true}
		if e.Type == voice.EventDTMF {
			a.Action, a.Changed = action, changed
		}
		out.Events = append(out.Events, a)
	}
	return r, out
}

var firing = &provider.AlertInfo{ID: 1, Title: "Disk full on db1", Message: "Usage is 97 percent", State: voice.AlertFiring}

const (
	alertPrompt = "Alert: Disk full on db1. Usage is 97 percent. Press 1 to acknowledge. Press 2 to resolve."
	retryPrompt = "Input not recognized. Press 1 to acknowledge. Press 2 to resolve."
)

func TestReplyLegacy(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		alert     *provider.AlertInfo
		action    voice.Action
		changed   bool
		duplicate bool
		message   string // "" means no commands
		interrupt bool
		length    float64
	}{
		{name: "inbound call with an alert says it and collects a digit",
			body: legacy("CALL_RECEIVED", `,"direction":0,"status":"NOT_CONNECTED"`), alert: firing,
			message: alertPrompt, interrupt: true, length: 1},
		{name: "inbound call without an alert says so and ends",
			body:    legacy("CALL_RECEIVED", `,"direction":0,"status":"NOT_CONNECTED"`),
			message: "There are no firing alerts."},
		{name: "outbound call gets no commands",
			body: legacy("CALL_RECEIVED", `,"direction":1,"status":"NOT_CONNECTED"`), alert: firing},
		{name: "acknowledging digit confirms and ends",
			body: legacy("DTMF_RECEIVED", `,"direction":0,"status":"CONNECTED","dtmf":1`), alert: firing, action: voice.ActionAcknowledge, changed: true,
			message: "Alert acknowledged."},
		{name: "resolving digit confirms and ends",
			body: legacy("DTMF_RECEIVED", `,"direction":0,"status":"CONNECTED","dtmf":2`), alert: firing, action: voice.ActionResolve, changed: true,
			message: "Alert resolved."},
		{name: "unmapped digit is not recognized and collects again",
			body: legacy("DTMF_RECEIVED", `,"direction":0,"status":"CONNECTED","dtmf":9`), alert: firing,
			message: retryPrompt, interrupt: true, length: 1},
		{name: "digit on an already resolved alert",
			body: legacy("DTMF_RECEIVED", `,"direction":0,"status":"CONNECTED","dtmf":1`), alert: &provider.AlertInfo{State: voice.AlertResolved}, action: voice.ActionAcknowledge,
			message: "The alert is already resolved."},
		{name: "unmapped digit without an alert ends",
			body:    legacy("DTMF_RECEIVED", `,"direction":0,"status":"CONNECTED","dtmf":9`),
			message: "There are no firing alerts."},
		{name: "duplicate gets no commands",
			body: legacy("DTMF_RECEIVED", `,"direction":0,"status":"CONNECTED","dtmf":1`), alert: firing, action: voice.ActionAcknowledge, duplicate: true},
		{name: "other event gets no commands",
			body: legacy("CALL_ENDED", `,"direction":0`), alert: firing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, out := outcome(t, tt.body, tt.alert, tt.action, tt.changed)
			out.Duplicate = tt.duplicate
			rep := New(provider.Config{}, provider.Deps{}).Reply(r, out)
			if rep.Status != http.StatusOK || rep.ContentType != "application/json" {
				t.Errorf("status=%d content-type=%q", rep.Status, rep.ContentType)
			}
			var got legacyReply
			if err := json.Unmarshal(rep.Body, &got); err != nil {
				t.Fatalf("reply is not JSON: %v: %s", err, rep.Body)
			}
			if got.Commands == nil {
				t.Fatalf("reply has no commands array: %s", rep.Body)
			}
			if tt.message == "" {
				if len(got.Commands) != 0 {
					t.Errorf("commands = %v, want none", got.Commands)
				}
				return
			}
			if len(got.Commands) != 1 {
				t.Fatalf("commands = %v, want one PlayTTS", got.Commands)
			}
			c := got.Commands[0]
			if c["function"] != "PlayTTS" || c["message"] != tt.message || c["voice"] != "f" || c["language"] != "en" {
				t.Errorf("command = %v, want PlayTTS %q", c, tt.message)
			}
			if c["dtmfInterrupt"] != tt.interrupt || c["dtmfLength"] != tt.length {
				t.Errorf("dtmfInterrupt=%v dtmfLength=%v, want %v %v", c["dtmfInterrupt"], c["dtmfLength"], tt.interrupt, tt.length)
			}
		})
	}
}

func TestReplyCallflow(t *testing.T) {
	inbound := func(eventType, status, extra string) string {
		return env(eventType, `,"callDirection":"INBOUND","callStatus":"`+status+`"`+extra)
	}
	tests := []struct {
		name      string
		body      string
		alert     *provider.AlertInfo
		action    voice.Action
		changed   bool
		duplicate bool
		// want: empty object, a capture, or a say+hangup.
		empty     bool
		capture   string // promptMessage
		say       string // text before hangup
		actionID  string
		maxDigits float64
	}{
		{name: "inbound CALL_ACTION received prompts",
			body: inbound("CALL_ACTION", "CALL_RECEIVED", ``), alert: firing,
			capture: alertPrompt, actionID: "callhook-capture-1", maxDigits: 1},
		{name: "inbound CALL_ACTION connected prompts",
			body: inbound("CALL_ACTION", "CALL_CONNECTED", `,"sipCode":200`), alert: firing,
			capture: alertPrompt, actionID: "callhook-capture-1", maxDigits: 1},
		{name: "inbound CALL_STATUS received prompts",
			body: inbound("CALL_STATUS", "CALL_RECEIVED", ``), alert: firing,
			capture: alertPrompt, actionID: "callhook-capture-1", maxDigits: 1},
		{name: "inbound CALL_STATUS connected is only a notification",
			body: inbound("CALL_STATUS", "CALL_CONNECTED", ``), alert: firing, empty: true},
		{name: "inbound without an alert says so and hangs up",
			body: inbound("CALL_ACTION", "CALL_RECEIVED", ``),
			say:  "There are no firing alerts.", actionID: "callhook-end"},
		{name: "inbound disconnected needs nothing",
			body: inbound("CALL_ACTION", "CALL_DISCONNECTED", `,"callDuration":12`), alert: firing, empty: true},
		{name: "outbound status needs nothing",
			body: env("CALL_ACTION", `,"callStatus":"CALL_CONNECTED"`), alert: firing, empty: true},
		{name: "acknowledging digit confirms and hangs up",
			body: inbound("CALL_ACTION", "ACTION_COMPLETED", `,"eventData":{"dtmf":"1"},"clientActionId":"callhook-capture-1"`), alert: firing, action: voice.ActionAcknowledge, changed: true,
			say: "Alert acknowledged.", actionID: "callhook-end"},
		{name: "resolving digit on an outbound IVR call confirms too",
			body: env("CALL_ACTION", `,"callStatus":"ACTION_COMPLETED","eventData":{"dtmf":"2"},"clientActionId":"ivr1_level1"`), alert: firing, action: voice.ActionResolve, changed: true,
			say: "Alert resolved.", actionID: "callhook-end"},
		{name: "DTMF_RECEIVED status confirms",
			body: inbound("CALL_STATUS", "DTMF_RECEIVED", `,"eventData":{"dtmf":"1"}`), alert: firing, action: voice.ActionAcknowledge, changed: true,
			say: "Alert acknowledged.", actionID: "callhook-end"},
		{name: "already acknowledged",
			body: inbound("CALL_ACTION", "ACTION_COMPLETED", `,"eventData":{"dtmf":"1"},"clientActionId":"callhook-capture-1"`), alert: &provider.AlertInfo{State: voice.AlertAcknowledged}, action: voice.ActionAcknowledge,
			say: "The alert is already acknowledged.", actionID: "callhook-end"},
		{name: "unmapped digit asks again",
			body: inbound("CALL_ACTION", "ACTION_COMPLETED", `,"eventData":{"dtmf":"9"},"clientActionId":"callhook-capture-1"`), alert: firing,
			capture: retryPrompt, actionID: "callhook-capture-2", maxDigits: 1},
		{name: "no input on our capture asks again",
			body: inbound("CALL_ACTION", "ACTION_COMPLETED", `,"eventData":{"dtmf":null},"clientActionId":"callhook-capture-2"`), alert: firing,
			capture: retryPrompt, actionID: "callhook-capture-3", maxDigits: 1},
		{name: "third failed prompt says goodbye",
			body: inbound("CALL_ACTION", "ACTION_COMPLETED", `,"eventData":{"dtmf":"9"},"clientActionId":"callhook-capture-3"`), alert: firing,
			say: "Goodbye.", actionID: "callhook-end"},
		{name: "no input on someone else's action is left alone",
			body: inbound("CALL_ACTION", "ACTION_COMPLETED", `,"eventData":null,"clientActionId":"ivr1_level1"`), alert: firing, empty: true},
		{name: "no input and no alert ends",
			body: inbound("CALL_ACTION", "ACTION_COMPLETED", `,"clientActionId":"callhook-capture-1"`),
			say:  "There are no firing alerts.", actionID: "callhook-end"},
		{name: "duplicate needs nothing",
			body: inbound("CALL_ACTION", "CALL_RECEIVED", ``), alert: firing, duplicate: true, empty: true},
		{name: "session summary needs nothing",
			body: `{"namespace":"VOICE","eventType":"SESSION_SUMMARY","payload":{"sessionId":"s","sessionStatus":"COMPLETED"}}`, alert: firing, empty: true},
		{name: "voice messaging needs nothing",
			body: `{"uid":"u","status":{"code":"DTMF"},"actionDetails":{"dtmf":"1"}}`, alert: firing, action: voice.ActionAcknowledge, changed: true, empty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, out := outcome(t, tt.body, tt.alert, tt.action, tt.changed)
			out.Duplicate = tt.duplicate
			rep := New(provider.Config{}, provider.Deps{}).Reply(r, out)
			if rep.Status != http.StatusOK || rep.ContentType != "application/json" {
				t.Errorf("status=%d content-type=%q", rep.Status, rep.ContentType)
			}
			var doc map[string]any
			if err := json.Unmarshal(rep.Body, &doc); err != nil {
				t.Fatalf("reply is not a JSON object: %v: %s", err, rep.Body)
			}
			if tt.empty {
				if len(doc) != 0 {
					t.Errorf("reply = %s, want {}", rep.Body)
				}
				return
			}
			var got flowReply
			if err := json.Unmarshal(rep.Body, &got); err != nil {
				t.Fatal(err)
			}
			if got.ClientActionID != tt.actionID {
				t.Errorf("clientActionId = %q, want %q", got.ClientActionID, tt.actionID)
			}
			if tt.capture != "" {
				if len(got.Callflow) != 1 || got.Callflow[0].Action != "sayAndCapture" {
					t.Fatalf("callflow = %+v, want one sayAndCapture (never followed by hangup)", got.Callflow)
				}
				p := got.Callflow[0].Params
				if p["promptMessage"] != tt.capture || p["maxDigits"] != tt.maxDigits || p["minDigits"] != float64(1) ||
					p["language"] != "en-US" || p["voiceProfile"] == "" || p["noOfTries"] != float64(1) {
					t.Errorf("sayAndCapture params = %v, want promptMessage %q maxDigits %v", p, tt.capture, tt.maxDigits)
				}
				// 8x8 requires overallTimeout with digitTimeout and maxDigits without completeOnHash.
				if p["digitTimeout"] == nil || p["overallTimeout"] == nil || p["completeOnHash"] != false {
					t.Errorf("timeouts = %v", p)
				}
				return
			}
			if len(got.Callflow) != 2 || got.Callflow[0].Action != "say" || got.Callflow[1].Action != "hangup" {
				t.Fatalf("callflow = %+v, want say then hangup", got.Callflow)
			}
			if p := got.Callflow[0].Params; p["text"] != tt.say || p["language"] != "en-US" || p["repetition"] != float64(1) {
				t.Errorf("say params = %v, want text %q", p, tt.say)
			}
		})
	}
}

func TestReplyMultiDigitPrompt(t *testing.T) {
	r, out := outcome(t, legacy("CALL_RECEIVED", `,"direction":0,"status":"NOT_CONNECTED"`), firing, "", false)
	out.Prompt, out.MaxDigits = "Press 7 8 7 to acknowledge. Press 2 to resolve.", 3
	var got legacyReply
	if err := json.Unmarshal(New(nil, provider.Deps{}).Reply(r, out).Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Commands) != 1 || got.Commands[0]["dtmfLength"] != float64(3) {
		t.Errorf("commands = %v, want dtmfLength 3", got.Commands)
	}
	// The same for a current callflow's maxDigits.
	fr, fout := outcome(t, env("CALL_ACTION", `,"callDirection":"INBOUND","callStatus":"CALL_RECEIVED"`), firing, "", false)
	fout.MaxDigits = 3
	var flow flowReply
	if err := json.Unmarshal(New(nil, provider.Deps{}).Reply(fr, fout).Body, &flow); err != nil {
		t.Fatal(err)
	}
	if len(flow.Callflow) != 1 || flow.Callflow[0].Params["maxDigits"] != float64(3) {
		t.Errorf("callflow = %+v, want maxDigits 3", flow.Callflow)
	}
	// Neither from the pipeline falls back to the default mapping's.
	out.Prompt, out.MaxDigits = "", 0
	if err := json.Unmarshal(New(nil, provider.Deps{}).Reply(r, out).Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Commands[0]["message"] != alertPrompt || got.Commands[0]["dtmfLength"] != float64(1) {
		t.Errorf("command = %v, want the default prompt and dtmfLength 1", got.Commands[0])
	}
	// More keys than 8x8 takes are capped.
	out.MaxDigits = 40
	if err := json.Unmarshal(New(nil, provider.Deps{}).Reply(r, out).Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Commands[0]["dtmfLength"] != float64(keyLimit) {
		t.Errorf("dtmfLength = %v, want %d", got.Commands[0]["dtmfLength"], keyLimit)
	}
}

// TestReplyShapes compares our replies with the example replies in testdata:
// the same keys for a legacy PlayTTS and for callflow actions.
func TestReplyShapes(t *testing.T) {
	read := func(name string, v any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	var exLegacy legacyReply
	read("response_commands_legacy.json", &exLegacy)
	var exPlay map[string]any
	for _, c := range exLegacy.Commands {
		if c["function"] == "PlayTTS" {
			exPlay = c
		}
	}
	if exPlay == nil {
		t.Fatal("example has no PlayTTS")
	}
	r, out := outcome(t, legacy("CALL_RECEIVED", `,"direction":0,"status":"NOT_CONNECTED"`), firing, "", false)
	var ours legacyReply
	if err := json.Unmarshal(New(nil, provider.Deps{}).Reply(r, out).Body, &ours); err != nil {
		t.Fatal(err)
	}
	if a, b := keys(ours.Commands[0]), keys(exPlay); a != b {
		t.Errorf("PlayTTS keys = %s, example has %s", a, b)
	}
	for k, v := range exPlay {
		if _, same := map[string]bool{"function": true, "voice": true, "language": true, "dtmfInterrupt": true}[k]; same && ours.Commands[0][k] != v {
			t.Errorf("PlayTTS %s = %v, example has %v", k, ours.Commands[0][k], v)
		}
	}

	var exFlow flowReply
	read("response_callflow.json", &exFlow)
	r, out = outcome(t, env("CALL_ACTION", `,"callStatus":"ACTION_COMPLETED","eventData":{"dtmf":"1"}`), firing, voice.ActionAcknowledge, true)
	var flow flowReply
	if err := json.Unmarshal(New(nil, provider.Deps{}).Reply(r, out).Body, &flow); err != nil {
		t.Fatal(err)
	}
	if len(flow.Callflow) != len(exFlow.Callflow) {
		t.Fatalf("callflow has %d actions, example %d", len(flow.Callflow), len(exFlow.Callflow))
	}
	for i := range flow.Callflow {
		if flow.Callflow[i].Action != exFlow.Callflow[i].Action || keys(flow.Callflow[i].Params) != keys(exFlow.Callflow[i].Params) {
			t.Errorf("action %d = %s %s, example %s %s", i, flow.Callflow[i].Action, keys(flow.Callflow[i].Params),
				exFlow.Callflow[i].Action, keys(exFlow.Callflow[i].Params))
		}
	}
	if flow.Callflow[0].Params["voiceProfile"] != exFlow.Callflow[0].Params["voiceProfile"] {
		t.Errorf("voiceProfile = %v", flow.Callflow[0].Params["voiceProfile"])
	}
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	b, _ := json.Marshal(ks)
	return string(b)
}

func TestReplyUnparsable(t *testing.T) {
	r := jsonRequest(`not json`)
	rep := New(nil, provider.Deps{}).Reply(r, provider.Outcome{})
	if rep.Status != http.StatusOK || string(rep.Body) != `{}` {
		t.Errorf("reply = %d %s", rep.Status, rep.Body)
	}
}

func TestHelpers(t *testing.T) {
	for id, want := range map[string]int{"": 0, "callhook-capture-2": 2, "callhook-capture-x": 0, "ivr1_level1": 0, "callhook-capture--1": 0} {
		if got := promptsSoFar(id); got != want {
			t.Errorf("promptsSoFar(%q) = %d, want %d", id, got, want)
		}
	}
}

func TestReplyCallUpdatedDoesNotPrompt(t *testing.T) {
	r, out := outcome(t, env("CALL_ACTION", `,"callDirection":"INBOUND","callStatus":"CALL_UPDATED"`), firing, "", false)
	if rep := New(nil, provider.Deps{}).Reply(r, out); string(rep.Body) != `{}` {
		t.Errorf("reply = %s, want {}", rep.Body)
	}
}
