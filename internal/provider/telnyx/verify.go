package telnyx

import (
	"crypto/ed25519"
	"encoding/base64"
	"strconv"
	"time"

	"callhook/internal/provider"
)

// Header names of the Telnyx webhook signature.
const (
	HeaderSignature = "telnyx-signature-ed25519"
	HeaderTimestamp = "telnyx-timestamp"
)

// Sign returns the telnyx-signature-ed25519 value (standard base64) that the
// holder of the 32-byte Ed25519 seed would send for body at timestamp, i.e.
// the signature over the decimal timestamp, "|" and body. Only Telnyx holds
// the real private key; Sign exists for tests, which use the RFC 8032 TEST 1
// seed of docs/providers.md, "Telnyx" It panics if seed is not 32 bytes long, like
// ed25519.NewKeyFromSeed.
func Sign(seed []byte, timestamp int64, body []byte) string {
	key := ed25519.NewKeyFromSeed(seed)
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, signedMessage(strconv.FormatInt(timestamp, 10), body)))
}

// PublicKey returns the base64 public key (the public_key configuration value)
// that belongs to a 32-byte Ed25519 seed, for tests that sign with Sign. It
// panics if seed is not 32 bytes long.
func PublicKey(seed []byte) string {
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	return base64.StdEncoding.EncodeToString(pub)
}

// signedMessage is what Telnyx signs: the timestamp header value exactly as
// sent, "|", and the raw body bytes.
func signedMessage(ts string, body []byte) []byte {
	msg := make([]byte, 0, len(ts)+1+len(body))
	msg = append(msg, ts...)
	msg = append(msg, '|')
	return append(msg, body...)
}

// Verify checks the Ed25519 signature when a public_key is configured, then
// the timestamp window. Errors wrap provider.ErrBadSignature or
// provider.ErrStaleTimestamp.
func (p *Provider) Verify(r *provider.Request) error {
	if p.pub == nil && p.keyErr == nil {
		return nil
	}
	if p.keyErr != nil {
		return provider.Errorf(provider.ErrBadSignature, "configured public_key is unusable: %v", p.keyErr)
	}
	sigv := r.Header.Get(HeaderSignature)
	tsv := r.Header.Get(HeaderTimestamp)
	if sigv == "" {
		return provider.Errorf(provider.ErrBadSignature, "missing %s header", HeaderSignature)
	}
	if tsv == "" {
		return provider.Errorf(provider.ErrBadSignature, "missing %s header", HeaderTimestamp)
	}
	sig, err := decodeBase64(sigv)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return provider.Errorf(provider.ErrBadSignature, "%s is not a base64 Ed25519 signature", HeaderSignature)
	}
	if !ed25519.Verify(p.pub, signedMessage(tsv, r.Body), sig) {
		return provider.Errorf(provider.ErrBadSignature, "%s does not match the timestamp and body", HeaderSignature)
	}
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	_, err = provider.CheckUnixTimestamp(tsv, now)
	return err
}
