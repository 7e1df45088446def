package vonage

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"callhook/internal/provider"
	"callhook/internal/voice"
)

const testAppID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// rsaKey is one RSA key generated per test binary.
func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// testKeyPEMs returns the test key as PKCS#8 and PKCS#1 PEM.
func testKeyPEMs(t testing.TB) (pkcs8, pkcs1 string) {
	t.Helper()
	k := rsaKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	pkcs1 = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	return pkcs8, pkcs1
}

func ecKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// checkAPIToken verifies an Authorization header as Vonage would: an RS256
// JWT under the application's public key with the documented claims.
func checkAPIToken(t *testing.T, h string, now time.Time) {
	t.Helper()
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		t.Errorf("Authorization = %q, want a bearer token", h)
		return
	}
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now })).
		ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &rsaKey(t).PublicKey, nil })
	if err != nil {
		t.Errorf("API token does not verify with the public key: %v", err)
		return
	}
	if claims["application_id"] != testAppID {
		t.Errorf("application_id = %v", claims["application_id"])
	}
	if jti, _ := claims["jti"].(string); len(jti) != 36 {
		t.Errorf("jti = %v, want a UUID", claims["jti"])
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if iat == nil || exp == nil || !iat.Equal(now.Truncate(time.Second)) || !exp.After(now) {
		t.Errorf("iat = %v, exp = %v, now %v", iat, exp, now)
	}
}

func testProvider(t *testing.T, base string, cfg provider.Config) *Provider {
	t.Helper()
	pkcs8, _ := testKeyPEMs(t)
	full := provider.Config{"application_id": testAppID, "private_key": pkcs8, "from": "+442079460000"}
	for k, v := range cfg {
		full[k] = v
	}
	return New(full, provider.Deps{BaseURL: base})
}

func TestPlaceCall(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var got CreateCall
	var raw map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/calls" {
			t.Errorf("request %s %s, want POST /v1/calls", r.Method, r.URL.Path)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		checkAPIToken(t, r.Header.Get("Authorization"), now)
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("body: %v", err)
		}
		_ = json.Unmarshal(b, &raw)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356","status":"started","direction":"outbound","conversation_uuid":"CON-f972836a"}`))
	}))
	defer srv.Close()
	p := testProvider(t, srv.URL+"/", nil)
	p.nowFunc = func() time.Time { return now }
	placed, err := p.PlaceCall(context.Background(), provider.PlaceRequest{
		To: "+447700900000", Message: "Disk full on db-1", CallbackURL: callhookURL,
		Prompt: "Press 1 to acknowledge. Press 2 to resolve.", MaxDigits: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if placed.ProviderCallID != "63f61863-4a51-4f6b-86e1-46edebcf9356" || placed.Status != voice.StatusQueued {
		t.Errorf("placed = %+v", placed)
	}
	if len(got.To) != 1 || got.To[0] != (Endpoint{Type: "phone", Number: "447700900000"}) {
		t.Errorf("to = %+v", got.To)
	}
	if got.From != (Endpoint{Type: "phone", Number: "442079460000"}) {
		t.Errorf("from = %+v", got.From)
	}
	if len(got.EventURL) != 1 || got.EventURL[0] != callhookURL || got.EventMethod != "POST" {
		t.Errorf("event_url = %v %q", got.EventURL, got.EventMethod)
	}
	if len(got.NCCO) != 2 {
		t.Fatalf("ncco = %+v", got.NCCO)
	}
	talk, input := got.NCCO[0], got.NCCO[1]
	if talk.Action != "talk" || talk.Text != "Disk full on db-1. Press 1 to acknowledge. Press 2 to resolve." {
		t.Errorf("talk = %+v", talk)
	}
	if input.Action != "input" || len(input.Type) != 1 || input.Type[0] != "dtmf" || input.DTMF == nil ||
		*input.DTMF != (DTMFInput{MaxDigits: 1, SubmitOnHash: true, TimeOut: 10}) ||
		len(input.EventURL) != 1 || input.EventURL[0] != callhookURL {
		t.Errorf("input = %+v dtmf %+v", input, input.DTMF)
	}
	// The wire names Vonage expects.
	ncco, _ := raw["ncco"].([]any)
	in, _ := ncco[1].(map[string]any)
	dtmf, _ := in["dtmf"].(map[string]any)
	if dtmf["maxDigits"] != 1.0 || dtmf["submitOnHash"] != true || dtmf["timeOut"] != 10.0 || in["eventUrl"] == nil {
		t.Errorf("raw input action = %v", in)
	}
	if raw["event_method"] != "POST" || raw["event_url"] == nil {
		t.Errorf("raw body = %v", raw)
	}
}

func TestPlaceCallFromOverride(t *testing.T) {
	var got CreateCall
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = w.Write([]byte(`{"uuid":"u-1","status":"ringing"}`))
	}))
	defer srv.Close()
	p := testProvider(t, srv.URL, nil)
	placed, err := p.PlaceCall(context.Background(), provider.PlaceRequest{To: "447700900000", From: "447700900999",
		CallbackURL: callhookURL + "?a=b", Prompt: "Press 7 8 7 to acknowledge.", MaxDigits: 3})
	if err != nil {
		t.Fatal(err)
	}
	if placed.Status != voice.StatusRinging || got.From.Number != "447700900999" {
		t.Errorf("placed %+v from %+v", placed, got.From)
	}
	if got.NCCO[1].DTMF.MaxDigits != 3 || got.NCCO[1].EventURL[0] != callhookURL+"?a=b" {
		t.Errorf("input = %+v", got.NCCO[1])
	}
}

func TestPlaceCallErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"title":"Unauthorized","detail":"invalid token"}`))
	}))
	defer srv.Close()
	req := provider.PlaceRequest{To: "447700900000", CallbackURL: callhookURL}
	tests := []struct {
		name string
		p    *Provider
		req  provider.PlaceRequest
		want string
	}{
		{"HTTP 401", testProvider(t, srv.URL, nil), req, "HTTP 401"},
		{"no private key", testProvider(t, srv.URL, provider.Config{"private_key": ""}), req, "private_key"},
		{"bad private key", testProvider(t, srv.URL, provider.Config{"private_key": "nope"}), req, "private key"},
		{"no application id", testProvider(t, srv.URL, provider.Config{"application_id": ""}), req, "application_id"},
		{"no from", testProvider(t, srv.URL, provider.Config{"from": ""}), req, "from"},
		{"no to", testProvider(t, srv.URL, nil), provider.PlaceRequest{CallbackURL: callhookURL}, "destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.PlaceCall(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("PlaceCall: %v, want an error about %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "vonage: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("API called %d times, want once (only the 401 case)", n)
	}
}

func TestFetchCall(t *testing.T) {
	const id = "63f61863-4a51-4f6b-86e1-46edebcf9356"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/calls/"+id {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		checkAPIToken(t, r.Header.Get("Authorization"), time.Now())
		_, _ = w.Write([]byte(`{"_links":{"self":{"href":"/calls/` + id + `"}},"uuid":"` + id + `","conversation_uuid":"CON-1",
			"to":{"type":"phone","number":"447700900000"},"from":{"type":"phone","number":"442079460000"},
			"status":"completed","direction":"outbound","rate":"0.39","price":"23.40","duration":"60",
			"start_time":"2026-03-01T12:00:00.000Z","end_time":"2026-03-01T12:01:00.000Z","network":"65512"}`))
	}))
	defer srv.Close()
	p := testProvider(t, srv.URL, nil)
	e, err := p.FetchCall(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if e.CallID != id || e.Type != voice.EventStatus || e.Status != voice.StatusCompleted || e.Native != "poll" ||
		e.To != "447700900000" || e.From != "442079460000" || e.Direction != voice.Outbound ||
		e.DurationS == nil || *e.DurationS != 60 || e.Raw["status"] != "completed" || e.IdempotencyKey != "" {
		t.Errorf("event = %+v", e)
	}
	if _, err := p.FetchCall(context.Background(), ""); err == nil {
		t.Error("empty id must fail")
	}
}

func TestFetchCallNotFound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"title":"Not found"}`, http.StatusNotFound)
	}))
	defer srv.Close()
	_, err := testProvider(t, srv.URL, nil).FetchCall(context.Background(), "nope")
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("FetchCall: %v, want HTTP 404", err)
	}
}
