package vonage

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
	"callhook/internal/voice"
)

// fixtureNow is the clock of the fixture JWTs (iat 1577880000) plus a little.
var fixtureNow = time.Unix(1577880000, 0).Add(30 * time.Second)

// Official vector V1 (Vonage/vonage-python-sdk, docs/providers.md, "Vonage").
const (
	v1Token  = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJPbmxpbmUgSldUIEJ1aWxkZXIiLCJpYXQiOjE2OTc2MzQ2ODAsImV4cCI6MzMyNTQ1NDA4MjgsImF1ZCI6IiIsInN1YiI6IiJ9.88vJc3I2HhuqEDixHXVhc9R30tA6U_HQHZTC29y6CGM"
	v1Secret = "qwertyuiopasdfghjklzxcvbnm123456"
)

const callhookURL = "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t"

func fixtureProvider(t testing.TB, m providertest.Manifest) *Provider {
	t.Helper()
	secret := m.Secrets["vonage_signature_secret"]
	if secret == "" {
		t.Fatal("manifest has no vonage_signature_secret")
	}
	return New(provider.Config{"signature_secret": secret}, provider.Deps{})
}

func TestFixtures(t *testing.T) {
	m := providertest.Load(t)
	if len(m.Fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	p := fixtureProvider(t, m)
	for _, fx := range m.Fixtures {
		t.Run(fx.File, func(t *testing.T) {
			r := fx.Request(fixtureNow)
			if err := p.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			evs, err := p.Parse(r)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1", len(evs))
			}
			e := evs[0]
			providertest.CheckEvent(t, fx.File, e, fx.Expected)
			if e.Message != fx.Expected.Message {
				t.Errorf("message = %q, want %q", e.Message, fx.Expected.Message)
			}
			if e.OccurredAt.IsZero() || e.OccurredAt.Year() != 2020 {
				t.Errorf("occurred_at = %v, want a 2020 timestamp", e.OccurredAt)
			}
			if e.Sequence != -1 {
				t.Errorf("sequence = %d, want -1", e.Sequence)
			}
			if !strings.HasPrefix(e.IdempotencyKey, e.CallID+"|"+e.Native+"|2020-01-01T") {
				t.Errorf("idempotency key = %q", e.IdempotencyKey)
			}
		})
	}
}

func TestFixtureDetails(t *testing.T) {
	m := providertest.Load(t)
	byFile := map[string]providertest.Fixture{}
	for _, fx := range m.Fixtures {
		byFile[fx.File] = fx
	}
	parse := func(file string) voice.Event {
		t.Helper()
		fx, ok := byFile[file]
		if !ok {
			t.Fatalf("no fixture %s", file)
		}
		evs, err := Parse(fx.Request(fixtureNow))
		if err != nil {
			t.Fatal(err)
		}
		return evs[0]
	}
	done := parse("event_completed.json")
	if done.DurationS == nil || *done.DurationS != 2 {
		t.Errorf("completed duration = %v, want 2", done.DurationS)
	}
	if done.Direction != voice.Outbound || done.From != "442079460000" || done.To != "447700900000" {
		t.Errorf("completed direction/from/to = %q %q %q", done.Direction, done.From, done.To)
	}
	if done.Raw["conversation_uuid"] != "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab" || done.Raw["price"] != "0.00015000" {
		t.Errorf("completed raw = %v", done.Raw)
	}
	want := time.Date(2020, 1, 1, 12, 0, 7, 0, time.UTC)
	if !done.OccurredAt.Equal(want) {
		t.Errorf("occurred_at = %v, want %v", done.OccurredAt, want)
	}
	in := parse("input_dtmf.json")
	if in.IdempotencyKey != "aaaaaaaa-bbbb-cccc-dddd-0123456789ab|input|2020-01-01T12:00:20.000Z|1234" {
		t.Errorf("input idempotency key = %q", in.IdempotencyKey)
	}
	if in.DurationS != nil {
		t.Errorf("input duration = %v, want nil", *in.DurationS)
	}
	started := parse("event_started.json")
	if started.IdempotencyKey != "aaaaaaaa-bbbb-cccc-dddd-0123456789ab|started|2020-01-01T12:00:00.000Z" {
		t.Errorf("started idempotency key = %q", started.IdempotencyKey)
	}
}

