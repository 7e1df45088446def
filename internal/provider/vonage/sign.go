package vonage

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claim names of a signed Vonage webhook.
const (
	ClaimPayloadHash = "payload_hash"
	ClaimIssuedAt    = "iat"
)

// hs256 is the only algorithm a signed webhook may use; listing it makes the
// parser refuse "none", RS256-with-a-shared-secret and every other confusion.
var hs256 = []string{jwt.SigningMethodHS256.Alg()}

// PayloadHash returns the payload_hash claim for a POST body: the hex SHA-256
// of the raw bytes.
func PayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// QueryPayloadHash returns the payload_hash claim for a GET event: the hex
// SHA-256 of a compact JSON object of the query parameters, decoded, in the
// order received. A repeated name keeps its first position and its last
// value, as a JavaScript object would.
func QueryPayloadHash(rawQuery string) string {
	return PayloadHash(QueryJSON(rawQuery))
}

// QueryJSON renders a raw query string as the compact JSON object whose hash
// Vonage puts in payload_hash for GET events (see QueryPayloadHash).
func QueryJSON(rawQuery string) []byte {
	type pair struct{ k, v string }
	var pairs []pair
	index := map[string]int{}
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = unescape(k)
		v = unescape(v)
		if i, ok := index[k]; ok {
			pairs[i].v = v
			continue
		}
		index[k] = len(pairs)
		pairs = append(pairs, pair{k, v})
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(p.k))
		b.WriteByte(':')
		b.Write(jsonString(p.v))
	}
	b.WriteByte('}')
	return b.Bytes()
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// jsonString encodes s as a JSON string without Go's HTML escaping, which
// no JavaScript or Java producer applies.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// SignWebhook returns a token shaped like the ones Vonage sends on signed
// webhooks: HS256 with secret over iat, jti, iss "Vonage" and payloadHash
// (omitted when empty). Tests and the sample callback use it.
func SignWebhook(secret, payloadHash string, iat time.Time) (string, error) {
	if secret == "" {
		return "", errors.New("vonage: sign webhook: empty signature secret")
	}
	claims := jwt.MapClaims{
		"iat": iat.Unix(),
		"jti": randomID(),
		"iss": "Vonage",
	}
	if payloadHash != "" {
		claims[ClaimPayloadHash] = payloadHash
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("vonage: sign webhook: %w", err)
	}
	return s, nil
}

// VerifyHMAC checks only the HMAC layer of a webhook token: the algorithm
// must be HS256 and the signature over header.payload must match secret.
// No claim is validated; the claims are returned for the caller to check.
// Vonage's official vector (a token from 2023 without payload_hash) passes it.
func VerifyHMAC(token, secret string) (jwt.MapClaims, error) {
	if secret == "" {
		return nil, errors.New("empty signature secret")
	}
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods(hs256), jwt.WithoutClaimsValidation())
	if _, err := p.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
		return []byte(secret), nil
	}); err != nil {
		return nil, err
	}
	return claims, nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(h string) string {
	h = strings.TrimSpace(h)
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// randomID returns a random RFC 4122 version 4 UUID, used as a JWT jti.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
