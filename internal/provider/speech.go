package provider

import (
	"strings"

	"callhook/internal/voice"
)

// Speech helpers shared by the adapters whose replies talk to the callee.
// Each adapter keeps the wording its replies (and tests) have always used;
// what is the same across adapters lives here.

// JoinSentences joins the non-empty parts with a space, ending each with a
// period unless it already ends a sentence (".", "!" or "?"), so that
// text-to-speech pauses between them. Parts are trimmed of white space.
func JoinSentences(parts ...string) string {
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

// AlertText is what a call says about an alert: "Alert: <title>. <message>.",
// or "An alert is firing." when the alert has neither; "" for no alert.
func AlertText(a *AlertInfo) string {
	if a == nil {
		return ""
	}
	title := strings.TrimSpace(a.Title)
	if title != "" {
		title = "Alert: " + title
	}
	if s := JoinSentences(title, a.Message); s != "" {
		return s
	}
	return "An alert is firing."
}

// ActionText confirms an alert action: "Alert resolved." for a resolve,
// "Alert acknowledged." otherwise.
func ActionText(a voice.Action) string {
	if a == voice.ActionResolve {
		return "Alert resolved."
	}
	return "Alert acknowledged."
}

// StateText answers keypad input whose action changed nothing with the
// state the alert is in: "The alert is already acknowledged.", "The alert is
// already resolved.", "The alert is <state>." for any other state, and "No
// change was made." when no alert (or no state) is known.
func StateText(a *AlertInfo) string {
	if a == nil || a.State == "" {
		return "No change was made."
	}
	switch a.State {
	case voice.AlertAcknowledged, voice.AlertResolved:
		return "The alert is already " + string(a.State) + "."
	}
	return "The alert is " + string(a.State) + "."
}

// Confirmation is the short answer to keypad input that mapped to an action,
// followed by the alert's title when an alert is known: ActionText ("Alert
// acknowledged. <title>."), or "Alert is already <state>. <title>." when the
// action changed nothing and the alert's state is known. It is the wording
// of the replies that end the call right away (Plivo, Vonage); StateText is
// the one of the IVR-style replies (Telnyx, 8x8).
func Confirmation(in Applied, alert *AlertInfo) string {
	text := ActionText(in.Action)
	if alert == nil {
		return text
	}
	if !in.Changed && alert.State != "" {
		text = "Alert is already " + string(alert.State) + "."
	}
	return JoinSentences(text, alert.Title)
}

// DigitLimit is how many keys a keypad capture waits for: maxDigits (from
// Outcome.MaxDigits or PlaceRequest.MaxDigits) capped at limit, the
// provider's maximum, or def when maxDigits is 0, i.e. not known.
func DigitLimit(maxDigits, def, limit int) int {
	if maxDigits <= 0 {
		return def
	}
	return min(maxDigits, limit)
}
