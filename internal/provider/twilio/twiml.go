package twilio

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// Verb is one TwiML verb: Say, Gather or Hangup. The set is closed so that
// a document always marshals.
type Verb interface{ verb() }

func (Say) verb()    {}
func (Gather) verb() {}
func (Hangup) verb() {}

// TwiML verbs. They are built with encoding/xml so that user text (alert
// titles, messages, prompts) is always escaped.
type (
	// Response is a TwiML (or cXML) document.
	Response struct {
		XMLName xml.Name `xml:"Response"`
		Verbs   []Verb
	}
	// Say speaks Text.
	Say struct {
		XMLName xml.Name `xml:"Say"`
		Text    string   `xml:",chardata"`
	}
	// Gather collects keypad input and posts it to Action.
	Gather struct {
		XMLName xml.Name `xml:"Gather"`
		Input   string   `xml:"input,attr"`
		Action  string   `xml:"action,attr"`
		Method  string   `xml:"method,attr"`
		Timeout string   `xml:"timeout,attr,omitempty"`
		Verbs   []Verb
	}
	// Hangup ends the call.
	Hangup struct {
		XMLName xml.Name `xml:"Hangup"`
	}
)

// Fixed spoken texts.
const (
	sayNoInput       = "No input received. Goodbye."
	sayNotFound      = "Sorry, that input was not recognized."
	sayDefaultPrompt = "Please enter your choice on the keypad."
	sayDuplicate     = "Your input was already received. Goodbye."
	sayNoAlert       = "No open alert is linked to this call. Goodbye."
	sayNoFiringAlert = "There are no firing alerts. Goodbye."
)

// Marshal renders the document without an XML declaration.
func (r Response) Marshal() []byte {
	b, err := xml.Marshal(r)
	if err != nil {
		// Unreachable: Verb is closed over types that always marshal.
		panic("twilio: marshal twiml: " + err.Error())
	}
	return b
}

// CallTwiML is the document a placed call runs: say the message and the
// prompt inside a DTMF <Gather> whose action is callbackURL, then say goodbye
// if no key was pressed.
func CallTwiML(message, prompt, callbackURL string) []byte {
	text := strings.TrimSpace(strings.TrimSpace(message) + " " + strings.TrimSpace(prompt))
	return Response{Verbs: []Verb{
		Gather{Input: "dtmf", Action: callbackURL, Method: http.MethodPost, Timeout: "10", Verbs: []Verb{Say{Text: text}}},
		Say{Text: sayNoInput},
	}}.Marshal()
}

// TwiMLReply wraps a document as a 200 text/xml reply with an XML declaration.
func TwiMLReply(doc Response) provider.Reply {
	return provider.Reply{Status: http.StatusOK, ContentType: "text/xml; charset=utf-8",
		Body: append([]byte(xml.Header), doc.Marshal()...)}
}

// EmptyTwiML is the reply to status callbacks: 200 with an empty
// <Response/>. Twilio ignores the body of status callbacks, and the same
// reply is a valid document should the URL also be used as a voice URL,
// where an empty 204 would be a document parse error.
func EmptyTwiML() provider.Reply {
	return provider.Reply{Status: http.StatusOK, ContentType: "text/xml; charset=utf-8", Body: emptyTwiML}
}

// emptyTwiML is rendered once: it is the answer to nearly every callback.
// A Reply's body is only read.
var emptyTwiML = TwiMLReply(Response{}).Body

// RenderReply is the reply for a Twilio-format callback: Call Notification →
// JSON, 200 when delivered to a console binding else 404; <Gather> action →
// TwiML from GatherReply; an inbound voice request (the number's voice URL
// pointed at callhook) → VoiceReply; anything else → EmptyTwiML.
func RenderReply(r *provider.Request, out provider.Outcome) provider.Reply {
	if IsJSON(r) {
		return NotificationReply(out)
	}
	v, err := r.Params()
	if err == nil && IsGather(v) {
		return GatherReply(actionURL(r), out)
	}
	if err == nil && IsInboundVoiceRequest(v) {
		return VoiceReply(actionURL(r), out)
	}
	return EmptyTwiML()
}

// NotificationReply answers a Call Notification: 200 means a console
// binding for the callee identity got it, 404 means none exists, which is
// what Twilio expects (docs/providers.md, "Twilio").
func NotificationReply(out provider.Outcome) provider.Reply {
	body := struct {
		Delivered bool   `json:"delivered"`
		Error     string `json:"error,omitempty"`
	}{Delivered: out.Delivered}
	status := http.StatusOK
	if !out.Delivered {
		status = http.StatusNotFound
		body.Error = "no console binding for the callee identity"
	}
	b, _ := json.Marshal(body)
	return provider.Reply{Status: status, ContentType: "application/json", Body: b}
}

