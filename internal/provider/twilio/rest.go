package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// DefaultBaseURL is Twilio's REST API root.
const DefaultBaseURL = "https://api.twilio.com"

// MaxTwiMLLen is the longest document the Calls API accepts in its Twiml parameter.
const MaxTwiMLLen = 4000

// StatusCallbackEvents are the call progress events a placed call reports.
var StatusCallbackEvents = []string{"initiated", "ringing", "answered", "completed"}

// maxResponse bounds how much of a REST response is read.
const maxResponse = 1 << 20

// Client calls a Twilio-compatible Calls API: Twilio itself or SignalWire's
// LaML API, which share paths, form parameters and JSON shapes.
type Client struct {
	// Name prefixes errors: "twilio", "signalwire".
	Name string
	// Base is the API root before "/2010-04-01", e.g. https://api.twilio.com
	// or https://example.signalwire.com/api/laml.
	Base string
	// AccountSid is the account in the path (SignalWire: the project id).
	AccountSid string
	// Username and Password are the HTTP basic auth credentials.
	Username, Password string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

func (c *Client) callsPath() string {
	return "/2010-04-01/Accounts/" + url.PathEscape(c.AccountSid) + "/Calls"
}

// CallForm returns the form that places a call from from to req.To running
// CallTwiML, with status callbacks for every progress event to req.CallbackURL.
func CallForm(from string, req provider.PlaceRequest) (url.Values, error) {
	if strings.TrimSpace(req.To) == "" {
		return nil, fmt.Errorf("place call: to is required")
	}
	if strings.TrimSpace(from) == "" {
		return nil, fmt.Errorf("place call: from is not configured")
	}
	if strings.TrimSpace(req.CallbackURL) == "" {
		return nil, fmt.Errorf("place call: callback url is required")
	}
	twiml := CallTwiML(req.Message, req.Prompt, req.CallbackURL)
	if len(twiml) > MaxTwiMLLen {
		return nil, fmt.Errorf("place call: the call document is %d characters, over the limit of %d: shorten the message", len(twiml), MaxTwiMLLen)
	}
	f := url.Values{}
	f.Set("To", strings.TrimSpace(req.To))
	f.Set("From", strings.TrimSpace(from))
	f.Set("Twiml", string(twiml))
	f.Set("StatusCallback", req.CallbackURL)
	f.Set("StatusCallbackMethod", http.MethodPost)
	for _, ev := range StatusCallbackEvents {
		f.Add("StatusCallbackEvent", ev)
	}
	return f, nil
}

// callResource is the part of the Call resource callhook reads.
type callResource struct {
	Sid         string          `json:"sid"`
	Status      string          `json:"status"`
	Direction   string          `json:"direction"`
	From        string          `json:"from"`
	To          string          `json:"to"`
	Duration    json.RawMessage `json:"duration"`
	AnsweredBy  string          `json:"answered_by"`
	DateUpdated string          `json:"date_updated"`
	EndTime     string          `json:"end_time"`
}

// PlaceCall creates a call with POST {Base}/2010-04-01/Accounts/{AccountSid}/Calls.json.
func (c *Client) PlaceCall(ctx context.Context, from string, req provider.PlaceRequest) (provider.PlacedCall, error) {
	if c.AccountSid == "" || c.Password == "" {
		return provider.PlacedCall{}, fmt.Errorf("%s: place call: credentials are not configured", c.Name)
	}
	form, err := CallForm(from, req)
	if err != nil {
		return provider.PlacedCall{}, fmt.Errorf("%s: %w", c.Name, err)
	}
	var out callResource
	if err := c.do(ctx, http.MethodPost, c.callsPath()+".json", form, &out); err != nil {
		return provider.PlacedCall{}, fmt.Errorf("%s: place call: %w", c.Name, err)
	}
	if out.Sid == "" {
		return provider.PlacedCall{}, fmt.Errorf("%s: place call: response has no sid", c.Name)
	}
	st, _ := MapStatus(out.Status)
	if st == voice.StatusUnknown {
		st = voice.StatusQueued
	}
	return provider.PlacedCall{ProviderCallID: out.Sid, Status: st}, nil
}

// FetchCall reads GET {Base}/2010-04-01/Accounts/{AccountSid}/Calls/{callSid}.json
// and returns it as a status event with Native "poll".
func (c *Client) FetchCall(ctx context.Context, callSid string) (voice.Event, error) {
	if c.AccountSid == "" || c.Password == "" {
		return voice.Event{}, fmt.Errorf("%s: fetch call: credentials are not configured", c.Name)
	}
	if err := checkID("call id", callSid); err != nil {
		return voice.Event{}, fmt.Errorf("%s: fetch call: %w", c.Name, err)
	}
	var out callResource
	if err := c.do(ctx, http.MethodGet, c.callsPath()+"/"+url.PathEscape(callSid)+".json", nil, &out); err != nil {
		return voice.Event{}, fmt.Errorf("%s: fetch call: %w", c.Name, err)
	}
	return out.event(callSid), nil
}

func (cr callResource) event(id string) voice.Event {
	e := voice.Event{CallID: cr.Sid, Type: voice.EventStatus, Native: NativePoll, Sequence: -1, From: cr.From, To: cr.To}
	if e.CallID == "" {
		e.CallID = id
	}
	e.Status, _ = MapStatus(cr.Status)
	switch d := strings.ToLower(cr.Direction); {
	case d == "inbound":
		e.Direction = voice.Inbound
	case strings.HasPrefix(d, "outbound"):
		e.Direction = voice.Outbound
	}
	dur := rawString(cr.Duration)
	if d, ok := parseSeconds(dur); ok {
		e.DurationS = &d
		if e.Status == voice.StatusCompleted {
			e.Message = "CallDuration=" + dur
		}
	}
	ts := cr.EndTime
	if ts == "" {
		ts = cr.DateUpdated
	}
	if t, ok := ParseTimestamp(ts); ok {
		e.OccurredAt = t
	}
	raw := map[string]string{"CallStatus": cr.Status}
	if cr.AnsweredBy != "" {
		raw["AnsweredBy"] = cr.AnsweredBy
	}
	e.Raw = raw
	return e
}

// rawString reads a JSON string or number as text; null gives "".
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// apiError is the error body of the Twilio-compatible APIs.
type apiError struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
}

func (c *Client) do(ctx context.Context, method, path string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+path, body)
	if err != nil {
		return err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(c.Username, c.Password)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var ae apiError
		if json.Unmarshal(b, &ae) == nil && ae.Message != "" {
			if code := rawString(ae.Code); code != "" {
				return fmt.Errorf("HTTP %d: error %s: %s", resp.StatusCode, code, ae.Message)
			}
			return fmt.Errorf("HTTP %d: %s", resp.StatusCode, ae.Message)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(truncate(b, 200))))
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