func TestOfficialVectorV1(t *testing.T) {
	claims, err := VerifyHMAC(v1Token, v1Secret)
	if err != nil {
		t.Fatalf("V1 with its secret: %v", err)
	}
	if iss, _ := claims.GetIssuer(); iss != "Online JWT Builder" {
		t.Errorf("iss = %q", iss)
	}
	if _, ok := claims[ClaimPayloadHash]; ok {
		t.Error("V1 has no payload_hash claim")
	}
	if _, err := VerifyHMAC(v1Token, "asdf"); err == nil {
		t.Error("V1 with secret asdf must fail")
	}
	if _, err := VerifyHMAC(v1Token, ""); err == nil {
		t.Error("V1 with an empty secret must fail")
	}

	// The whole Verify accepts V1 at its own clock (no payload_hash to check)
	// and calls it stale at the fixture clock.
	p := New(provider.Config{"signature_secret": v1Secret}, provider.Deps{})
	r := &provider.Request{Method: http.MethodPost, URL: callhookURL, Body: []byte(`{}`),
		Header: http.Header{"Authorization": {"Bearer " + v1Token}}, Now: time.Unix(1697634680, 0).Add(time.Minute)}
	if err := p.Verify(r); err != nil {
		t.Errorf("Verify V1 at its clock: %v", err)
	}
	r.Now = fixtureNow
	if err := p.Verify(r); !errors.Is(err, provider.ErrStaleTimestamp) {
		t.Errorf("Verify V1 in 2020: %v, want ErrStaleTimestamp", err)
	}
}

