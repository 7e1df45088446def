package vonage

import (
	"encoding/json"
	"net/http"

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

// defaultMaxDigits is Vonage's own default for an input action, and
// maxMaxDigits the largest maxDigits it accepts.
const (
	defaultMaxDigits = 4
	maxMaxDigits     = 20
)

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
		ncco = []NCCOAction{{Action: "talk", Text: provider.Confirmation(in, out.Alert)}}
	case in.Event.Digit == "":
		ncco = []NCCOAction{{Action: "talk", Text: "No input was received. Goodbye."}}
	default:
		ncco = []NCCOAction{
			{Action: "talk", Text: provider.JoinSentences("Sorry, that input was not recognized.", out.Prompt), BargeIn: true},
			inputAction(out.MaxDigits, r.URL),
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

// inputAction collects up to maxDigits keys (Outcome.MaxDigits or
// PlaceRequest.MaxDigits), at most Vonage's 20, or Vonage's default of 4 when
// maxDigits is not known, and posts them to eventURL.
func inputAction(maxDigits int, eventURL string) NCCOAction {
	a := NCCOAction{
		Action: "input",
		Type:   []string{"dtmf"},
		DTMF: &DTMFInput{MaxDigits: provider.DigitLimit(maxDigits, defaultMaxDigits, maxMaxDigits),
			SubmitOnHash: true, TimeOut: inputTimeout},
	}
	if eventURL != "" {
		a.EventURL = []string{eventURL}
		a.EventMethod = http.MethodPost
	}
	return a
}
