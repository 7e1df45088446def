package plivo

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

const prompt = "Press 1 to acknowledge. Press 2 to resolve."

// node is a parsed XML element, for comparing replies as documents.
type node struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []node     `xml:",any"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// want describes an expected element: name, attributes, trimmed text, children.
type want struct {
	name     string
	attrs    map[string]string
	text     string
	children []want
}

func match(t *testing.T, path string, got node, w want) {
	t.Helper()
	if got.XMLName.Local != w.name {
		t.Errorf("%s: element %q, want %q", path, got.XMLName.Local, w.name)
		return
	}
	path += "/" + w.name
	if len(got.Attrs) != len(w.attrs) {
		t.Errorf("%s: attributes %v, want %v", path, got.Attrs, w.attrs)
	}
	for k, v := range w.attrs {
		if g := got.attr(k); g != v {
			t.Errorf("%s: %s=%q, want %q", path, k, g, v)
		}
	}
	if len(w.children) == 0 && strings.TrimSpace(got.Text) != w.text {
		t.Errorf("%s: text %q, want %q", path, strings.TrimSpace(got.Text), w.text)
	}
	if len(got.Children) != len(w.children) {
		t.Errorf("%s: %d children, want %d", path, len(got.Children), len(w.children))
		return
	}
	for i := range w.children {
		match(t, path, got.Children[i], w.children[i])
	}
}

func TestReply(t *testing.T) {
	const answer = "CallUUID=c-1&Event=StartApp&CallStatus=in-progress&Direction=outbound"
	const digits = "CallUUID=c-1&CallStatus=in-progress&Digits=9&InputType=dtmf"
	url := callhookURL + "?a=b"
	alert := &provider.AlertInfo{ID: 3, Title: "Disk full on db-1", Message: "97% used on /var", State: voice.AlertFiring}
	status := func(native string) provider.Applied {
		return provider.Applied{Event: voice.Event{CallID: "c-1", Type: voice.EventStatus, Status: voice.StatusAnswered, Native: native}}
	}
	dtmf := func(d string, a voice.Action, changed bool) provider.Applied {
		return provider.Applied{Event: voice.Event{CallID: "c-1", Type: voice.EventDTMF, Native: "GetInput", Digit: d},
			Action: a, Changed: changed, Matched: true}
	}
	getInput := func(speech string, numDigits string) want {
		attrs := map[string]string{"action": url, "method": "POST", "inputType": "dtmf", "digitEndTimeout": "5"}
		if numDigits != "" {
			attrs["numDigits"] = numDigits
		}
		return want{name: "GetInput", attrs: attrs, children: []want{{name: "Speak", text: speech}}}
	}
	tests := []struct {
		name string
		body string
		out  provider.Outcome
		want want
	}{
		{"answer speaks the alert", answer, provider.Outcome{Events: []provider.Applied{status("StartApp")}, Alert: alert, Prompt: prompt, MaxDigits: 1},
			want{name: "Response", children: []want{getInput("Disk full on db-1. 97% used on /var. "+prompt, "1")}}},
		{"answer without an alert", answer, provider.Outcome{Events: []provider.Applied{status("StartApp")}, Prompt: "Press 787 to acknowledge", MaxDigits: 3},
			want{name: "Response", children: []want{getInput("Press 787 to acknowledge.", "3")}}},
		{"answer without alert or prompt", answer, provider.Outcome{Events: []provider.Applied{status("StartApp")}},
			want{name: "Response", children: []want{getInput("This is a callhook alert call.", "")}}},
		{"duplicate answer", answer, provider.Outcome{Duplicate: true, Prompt: prompt, MaxDigits: 1},
			want{name: "Response", children: []want{getInput(prompt, "1")}}},
		{"acknowledged", digits, provider.Outcome{Events: []provider.Applied{dtmf("1", voice.ActionAcknowledge, true)}, Alert: alert},
			want{name: "Response", children: []want{{name: "Speak", text: "Alert acknowledged. Disk full on db-1."}, {name: "Hangup"}}}},
		{"acknowledged without alert info", digits, provider.Outcome{Events: []provider.Applied{dtmf("1", voice.ActionAcknowledge, true)}},
			want{name: "Response", children: []want{{name: "Speak", text: "Alert acknowledged."}, {name: "Hangup"}}}},
		{"resolved", digits, provider.Outcome{Events: []provider.Applied{dtmf("2", voice.ActionResolve, true)}},
			want{name: "Response", children: []want{{name: "Speak", text: "Alert resolved."}, {name: "Hangup"}}}},
		{"already resolved", digits, provider.Outcome{Events: []provider.Applied{dtmf("1", voice.ActionAcknowledge, false)},
			Alert: &provider.AlertInfo{Title: "X", State: voice.AlertResolved}},
			want{name: "Response", children: []want{{name: "Speak", text: "Alert is already resolved. X."}, {name: "Hangup"}}}},
		{"unmapped digits re-prompt", digits, provider.Outcome{Events: []provider.Applied{dtmf("9", voice.ActionNone, false)}, Alert: alert, Prompt: prompt, MaxDigits: 1},
			want{name: "Response", children: []want{getInput("Sorry, that input was not recognized. "+prompt, "1")}}},
		{"empty digits re-prompt", "CallUUID=c-1&Digits=", provider.Outcome{Events: []provider.Applied{dtmf("", voice.ActionNone, false)}, Prompt: prompt, MaxDigits: 1},
			want{name: "Response", children: []want{getInput("No input was received. "+prompt, "1")}}},
		{"duplicate digits", digits, provider.Outcome{Duplicate: true, Prompt: prompt},
			want{name: "Response", children: []want{{name: "Speak", text: "Your input was received. Goodbye."}, {name: "Hangup"}}}},
		{"hangup", "CallUUID=c-1&Event=Hangup&CallStatus=completed", provider.Outcome{Events: []provider.Applied{status("Hangup")}},
			want{name: "Response"}},
		{"ring duplicate", "CallUUID=c-1&Event=Ring&CallStatus=ringing", provider.Outcome{Duplicate: true}, want{name: "Response"}},
		{"unparseable", "", provider.Outcome{}, want{name: "Response"}},
	}
	p := New(provider.Config{}, provider.Deps{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &provider.Request{Method: http.MethodPost, URL: url, Body: []byte(tt.body),
				Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
			rep := p.Reply(r, tt.out)
			if rep.Status != http.StatusOK || rep.ContentType != "application/xml" {
				t.Fatalf("status %d, content type %q", rep.Status, rep.ContentType)
			}
			if !strings.HasPrefix(string(rep.Body), "<?xml") {
				t.Errorf("reply lacks the XML declaration: %s", rep.Body)
			}
			var got node
			if err := xml.Unmarshal(rep.Body, &got); err != nil {
				t.Fatalf("reply is not XML: %v\n%s", err, rep.Body)
			}
			match(t, "", got, tt.want)
		})
	}
}

func TestReplyEscapes(t *testing.T) {
	p := New(provider.Config{}, provider.Deps{})
	r := &provider.Request{Method: http.MethodPost, URL: callhookURL + "?a=b&c=<d>",
		Body: []byte("CallUUID=c-1&Event=StartApp"), Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
	rep := p.Reply(r, provider.Outcome{Alert: &provider.AlertInfo{Title: `Disk <full> & "hot"`}})
	var got node
	if err := xml.Unmarshal(rep.Body, &got); err != nil {
		t.Fatalf("reply is not XML: %v\n%s", err, rep.Body)
	}
	gi := got.Children[0]
	if gi.attr("action") != callhookURL+"?a=b&c=<d>" || strings.TrimSpace(gi.Children[0].Text) != `Disk <full> & "hot".` {
		t.Errorf("round trip lost text: %+v", gi)
	}
}

func TestNumDigits(t *testing.T) {
	// numDigits is Outcome.MaxDigits, capped at Plivo's 32, and omitted
	// (Plivo's default) when the outcome does not say.
	r := &provider.Request{Method: http.MethodPost, URL: callhookURL, Body: []byte("CallUUID=c-1&Event=StartApp"),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
	p := New(provider.Config{}, provider.Deps{})
	for maxDigits, want := range map[int]string{0: "", 1: "1", 3: "3", 16: "16", 40: "32"} {
		var got node
		if err := xml.Unmarshal(p.Reply(r, provider.Outcome{Prompt: prompt, MaxDigits: maxDigits}).Body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Children) != 1 || got.Children[0].attr("numDigits") != want {
			t.Errorf("MaxDigits %d: GetInput %+v, want numDigits %q", maxDigits, got.Children, want)
		}
	}
}
