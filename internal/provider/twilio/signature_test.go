package twilio

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
)

// Official vectors of docs/providers.md, "Twilio"
const (
	vecToken = "12345"
	vecURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vecJSON  = `{"property": "value", "boolean": true}`
	vecT11   = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	vecT14   = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
)

func p5() url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675309"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
	}
}

func p7() url.Values {
	v := p5()
	v.Set("ReasonConferenceEnded", "test")
	v.Set("Reason", "Participant")
	return v
}

func formRequest(rawURL string, params url.Values, sig string) *provider.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if sig != "" {
		h.Set(HeaderSignature, sig)
	}
	return &provider.Request{Method: http.MethodPost, URL: rawURL, Header: h, Body: []byte(params.Encode()), Now: time.Now()}
}

func jsonRequest(rawURL, body, sig string) *provider.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderSignature, sig)
	return &provider.Request{Method: http.MethodPost, URL: rawURL, Header: h, Body: []byte(body), Now: time.Now()}
}

func TestSignatureVectors(t *testing.T) {
	t5 := url.Values{"Sid": {"CA123"}, "SidAccount": {"AC123"}, "Digits": {"5678", "1234", "1234"}}
	t6a := url.Values{"MessagingBinding.Address": {"+1325xxxxxxx", "+1415xxxxxxx"}}
	t6b := url.Values{"MessagingBinding.Address": {"+1415xxxxxxx", "+1325xxxxxxx"}}
	tests := []struct {
		name   string
		url    string
		params url.Values
		want   string
	}{
		{"T1", vecURL, p5(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"T2", "https://mycompany.com:443/myapp.php?foo=1&bar=2", p5(), "kvajT1Ptam85bY51eRf/AJRuM3w="},
		{"T3", "http://mycompany.com:80/myapp.php?foo=1&bar=2", p5(), "0ZXoZLH/DfblKGATFgpif+LLRf4="},
		{"T4", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", p5(), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="},
		{"T5", vecURL, t5, "IK+Dwps556ElfBT0I3Rgjkr1wJU="},
		{"T6", vecURL, t6a, "83O6e2vORAoJHUNzJjDWN1jz+BA="},
		{"T6 reversed", vecURL, t6b, "83O6e2vORAoJHUNzJjDWN1jz+BA="},
		{"T7", "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", p5(), "CukzLTc1tT5dXEDIHm/tKBanW10="},
		{"T8", "https://user@mycompany.com/myapp.php?foo=1&bar=2", p5(), "2YRLlVAflCqxaNicjMpJcSTgzSs="},
		{"T9", "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2", p5(), "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="},
		{"T10", vecURL + "&Body=It%27s+amazing", p5(), "TfZzewPq8wqrGlMfyAud8+/IvJ0="},
		{"T12", vecURL + "&bodySHA256=" + vecT11, nil, "a9nBmqA0ju/hNViExpshrM61xv4="},
		{"T13", "https://mycompany.com/myapp.php?bodySHA256=" + vecT11, nil, "y77kIzt2vzLz71DgmJGsen2scGs="},
		{"T15", "https://mycompany.com:443/myapp.php?foo=1&bar=2&bodySHA256=" + vecT14, nil, "Ldidvp12m26NI7eqEvxnEpkd9Hc="},
		{"T16", vecURL, p7(), "vOEb5UThFn24KEfnOFLQY2AE5FY="},
		{"T17", "http://mycompany.com/myapp.php?foo=1&bar=2", p7(), "n2xBNyzSW7rfYStDtOFiFMv7qNo="},
		{"T19", vecURL, url.Values{"property": {"value"}, "boolean": {"true"}}, "NBdBDr/T/lgjI+tlgpXjKZQZs/k="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Signature(vecToken, tt.url, tt.params); got != tt.want {
				t.Errorf("Signature = %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("T11", func(t *testing.T) {
		if got := BodySHA256([]byte(vecJSON)); got != vecT11 {
			t.Errorf("BodySHA256 = %s, want %s", got, vecT11)
		}
	})
	t.Run("T14", func(t *testing.T) {
		if got := BodySHA256([]byte("{}")); got != vecT14 {
			t.Errorf("BodySHA256 = %s, want %s", got, vecT14)
		}
	})
}

// TestValidateVectors runs the vectors through the request validator as a
// receiver sees them: the URL as received, the signature in the header.
func TestValidateVectors(t *testing.T) {
	const t18 = "95+Bu0JVPi0r/SsESZCVf0dWAjw="
	tests := []struct {
		name string
		req  *provider.Request
		ok   bool
	}{
		{"T1", formRequest(vecURL, p5(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="), true},
		{"T1 received with :443", formRequest("https://mycompany.com:443/myapp.php?foo=1&bar=2", p5(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="), true},
		{"T2 signed with :443, received without", formRequest(vecURL, p5(), "kvajT1Ptam85bY51eRf/AJRuM3w="), true},
		{"T3 signed with :80, received without", formRequest("http://mycompany.com/myapp.php?foo=1&bar=2", p5(), "0ZXoZLH/DfblKGATFgpif+LLRf4="), true},
		{"T4 received with :1234", formRequest("http://mycompany.com:1234/myapp.php?foo=1&bar=2", p5(), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="), true},
		{"T5 repeated key", formRequest(vecURL, url.Values{"Sid": {"CA123"}, "SidAccount": {"AC123"}, "Digits": {"5678", "1234", "1234"}}, "IK+Dwps556ElfBT0I3Rgjkr1wJU="), true},
		{"T7 credentials", formRequest("https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", p5(), "CukzLTc1tT5dXEDIHm/tKBanW10="), true},
		{"T8 user only", formRequest("https://user@mycompany.com/myapp.php?foo=1&bar=2", p5(), "2YRLlVAflCqxaNicjMpJcSTgzSs="), true},
		{"T9 credentials signed with :443", formRequest("https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", p5(), "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="), true},
		{"T10 escaped quote", formRequest(vecURL+"&Body=It%27s+amazing", p5(), "TfZzewPq8wqrGlMfyAud8+/IvJ0="), true},
		{"T12 JSON body", jsonRequest(vecURL+"&bodySHA256="+vecT11, vecJSON, "a9nBmqA0ju/hNViExpshrM61xv4="), true},
		{"T13 JSON body", jsonRequest("https://mycompany.com/myapp.php?bodySHA256="+vecT11, vecJSON, "y77kIzt2vzLz71DgmJGsen2scGs="), true},
		{"T15 JSON signed with :443", jsonRequest(vecURL+"&bodySHA256="+vecT14, "{}", "Ldidvp12m26NI7eqEvxnEpkd9Hc="), true},
		{"T16", formRequest(vecURL, p7(), "vOEb5UThFn24KEfnOFLQY2AE5FY="), true},
		{"T17", formRequest("http://mycompany.com/myapp.php?foo=1&bar=2", p7(), "n2xBNyzSW7rfYStDtOFiFMv7qNo="), true},
		{"T17 received with :1234", formRequest("http://mycompany.com:1234/myapp.php?foo=1&bar=2", p7(), "n2xBNyzSW7rfYStDtOFiFMv7qNo="), true},
		{"T18 wrong sort order https", formRequest(vecURL, p7(), t18), false},
		{"T18 wrong sort order http", formRequest("http://mycompany.com/myapp.php?foo=1&bar=2", p7(), t18), false},
		{"T19 form body", formRequest(vecURL, url.Values{"property": {"value"}, "boolean": {"true"}}, "NBdBDr/T/lgjI+tlgpXjKZQZs/k="), true},
		{"T1 wrong token signature", formRequest(vecURL, p5(), Signature("54321", vecURL, p5())), false},
		{"T1 missing header", formRequest(vecURL, p5(), ""), false},
		{"T1 other path", formRequest("https://mycompany.com/other.php?foo=1&bar=2", p5(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="), false},
		{"T1 other scheme", formRequest("http://mycompany.com/myapp.php?foo=1&bar=2", p5(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="), false},
		{"T12 body changed", jsonRequest(vecURL+"&bodySHA256="+vecT11, strings.Replace(vecJSON, "true", "trUe", 1), "a9nBmqA0ju/hNViExpshrM61xv4="), false},
		{"T12 without bodySHA256 (strict)", jsonRequest(vecURL, vecJSON, Signature(vecToken, vecURL, nil)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRequest(vecToken, tt.req.Header.Get(HeaderSignature), tt.req)
			if tt.ok && err != nil {
				t.Fatalf("ValidateRequest: %v", err)
			}
			if !tt.ok && !errors.Is(err, provider.ErrBadSignature) {
				t.Fatalf("ValidateRequest = %v, want ErrBadSignature", err)
			}
		})
	}
	t.Run("T18 differs from the correct signature", func(t *testing.T) {
		for _, u := range []string{vecURL, "http://mycompany.com/myapp.php?foo=1&bar=2"} {
			if Signature(vecToken, u, p7()) == t18 {
				t.Errorf("Signature(%s) matched the wrongly sorted T18", u)
			}
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		r := formRequest(vecURL, p5(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
		if err := ValidateRequest("12346", r.Header.Get(HeaderSignature), r); !errors.Is(err, provider.ErrBadSignature) {
			t.Fatalf("err = %v, want ErrBadSignature", err)
		}
	})
}

func TestURLVariants(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"https://a.example/x?y=1", []string{"https://a.example/x?y=1", "https://a.example:443/x?y=1"}},
		{"http://a.example", []string{"http://a.example", "http://a.example:80"}},
		{"https://a.example:8443/x", []string{"https://a.example:8443/x", "https://a.example/x"}},
		{"https://u:p@a.example/x", []string{"https://u:p@a.example/x", "https://u:p@a.example:443/x"}},
		{"http://[::1]:8080/x", []string{"http://[::1]:8080/x", "http://[::1]/x"}},
		{"http://[::1]/x", []string{"http://[::1]/x", "http://[::1]:80/x"}},
		{"https://a.example?q=a:b@c", []string{"https://a.example?q=a:b@c", "https://a.example:443?q=a:b@c"}},
		{"ftp://a.example/x", []string{"ftp://a.example/x"}},
		{"not a url", []string{"not a url"}},
	}
	for _, tt := range tests {
		got := URLVariants(tt.in)
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("URLVariants(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// callhookURLs are callhook's own callback URLs, as configured and as
// Twilio may sign them (with or without the port).
var callhookURLs = []struct {
	name     string
	received string
	signed   string
}{
	{"local as received", "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t", "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t"},
	{"local signed without port", "http://127.0.0.1:8080/api/integrations/voice/callback/ch_1/s3cr3t", "http://127.0.0.1/api/integrations/voice/callback/ch_1/s3cr3t"},
	{"public as received", "https://callhook.example.com/api/integrations/voice/callback/ch_1/s3cr3t?x=1", "https://callhook.example.com/api/integrations/voice/callback/ch_1/s3cr3t?x=1"},
	{"public signed with :443", "https://callhook.example.com/api/integrations/voice/callback/ch_1/s3cr3t?x=1", "https://callhook.example.com:443/api/integrations/voice/callback/ch_1/s3cr3t?x=1"},
	{"public received with :443", "https://callhook.example.com:443/api/integrations/voice/callback/ch_1/s3cr3t?x=1", "https://callhook.example.com/api/integrations/voice/callback/ch_1/s3cr3t?x=1"},
}

func withQuery(u, q string) string {
	if strings.Contains(u, "?") {
		return u + "&" + q
	}
	return u + "?" + q
}

// TestVerifyCallhookURLs re-signs every fixture for callhook's own callback
// URL and checks Verify and Parse, as POST and as GET.
func TestVerifyCallhookURLs(t *testing.T) {
	m := providertest.Load(t)
	token := m.Secrets["twilio_auth_token"]
	p := New(provider.Config{"auth_token": token}, provider.Deps{})
	for _, fx := range m.Fixtures {
		for _, cu := range callhookURLs {
			t.Run(fx.File+"/"+cu.name, func(t *testing.T) {
				var r *provider.Request
				if fx.ContentType == "application/json" {
					signedURL, sig := SignBody(token, cu.signed, fx.Body)
					receivedURL := strings.Replace(signedURL, cu.signed, cu.received, 1)
					r = jsonRequest(receivedURL, string(fx.Body), sig)
				} else {
					params, err := url.ParseQuery(string(fx.Body))
					if err != nil {
						t.Fatal(err)
					}
					r = formRequest(cu.received, params, Signature(token, cu.signed, params))
				}
				if err := p.Verify(r); err != nil {
					t.Fatalf("POST Verify: %v", err)
				}
				evs, err := p.Parse(r)
				if err != nil {
					t.Fatalf("POST Parse: %v", err)
				}
				providertest.CheckEvent(t, fx.File, evs[0], fx.Expected)
				r = providertest.Tampered(r, len(r.Body)/2)
				if err := p.Verify(r); !errors.Is(err, provider.ErrBadSignature) {
					t.Fatalf("POST with a changed body: Verify = %v, want ErrBadSignature", err)
				}
				if fx.ContentType == "application/json" {
					return
				}
				// GET: the parameters travel in the query and are signed as part of the URL.
				g := &provider.Request{Method: http.MethodGet, URL: withQuery(cu.received, string(fx.Body)),
					Header: http.Header{}, Now: time.Now()}
				g.Header.Set(HeaderSignature, Signature(token, withQuery(cu.signed, string(fx.Body)), nil))
				if err := p.Verify(g); err != nil {
					t.Fatalf("GET Verify: %v", err)
				}
				evs, err = p.Parse(g)
				if err != nil {
					t.Fatalf("GET Parse: %v", err)
				}
				providertest.CheckEvent(t, fx.File+" GET", evs[0], fx.Expected)
				g.URL = strings.Replace(g.URL, "CallSid=CA", "CallSid=CB", 1)
				if err := p.Verify(g); !errors.Is(err, provider.ErrBadSignature) {
					t.Fatalf("GET with a changed query: Verify = %v, want ErrBadSignature", err)
				}
			})
		}
	}
}

func TestVerifyNotificationVariants(t *testing.T) {
	m := providertest.Load(t)
	token := m.Secrets["twilio_auth_token"]
	var body []byte
	for _, fx := range m.Fixtures {
		if fx.File == "call_notification.json" {
			body = fx.Body
		}
	}
	const bare = "https://hooks.example.com/v1/callbacks/twilio/client-notification"
	p := New(provider.Config{"auth_token": token}, provider.Deps{})
	tests := []struct {
		name string
		url  string
		body []byte
		sig  string
		ok   bool
	}{
		{"bare URL, no params ([uncertain] variant)", bare, body, "Wn08b75eiMRcnTrxdDzgYb7dLzk=", true},
		{"bare URL with :443", "https://hooks.example.com:443/v1/callbacks/twilio/client-notification", body, "Wn08b75eiMRcnTrxdDzgYb7dLzk=", true},
		{"bare URL, wrong signature", bare, body, "pay/2MBJJ0JK7gr/PwrSdOIUk80=", false},
		{"bodySHA256 mismatch", bare + "?bodySHA256=" + BodySHA256([]byte("{}")), body, Signature(token, bare+"?bodySHA256="+BodySHA256([]byte("{}")), nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Verify(jsonRequest(tt.url, string(tt.body), tt.sig))
			if tt.ok != (err == nil) {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, provider.ErrBadSignature) {
				t.Fatalf("err = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVerifyOffWithoutToken(t *testing.T) {
	p := New(provider.Config{"account_sid": "AC" + strings.Repeat("a", 32)}, provider.Deps{})
	if err := p.Verify(formRequest(vecURL, p5(), "")); err != nil {
		t.Fatalf("Verify without auth_token = %v, want nil", err)
	}
	if !Spec().SignatureOff(provider.Config{}) {
		t.Fatal("SignatureOff(empty config) = false")
	}
}

func TestNewSignedRequest(t *testing.T) {
	r := NewSignedRequest(vecToken, "", vecURL, p5(), time.Now())
	if err := ValidateRequest(vecToken, r.Header.Get(HeaderSignature), r); err != nil {
		t.Fatalf("ValidateRequest: %v", err)
	}
	if got := r.Header.Get(HeaderSignature); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Fatalf("signature = %s, want T1", got)
	}
	if r := NewSignedRequest("", "", vecURL, p5(), time.Now()); r.Header.Get(HeaderSignature) != "" {
		t.Fatal("unsigned request carries a signature")
	}
}

func FuzzVerify(f *testing.F) {
	m := providertest.Load(f)
	for _, fx := range m.Fixtures {
		f.Add(fx.Body, fx.URL, fx.ContentType, fx.Headers[HeaderSignature])
	}
	f.Add([]byte(vecJSON), vecURL+"&bodySHA256="+vecT11, "application/json", "a9nBmqA0ju/hNViExpshrM61xv4=")
	f.Add([]byte("a=%zz"), "http://[::1", "", "x")
	token := m.Secrets["twilio_auth_token"]
	p := New(provider.Config{"auth_token": token}, provider.Deps{})
	f.Fuzz(func(t *testing.T, body []byte, rawURL, ct, sig string) {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			h := http.Header{}
			h.Set("Content-Type", ct)
			h.Set(HeaderSignature, sig)
			r := &provider.Request{Method: method, URL: rawURL, Header: h, Body: body, Now: time.Now()}
			if err := p.Verify(r); err != nil && !errors.Is(err, provider.ErrBadSignature) {
				t.Fatalf("Verify error %v does not wrap ErrBadSignature", err)
			}
		}
	})
}

// BenchmarkSignature signs a status callback's 20 parameters, as Verify
// does for every Twilio callback.
func BenchmarkSignature(b *testing.B) {
	form := SampleStatusForm("AC"+strings.Repeat("0", 32), "CA"+strings.Repeat("1", 32), "+15550100", time.Now())
	for len(form) < 20 {
		form.Set(fmt.Sprintf("Param%d", len(form)), "value")
	}
	b.ReportAllocs()
	for b.Loop() {
		Signature("0123456789abcdef0123456789abcdef", "https://example.com/api/integrations/voice/callback/ch/secret", form)
	}
}
