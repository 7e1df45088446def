package main

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"callhook/internal/provider/generic"
	"callhook/internal/provider/telnyx"
	"callhook/internal/provider/twilio"
	"callhook/internal/provider/vonage"
)

// Test credentials of the bench channel. They only have to agree between the
// channel's provider override and the generator, so signatures are checked
// on every callback exactly as in production.
const (
	benchTwilioSID    = "AC0123456789abcdef0123456789abcdef"
	benchTwilioToken  = "0123456789abcdef0123456789abcdef"
	benchGenericKey   = "bench-generic-signing-secret"
	benchVonageSecret = "bench-vonage-signature-secret-0123456789"
	// benchTelnyxSeed is the Ed25519 seed whose public key the channel holds.
	benchTelnyxSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
)

// benchProviders are the providers bench can drive, each posting its own
// wire format signed its own way (docs/providers.md).
var benchProviders = []string{"twilio", "generic", "vonage", "telnyx"}

// providerOverride is the channel provider configuration matching the
// generator's credentials for prov.
func providerOverride(prov string) (map[string]any, error) {
	var cfg map[string]string
	switch prov {
	case "twilio":
		cfg = map[string]string{"account_sid": benchTwilioSID, "auth_token": benchTwilioToken}
	case "generic":
		cfg = map[string]string{"signing_secret": benchGenericKey}
	case "vonage":
		cfg = map[string]string{"signature_secret": benchVonageSecret}
	case "telnyx":
		cfg = map[string]string{"public_key": telnyx.PublicKey(telnyxSeed())}
	default:
		return nil, fmt.Errorf("bench: unknown provider %q (one of %v)", prov, benchProviders)
	}
	// The bench channel only receives callbacks: nothing is dialled.
	return map[string]any{"type": prov, "config": cfg, "callbacks_only": true}, nil
}

func telnyxSeed() []byte {
	b := make([]byte, ed25519.SeedSize)
	for i := range b {
		n, _ := strconv.ParseUint(benchTelnyxSeed[2*i:2*i+2], 16, 8)
		b[i] = byte(n)
	}
	return b
}

// wireReq is one callback as the provider sends it: query, content type,
// extra headers and body, already signed for the channel's callback URL.
type wireReq struct {
	query  string
	ctype  string
	header [][2]string
	body   []byte
	// dup marks a re-sent copy of an earlier request of the call.
	dup bool
}

// lifecycle is one simulated call: whether it must be registered through the
// API first (an outbound call callhook would have placed), its callbacks in
// delivery order, and what the call must look like once they are stored.
type lifecycle struct {
	callID     string
	register   bool
	reqs       []wireReq
	wantEvents int
	wantStatus string
	outOfOrder bool
}

// mix is how often a lifecycle deviates from the happy path.
type mix struct {
	dup, outOfOrder, dtmf float64
}

// flow builds lifecycles for one channel of one provider.
type flow struct {
	provider string
	// signURL is the callback URL as the server sees it (its public URL):
	// what the provider signs.
	signURL string
	run     string
	seed    []byte
}

func newFlow(prov, signURL, run string) *flow {
	return &flow{provider: prov, signURL: signURL, run: run, seed: telnyxSeed()}
}

// lifecycle returns the n-th call's callbacks. Out-of-order calls get their
// "ringing" (or "answered") callback delivered after the next one;
// duplicates re-send one callback byte for byte, as a provider retrying a
// delivery it thinks failed.
func (f *flow) lifecycle(n uint64, rng *rand.Rand, m mix, now time.Time) lifecycle {
	var lc lifecycle
	dtmf := rng.Float64() < m.dtmf
	switch f.provider {
	case "twilio":
		lc = f.twilio(n, dtmf, now)
	case "generic":
		lc = f.generic(n, dtmf, now)
	case "vonage":
		lc = f.vonage(n, dtmf, now)
	case "telnyx":
		lc = f.telnyx(n, dtmf, now)
	}
	lc.wantStatus = "completed"
	lc.wantEvents = len(lc.reqs)
	if rng.Float64() < m.outOfOrder && len(lc.reqs) >= 3 {
		// The second callback (a ringing or answered status) arrives after
		// the third.
		lc.reqs[1], lc.reqs[2] = lc.reqs[2], lc.reqs[1]
		lc.outOfOrder = true
	}
	for i := range lc.wantEvents {
		if rng.Float64() < m.dup {
			d := lc.reqs[i]
			d.dup = true
			at := i + 1 + rng.IntN(len(lc.reqs)-i)
			lc.reqs = append(lc.reqs[:at], append([]wireReq{d}, lc.reqs[at:]...)...)
		}
	}
	return lc
}