// noneToken builds an unsigned token (alg none) with the given claims.
func noneToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyNegative(t *testing.T) {
	m := providertest.Load(t)
	secret := m.Secrets["vonage_signature_secret"]
	p := fixtureProvider(t, m)
	var fx providertest.Fixture
	for _, f := range m.Fixtures {
		if f.File == "event_completed.json" {
			fx = f
		}
	}
	hash := PayloadHash(fx.Body)
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	iat := fixtureNow.Unix()
	tests := []struct {
		name   string
		mutate func(r *provider.Request)
		want   error
	}{
		{"fixture as is", func(*provider.Request) {}, nil},
		{"one body byte flipped", func(r *provider.Request) {
			r.Body[10] ^= 0x01
		}, provider.ErrBadSignature},
		{"body with trailing newline", func(r *provider.Request) {
			r.Body = append(r.Body, '\n')
		}, provider.ErrBadSignature},
		{"no Authorization", func(r *provider.Request) { r.Header.Del("Authorization") }, provider.ErrBadSignature},
		{"basic scheme", func(r *provider.Request) {
			r.Header.Set("Authorization", "Basic "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}, provider.ErrBadSignature},
		{"lower-case bearer scheme", func(r *provider.Request) {
			r.Header.Set("Authorization", "bearer "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}, nil},
		{"garbage token", func(r *provider.Request) { r.Header.Set("Authorization", "Bearer x.y.z") }, provider.ErrBadSignature},
		{"wrong secret", func(r *provider.Request) {
			r.Header.Set("Authorization", "Bearer "+sign(jwt.SigningMethodHS256, []byte("not-the-secret"),
				jwt.MapClaims{"iat": iat, ClaimPayloadHash: hash}))
		}, provider.ErrBadSignature},
		{"alg none", func(r *provider.Request) {
			r.Header.Set("Authorization", "Bearer "+noneToken(t, jwt.MapClaims{"iat": iat, ClaimPayloadHash: hash}))
		}, provider.ErrBadSignature},
		{"alg none with the fixture's payload and signature", func(r *provider.Request) {
			parts := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), ".")
			parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
			r.Header.Set("Authorization", "Bearer "+strings.Join(parts, "."))
		}, provider.ErrBadSignature},
		{"HS512 with the right secret", func(r *provider.Request) {
			r.Header.Set("Authorization", "Bearer "+sign(jwt.SigningMethodHS512, []byte(secret),
				jwt.MapClaims{"iat": iat, ClaimPayloadHash: hash}))
		}, provider.ErrBadSignature},
		{"re-signed fresh", func(r *provider.Request) {
			tok, err := SignWebhook(secret, hash, fixtureNow)
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Authorization", "Bearer "+tok)
		}, nil},
		{"upper-case payload_hash", func(r *provider.Request) {
			r.Header.Set("Authorization", "Bearer "+sign(jwt.SigningMethodHS256, []byte(secret),
				jwt.MapClaims{"iat": iat, ClaimPayloadHash: strings.ToUpper(hash)}))
		}, nil},
		{"no payload_hash", func(r *provider.Request) {
			r.Header.Set("Authorization", "Bearer "+sign(jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"iat": iat}))
		}, nil},
		{"payload_hash not a string", func(r *provider.Request) {
			r.Header.Set("Authorization", "Bearer "+sign(jwt.SigningMethodHS256, []byte(secret),
				jwt.MapClaims{"iat": iat, ClaimPayloadHash: 42}))
		}, provider.ErrBadSignature},
		{"no iat", func(r *provider.Request) {
			r.Header.Set("Authorization", "Bearer "+sign(jwt.SigningMethodHS256, []byte(secret),
				jwt.MapClaims{ClaimPayloadHash: hash}))
		}, provider.ErrBadSignature},
		{"iat a string", func(r *provider.Request) {
			r.Header.Set("Authorization", "Bearer "+sign(jwt.SigningMethodHS256, []byte(secret),
				jwt.MapClaims{"iat": "1577880000", ClaimPayloadHash: hash}))
		}, provider.ErrBadSignature},
		{"stale iat (fixture at the real clock)", func(r *provider.Request) { r.Now = time.Now() }, provider.ErrStaleTimestamp},
		{"iat six minutes old", func(r *provider.Request) { r.Now = time.Unix(1577880000, 0).Add(6 * time.Minute) }, provider.ErrStaleTimestamp},
		{"iat four minutes old", func(r *provider.Request) { r.Now = time.Unix(1577880000, 0).Add(4 * time.Minute) }, nil},
		{"iat six minutes ahead", func(r *provider.Request) { r.Now = time.Unix(1577880000, 0).Add(-6 * time.Minute) }, provider.ErrStaleTimestamp},
		{"expired exp", func(r *provider.Request) {
			r.Header.Set("Authorization", "Bearer "+sign(jwt.SigningMethodHS256, []byte(secret),
				jwt.MapClaims{"iat": iat, "exp": iat - 1, ClaimPayloadHash: hash}))
		}, provider.ErrStaleTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fx.Request(fixtureNow)
			tt.mutate(r)
			err := p.Verify(r)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyOffWithoutSecret(t *testing.T) {
	p := New(provider.Config{}, provider.Deps{})
	r := &provider.Request{Method: http.MethodPost, URL: callhookURL, Header: http.Header{}, Body: []byte(`{}`), Now: time.Now()}
	if err := p.Verify(r); err != nil {
		t.Fatalf("Verify without a secret: %v", err)
	}
	if !Spec().SignatureOff(provider.Config{}) || Spec().SignatureOff(provider.Config{"signature_secret": "x"}) {
		t.Error("SignatureOff does not follow signature_secret")
	}
}

// TestResignedForCallhook posts fixture payloads to callhook's own callback
// URL, re-signed, as POST JSON and as GET query parameters, with and without
// a query string of callhook's own.
func TestResignedForCallhook(t *testing.T) {
	m := providertest.Load(t)
	secret := m.Secrets["vonage_signature_secret"]
	p := fixtureProvider(t, m)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, base := range []string{callhookURL, callhookURL + "?a=b"} {
		for _, fx := range m.Fixtures {
			t.Run("POST "+base+" "+fx.File, func(t *testing.T) {
				tok, err := SignWebhook(secret, PayloadHash(fx.Body), now)
				if err != nil {
					t.Fatal(err)
				}
				r := &provider.Request{Method: http.MethodPost, URL: base, Body: fx.Body, Now: now,
					Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + tok}}}
				if err := p.Verify(r); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				evs, err := p.Parse(r)
				if err != nil {
					t.Fatal(err)
				}
				providertest.CheckEvent(t, fx.File, evs[0], fx.Expected)
			})
		}
	}

	// GET events: the same facts as query parameters.
	gets := []struct {
		name  string
		query url.Values
		want  providertest.Expected
		msg   string
	}{
		{"completed", url.Values{"uuid": {"u-1"}, "conversation_uuid": {"CON-1"}, "status": {"completed"},
			"duration": {"12"}, "direction": {"outbound"}, "timestamp": {"2026-03-01T12:00:00.000Z"}},
			providertest.Expected{CallID: "u-1", EventType: "status", Status: "completed", Action: "completed"}, "duration=12"},
		{"flat dtmf", url.Values{"uuid": {"u-1"}, "dtmf": {"42"}, "timed_out": {"true"}, "timestamp": {"2026-03-01T12:00:01.000Z"}},
			providertest.Expected{CallID: "u-1", EventType: "dtmf", Status: "answered", Digit: "42", Action: "input"}, "timed_out=true"},
		{"dotted dtmf", url.Values{"uuid": {"u-1"}, "dtmf.digits": {"1#"}, "dtmf.timed_out": {"false"}},
			providertest.Expected{CallID: "u-1", EventType: "dtmf", Status: "answered", Digit: "1#", Action: "input"}, "timed_out=false"},
		{"dotted timed out without digits", url.Values{"uuid": {"u-1"}, "dtmf.timed_out": {"true"}, "speech.timeout_reason": {"start_timeout"}},
			providertest.Expected{CallID: "u-1", EventType: "dtmf", Status: "answered", Action: "input"}, "timed_out=true; timeout_reason=start_timeout"},
		{"error", url.Values{"reason": {"Invalid NCCO & more"}, "conversation_uuid": {"CON-1"}},
			providertest.Expected{CallID: "CON-1", EventType: "error", Status: "unknown", Action: "error"}, "Invalid NCCO & more"},
	}
	for _, base := range []string{callhookURL, callhookURL + "?a=b"} {
		for _, g := range gets {
			t.Run("GET "+base+" "+g.name, func(t *testing.T) {
				u := base
				sep := "?"
				if strings.Contains(u, "?") {
					sep = "&"
				}
				u += sep + g.query.Encode()
				raw := u[strings.Index(u, "?")+1:]
				tok, err := SignWebhook(secret, QueryPayloadHash(raw), now)
				if err != nil {
					t.Fatal(err)
				}
				r := &provider.Request{Method: http.MethodGet, URL: u, Now: now, Header: http.Header{"Authorization": {"Bearer " + tok}}}
				if err := p.Verify(r); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				evs, err := p.Parse(r)
				if err != nil {
					t.Fatal(err)
				}
				providertest.CheckEvent(t, g.name, evs[0], g.want)
				if evs[0].Message != g.msg {
					t.Errorf("message = %q, want %q", evs[0].Message, g.msg)
				}
				// A changed parameter breaks payload_hash.
				r.URL = strings.Replace(u, "uuid=u-1", "uuid=u-2", 1)
				if g.query.Get("uuid") == "" {
					r.URL = u + "&x=1"
				}
				if err := p.Verify(r); !errors.Is(err, provider.ErrBadSignature) {
					t.Errorf("tampered GET: %v, want ErrBadSignature", err)
				}
			})
		}
	}
}

func TestQueryJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `{}`},
		{"uuid=u-1&status=answered", `{"uuid":"u-1","status":"answered"}`},
		{"b=2&a=1", `{"b":"2","a":"1"}`},
		{"a=b&uuid=x&a=c", `{"a":"c","uuid":"x"}`},
		{"dtmf=1%232&reason=a+%26+%3Cb%3E", `{"dtmf":"1#2","reason":"a & <b>"}`},
		{"flag&x=", `{"flag":"","x":""}`},
		{"bad=%zz", `{"bad":"%zz"}`},
		{`q=%22quoted%22`, `{"q":"\"quoted\""}`},
	}
	for _, tt := range tests {
		if got := string(QueryJSON(tt.in)); got != tt.want {
			t.Errorf("QueryJSON(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	const uuid = "63f61863-4a51-4f6b-86e1-46edebcf9356"
	tests := []struct {
		name    string
		body    string
		want    providertest.Expected
		msg     string
		from    string
		wantErr error
	}{
		{"started", `{"uuid":"` + uuid + `","status":"started","timestamp":"2026-01-01T00:00:00.000Z"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "queued", Action: "started"}, "", "", nil},
		{"timeout", `{"uuid":"` + uuid + `","status":"timeout"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "no_answer", Action: "timeout"}, "", "", nil},
		{"rejected", `{"uuid":"` + uuid + `","status":"rejected","detail":"restricted"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "failed", Action: "rejected"}, "restricted", "", nil},
		{"failed with detail", `{"uuid":"` + uuid + `","status":"failed","detail":"cannot_route"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "failed", Action: "failed"}, "cannot_route", "", nil},
		{"disconnected", `{"uuid":"` + uuid + `","status":"disconnected"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "unknown", Action: "disconnected"}, "", "", nil},
		{"machine uses call_uuid", `{"call_uuid":"` + uuid + `","status":"machine","sub_state":"beep_start","conversation_uuid":"CON-1"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "answered", Action: "machine"}, "machine; sub_state=beep_start", "", nil},
		{"human", `{"call_uuid":"` + uuid + `","status":"human"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "answered", Action: "human"}, "human", "", nil},
		{"unknown status", `{"uuid":"` + uuid + `","status":"whatever"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "unknown", Action: "whatever"}, "", "", nil},
		{"upper-case status", `{"uuid":"` + uuid + `","status":"ANSWERED"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "answered", Action: "answered"}, "", "", nil},
		{"numeric duration", `{"uuid":"` + uuid + `","status":"completed","duration":7}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "completed", Action: "completed"}, "duration=7", "", nil},
		{"flat dtmf (pre-2020)", `{"uuid":"` + uuid + `","dtmf":"42","timed_out":true}`,
			providertest.Expected{CallID: uuid, EventType: "dtmf", Status: "answered", Digit: "42", Action: "input"}, "timed_out=true", "", nil},
		{"dtmf timed out without digits", `{"uuid":"` + uuid + `","dtmf":{"digits":"","timed_out":true}}`,
			providertest.Expected{CallID: uuid, EventType: "dtmf", Status: "answered", Action: "input"}, "timed_out=true", "", nil},
		{"speech only", `{"uuid":"` + uuid + `","speech":{"results":[{"text":"yes"}]}}`,
			providertest.Expected{CallID: uuid, EventType: "dtmf", Status: "answered", Action: "input"}, "", "", nil},
		{"asynchronous input digit", `{"uuid":"` + uuid + `","dtmf":{"digit":"5"}}`,
			providertest.Expected{CallID: uuid, EventType: "dtmf", Status: "answered", Digit: "5", Action: "input"}, "", "", nil},
		{"speech timeout reason", `{"uuid":"` + uuid + `","speech":{"timeout_reason":"max_duration","results":[]}}`,
			providertest.Expected{CallID: uuid, EventType: "dtmf", Status: "answered", Action: "input"}, "timeout_reason=max_duration", "", nil},
		{"speech not an object", `{"uuid":"` + uuid + `","speech":"yes"}`,
			providertest.Expected{CallID: uuid, EventType: "dtmf", Status: "answered", Action: "input"}, "", "", nil},
		{"endpoint objects as from/to", `{"uuid":"` + uuid + `","status":"ringing","from":{"type":"phone","number":"447700900001"}}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "ringing", Action: "ringing"}, "", "447700900001", nil},
		{"error without uuid", `{"reason":"bad NCCO","conversation_uuid":"CON-9"}`,
			providertest.Expected{CallID: "CON-9", EventType: "error", Status: "unknown", Action: "error"}, "bad NCCO", "", nil},
		{"record", `{"recording_url":"https://api.nexmo.com/v1/files/x","recording_uuid":"r","conversation_uuid":"CON-9","timestamp":"2026-01-01T00:00:00.000Z"}`,
			providertest.Expected{CallID: "CON-9", EventType: "status", Status: "unknown", Action: "record"}, "", "", nil},
		{"transfer", `{"uuid":"` + uuid + `","conversation_uuid_from":"CON-1","conversation_uuid_to":"CON-2"}`,
			providertest.Expected{CallID: uuid, EventType: "status", Status: "unknown", Action: "transfer"},
			"conversation_uuid_from=CON-1; conversation_uuid_to=CON-2", "", nil},
		{"no ids", `{"status":"answered"}`, providertest.Expected{}, "", "", provider.ErrBadPayload},
		{"empty object", `{}`, providertest.Expected{}, "", "", provider.ErrBadPayload},
		{"array", `[{"uuid":"x","status":"answered"}]`, providertest.Expected{}, "", "", provider.ErrBadPayload},
		{"not JSON", `uuid=x&status=answered`, providertest.Expected{}, "", "", provider.ErrBadPayload},
		{"trailing data", `{"uuid":"x","status":"answered"} {}`, providertest.Expected{}, "", "", provider.ErrBadPayload},
		{"array as from", `{"uuid":"x","status":"answered","from":[1]}`, providertest.Expected{}, "", "", provider.ErrBadPayload},
		{"dtmf a number array", `{"uuid":"x","dtmf":[1]}`, providertest.Expected{}, "", "", provider.ErrBadPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &provider.Request{Method: http.MethodPost, URL: callhookURL, Body: []byte(tt.body),
				Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}}
			evs, err := Parse(r)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse: %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			providertest.CheckEvent(t, tt.name, evs[0], tt.want)
			if evs[0].Message != tt.msg {
				t.Errorf("message = %q, want %q", evs[0].Message, tt.msg)
			}
			if tt.from != "" && evs[0].From != tt.from {
				t.Errorf("from = %q, want %q", evs[0].From, tt.from)
			}
		})
	}
}

func TestParseTransport(t *testing.T) {
	tests := []struct {
		name string
		r    provider.Request
		want error
	}{
		{"form body", provider.Request{Method: http.MethodPost, URL: callhookURL, Body: []byte("uuid=x&status=answered"),
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}, provider.ErrUnsupportedMediaType},
		{"GET without query", provider.Request{Method: http.MethodGet, URL: callhookURL, Header: http.Header{}}, provider.ErrBadPayload},
		{"POST empty body uses the query", provider.Request{Method: http.MethodPost, URL: callhookURL + "?uuid=x&status=busy",
			Header: http.Header{"Content-Type": {"application/json"}}}, nil},
		{"JSON without content type", provider.Request{Method: http.MethodPost, URL: callhookURL,
			Body: []byte(`{"uuid":"x","status":"busy"}`), Header: http.Header{}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(&tt.r)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Parse: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "vonage" || s.Title == "" || s.SigningKey != "signature_secret" || s.New == nil || s.Check == nil {
		t.Fatalf("spec = %+v", s)
	}
	for _, c := range []provider.Capability{provider.CapTTS, provider.CapStatusCallback, provider.CapDTMFCallback,
		provider.CapStatusPolling, provider.CapPlaceCall, provider.CapSignature} {
		if !s.Has(c) {
			t.Errorf("missing capability %s", c)
		}
	}
	secret := map[string]bool{"application_id": false, "private_key": true, "signature_secret": true, "from": false}
	if len(s.Fields) != len(secret) {
		t.Errorf("fields = %d, want %d", len(s.Fields), len(secret))
	}
	for k, want := range secret {
		f, ok := s.Field(k)
		if !ok {
			t.Errorf("no field %s", k)
			continue
		}
		if f.Secret != want {
			t.Errorf("field %s secret = %v, want %v", k, f.Secret, want)
		}
	}
	p, err := s.New(provider.Config{}, provider.Deps{})
	if err != nil || p == nil {
		t.Fatalf("New: %v", err)
	}
	var (
		_ provider.Placer  = (*Provider)(nil)
		_ provider.Poller  = (*Provider)(nil)
		_ provider.Sampler = (*Provider)(nil)
	)
}

func TestCheck(t *testing.T) {
	pkcs8, pkcs1 := testKeyPEMs(t)
	tests := []struct {
		name string
		cfg  provider.Config
		ok   bool
	}{
		{"empty", provider.Config{}, true},
		{"full PKCS#8", provider.Config{"application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "private_key": pkcs8,
			"signature_secret": "s", "from": "+447700900000"}, true},
		{"PKCS#1", provider.Config{"private_key": pkcs1}, true},
		{"escaped newlines", provider.Config{"private_key": strings.ReplaceAll(pkcs8, "\n", `\n`)}, true},
		{"application_id not a UUID", provider.Config{"application_id": "my-app"}, false},
		{"private_key not PEM", provider.Config{"private_key": "secret"}, false},
		{"private_key an EC key", provider.Config{"private_key": ecKeyPEM(t)}, false},
		{"from with letters", provider.Config{"from": "callhook"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("Check: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error leaks key material: %v", err)
			}
		})
	}
}

func TestSampleCallback(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, secret := range []string{"", "sample-secret"} {
		p := New(provider.Config{"signature_secret": secret, "from": "+447700900000"}, provider.Deps{})
		r, err := p.SampleCallback(callhookURL, "call-1", now)
		if err != nil {
			t.Fatal(err)
		}
		if (r.Header.Get("Authorization") != "") != (secret != "") {
			t.Errorf("secret %q: Authorization = %q", secret, r.Header.Get("Authorization"))
		}
		if err := p.Verify(r); err != nil {
			t.Errorf("secret %q: Verify: %v", secret, err)
		}
		evs, err := p.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		providertest.CheckEvent(t, "sample", evs[0], providertest.Expected{CallID: "call-1", EventType: "status",
			Status: "answered", Action: "answered"})
		if !evs[0].OccurredAt.Equal(now) || evs[0].From != "447700900000" {
			t.Errorf("sample event = %+v", evs[0])
		}
	}
}

// TestVerifyQueryHashSource pins the [uncertain] GET choice: the hash covers
// the decoded query parameters in received order, and a POST without a body
// is hashed like a GET because Parse reads its query.
func TestVerifyQueryHashSource(t *testing.T) {
	const secret = "s3cr3t-signature"
	p := New(provider.Config{"signature_secret": secret}, provider.Deps{})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const q = "uuid=u-1&status=busy&timestamp=2026-03-01T12%3A00%3A00.000Z"
	sign := func(hash string) http.Header {
		tok, err := SignWebhook(secret, hash, now)
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}
	}
	tests := []struct {
		name   string
		method string
		url    string
		body   string
		hash   string
		ok     bool
	}{
		{"GET in order", http.MethodGet, callhookURL + "?" + q, "", QueryPayloadHash(q), true},
		{"GET hash of the JSON object", http.MethodGet, callhookURL + "?" + q, "",
			PayloadHash([]byte(`{"uuid":"u-1","status":"busy","timestamp":"2026-03-01T12:00:00.000Z"}`)), true},
		{"GET reordered", http.MethodGet, callhookURL + "?status=busy&uuid=u-1&timestamp=2026-03-01T12%3A00%3A00.000Z", "", QueryPayloadHash(q), false},
		{"GET hash of an empty body", http.MethodGet, callhookURL + "?" + q, "", PayloadHash(nil), false},
		{"POST without body", http.MethodPost, callhookURL + "?" + q, "", QueryPayloadHash(q), true},
		{"POST without body, empty-body hash", http.MethodPost, callhookURL + "?" + q, "", PayloadHash(nil), false},
		{"POST body ignores the query", http.MethodPost, callhookURL + "?" + q, `{"uuid":"u-2","status":"answered"}`,
			PayloadHash([]byte(`{"uuid":"u-2","status":"answered"}`)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &provider.Request{Method: tt.method, URL: tt.url, Body: []byte(tt.body), Header: sign(tt.hash), Now: now}
			err := p.Verify(r)
			if tt.ok != (err == nil) {
				t.Fatalf("Verify: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, provider.ErrBadSignature) {
				t.Fatalf("Verify: %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestTable checks the Vonage table of docs/providers.md against the parser:
// one signed fixture per documented event.
func TestTable(t *testing.T) {
	providertest.CheckTable(t, "vonage", fixtureProvider(t, providertest.Load(t)))
}