// GatherReply renders the TwiML answer to a <Gather> action:
//
//   - the keypad action changed the alert: "Alert acknowledged." or "Alert
//     resolved." with the alert title, then hang up;
//   - the action was valid but changed nothing: say the alert already is in
//     that state (or that no alert is linked), then hang up;
//   - a duplicate delivery with no event: say the input was received, hang up;
//   - no or an unmapped digit: say it was not recognized and gather again,
//     posting to action, with out.Prompt.
func GatherReply(action string, out provider.Outcome) provider.Reply {
	var a *provider.Applied
	for i := range out.Events {
		if out.Events[i].Event.Type == voice.EventDTMF {
			a = &out.Events[i]
			break
		}
	}
	title := ""
	if out.Alert != nil {
		title = strings.TrimSpace(out.Alert.Title)
	}
	switch {
	case a != nil && a.Action != voice.ActionNone && a.Changed:
		text := provider.ActionText(a.Action)
		if title != "" {
			text += " " + title
		}
		return TwiMLReply(Response{Verbs: []Verb{Say{Text: text}, Hangup{}}})
	case a != nil && a.Action != voice.ActionNone:
		text := sayNoAlert
		if out.Alert != nil {
			text = alreadyText(out.Alert.State, a.Action)
			if title != "" {
				text += " " + title
			}
		}
		return TwiMLReply(Response{Verbs: []Verb{Say{Text: text}, Hangup{}}})
	case a == nil && out.Duplicate:
		return TwiMLReply(Response{Verbs: []Verb{Say{Text: sayDuplicate}, Hangup{}}})
	}
	prompt := strings.TrimSpace(out.Prompt)
	if prompt == "" {
		prompt = sayDefaultPrompt
	}
	return TwiMLReply(Response{Verbs: []Verb{
		Say{Text: sayNotFound},
		Gather{Input: "dtmf", Action: action, Method: http.MethodPost, Verbs: []Verb{Say{Text: prompt}}},
		Say{Text: sayNoInput},
	}})
}

func alreadyText(state voice.AlertState, a voice.Action) string {
	switch {
	case state == voice.AlertResolved:
		return "This alert was already resolved."
	case state == voice.AlertAcknowledged && a == voice.ActionAcknowledge:
		return "This alert was already acknowledged."
	case a == voice.ActionResolve:
		return "This alert was already resolved."
	}
	return "This alert was already acknowledged."
}

// IsInboundVoiceRequest reports whether v is Twilio asking what to do with
// an incoming call: no call-progress CallbackSource (status callbacks always
// carry one), Direction inbound, and the call not yet over. The callbacks
// that only report something (partial speech, an asynchronous AMD result, a
// recording) are not: Twilio ignores their reply, so they get the empty one.
func IsInboundVoiceRequest(v url.Values) bool {
	if v.Get("CallbackSource") != "" || !strings.EqualFold(v.Get("Direction"), "inbound") {
		return false
	}
	if k, ok := classify(v); ok && k != kindStatus {
		return false
	}
	switch strings.ToLower(v.Get("CallStatus")) {
	case "ringing", "queued", "in-progress", "":
		return true
	}
	return false
}

// VoiceReply answers an incoming call: on-call staff phoning in hear the
// newest firing alert (the pipeline links the inbound call to it) and are
// asked for a key, posted back to action; with no firing alert they hear so
// and the call ends.
func VoiceReply(action string, out provider.Outcome) provider.Reply {
	if out.Alert == nil {
		return TwiMLReply(Response{Verbs: []Verb{Say{Text: sayNoFiringAlert}, Hangup{}}})
	}
	prompt := strings.TrimSpace(out.Prompt)
	if prompt == "" {
		prompt = sayDefaultPrompt
	}
	return TwiMLReply(Response{Verbs: []Verb{
		Gather{Input: "dtmf", Action: action, Method: http.MethodPost, Timeout: "10",
			Verbs: []Verb{Say{Text: provider.JoinSentences(provider.AlertText(out.Alert), prompt)}}},
		Say{Text: sayNoInput},
	}})
}

// gatherParams are the parameter names Twilio appends to a GET action URL;
// they are removed before the URL is reused as the next action.
var gatherParams = map[string]bool{"AccountSid": true, "ApiVersion": true, "CallSid": true, "CallStatus": true,
	"Called": true, "Caller": true, "CallerName": true, "From": true, "To": true, "Direction": true,
	"Digits": true, "FinishedOnKey": true, "msg": true, "SpeechResult": true, "Confidence": true,
	"ForwardedFrom": true, "ParentCallSid": true, "CallToken": true, "StirVerstat": true}

func isGatherParam(k string) bool {
	if gatherParams[k] {
		return true
	}
	for _, p := range []string{"From", "To", "Called", "Caller"} {
		switch strings.TrimPrefix(k, p) {
		case "City", "State", "Zip", "Country":
			return strings.HasPrefix(k, p)
		}
	}
	return false
}

// actionURL is the URL a re-prompt <Gather> posts to: the URL the gather
// came to. For a GET it still holds the previous gather's parameters, which
// Twilio would send again beside the new ones, so those are removed.
func actionURL(r *provider.Request) string {
	if r.Method != http.MethodGet {
		return r.URL
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return r.URL
	}
	q := u.Query()
	for k := range q {
		if isGatherParam(k) {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
