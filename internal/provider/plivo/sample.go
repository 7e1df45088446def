package plivo

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"callhook/internal/provider"
)

// SampleDTMF builds the GetDigits action request Plivo posts after the
// callee pressed digit on outbound call callID, signed with V3 when
// auth_token is configured, like SampleCallback.
func (p *Provider) SampleDTMF(callbackURL, callID, digit string, now time.Time) (*provider.Request, error) {
	if callID == "" || digit == "" {
		return nil, fmt.Errorf("plivo: sample keypad callback: call id and digit are required")
	}
	params := url.Values{
		"ALegRequestUUID": {callID}, "ALegUUID": {callID}, "CallStatus": {"in-progress"}, "CallUUID": {callID},
		"Digits": {digit}, "Direction": {"outbound"}, "From": {p.sampleFrom()}, "RequestUUID": {callID}, "To": {"15555550199"},
	}
	return p.signedSample("sample keypad callback", callbackURL, params, now)
}

// sampleFrom is the caller number of sample callbacks: the configured from
// number, else a fictitious one.
func (p *Provider) sampleFrom() string {
	if from := number(p.cfg["from"]); from != "" {
		return from
	}
	return "15555550100"
}

// signedSample is a form POST of params to callbackURL, signed with V3 when
// auth_token is configured, as Plivo sends it.
func (p *Provider) signedSample(what, callbackURL string, params url.Values, now time.Time) (*provider.Request, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if token := p.cfg["auth_token"]; token != "" {
		nonce := Nonce()
		sig := SignV3(token, http.MethodPost, callbackURL, nonce, params)
		if sig == "" {
			return nil, fmt.Errorf("plivo: %s: url %q has no scheme and host", what, callbackURL)
		}
		h.Set(HeaderV3, sig)
		h.Set(HeaderV3Nonce, nonce)
	}
	return &provider.Request{Method: http.MethodPost, URL: callbackURL, Header: h,
		Body: []byte(params.Encode()), Now: now}, nil
}

var _ provider.DTMFSampler = (*Provider)(nil)
