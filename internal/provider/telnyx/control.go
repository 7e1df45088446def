package telnyx

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// Speech settings of every spoken command.
const (
	speakVoice    = "female"
	speakLanguage = "en-US"
	validDigits   = "0123456789*#"
	// maxGathers bounds how often one call is prompted for keypad input.
	maxGathers = 3
	// maxSpeech is Telnyx's limit on the text of one speak or gather command.
	maxSpeech = 3000
	// maxStateMessage caps the message kept in client_state, which travels
	// with every webhook of the call.
	maxStateMessage = 1000
	defaultPrompt   = "Press 1 to acknowledge. Press 2 to resolve."
	// maxDigits caps maximum_digits at the longest key sequence a DTMF
	// mapping may have.
	maxDigits = 16
)

// The steps recorded in client_state.
const (
	stepDialed = "dialed" // PlaceCall
	stepGather = "gather" // a gather_using_speak is running
	stepBye    = "bye"    // the last words are playing; hang up when they end
)

// callState is the client_state callhook attaches to the calls it places and
// the commands it sends. Telnyx echoes it in every later webhook of the call.
type callState struct {
	App     string `json:"app"` // always "callhook"
	Step    string `json:"step,omitempty"`
	Message string `json:"msg,omitempty"`
	Prompt  string `json:"prompt,omitempty"`
	Tries   int    `json:"tries,omitempty"`
}

const stateApp = "callhook"

func (s callState) encode() string {
	s.App = stateApp
	s.Message = truncate(s.Message, maxStateMessage)
	b, _ := json.Marshal(s)
	return base64.StdEncoding.EncodeToString(b)
}

// decodeState reads a client_state; ok is false unless callhook wrote it.
func decodeState(v string) (callState, bool) {
	if v == "" {
		return callState{}, false
	}
	b, err := decodeBase64(v)
	if err != nil {
		return callState{}, false
	}
	var s callState
	if err := json.Unmarshal(b, &s); err != nil || s.App != stateApp {
		return callState{}, false
	}
	return s, true
}

// PlaceCall dials req.To with POST {base}/v2/calls. The call's client_state
// carries the message and prompt for React to speak once it is answered.
func (p *Provider) PlaceCall(ctx context.Context, req provider.PlaceRequest) (provider.PlacedCall, error) {
	if strings.TrimSpace(p.cfg["api_key"]) == "" {
		return provider.PlacedCall{}, errors.New("telnyx: place call: api_key is not configured")
	}
	connection := strings.TrimSpace(p.cfg["connection_id"])
	if connection == "" {
		return provider.PlacedCall{}, errors.New("telnyx: place call: connection_id is not configured")
	}
	from := strings.TrimSpace(req.From)
	if from == "" {
		from = strings.TrimSpace(p.cfg["from"])
	}
	if from == "" {
		return provider.PlacedCall{}, errors.New("telnyx: place call: no caller id (configure from)")
	}
	to := strings.TrimSpace(req.To)
	if to == "" {
		return provider.PlacedCall{}, errors.New("telnyx: place call: no destination number")
	}
	body := map[string]string{
		"connection_id": connection,
		"to":            to,
		"from":          from,
		"client_state":  callState{Step: stepDialed, Message: req.Message, Prompt: req.Prompt}.encode(),
	}
	// Without a webhook_url Telnyx uses the connection's own webhook URL.
	if req.CallbackURL != "" {
		body["webhook_url"] = req.CallbackURL
		body["webhook_url_method"] = http.MethodPost
	}
	var out struct {
		Data struct {
			CallControlID string `json:"call_control_id"`
		} `json:"data"`
	}
	if err := p.post(ctx, "/v2/calls", body, &out); err != nil {
		return provider.PlacedCall{}, fmt.Errorf("telnyx: place call: %w", err)
	}
	if out.Data.CallControlID == "" {
		return provider.PlacedCall{}, errors.New("telnyx: place call: response has no data.call_control_id")
	}
	return provider.PlacedCall{ProviderCallID: out.Data.CallControlID, Status: voice.StatusQueued}, nil
}

// React sends the call-control commands a committed callback calls for (see
// the package doc). It sends at most one command per callback.
func (p *Provider) React(ctx context.Context, _ *provider.Request, out provider.Outcome) error {
	if out.Duplicate {
		return nil
	}
	for _, a := range out.Events {
		cmd, ok := nextCommand(a, out)
		if !ok {
			continue
		}
		if strings.TrimSpace(p.cfg["api_key"]) == "" {
			return errors.New("telnyx: react: api_key is not configured")
		}
		path := "/v2/calls/" + url.PathEscape(a.Event.CallID) + "/actions/" + cmd.action
		if err := p.post(ctx, path, cmd.body, nil); err != nil {
			return fmt.Errorf("telnyx: %s: %w", cmd.action, err)
		}
		return nil
	}
	return nil
}

// command is one call-control action with its JSON body.
type command struct {
	action string
	body   map[string]any
}

