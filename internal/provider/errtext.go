package provider

import (
	"regexp"
	"strings"
)

// ErrorMeaning is one code or cause found in a provider's text, with what it
// means to the person on call.
type ErrorMeaning struct {
	// Code is the code or cause as the provider wrote it ("21211", "USER_BUSY").
	Code string
	// Words says what happened and, where there is one, what to do.
	Words string
}

// ExplainError finds, in a call event's message or a failed placement's
// error, the codes and hang-up causes providers put there (docs/providers.md):
// Twilio's and SignalWire's error codes ("ErrorCode=11200", "error 21211:"),
// SIP response codes, Plivo's HangupCause, Telnyx's hangup_cause, Vonage's
// status detail, and the network errors of an unreachable API. The console
// shows the words beside the provider's own text, which stays as it came.
// Codes it does not know are left out.
func ExplainError(message string) []ErrorMeaning {
	if strings.TrimSpace(message) == "" {
		return nil
	}
	var out []ErrorMeaning
	seen := map[string]bool{}
	add := func(code, words string) {
		if words != "" && !seen[code] {
			seen[code] = true
			out = append(out, ErrorMeaning{Code: code, Words: words})
		}
	}
	for _, m := range twilioCodeRE.FindAllStringSubmatch(message, -1) {
		add(m[1], twilioCodes[m[1]])
	}
	for _, m := range sipCodeRE.FindAllStringSubmatch(message, -1) {
		add("SIP "+m[1], sipCodes[m[1]])
	}
	tokens := causeTokenRE.FindAllString(message, -1)
	for i, tok := range tokens {
		key := strings.ToLower(tok)
		// A single word ("timeout", "restricted") is a cause only where a
		// provider puts one, first in the message; elsewhere it is prose
		// ("i/o timeout").
		if !strings.Contains(key, "_") && i > 0 {
			continue
		}
		add(tok, hangupCauses[key])
	}
	lower := strings.ToLower(message)
	for _, n := range networkErrors {
		if strings.Contains(lower, n.match) {
			add(n.code, n.words)
		}
	}
	return out
}

var (
	// Twilio and SignalWire: "ErrorCode=11200" in a callback, "error 21211:"
	// or a JSON "code": 21211 in a refused placement.
	twilioCodeRE = regexp.MustCompile(`(?:ErrorCode=|\berror |"code":\s*)(\d{5})\b`)
	sipCodeRE    = regexp.MustCompile(`(?:SipResponseCode=|sip_hangup_cause=)(\d{3})\b`)
	causeTokenRE = regexp.MustCompile(`[A-Za-z]+(?:_[A-Za-z]+)*`)
)

// twilioCodes are the Twilio (and SignalWire, which reuses them) error codes
// a voice call to an on-call number meets most.
var twilioCodes = map[string]string{
	"11200": "the provider could not fetch callhook's callback URL: check that the public URL is reachable from the internet",
	"11205": "the provider's HTTP connection to callhook failed",
	"13224": "the number to call is not a valid phone number",
	"13225": "calls to this number are forbidden by the provider",
	"13227": "the account may not call this country (geographic permissions)",
	"20003": "the provider refused the credentials: check the account SID and auth token",
	"21210": "the caller id (From) is not a verified number of the account",
	"21211": "the number to call (To) is not a valid phone number",
	"21212": "the caller id (From) is not a valid phone number",
	"21214": "the number to call cannot be reached",
	"21215": "the account is not allowed to call this number (geographic permissions)",
	"21216": "the account is not allowed to call this number (blocked or premium)",
	"21217": "the number to call does not look like a valid phone number",
	"21219": "a trial account may only call verified numbers",
	"21610": "the number has opted out of contact from this sender",
	"30003": "the phone is unreachable: switched off or out of coverage",
	"30004": "the carrier blocked the call or message",
	"30005": "the number is unknown or no longer in service",
	"30006": "the number is a landline or its carrier cannot be reached",
	"30007": "the carrier filtered the call or message as unwanted",
	"30008": "the carrier reported an unknown error",
}

// sipCodes are the SIP responses behind a failed or refused call.
var sipCodes = map[string]string{
	"403": "the far end refused the call (forbidden)",
	"404": "the number does not exist",
	"408": "the far end did not answer in time",
	"480": "the phone is temporarily unavailable",
	"484": "the number is incomplete",
	"486": "the line is busy",
	"487": "the call was cancelled before it was answered",
	"503": "the carrier's service is unavailable",
	"603": "the callee declined the call",
}

// hangupCauses are Plivo's HangupCause (upper case), Telnyx's hangup_cause
// and Vonage's status detail (lower case), keyed in lower case.
var hangupCauses = map[string]string{
	"user_busy":                "the line was busy",
	"busy":                     "the line was busy",
	"no_answer":                "nobody answered",
	"no_user_response":         "the phone did not respond",
	"timeout":                  "nobody answered before the ring timeout",
	"ring_timeout":             "nobody answered before the ring timeout",
	"call_rejected":            "the callee or their carrier rejected the call",
	"declined":                 "the callee declined the call",
	"originator_cancel":        "the call was cancelled before it was answered",
	"unallocated_number":       "the number does not exist",
	"not_found":                "the number does not exist",
	"invalid_number":           "the number is not valid",
	"invalid_number_format":    "the number is not in a valid format",
	"number_changed":           "the number has changed",
	"number_out_of_service":    "the number is out of service",
	"subscriber_absent":        "the phone is switched off or out of coverage",
	"unavailable":              "the phone is unavailable",
	"restricted":               "calls to this number are restricted",
	"destination_barred":       "calls to this number are barred",
	"cannot_route":             "the provider could not route the call",
	"no_route_destination":     "the provider has no route to this number",
	"destination_out_of_order": "the callee's line is out of order",
	"network_out_of_order":     "the carrier's network is out of order",
	"normal_temporary_failure": "a temporary network failure",
	"recovery_on_timer_expire": "the carrier did not answer in time",
	"insufficient_balance":     "the provider account has no credit left",
	"internal_error":           "the provider had an internal error",
}

// networkErrors are what Go's HTTP client says when the provider's API cannot
// be reached at all; the raw text ("dial tcp: lookup …") means little on call.
var networkErrors = []struct{ match, code, words string }{
	{"no such host", "DNS", "the provider's API host name could not be resolved: check the API URL and the server's DNS"},
	{"connection refused", "connection refused", "the provider's API refused the connection: check the API URL"},
	{"i/o timeout", "timeout", "the provider's API did not answer in time"},
	{"deadline exceeded", "timeout", "the provider's API did not answer in time"},
	{"certificate", "TLS", "the provider's API certificate was not accepted"},
	{"http 401", "HTTP 401", "the provider refused the credentials"},
	{"http 403", "HTTP 403", "the provider refused the request: check the account's permissions"},
	{"http 402", "HTTP 402", "the provider account needs payment or credit"},
}
