package plivo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

// CreateCall is the body of POST /v1/Account/{auth_id}/Call/.
type CreateCall struct {
	From         string `json:"from"`
	To           string `json:"to"`
	AnswerURL    string `json:"answer_url"`
	AnswerMethod string `json:"answer_method"`
	HangupURL    string `json:"hangup_url"`
	HangupMethod string `json:"hangup_method"`
	RingURL      string `json:"ring_url"`
	RingMethod   string `json:"ring_method"`
}

// errNotFound marks an HTTP 404 from the API.
var errNotFound = errors.New("not found")

// PlaceCall creates an outbound call whose answer, ring and hangup callbacks
// all go to the channel's callback URL; the answer reply speaks the alert.
func (p *Provider) PlaceCall(ctx context.Context, req provider.PlaceRequest) (provider.PlacedCall, error) {
	to := number(req.To)
	from := number(firstNonEmpty(req.From, p.cfg["from"]))
	switch {
	case to == "":
		return provider.PlacedCall{}, fmt.Errorf("plivo: place call: no destination number")
	case strings.Contains(to, "<"):
		return provider.PlacedCall{}, fmt.Errorf("plivo: place call: one destination only (\"<\" separates several)")
	case from == "":
		return provider.PlacedCall{}, fmt.Errorf("plivo: place call: from is not configured")
	case req.CallbackURL == "":
		return provider.PlacedCall{}, fmt.Errorf("plivo: place call: no callback URL")
	}
	body, err := json.Marshal(CreateCall{
		From: from, To: to,
		AnswerURL: req.CallbackURL, AnswerMethod: http.MethodPost,
		HangupURL: req.CallbackURL, HangupMethod: http.MethodPost,
		RingURL: req.CallbackURL, RingMethod: http.MethodPost,
	})
	if err != nil {
		return provider.PlacedCall{}, fmt.Errorf("plivo: place call: %w", err)
	}
	var out struct {
		RequestUUID json.RawMessage `json:"request_uuid"`
		Message     string          `json:"message"`
	}
	if err := p.do(ctx, http.MethodPost, "/Call/", body, &out); err != nil {
		return provider.PlacedCall{}, fmt.Errorf("plivo: place call: %w", err)
	}
	id := requestUUID(out.RequestUUID)
	if id == "" {
		return provider.PlacedCall{}, fmt.Errorf("plivo: place call: response has no request_uuid")
	}
	return provider.PlacedCall{ProviderCallID: id, Status: voice.StatusQueued}, nil
}

// requestUUID reads request_uuid, a string for one destination and a list
// for several.
func requestUUID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return strings.TrimSpace(list[0])
	}
	return ""
}

// number strips the leading "+" Plivo does not want before the country code.
func number(s string) string {
	return strings.TrimPrefix(strings.TrimSpace(s), "+")
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// FetchCall reads the call detail record, or the live call while the call
// is still up, and returns it as a status event (Native "poll").
func (p *Provider) FetchCall(ctx context.Context, id string) (voice.Event, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return voice.Event{}, fmt.Errorf("plivo: fetch call: empty call id")
	}
	path := "/Call/" + url.PathEscape(id) + "/"
	var cdr map[string]json.RawMessage
	err := p.do(ctx, http.MethodGet, path, nil, &cdr)
	if errors.Is(err, errNotFound) {
		var live map[string]json.RawMessage
		if lerr := p.do(ctx, http.MethodGet, path+"?status=live", nil, &live); lerr == nil {
			return liveEvent(id, live), nil
		} else if !errors.Is(lerr, errNotFound) {
			err = lerr
		}
	}
	if err != nil {
		return voice.Event{}, fmt.Errorf("plivo: fetch call: %w", err)
	}
	return cdrEvent(id, cdr), nil
}