// nextCommand decides the command for one applied event, if any.
func nextCommand(a provider.Applied, out provider.Outcome) (command, bool) {
	e := a.Event
	st, ours := decodeState(e.Raw["client_state"])
	prompt := strings.TrimSpace(out.Prompt)
	if prompt == "" {
		prompt = st.Prompt
	}
	if prompt == "" {
		prompt = defaultPrompt
	}
	// maximum_digits: the longest key sequence of the channel's DTMF mapping
	// (the pipeline sets it with Prompt), so that a multi-digit mapping can be
	// entered while the usual one-key mapping ends the gather at the first
	// key press.
	digits := provider.DigitLimit(out.MaxDigits, 1, maxDigits)
	cmdID := func(action string) string {
		if e.IdempotencyKey == "" {
			return ""
		}
		return e.IdempotencyKey + ":" + action
	}

	// Per-digit events of our own gather are left to its call.gather.ended,
	// so that one gather gets exactly one answer.
	inGather := ours && st.Step == stepGather

	switch {
	case e.Native == "call.answered":
		if !ours && e.Direction != voice.Outbound {
			return command{}, false
		}
		msg := strings.TrimSpace(st.Message)
		if msg == "" {
			msg = provider.AlertText(out.Alert)
		}
		next := callState{Step: stepGather, Message: st.Message, Prompt: prompt, Tries: 1}
		return gather(provider.JoinSentences(msg, prompt), digits, next, cmdID("gather_using_speak")), true

	case e.Native == "call.gather.ended" && inGather:
		switch e.Raw["status"] {
		case "call_hangup", "cancelled", "cancelled_amd":
			return command{}, false
		}
		if a.Action != voice.ActionNone {
			return speak(confirmation(a, out.Alert), callState{Step: stepBye}, cmdID("speak")), true
		}
		if st.Tries >= maxGathers {
			return speak("Goodbye.", callState{Step: stepBye}, cmdID("speak")), true
		}
		next := callState{Step: stepGather, Message: st.Message, Prompt: prompt, Tries: st.Tries + 1}
		return gather(provider.JoinSentences("Input not recognized.", prompt), digits, next, cmdID("gather_using_speak")), true

	case e.Type == voice.EventDTMF && !inGather && a.Action != voice.ActionNone && a.Changed:
		return speak(provider.ActionText(a.Action), callState{Step: stepBye}, cmdID("speak")), true

	case e.Native == "call.speak.ended" && ours && st.Step == stepBye && e.Raw["status"] != "call_hangup":
		body := map[string]any{}
		if id := cmdID("hangup"); id != "" {
			body["command_id"] = id
		}
		return command{action: "hangup", body: body}, true
	}
	return command{}, false
}

func gather(text string, digits int, st callState, cmdID string) command {
	body := map[string]any{
		"payload":        truncate(text, maxSpeech),
		"voice":          speakVoice,
		"language":       speakLanguage,
		"valid_digits":   validDigits,
		"minimum_digits": 1,
		"maximum_digits": digits,
		"client_state":   st.encode(),
	}
	if cmdID != "" {
		body["command_id"] = cmdID
	}
	return command{action: "gather_using_speak", body: body}
}

func speak(text string, st callState, cmdID string) command {
	body := map[string]any{
		"payload":      truncate(text, maxSpeech),
		"voice":        speakVoice,
		"language":     speakLanguage,
		"client_state": st.encode(),
	}
	if cmdID != "" {
		body["command_id"] = cmdID
	}
	return command{action: "speak", body: body}
}

// confirmation answers a gather whose digits mapped to an action. The
// per-digit event of the same key press may already have applied the action,
// so without Changed the answer follows the alert's state: the action's
// confirmation when the alert is in the state the action leads to, else the
// state it is in ("The alert is already resolved." for a 1 pressed on a
// resolved alert, "No change was made." when no alert is linked).
func confirmation(a provider.Applied, alert *provider.AlertInfo) string {
	want := voice.AlertAcknowledged
	if a.Action == voice.ActionResolve {
		want = voice.AlertResolved
	}
	switch {
	case a.Changed || alert != nil && alert.State == want:
		return provider.ActionText(a.Action)
	case alert != nil && alert.State == voice.AlertAcknowledged:
		// Only a resolve gets here (an acknowledge matched want above).
		return "The alert is acknowledged."
	}
	return provider.StateText(alert)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// post sends a JSON POST to the Telnyx API and decodes the JSON answer into
// out when out is not nil.
func (p *Provider) post(ctx context.Context, path string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := provider.NewJSONRequest(ctx, http.MethodPost, p.base+path, b)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(p.cfg["api_key"]))
	resp, err := p.client.Do(req)
	if err != nil {
		// The error names the URL, never the key.
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, apiError(rb))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rb, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// apiError summarizes a Telnyx error body {"errors":[{"code","title","detail"}]}.
func apiError(b []byte) string {
	var e struct {
		Errors []struct {
			Code   string `json:"code"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &e) == nil && len(e.Errors) > 0 {
		var parts []string
		for _, x := range e.Errors {
			s := strings.TrimSpace(x.Title)
			if x.Detail != "" {
				s = strings.TrimSpace(s + ": " + x.Detail)
			}
			if x.Code != "" {
				s += " (code " + x.Code + ")"
			}
			parts = append(parts, s)
		}
		return truncate(strings.Join(parts, "; "), 500)
	}
	return truncate(strings.TrimSpace(string(b)), 200)
}
