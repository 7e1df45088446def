package vonage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// apiTokenTTL is how long an API JWT is valid (the Vonage SDKs use 15 minutes).
const apiTokenTTL = 15 * time.Minute

// Endpoint is a Vonage call endpoint.
type Endpoint struct {
	Type   string `json:"type"`
	Number string `json:"number"`
}

// CreateCall is the body of POST /v1/calls.
type CreateCall struct {
	To          []Endpoint   `json:"to"`
	From        Endpoint     `json:"from"`
	NCCO        []NCCOAction `json:"ncco"`
	EventURL    []string     `json:"event_url"`
	EventMethod string       `json:"event_method"`
}

// PlaceCall creates an outbound call that speaks the message and prompt, then
// collects keypad input posted to the callback URL.
func (p *Provider) PlaceCall(ctx context.Context, req provider.PlaceRequest) (provider.PlacedCall, error) {
	from := firstNonEmpty(req.From, p.cfg["from"])
	switch {
	case strings.TrimSpace(req.To) == "":
		return provider.PlacedCall{}, fmt.Errorf("vonage: place call: no destination number")
	case from == "":
		return provider.PlacedCall{}, fmt.Errorf("vonage: place call: from is not configured")
	case req.CallbackURL == "":
		return provider.PlacedCall{}, fmt.Errorf("vonage: place call: no callback URL")
	}
	text := provider.JoinSentences(req.Message, req.Prompt)
	if text == "" {
		text = "This is a callhook alert call."
	}
	body := CreateCall{
		To:   []Endpoint{{Type: "phone", Number: number(req.To)}},
		From: Endpoint{Type: "phone", Number: number(from)},
		NCCO: []NCCOAction{
			{Action: "talk", Text: text, BargeIn: true},
			inputAction(req.MaxDigits, req.CallbackURL),
		},
		EventURL:    []string{req.CallbackURL},
		EventMethod: http.MethodPost,
	}
	b, err := json.Marshal(body)
	if err != nil {
		return provider.PlacedCall{}, fmt.Errorf("vonage: place call: %w", err)
	}
	var out struct {
		UUID   string `json:"uuid"`
		Status string `json:"status"`
	}
	if err := p.do(ctx, http.MethodPost, "/v1/calls", b, &out); err != nil {
		return provider.PlacedCall{}, fmt.Errorf("vonage: place call: %w", err)
	}
	if out.UUID == "" {
		return provider.PlacedCall{}, fmt.Errorf("vonage: place call: response has no uuid")
	}
	st := MapStatus(out.Status)
	if st == voice.StatusUnknown {
		st = voice.StatusQueued
	}
	return provider.PlacedCall{ProviderCallID: out.UUID, Status: st}, nil
}

// number strips the leading "+" Vonage does not want on E.164 numbers.
func number(s string) string {
	return strings.TrimPrefix(strings.TrimSpace(s), "+")
}

// FetchCall reads GET /v1/calls/{uuid} and returns it as a status event
// (Native "poll").
func (p *Provider) FetchCall(ctx context.Context, id string) (voice.Event, error) {
	if strings.TrimSpace(id) == "" {
		return voice.Event{}, fmt.Errorf("vonage: fetch call: empty call id")
	}
	var w wire
	if err := p.do(ctx, http.MethodGet, "/v1/calls/"+url.PathEscape(id), nil, &w); err != nil {
		return voice.Event{}, fmt.Errorf("vonage: fetch call: %w", err)
	}
	if w.UUID == "" {
		w.UUID = flexString(id)
	}
	f, err := w.fields()
	if err != nil {
		return voice.Event{}, fmt.Errorf("vonage: fetch call: %w", err)
	}
	f.hasInput = false
	e, err := f.event()
	if err != nil {
		return voice.Event{}, fmt.Errorf("vonage: fetch call: %w", err)
	}
	if e.Raw == nil {
		e.Raw = map[string]string{}
	}
	e.Raw["status"] = e.Native
	e.Native = "poll"
	e.IdempotencyKey = ""
	return e, nil
}

// apiToken returns the RS256 application JWT for the REST API.
func (p *Provider) apiToken() (string, error) {
	if p.keyErr != nil {
		return "", p.keyErr
	}
	appID := strings.TrimSpace(p.cfg["application_id"])
	if appID == "" {
		return "", fmt.Errorf("application_id is not configured")
	}
	now := p.nowFunc()
	claims := jwt.MapClaims{
		"application_id": appID,
		"iat":            now.Unix(),
		"exp":            now.Add(apiTokenTTL).Unix(),
		"jti":            randomID(),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(p.key)
	if err != nil {
		return "", fmt.Errorf("sign API token: %w", err)
	}
	return s, nil
}

// do calls {base}{path} with the application JWT.
func (p *Provider) do(ctx context.Context, method, path string, body []byte, out any) error {
	tok, err := p.apiToken()
	if err != nil {
		return err
	}
	req, err := provider.NewJSONRequest(ctx, method, p.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return provider.DoJSON(p.client, req, method+" "+path, out)
}

// SampleCallback builds an "answered" event webhook for callID addressed to
// url, signed with signature_secret when one is configured.
func (p *Provider) SampleCallback(url, callID string, now time.Time) (*provider.Request, error) {
	return p.signedSample("sample callback", url, map[string]any{
		"from":              p.sampleFrom(),
		"to":                "15555550199",
		"uuid":              callID,
		"conversation_uuid": "CON-" + callID,
		"status":            "answered",
		"direction":         "outbound",
		"timestamp":         now.UTC().Format("2006-01-02T15:04:05.000Z"),
	}, now)
}
