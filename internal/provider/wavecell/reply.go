package wavecell

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// Speech settings of every reply.
const (
	legacyVoice    = "f"
	legacyLanguage = "en"
	language       = "en-US"
	voiceProfile   = "en-US-ChristopherNeural"
	// maxPrompts bounds how often one call is prompted in a current callflow.
	maxPrompts     = 3
	digitTimeoutMS = 5000
	overallTimeMS  = 20000
	defaultPrompt  = "Press 1 to acknowledge. Press 2 to resolve."
	noAlerts       = "There are no firing alerts."
	notRecognized  = "Input not recognized."
	goodbye        = "Goodbye."
	// keyLimit caps the keys a capture waits for at the longest key
	// sequence a DTMF mapping may have.
	keyLimit = 16
)

// clientActionId values of callhook's callflows.
const (
	capturePrefix = "callhook-capture-"
	endAction     = "callhook-end"
)

// script is what the call should do next, independent of the wire format.
type script struct {
	say     string
	capture bool // collect digits after saying; else hang up
	digits  int  // how many keys the capture waits for
	tries   int  // prompts so far, including this one (current callflows)
}

// Reply renders the instructions 8x8 expects for a committed callback (see
// the package doc): legacy {"commands":[…]}, current
// {"clientActionId","callflow":[…]}, or an empty instruction set.
func (p *Provider) Reply(r *provider.Request, out provider.Outcome) provider.Reply {
	cb, err := decode(r)
	if err != nil {
		// Reply runs only for committed callbacks, so this is unreachable
		// in the pipeline; answer with no instructions.
		return jsonReply(map[string]any{})
	}
	sc, ok := next(cb, out)
	switch cb.kind {
	case kindLegacy:
		cmds := []legacyCommand{}
		if ok {
			cmds = append(cmds, legacyPlay(sc))
		}
		return jsonReply(map[string]any{"commands": cmds})
	case kindEnvelope:
		if ok {
			return jsonReply(callflow(sc))
		}
	}
	return jsonReply(map[string]any{})
}

// next decides the script for a callback, if it needs one.
func next(cb callback, out provider.Outcome) (script, bool) {
	if out.Duplicate || cb.kind == kindMessaging || cb.eventType == eventSessionSummary {
		return script{}, false
	}
	// An outcome without them gets the default mapping's prompt and key count.
	prompt := strings.TrimSpace(out.Prompt)
	if prompt == "" {
		prompt = defaultPrompt
	}
	digits := provider.DigitLimit(out.MaxDigits, 1, keyLimit)
	tries := promptsSoFar(cb.clientActionID)
	hangup := func(text string) (script, bool) { return script{say: text}, true }
	ask := func(text string) (script, bool) {
		if cb.kind == kindEnvelope && tries >= maxPrompts {
			return hangup(goodbye)
		}
		return script{say: text, capture: true, digits: digits, tries: tries + 1}, true
	}

	if a, ok := dtmfEvent(out.Events); ok {
		switch {
		case a.Changed:
			return hangup(provider.ActionText(a.Action))
		case a.Action != voice.ActionNone:
			return hangup(provider.StateText(out.Alert))
		case out.Alert == nil:
			return hangup(noAlerts)
		}
		return ask(provider.JoinSentences(notRecognized, prompt))
	}
	if len(cb.events) == 0 {
		return script{}, false
	}
	e := cb.events[0]
	switch cb.kind {
	case kindLegacy:
		if cb.eventType != "CALL_RECEIVED" || e.Direction != voice.Inbound {
			return script{}, false
		}
	case kindEnvelope:
		if e.Direction != voice.Inbound {
			return script{}, false
		}
		switch {
		case cb.eventType == eventCallStatus && cb.callStatus == "CALL_RECEIVED":
		case cb.eventType == eventCallAction && cb.callStatus == "ACTION_COMPLETED":
			// Our capture ended without digits: ask again. Someone
			// else's action is not ours to continue.
			if !strings.HasPrefix(cb.clientActionID, capturePrefix) {
				return script{}, false
			}
			if out.Alert == nil {
				return hangup(noAlerts)
			}
			return ask(provider.JoinSentences(notRecognized, prompt))
		case cb.eventType == eventCallAction && (cb.callStatus == "CALL_RECEIVED" || cb.callStatus == "CALL_CONNECTED" || cb.callStatus == ""):
		default:
			return script{}, false
		}
	}
	if out.Alert == nil {
		return hangup(noAlerts)
	}
	return ask(provider.JoinSentences(provider.AlertText(out.Alert), prompt))
}

// dtmfEvent returns the first DTMF event of a callback that carries keys or
// an action. Input that ended with no digits is left to the callback's own
// rules (a capture of ours that got nothing is asked again).
func dtmfEvent(as []provider.Applied) (provider.Applied, bool) {
	for _, a := range as {
		if a.Event.Type == voice.EventDTMF && (a.Event.Digit != "" || a.Action != voice.ActionNone) {
			return a, true
		}
	}
	return provider.Applied{}, false
}

// promptsSoFar reads N from a clientActionId "callhook-capture-N".
func promptsSoFar(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, capturePrefix))
	if !strings.HasPrefix(id, capturePrefix) || err != nil || n < 0 {
		return 0
	}
	return n
}

// legacyCommand is one function of a handleURL {"commands":[…]} reply.
type legacyCommand struct {
	Function      string `json:"function"`
	Message       string `json:"message"`
	Voice         string `json:"voice"`
	Language      string `json:"language"`
	DTMFInterrupt bool   `json:"dtmfInterrupt"`
	DTMFLength    int    `json:"dtmfLength"`
}

// legacyPlay is a PlayTTS that collects digits when the script asks for
// them; without dtmfInterrupt it is the call's last command.
func legacyPlay(sc script) legacyCommand {
	c := legacyCommand{Function: "PlayTTS", Message: sc.say, Voice: legacyVoice, Language: legacyLanguage}
	if sc.capture {
		c.DTMFInterrupt = true
		c.DTMFLength = sc.digits
	}
	return c
}

// callflowAction is one action of a current callflow.
type callflowAction struct {
	Action string         `json:"action"`
	Params map[string]any `json:"params,omitempty"`
}

func callflow(sc script) map[string]any {
	if sc.capture {
		return map[string]any{
			"clientActionId": capturePrefix + strconv.Itoa(sc.tries),
			// No hangup may follow sayAndCapture: 8x8 would drop the digits.
			"callflow": []callflowAction{{Action: "sayAndCapture", Params: map[string]any{
				"promptMessage":  sc.say,
				"language":       language,
				"voiceProfile":   voiceProfile,
				"minDigits":      1,
				"maxDigits":      sc.digits,
				"digitTimeout":   digitTimeoutMS,
				"overallTimeout": overallTimeMS,
				"completeOnHash": false,
				"noOfTries":      1,
			}}},
		}
	}
	return map[string]any{
		"clientActionId": endAction,
		"callflow": []callflowAction{
			{Action: "say", Params: map[string]any{"text": sc.say, "language": language, "voiceProfile": voiceProfile, "repetition": 1}},
			{Action: "hangup"},
		},
	}
}

func jsonReply(v any) provider.Reply {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{}`)
	}
	return provider.Reply{Status: http.StatusOK, ContentType: "application/json", Body: b}
}
