package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider/plivo"
	"callhook/internal/provider/providertest"
	"callhook/internal/provider/signalwire"
	"callhook/internal/provider/telnyx"
	"callhook/internal/provider/twilio"
	"callhook/internal/provider/twilio/twimltest"
	"callhook/internal/provider/vonage"
)

var sessionID = regexp.MustCompile(`"sessionId":"[^"]*"`)

// signer re-signs a fixture body for callhook's own callback URL, as the
// provider would, and returns the URL to post to and the headers.
type signer func(t *testing.T, m providertest.Manifest, f providertest.Fixture, u string, body []byte) (string, map[string]string)

func formParams(t *testing.T, body []byte) url.Values {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func twilioSigner(secretKey, header string) signer {
	return func(t *testing.T, m providertest.Manifest, f providertest.Fixture, u string, body []byte) (string, map[string]string) {
		tok := m.Secrets[secretKey]
		if f.Method == "GET" {
			return u, map[string]string{header: twilio.Signature(tok, u, url.Values{})}
		}
		if strings.HasPrefix(f.ContentType, "application/json") {
			signed, sig := twilio.SignBody(tok, u, body)
			return signed, map[string]string{header: sig}
		}
		return u, map[string]string{header: twilio.Signature(tok, u, formParams(t, body))}
	}
}

var providerCases = []struct {
	name   string
	config func(m providertest.Manifest) map[string]string
	sign   signer
}{
	{"twilio", func(m providertest.Manifest) map[string]string {
		return map[string]string{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": m.Secrets["twilio_auth_token"]}
	}, twilioSigner("twilio_auth_token", "X-Twilio-Signature")},
	{"dograh", func(m providertest.Manifest) map[string]string {
		return map[string]string{"auth_token": m.Secrets["twilio_auth_token"]}
	}, twilioSigner("twilio_auth_token", "X-Twilio-Signature")},
	{"signalwire", func(m providertest.Manifest) map[string]string {
		return map[string]string{"signing_key": m.Secrets["signalwire_signing_key"]}
	}, func(t *testing.T, m providertest.Manifest, f providertest.Fixture, u string, body []byte) (string, map[string]string) {
		key := m.Secrets["signalwire_signing_key"]
		if strings.HasPrefix(f.ContentType, "application/json") {
			sha1, _ := signalwire.SignRelay(key, u, body)
			return u, map[string]string{signalwire.HeaderSignature: sha1}
		}
		return u, map[string]string{signalwire.HeaderSignature: twilio.Signature(key, u, formParams(t, body))}
	}},
	{"vonage", func(m providertest.Manifest) map[string]string {
		return map[string]string{"signature_secret": m.Secrets["vonage_signature_secret"]}
	}, func(t *testing.T, m providertest.Manifest, f providertest.Fixture, u string, body []byte) (string, map[string]string) {
		tok, err := vonage.SignWebhook(m.Secrets["vonage_signature_secret"], vonage.PayloadHash(body), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return u, map[string]string{"Authorization": "Bearer " + tok}
	}},
	{"plivo", func(m providertest.Manifest) map[string]string {
		return map[string]string{"auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": m.Secrets["plivo_auth_token"]}
	}, func(t *testing.T, m providertest.Manifest, f providertest.Fixture, u string, body []byte) (string, map[string]string) {
		nonce := "31627761595286130198"
		method, params := "POST", formParams(t, body)
		if f.Method == "GET" {
			method, params = "GET", url.Values{}
		}
		return u, map[string]string{plivo.HeaderV3: plivo.SignV3(m.Secrets["plivo_auth_token"], method, u, nonce, params),
			plivo.HeaderV3Nonce: nonce}
	}},
	{"telnyx", func(m providertest.Manifest) map[string]string {
		return map[string]string{"public_key": m.Secrets["telnyx_public_key_b64"]}
	}, func(t *testing.T, m providertest.Manifest, f providertest.Fixture, u string, body []byte) (string, map[string]string) {
		seed, _ := hex.DecodeString(m.Secrets["telnyx_private_seed_hex"])
		ts := time.Now().Unix()
		return u, map[string]string{telnyx.HeaderSignature: telnyx.Sign(seed, ts, body), telnyx.HeaderTimestamp: strconv.FormatInt(ts, 10)}
	}},
	{"wavecell", func(m providertest.Manifest) map[string]string {
		return map[string]string{"callback_token": "wavecell-callback-token-1"}
	}, func(t *testing.T, m providertest.Manifest, f providertest.Fixture, u string, body []byte) (string, map[string]string) {
		return u, map[string]string{"Authorization": "Bearer wavecell-callback-token-1"}
	}},
}

// TestProviderCallbacksEndToEnd posts every provider fixture, re-signed for a
// channel's callback URL, to the running app and reads the normalized result
// back through the API; a tampered copy must get 401 and be logged as
// bad_signature.
func TestProviderCallbacksEndToEnd(t *testing.T) {
	a := startApp(t)
	n := 0
	for _, pc := range providerCases {
		t.Run(pc.name, func(t *testing.T) {
			m := providertest.LoadDir(t, filepath.Join("..", "..", "internal", "provider", pc.name, "testdata"))
			ch := a.channel(map[string]any{"id": pc.name, "name": pc.name,
				"provider": map[string]any{"type": pc.name, "config": pc.config(m), "callbacks_only": true}})
			if ch.SignatureCheckDisabled {
				t.Fatalf("signature check is off for %s", pc.name)
			}
			for _, f := range m.Fixtures {
				// Each fixture gets a call of its own (its id's last four
				// characters replaced), so alternative outcomes of one
				// recorded call do not meet as retries of each other.
				want := f.Expected
				n++
				id := want.CallID[:len(want.CallID)-4] + fmt.Sprintf("%04d", n)
				f.Body = []byte(strings.ReplaceAll(string(f.Body), want.CallID, id))
				f.URL = strings.ReplaceAll(f.URL, want.CallID, id)
				// 8x8 session summaries are keyed by their session: give
				// each fixture a session of its own too.
				if !bytes.Contains(f.Body, []byte(`"sessionId":"`+id+`"`)) {
					f.Body = sessionID.ReplaceAll(f.Body, []byte(fmt.Sprintf(`"sessionId":"session-%04d"`, n)))
				}
				want.CallID = id
				method := f.Method
				if method == "" {
					method = "POST"
				}
				var al alertJSON
				a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": pc.name + " " + id}, &al)
				a.registerCall(ch.ID, id, &al.ID)
				u := ch.CallbackURL
				if strings.Contains(f.URL, "?") && !strings.Contains(f.URL, "bodySHA256") {
					u += "?" + strings.SplitN(f.URL, "?", 2)[1]
				}
				if method == "GET" {
					f.Body = nil // a GET callback carries its parameters in the query
				}
				postURL, hdr := pc.sign(t, m, f, u, f.Body)
				code, reply := a.send(method, postURL, f.ContentType, f.Body, hdr)
				wantCode := 200
				if want.Action == "call-notification" {
					wantCode = 404 // accepted and stored, but no console binding for the callee
				}
				if code != wantCode && !(wantCode == 200 && code == 204) {
					t.Errorf("%s: HTTP %d %s, want %d", f.File, code, reply, wantCode)
					continue
				}
				var calls struct{ Items []callJSON }
				a.do("GET", "/api/v1/calls?provider_call_id="+url.QueryEscape(want.CallID), a.admin, nil, &calls)
				if len(calls.Items) != 1 {
					t.Fatalf("%s: call %s not found", f.File, want.CallID)
				}
				var call callJSON
				a.do("GET", fmt.Sprintf("/api/v1/calls/%d", calls.Items[0].ID), a.admin, nil, &call)
				var ev *eventJSON
				for j := range call.Events {
					if ev == nil || call.Events[j].ID > ev.ID {
						ev = &call.Events[j]
					}
				}
				if ev == nil || ev.EventType != want.EventType || ev.Status != want.Status || ev.Digit != want.Digit {
					t.Errorf("%s: newest event %+v, want type %s status %s digit %q", f.File, ev, want.EventType, want.Status, want.Digit)
				}
				if want.EventType == "dtmf" && (want.Digit == "1" || want.Digit == "2") && ev != nil && ev.Action == "" {
					t.Errorf("%s: digit %s resolved to no action", f.File, want.Digit)
				}

				// Tampered: one byte of the body (of the query for a GET)
				// changed, signature kept.
				bad := append([]byte(nil), f.Body...)
				badURL := postURL
				if len(bad) > 0 {
					bad[len(bad)/2] ^= 0x01
				} else {
					badURL = strings.Replace(postURL, "CallStatus=", "CallStatus=x", 1)
				}
				if pc.name == "wavecell" {
					hdr = map[string]string{"Authorization": "Bearer wrong-token"}
					bad = f.Body
				}
				code, reply = a.send(method, badURL, f.ContentType, bad, hdr)
				if code != 401 {
					t.Errorf("%s tampered: HTTP %d %s, want 401", f.File, code, reply)
				}
			}
			var cbs struct{ Items []callbackJSON }
			a.do("GET", "/api/v1/callbacks?limit=500&outcome=rejected&channel_id="+ch.ID, a.admin, nil, &cbs)
			if len(cbs.Items) != len(m.Fixtures) {
				t.Errorf("%d rejected callbacks stored, want %d", len(cbs.Items), len(m.Fixtures))
			}
			for _, c := range cbs.Items {
				if c.Reason != "bad_signature" {
					t.Errorf("rejected callback %d reason %q, want bad_signature", c.ID, c.Reason)
				}
			}
		})
	}
}

// TestProviderRetryIsDuplicate: a provider's retry of the same event with
// different bytes (a re-rendered body, a new delivery attempt) is recognized
// by the provider's own idempotency key and stored as a duplicate.
func TestProviderRetryIsDuplicate(t *testing.T) {
	a := startApp(t)
	cases := []struct {
		provider, fixture string
		// vary changes bytes that are not part of the provider's event key.
		vary func(body string) string
	}{
		{"twilio", "status_ringing.form", func(b string) string { return b + "&ForwardedFrom=%2B15550000000" }},
		{"telnyx", "call_answered.json", func(b string) string {
			return strings.Replace(b, `"meta":{"attempt":1`, `"meta":{"attempt":2`, 1)
		}},
		{"vonage", "event_ringing.json", func(b string) string {
			return strings.Replace(b, `"direction":"outbound"`, `"direction":"outbound","network":"23410"`, 1)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.provider, func(t *testing.T) {
			var pc = providerCases[0]
			for _, c := range providerCases[1:] {
				if c.name == tc.provider {
					pc = c
				}
			}
			m := providertest.LoadDir(t, filepath.Join("..", "..", "internal", "provider", tc.provider, "testdata"))
			ch := a.channel(map[string]any{"id": "dup-" + tc.provider, "name": tc.provider,
				"provider": map[string]any{"type": tc.provider, "config": pc.config(m), "callbacks_only": true}})
			var f providertest.Fixture
			for _, x := range m.Fixtures {
				if x.File == tc.fixture {
					f = x
				}
			}
			a.registerCall(ch.ID, f.Expected.CallID, nil)
			first := string(f.Body)
			retry := tc.vary(first)
			if retry == first {
				t.Fatal("the retry must differ in bytes")
			}
			for i, body := range []string{first, retry} {
				u, hdr := pc.sign(t, m, f, ch.CallbackURL, []byte(body))
				if code, reply := a.post(u, f.ContentType, []byte(body), hdr); code/100 != 2 {
					t.Fatalf("post %d: %d %s", i, code, reply)
				}
			}
			var cbs struct{ Items []callbackJSON }
			a.do("GET", "/api/v1/callbacks?channel_id="+ch.ID, a.admin, nil, &cbs)
			if len(cbs.Items) != 2 || cbs.Items[0].Outcome != "duplicate" || cbs.Items[1].Outcome != "accepted" {
				t.Errorf("outcomes %+v, want accepted then duplicate", cbs.Items)
			}
		})
	}
}

// TestTwilioInboundCallAcknowledges: on-call staff phone the number whose
// voice URL is the channel's callback URL, hear the newest firing alert and
// press 1; the alert is acknowledged by their number.
func TestTwilioInboundCallAcknowledges(t *testing.T) {
	a := startApp(t)
	token := "0123456789abcdef0123456789abcdef"
	ch := a.channel(map[string]any{"name": "On-call line", "inbound_allow": []string{"+15550001111"}, "provider": map[string]any{"type": "twilio", "callbacks_only": true,
		"config": map[string]string{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": token}}})
	post := func(form url.Values) (int, twimltest.Doc) {
		code, body := a.post(ch.CallbackURL, "application/x-www-form-urlencoded", []byte(form.Encode()),
			map[string]string{"X-Twilio-Signature": twilio.Signature(token, ch.CallbackURL, form)})
		return code, twimltest.Unmarshal(t, []byte(body))
	}
	voice := url.Values{"CallSid": {"CAinbound00000000000000000000001"}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"},
		"From": {"+15550001111"}, "To": {"+15559990000"}, "CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}}
	// No firing alert: say so and hang up.
	if code, doc := post(voice); code != 200 || twimltest.Shape(doc.Verbs) != "Say Hangup" {
		t.Fatalf("no alert: %d %s", code, twimltest.Shape(doc.Verbs))
	}
	var al alertJSON
	a.do("POST", "/api/v1/alerts", a.admin, map[string]any{"title": "Payments down", "channel_id": ch.ID}, &al)
	voice.Set("CallSid", "CAinbound00000000000000000000002")
	code, doc := post(voice)
	if code != 200 || len(doc.Verbs) == 0 || doc.Verbs[0].XMLName.Local != "Gather" ||
		!strings.Contains(doc.Verbs[0].Nodes[0].Text, "Payments down") || !strings.Contains(doc.Verbs[0].Nodes[0].Text, "Press 1 to acknowledge") {
		t.Fatalf("voice reply %d %+v", code, doc)
	}
	gather := url.Values{"CallSid": {"CAinbound00000000000000000000002"}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"},
		"CallStatus": {"in-progress"}, "Direction": {"inbound"}, "Digits": {"1"}, "FinishedOnKey": {""}, "msg": {"Gather End"}}
	code, doc = post(gather)
	if code != 200 || twimltest.Shape(doc.Verbs) != "Say Hangup" || !strings.Contains(doc.Verbs[0].Text, "Alert acknowledged") {
		t.Fatalf("gather reply %d %s %+v", code, twimltest.Shape(doc.Verbs), doc.Verbs)
	}
	a.do("GET", fmt.Sprintf("/api/v1/alerts/%d", al.ID), a.admin, nil, &al)
	if al.State != "acknowledged" || al.AcknowledgedBy == nil || !strings.Contains(*al.AcknowledgedBy, "+15550001111") || len(al.Calls) != 1 || al.Calls[0].Direction != "inbound" {
		t.Errorf("alert %+v", al)
	}
}