// str reads a JSON string or number as text; anything else is "".
func str(m map[string]json.RawMessage, k string) string {
	raw, ok := m[k]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// cdrStateMap maps the call_state of a call detail record.
var cdrStateMap = map[string]voice.Status{
	"ANSWER": voice.StatusCompleted, "ANSWERED": voice.StatusCompleted, "COMPLETED": voice.StatusCompleted,
	"BUSY":      voice.StatusBusy,
	"NO_ANSWER": voice.StatusNoAnswer, "NOANSWER": voice.StatusNoAnswer,
	"CANCEL": voice.StatusCancelled, "CANCELED": voice.StatusCancelled, "CANCELLED": voice.StatusCancelled,
	"FAILED": voice.StatusFailed, "TIMEOUT": voice.StatusFailed, "REJECTED": voice.StatusFailed,
}

// MapCallState returns the normalized status of a call detail record's
// call_state. A record exists only once the call has ended, so ANSWER
// means completed.
func MapCallState(s string) voice.Status {
	k := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToUpper(strings.TrimSpace(s)))
	if st, ok := cdrStateMap[k]; ok {
		return st
	}
	return MapCallStatus(s)
}

func cdrEvent(id string, m map[string]json.RawMessage) voice.Event {
	e := voice.Event{
		CallID: firstNonEmpty(str(m, "call_uuid"), id), Type: voice.EventStatus, Native: "poll", Sequence: -1,
		From: str(m, "from_number"), To: str(m, "to_number"), Direction: direction(str(m, "call_direction")),
		Status: MapCallState(str(m, "call_state")), Raw: map[string]string{},
	}
	if d, err := strconv.ParseFloat(str(m, "call_duration"), 64); err == nil && d >= 0 && !math.IsInf(d, 0) {
		e.DurationS = &d
	}
	var msg []string
	for _, k := range []string{"call_state", "hangup_cause_name", "hangup_cause_code", "hangup_source",
		"answer_time", "end_time", "bill_duration", "total_amount"} {
		if v := str(m, k); v != "" {
			e.Raw[k] = v
			if k == "call_state" || k == "hangup_cause_name" {
				msg = append(msg, k+"="+v)
			}
		}
	}
	e.Message = strings.Join(msg, "; ")
	return e
}

func liveEvent(id string, m map[string]json.RawMessage) voice.Event {
	e := voice.Event{
		CallID: firstNonEmpty(str(m, "call_uuid"), id), Type: voice.EventStatus, Native: "poll", Sequence: -1,
		From: str(m, "from"), To: str(m, "to"), Direction: direction(str(m, "direction")),
		Status: MapCallStatus(str(m, "call_status")),
	}
	if s := str(m, "call_status"); s != "" {
		e.Message = "call_status=" + s
		e.Raw = map[string]string{"call_status": s}
	}
	return e
}

func direction(s string) voice.Direction {
	switch strings.ToLower(s) {
	case "inbound":
		return voice.Inbound
	case "outbound":
		return voice.Outbound
	}
	return ""
}

// do calls {base}/v1/Account/{auth_id}{path} with basic auth. An HTTP 404
// wraps errNotFound.
func (p *Provider) do(ctx context.Context, method, path string, body []byte, out any) error {
	authID := strings.TrimSpace(p.cfg["auth_id"])
	token := p.cfg["auth_token"]
	if authID == "" || token == "" {
		return fmt.Errorf("auth_id and auth_token must be configured")
	}
	req, err := provider.NewJSONRequest(ctx, method, p.base+"/v1/Account/"+url.PathEscape(authID)+path, body)
	if err != nil {
		return err
	}
	req.SetBasicAuth(authID, token)
	err = provider.DoJSON(p.client, req, method+" "+path, out)
	if he := (*provider.HTTPError)(nil); errors.As(err, &he) && he.Status == http.StatusNotFound {
		return fmt.Errorf("%s %s: HTTP 404: %w", method, path, errNotFound)
	}
	return err
}

// SampleCallback builds a ring callback (Event=Ring) for callID addressed to
// callbackURL, signed with V3 when auth_token is configured.
func (p *Provider) SampleCallback(callbackURL, callID string, now time.Time) (*provider.Request, error) {
	params := url.Values{
		"ALegRequestUUID": {callID}, "ALegUUID": {callID}, "CallStatus": {"ringing"}, "CallUUID": {callID},
		"Direction": {"outbound"}, "Event": {"Ring"}, "From": {p.sampleFrom()}, "RequestUUID": {callID},
		"SessionStart": {now.UTC().Format("2006-01-02 15:04:05.000000")}, "To": {"15555550199"},
	}
	return p.signedSample("sample callback", callbackURL, params, now)
}
