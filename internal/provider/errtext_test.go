package provider

import (
	"reflect"
	"testing"
)

func TestExplainError(t *testing.T) {
	for _, tc := range []struct {
		name, message string
		want          []string // codes found, in order
	}{
		{"twilio callback", "ErrorCode=11200 ErrorMessage=HTTP retrieval failure", []string{"11200"}},
		{"twilio placement", "twilio: place call: error 21211: The 'To' number is not a valid phone number.", []string{"21211"}},
		{"twilio json body", `HTTP 400: {"code": 21215, "message": "Account not authorized to call +3912345"}`, []string{"21215"}},
		{"twilio sip", "SipResponseCode=486 ErrorCode=30003", []string{"30003", "SIP 486"}},
		{"unknown twilio code", "ErrorCode=99999", nil},
		{"plivo hangup", "USER_BUSY; 3010 User Busy", []string{"USER_BUSY"}},
		{"telnyx hangup", "user_busy sip_hangup_cause=486", []string{"SIP 486", "user_busy"}},
		{"telnyx timeout", "timeout", []string{"timeout"}},
		{"vonage detail", "restricted", []string{"restricted"}},
		{"prose word is no cause", "the call went through a timeout window", nil},
		{"dns", `place call: Post "https://api.example.test/v1/calls": dial tcp: lookup api.example.test: no such host`, []string{"DNS"}},
		{"credentials", `HTTP 401: {"error":"unauthorized"}`, []string{"HTTP 401"}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range ExplainError(tc.message) {
				if m.Words == "" {
					t.Errorf("%s has no words", m.Code)
				}
				got = append(got, m.Code)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ExplainError(%q) codes = %q, want %q", tc.message, got, tc.want)
			}
		})
	}
}