// twilio is an inbound call: the voice request creates it (no
// registration), then status callbacks numbered by SequenceNumber, a
// <Gather> action for some, and the completed status with its duration.
func (f *flow) twilio(n uint64, dtmf bool, now time.Time) lifecycle {
	sid := fmt.Sprintf("CA%s%016x", f.run, n)
	if len(sid) > 34 {
		sid = sid[:34]
	}
	from := fmt.Sprintf("+1212555%04d", n%10000)
	base := func() url.Values {
		return url.Values{"AccountSid": {benchTwilioSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {sid},
			"Called": {"+14155550123"}, "Caller": {from}, "Direction": {"inbound"}, "From": {from},
			"To": {"+14155550123"}, "CalledCountry": {"US"}, "CallerCountry": {"US"}, "FromCountry": {"US"}, "ToCountry": {"US"}}
	}
	form := func(v url.Values) wireReq {
		return wireReq{ctype: "application/x-www-form-urlencoded",
			header: [][2]string{{"X-Twilio-Signature", twilio.Signature(benchTwilioToken, f.signURL, v)}},
			body:   []byte(v.Encode())}
	}
	seq := 0
	status := func(s, event string, extra ...string) wireReq {
		v := base()
		v.Set("CallStatus", s)
		v.Set("CallbackSource", "call-progress-events")
		v.Set("StatusCallbackEvent", event)
		v.Set("SequenceNumber", strconv.Itoa(seq))
		v.Set("Timestamp", now.Add(time.Duration(seq)*time.Second).UTC().Format(time.RFC1123Z))
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		seq++
		return form(v)
	}
	voiceReq := base()
	voiceReq.Set("CallStatus", "ringing")
	lc := lifecycle{callID: sid}
	lc.reqs = append(lc.reqs, form(voiceReq), status("ringing", "initiated"), status("in-progress", "answered"))
	if dtmf {
		g := base()
		g.Set("CallStatus", "in-progress")
		g.Set("Digits", "1")
		g.Set("FinishedOnKey", "")
		g.Set("msg", "Gather End")
		lc.reqs = append(lc.reqs, form(g))
	}
	lc.reqs = append(lc.reqs, status("completed", "completed", "CallDuration", strconv.Itoa(20+int(n%60)), "Duration", "1"))
	return lc
}

// generic is an outbound call registered through the API, then JSON events
// with event ids and sequence numbers, signed with X-Callhook-Signature.
func (f *flow) generic(n uint64, dtmf bool, now time.Time) lifecycle {
	id := fmt.Sprintf("bench-%s-%d", f.run, n)
	lc := lifecycle{callID: id, register: true}
	seq := 0
	ev := func(fields map[string]any) wireReq {
		seq++
		fields["call_id"] = id
		fields["event_id"] = fmt.Sprintf("%s-e%d", id, seq)
		fields["sequence"] = seq
		body, _ := json.Marshal(fields)
		ts := now.Unix()
		return wireReq{ctype: "application/json", body: body, header: [][2]string{
			{generic.HeaderTimestamp, strconv.FormatInt(ts, 10)}, {generic.HeaderSignature, generic.Sign(benchGenericKey, ts, body)}}}
	}
	lc.reqs = append(lc.reqs, ev(map[string]any{"event_type": "status", "status": "queued"}),
		ev(map[string]any{"event_type": "status", "status": "ringing"}),
		ev(map[string]any{"event_type": "status", "status": "answered"}))
	if dtmf {
		lc.reqs = append(lc.reqs, ev(map[string]any{"event_type": "dtmf", "digit": "1"}))
	}
	lc.reqs = append(lc.reqs, ev(map[string]any{"event_type": "status", "status": "completed", "duration_s": 20 + n%60}))
	return lc
}

// vonage is an outbound call registered through the API, then Voice API
// events signed with a signed JWT carrying the payload hash.
func (f *flow) vonage(n uint64, dtmf bool, now time.Time) lifecycle {
	uuid := fmt.Sprintf("%08x-%s-4000-8000-%012x", n>>32, f.run[:4], n&0xffffffffffff)
	lc := lifecycle{callID: uuid, register: true}
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	ev := func(fields map[string]any) wireReq {
		fields["uuid"] = uuid
		fields["conversation_uuid"] = "CON-" + uuid
		fields["from"] = "442079460000"
		fields["to"] = "447700900000"
		fields["timestamp"] = ts
		body, _ := json.Marshal(fields)
		tok, _ := vonage.SignWebhook(benchVonageSecret, vonage.PayloadHash(body), now)
		return wireReq{ctype: "application/json", body: body, header: [][2]string{{"Authorization", "Bearer " + tok}}}
	}
	lc.reqs = append(lc.reqs, ev(map[string]any{"status": "started", "direction": "outbound"}),
		ev(map[string]any{"status": "ringing", "direction": "outbound"}),
		ev(map[string]any{"status": "answered", "direction": "outbound", "start_time": ts}))
	if dtmf {
		lc.reqs = append(lc.reqs, ev(map[string]any{"dtmf": map[string]any{"digits": "1", "timed_out": false}}))
	}
	lc.reqs = append(lc.reqs, ev(map[string]any{"status": "completed", "direction": "outbound", "duration": strconv.Itoa(20 + int(n%60)),
		"start_time": ts, "end_time": ts, "rate": "0.00450000", "price": "0.00015000", "network": "GB-FIXED"}))
	return lc
}

// telnyx is an inbound call: call.initiated (incoming) creates it, then
// call.answered, a DTMF key for some, and call.hangup, each signed with
// Ed25519 over timestamp|body.
func (f *flow) telnyx(n uint64, dtmf bool, now time.Time) lifecycle {
	ccid := fmt.Sprintf("v3:bench-%s-%d", f.run, n)
	lc := lifecycle{callID: ccid}
	k := 0
	ev := func(typ string, payload map[string]any) wireReq {
		k++
		payload["call_control_id"] = ccid
		payload["call_leg_id"] = fmt.Sprintf("leg-%s-%d", f.run, n)
		payload["call_session_id"] = fmt.Sprintf("session-%s-%d", f.run, n)
		payload["connection_id"] = "1684641123236054244"
		payload["from"] = fmt.Sprintf("+1312555%04d", n%10000)
		payload["to"] = "+13125550199"
		payload["client_state"] = nil
		body, _ := json.Marshal(map[string]any{"data": map[string]any{"event_type": typ,
			"id": fmt.Sprintf("%s-%d-%d", f.run, n, k), "occurred_at": now.UTC().Format(time.RFC3339Nano),
			"payload": payload, "record_type": "event"}, "meta": map[string]any{"attempt": 1}})
		ts := now.Unix()
		return wireReq{ctype: "application/json", body: body, header: [][2]string{
			{telnyx.HeaderSignature, telnyx.Sign(f.seed, ts, body)}, {telnyx.HeaderTimestamp, strconv.FormatInt(ts, 10)}}}
	}
	start := now.UTC().Format(time.RFC3339Nano)
	lc.reqs = append(lc.reqs, ev("call.initiated", map[string]any{"direction": "incoming", "state": "parked", "start_time": start}),
		ev("call.answered", map[string]any{"state": "answered", "start_time": start}))
	if dtmf {
		lc.reqs = append(lc.reqs, ev("call.dtmf.received", map[string]any{"digit": "1"}))
	}
	lc.reqs = append(lc.reqs, ev("call.hangup", map[string]any{"state": "hangup", "start_time": start,
		"hangup_cause": "normal_clearing", "hangup_source": "caller", "sip_hangup_cause": "200"}))
	return lc
}
