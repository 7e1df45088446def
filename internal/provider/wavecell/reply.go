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
	prompt  string
	tries   int // prompts so far, including this one (current callflows)
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
	prompt := strings.TrimSpace(out.Prompt)
	if prompt == "" {
		prompt = defaultPrompt
	}
	tries := promptsSoFar(cb.clientActionID)
	hangup := func(text string) (script, bool) { return script{say: text}, true }
	ask := func(text string) (script, bool) {
		if cb.kind == kindEnvelope && tries >= maxPrompts {
			return hangup(goodbye)
		}
		return script{say: text, capture: true, prompt: prompt, tries: tries + 1}, true
	}

	if a, ok := dtmfEvent(out.Events); ok {
		switch {
		case a.Changed:
			return hangup(actionText(a.Action))
		case a.Action != voice.ActionNone:
			return hangup(confirmation(a, out.Alert))
		case out.Alert == nil:
			return hangup(noAlerts)
		}
		return ask(joinSentences(notRecognized, prompt))
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
			return ask(joinSentences(notRecognized, prompt))
		case cb.eventType == eventCallAction && (cb.callStatus == "CALL_RECEIVED" || cb.callStatus == "CALL_CONNECTED" || cb.callStatus == ""):
		default:
			return script{}, false
		}
	}
	if out.Alert == nil {
		return hangup(noAlerts)
	}
	return ask(joinSentences(alertText(out.Alert), prompt))
}

// dtmfEvent returns the first DTMF event of a callback.
func dtmfEvent(as []provider.Applied) (provider.Applied, bool) {
	for _, a := range as {
		if a.Event.Type == voice.EventDTMF {
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
		c.DTMFLength = min(maxDigits(sc.prompt), 20)
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
				"maxDigits":      maxDigits(sc.prompt),
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

// actionText confirms an applied action.
func actionText(a voice.Action) string {
	if a == voice.ActionResolve {
		return "Alert resolved."
	}
	return "Alert acknowledged."
}

// confirmation answers digits whose action changed nothing: the state the
// alert is in, or "No change was made." when no alert is linked.
func confirmation(a provider.Applied, alert *provider.AlertInfo) string {
	if a.Changed {
		return actionText(a.Action)
	}
	if alert == nil || alert.State == "" {
		return "No change was made."
	}
	switch alert.State {
	case voice.AlertAcknowledged:
		return "The alert is already acknowledged."
	case voice.AlertResolved:
		return "The alert is already resolved."
	}
	return "The alert is " + string(alert.State) + "."
}

// alertText is what a call says about an alert: "Alert: <title>. <message>."
func alertText(a *provider.AlertInfo) string {
	title := strings.TrimSpace(a.Title)
	if title != "" {
		title = "Alert: " + title
	}
	s := joinSentences(title, strings.TrimSpace(a.Message))
	if s == "" {
		return "An alert is firing."
	}
	return s
}

// joinSentences joins non-empty parts, ending each with punctuation.
func joinSentences(parts ...string) string {
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.ContainsAny(p[len(p)-1:], ".!?") {
			p += "."
		}
		out = append(out, p)
	}
	return strings.Join(out, " ")
}

// maxDigits is the longest key sequence the keypad prompt names ("Press 7 8
// 7 to acknowledge." gives 3, "Press star 9" gives 2); the prompt is all the
// adapter sees of the channel's DTMF mapping.
func maxDigits(prompt string) int {
	best, run := 1, 0
	for _, w := range strings.Fields(prompt) {
		w = strings.ToLower(strings.Trim(w, ".,;:!?()"))
		n := keyCount(w)
		if n == 0 {
			run = 0
			continue
		}
		run += n
		best = max(best, run)
	}
	return min(best, 16)
}

// keyCount is how many keypad keys a word of a prompt names.
func keyCount(w string) int {
	switch w {
	case "star", "pound", "hash":
		return 1
	case "":
		return 0
	}
	for _, r := range w {
		if !strings.ContainsRune("0123456789*#", r) {
			return 0
		}
	}
	return len(w)
}
