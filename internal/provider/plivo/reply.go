package plivo

import (
	"encoding/xml"
	"net/http"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// ContentTypeXML is the content type of Plivo XML replies.
const ContentTypeXML = "application/xml"

// digitEndTimeout is the seconds GetInput waits after the last key.
const digitEndTimeout = 5

// maxNumDigits is the largest numDigits Plivo accepts.
const maxNumDigits = 32

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
		var about string
		if out.Alert != nil {
			about = provider.JoinSentences(out.Alert.Title, out.Alert.Message)
		}
		speech := provider.JoinSentences(about, out.Prompt)
		if speech == "" {
			speech = "This is a callhook alert call."
		}
		verbs = []any{getInput(r.URL, out.MaxDigits, speech)}
	case in.Event.Type != voice.EventDTMF:
	case !applied && in.Event.Digit != "":
		// A retried callback stored as a duplicate without events: the
		// first delivery was handled, so do not ask again.
		verbs = []any{Speak{Text: "Your input was received. Goodbye."}, Hangup{}}
	case in.Action != voice.ActionNone:
		verbs = []any{Speak{Text: provider.Confirmation(in, out.Alert)}, Hangup{}}
	default:
		lead := "Sorry, that input was not recognized."
		if in.Event.Digit == "" {
			lead = "No input was received."
		}
		verbs = []any{getInput(r.URL, out.MaxDigits, provider.JoinSentences(lead, out.Prompt))}
	}
	b, err := xml.Marshal(Response{Verbs: verbs})
	if err != nil { // plain structs of strings always marshal
		b = []byte("<Response></Response>")
	}
	return provider.Reply{Status: http.StatusOK, ContentType: ContentTypeXML, Body: append([]byte(xml.Header), b...)}
}

// getInput collects up to maxDigits keys (Outcome.MaxDigits), at most
// Plivo's 32. numDigits is omitted when maxDigits is not known, leaving
// Plivo's default.
func getInput(action string, maxDigits int, speech string) GetInput {
	return GetInput{Action: action, Method: http.MethodPost, InputType: "dtmf",
		DigitEndTimeout: digitEndTimeout, NumDigits: provider.DigitLimit(maxDigits, 0, maxNumDigits), Speak: Speak{Text: speech}}
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
