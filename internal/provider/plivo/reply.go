package plivo

import (
	"encoding/xml"
	"net/http"
	"strings"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// ContentTypeXML is the content type of Plivo XML replies.
const ContentTypeXML = "application/xml"

// digitEndTimeout is the seconds GetInput waits after the last key.
const digitEndTimeout = 5

// Response is a Plivo XML document.
type Response struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []any
}

// GetInput collects keypad input and posts it to Action.
type GetInput struct {
	XMLName         xml.Name `xml:"GetInput"`
	Action          string   `xml:"action,attr"`
	Method          string   `xml:"method,attr"`
	InputType       string   `xml:"inputType,attr"`
	DigitEndTimeout int      `xml:"digitEndTimeout,attr"`
	NumDigits       int      `xml:"numDigits,attr,omitempty"`
	Speak           Speak
}

// Speak is text-to-speech.
type Speak struct {
	XMLName xml.Name `xml:"Speak"`
	Text    string   `xml:",chardata"`
}

// Hangup ends the call.
type Hangup struct {
	XMLName xml.Name `xml:"Hangup"`
}

// Reply renders the Plivo XML for a committed callback.
func (p *Provider) Reply(r *provider.Request, out provider.Outcome) provider.Reply {
	in, applied, ok := subject(r, out)
	var verbs []any
	switch {
	case !ok:
	case in.Event.Native == "StartApp":
		speech := joinSentences(alertText(out.Alert), out.Prompt)
		if speech == "" {
			speech = "This is a callhook alert call."
		}
		verbs = []any{getInput(r.URL, out.Prompt, speech)}
	case in.Event.Type != voice.EventDTMF:
	case !applied && in.Event.Digit != "":
		// A retried callback stored as a duplicate without events: the
		// first delivery was handled, so do not ask again.
		verbs = []any{Speak{Text: "Your input was received. Goodbye."}, Hangup{}}
	case in.Action != voice.ActionNone:
		verbs = []any{Speak{Text: confirmation(in, out.Alert)}, Hangup{}}
	default:
		lead := "Sorry, that input was not recognized."
		if in.Event.Digit == "" {
			lead = "No input was received."
		}
		verbs = []any{getInput(r.URL, out.Prompt, joinSentences(lead, out.Prompt))}
	}
	b, err := xml.Marshal(Response{Verbs: verbs})
	if err != nil { // plain structs of strings always marshal
		b = []byte("<Response></Response>")
	}
	return provider.Reply{Status: http.StatusOK, ContentType: ContentTypeXML, Body: append([]byte(xml.Header), b...)}
}

func getInput(action, prompt, speech string) GetInput {
	return GetInput{Action: action, Method: http.MethodPost, InputType: "dtmf",
		DigitEndTimeout: digitEndTimeout, NumDigits: numDigits(prompt), Speak: Speak{Text: speech}}
}

// subject finds the event the reply is about. applied is true when it comes
// from the pipeline; for an outcome without events (a duplicate) the request
// is parsed again and applied is false.
func subject(r *provider.Request, out provider.Outcome) (in provider.Applied, applied, ok bool) {
	for _, a := range out.Events {
		if a.Event.Type == voice.EventDTMF {
			return a, true, true
		}
	}
	if len(out.Events) > 0 {
		return out.Events[0], true, true
	}
	evs, err := Parse(r)
	if err != nil || len(evs) == 0 {
		return provider.Applied{}, false, false
	}
	return provider.Applied{Event: evs[0]}, false, true
}

func alertText(a *provider.AlertInfo) string {
	if a == nil {
		return ""
	}
	return joinSentences(a.Title, a.Message)
}

// confirmation says what a mapped digit did to the alert.
func confirmation(in provider.Applied, alert *provider.AlertInfo) string {
	var text string
	switch {
	case alert != nil && !in.Changed && alert.State != "":
		text = "Alert is already " + string(alert.State) + "."
	case in.Action == voice.ActionResolve:
		text = "Alert resolved."
	default:
		text = "Alert acknowledged."
	}
	if alert != nil {
		text = joinSentences(text, alert.Title)
	}
	return text
}

// numDigits is the number of keys in the longest key sequence the prompt names,
// at most Plivo's 32, or 0 (attribute omitted) when the prompt names none.
// The pipeline's prompt spells keys as words ("Press 7 8 7 to acknowledge.
// Press star 9 to resolve."), so a run of single keys, "star", "pound" or
// "hash" counts, and punctuation ends a run. With the default mapping this is
// 1, so one key press submits at once.
func numDigits(prompt string) int {
	return min(longestKeyRun(prompt), 32)
}

func longestKeyRun(prompt string) int {
	longest, run := 0, 0
	for _, w := range strings.Fields(prompt) {
		word := strings.TrimRight(w, ".,;:!?")
		n := keyCount(strings.ToLower(word))
		if n == 0 {
			run = 0
			continue
		}
		run += n
		longest = max(longest, run)
		if word != w {
			run = 0
		}
	}
	return longest
}

// keyCount is how many keypad keys a word of a prompt stands for.
func keyCount(w string) int {
	switch w {
	case "star", "pound", "hash":
		return 1
	case "":
		return 0
	}
	for _, c := range w {
		if !strings.ContainsRune("0123456789*#", c) {
			return 0
		}
	}
	return len(w)
}

// joinSentences joins non-empty parts with a space, ending each with a period
// unless it already ends a sentence, so that text-to-speech pauses between them.
func joinSentences(parts ...string) string {
	var out []string
	for _, s := range parts {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.ContainsAny(s[len(s)-1:], ".!?") {
			s += "."
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}
