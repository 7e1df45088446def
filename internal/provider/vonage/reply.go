package vonage

import (
	"encoding/json"
	"net/http"
	"strings"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// NCCOAction is one NCCO action. Only the fields callhook uses are modelled.
type NCCOAction struct {
	Action      string     `json:"action"`
	Text        string     `json:"text,omitempty"`
	BargeIn     bool       `json:"bargeIn,omitempty"`
	Type        []string   `json:"type,omitempty"`
	DTMF        *DTMFInput `json:"dtmf,omitempty"`
	EventURL    []string   `json:"eventUrl,omitempty"`
	EventMethod string     `json:"eventMethod,omitempty"`
}

// DTMFInput are the dtmf settings of an NCCO input action.
type DTMFInput struct {
	MaxDigits    int  `json:"maxDigits"`
	SubmitOnHash bool `json:"submitOnHash"`
	TimeOut      int  `json:"timeOut"`
}

// inputTimeout is the seconds Vonage waits after the last key (its maximum).
const inputTimeout = 10

// defaultMaxDigits is Vonage's own default for an input action.
const defaultMaxDigits = 4

// Reply answers an input event with an NCCO and everything else with {}.
func (p *Provider) Reply(r *provider.Request, out provider.Outcome) provider.Reply {
	in, applied, ok := inputEvent(r, out)
	if !ok {
		return provider.Reply{Status: http.StatusOK, ContentType: "application/json", Body: []byte("{}")}
	}
	var ncco []NCCOAction
	switch {
	case !applied && in.Event.Digit != "":
		// A retried callback the pipeline stored as a duplicate without
		// events: the first delivery was handled, so do not re-prompt.
		ncco = []NCCOAction{{Action: "talk", Text: "Your input was received. Goodbye."}}
	case in.Action != voice.ActionNone:
		ncco = []NCCOAction{{Action: "talk", Text: confirmation(in, out.Alert)}}
	case in.Event.Digit == "":
		ncco = []NCCOAction{{Action: "talk", Text: "No input was received. Goodbye."}}
	default:
		ncco = []NCCOAction{
			{Action: "talk", Text: joinSentences("Sorry, that input was not recognized.", out.Prompt), BargeIn: true},
			inputAction(out.Prompt, r.URL),
		}
	}
	b, _ := json.Marshal(ncco) // plain structs always marshal
	return provider.Reply{Status: http.StatusOK, ContentType: "application/json", Body: b}
}

// inputEvent finds the DTMF event the reply is about. applied is true when
// it comes from the pipeline; for an outcome without events (a duplicate)
// the request is parsed again and applied is false.
func inputEvent(r *provider.Request, out provider.Outcome) (in provider.Applied, applied, ok bool) {
	for _, a := range out.Events {
		if a.Event.Type == voice.EventDTMF {
			return a, true, true
		}
	}
	if len(out.Events) > 0 {
		return provider.Applied{}, false, false
	}
	evs, err := Parse(r)
	if err != nil || len(evs) == 0 || evs[0].Type != voice.EventDTMF {
		return provider.Applied{}, false, false
	}
	return provider.Applied{Event: evs[0]}, false, true
}

func inputAction(prompt, eventURL string) NCCOAction {
	a := NCCOAction{
		Action: "input",
		Type:   []string{"dtmf"},
		DTMF:   &DTMFInput{MaxDigits: maxDigits(prompt), SubmitOnHash: true, TimeOut: inputTimeout},
	}
	if eventURL != "" {
		a.EventURL = []string{eventURL}
		a.EventMethod = http.MethodPost
	}
	return a
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

// maxDigits is the number of keys in the longest key sequence the prompt names,
// clamped to Vonage's 1–20, or Vonage's default when the prompt names none.
// The pipeline's prompt spells keys as words ("Press 7 8 7 to acknowledge.
// Press star 9 to resolve."), so a run of single keys, "star", "pound" or
// "hash" counts, and punctuation ends a run. With the default mapping this is
// 1, so one key press submits at once.
func maxDigits(prompt string) int {
	if n := longestKeyRun(prompt); n > 0 {
		return min(n, 20)
	}
	return defaultMaxDigits
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
