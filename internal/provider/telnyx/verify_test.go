package telnyx

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/providertest"
)

func seed(t testing.TB, m providertest.Manifest) []byte {
	t.Helper()
	s, err := hex.DecodeString(m.Secrets["telnyx_private_seed_hex"])
	if err != nil || len(s) != ed25519.SeedSize {
		t.Fatalf("manifest seed: %v (%d bytes)", err, len(s))
	}
	return s
}

// TestRFC8032 is the sanity check of docs/providers.md, "Telnyx": RFC 8032 §7.1 TEST 1.
func TestRFC8032(t *testing.T) {
	m := providertest.Load(t)
	s := seed(t, m)
	const wantSig = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
	if got := hex.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(s), nil)); got != wantSig {
		t.Errorf("signature over the empty message = %s, want %s", got, wantSig)
	}
	if got := PublicKey(s); got != m.Secrets["telnyx_public_key_b64"] || got != "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" {
		t.Errorf("PublicKey = %s", got)
	}
}

// TestSignReproducesFixtures checks Sign against the signatures in the manifest.
func TestSignReproducesFixtures(t *testing.T) {
	m := providertest.Load(t)
	s := seed(t, m)
	for _, fx := range m.Fixtures {
		if got, want := Sign(s, 1736849702, fx.Body), fx.Headers[HeaderSignature]; got != want {
			t.Errorf("%s: Sign = %s, want %s", fx.File, got, want)
		}
	}
}

func TestVerifyNegative(t *testing.T) {
	m := providertest.Load(t)
	p := fixtureProvider(t, m)
	s := seed(t, m)
	fx := m.Fixtures[0]

	tests := []struct {
		name   string
		mutate func(r *provider.Request)
		want   error
	}{
		{"timestamp moved by one second", func(r *provider.Request) {
			r.Header.Set(HeaderTimestamp, "1736849703")
			r.Now = time.Unix(1736849703, 0)
		}, provider.ErrBadSignature},
		{"fixture against the real clock", func(r *provider.Request) { r.Now = time.Now() }, provider.ErrStaleTimestamp},
		{"zero clock means the real clock", func(r *provider.Request) { r.Now = time.Time{} }, provider.ErrStaleTimestamp},
		{"six minutes late", func(r *provider.Request) { r.Now = fixtureTime.Add(6 * time.Minute) }, provider.ErrStaleTimestamp},
		{"six minutes early", func(r *provider.Request) { r.Now = fixtureTime.Add(-6 * time.Minute) }, provider.ErrStaleTimestamp},
		{"one body byte flipped", func(r *provider.Request) { r.Body[len(r.Body)/2] ^= 0x01 }, provider.ErrBadSignature},
		{"trailing newline", func(r *provider.Request) { r.Body = append(r.Body, '\n') }, provider.ErrBadSignature},
		{"missing signature", func(r *provider.Request) { r.Header.Del(HeaderSignature) }, provider.ErrBadSignature},
		{"missing timestamp", func(r *provider.Request) { r.Header.Del(HeaderTimestamp) }, provider.ErrBadSignature},
		{"signature not base64", func(r *provider.Request) { r.Header.Set(HeaderSignature, "***") }, provider.ErrBadSignature},
		{"signature too short", func(r *provider.Request) { r.Header.Set(HeaderSignature, "AAAA") }, provider.ErrBadSignature},
		{"other fixture's signature", func(r *provider.Request) {
			r.Header.Set(HeaderSignature, m.Fixtures[1].Headers[HeaderSignature])
		}, provider.ErrBadSignature},
		{"signed timestamp that is not a number", func(r *provider.Request) {
			// Correctly signed but not Unix seconds: rejected after the signature.
			r.Header.Set(HeaderTimestamp, "soon")
			r.Header.Set(HeaderSignature, signRaw(s, "soon", r.Body))
		}, provider.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fx.Request(fixtureTime)
			tt.mutate(r)
			err := p.Verify(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func signRaw(seed []byte, ts string, body []byte) string {
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(seed), signedMessage(ts, body))
	return encodeStd(sig)
}

func TestVerifyFresh(t *testing.T) {
	m := providertest.Load(t)
	p := fixtureProvider(t, m)
	s := seed(t, m)
	fx := m.Fixtures[0]
	now := time.Now()
	r := fx.Request(time.Time{}) // real clock
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	r.Header.Set(HeaderSignature, Sign(s, now.Unix(), r.Body))
	if err := p.Verify(r); err != nil {
		t.Fatalf("freshly signed request: %v", err)
	}
	// Four minutes of clock skew either way is inside the window.
	for _, skew := range []time.Duration{-4 * time.Minute, 4 * time.Minute} {
		r.Now = now.Add(skew)
		if err := p.Verify(r); err != nil {
			t.Errorf("skew %s: %v", skew, err)
		}
	}
	// A stale timestamp is reported only after the signature checks out.
	r.Now = now.Add(time.Hour)
	r.Body = append(r.Body, ' ')
	if err := p.Verify(r); !errors.Is(err, provider.ErrBadSignature) {
		t.Errorf("bad signature and stale: %v, want bad signature", err)
	}
}

func TestVerifyKeyConfiguration(t *testing.T) {
	m := providertest.Load(t)
	fx := m.Fixtures[0]
	unsigned := fx.Request(fixtureTime)
	unsigned.Header.Del(HeaderSignature)
	unsigned.Header.Del(HeaderTimestamp)

	// No key: the check is off, even for unsigned requests.
	if err := New(provider.Config{}, provider.Deps{}).Verify(unsigned); err != nil {
		t.Errorf("no key: %v", err)
	}
	if err := New(provider.Config{"public_key": "  "}, provider.Deps{}).Verify(unsigned); err != nil {
		t.Errorf("blank key: %v", err)
	}
	// A malformed key fails closed, also for correctly signed requests.
	bad := New(provider.Config{"public_key": "AAAA"}, provider.Deps{})
	if err := bad.Verify(fx.Request(fixtureTime)); !errors.Is(err, provider.ErrBadSignature) {
		t.Errorf("malformed key: %v", err)
	}
	// Another valid key rejects the fixture.
	other := make([]byte, ed25519.SeedSize)
	other[0] = 1
	if err := New(provider.Config{"public_key": PublicKey(other)}, provider.Deps{}).Verify(fx.Request(fixtureTime)); !errors.Is(err, provider.ErrBadSignature) {
		t.Errorf("other key: %v", err)
	}
	// The key may be configured without padding.
	unpadded := New(provider.Config{"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"}, provider.Deps{})
	if err := unpadded.Verify(fx.Request(fixtureTime)); err != nil {
		t.Errorf("unpadded key: %v", err)
	}
}

func TestSignPanicsOnShortSeed(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Sign accepted a 3-byte seed")
		}
	}()
	Sign([]byte{1, 2, 3}, 0, nil)
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
