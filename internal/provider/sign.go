package provider

import (
	"crypto/hmac"
	"strconv"
	"strings"
	"time"
)

// EqualString compares two strings in constant time.
func EqualString(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// CheckUnixTimestamp parses a Unix-seconds header value and checks it lies
// within TimestampWindow of now. Errors wrap ErrStaleTimestamp or ErrBadSignature.
func CheckUnixTimestamp(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, wrapf(ErrBadSignature, "timestamp %q is not Unix seconds", v)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > TimestampWindow || d < -TimestampWindow {
		return ts, wrapf(ErrStaleTimestamp, "timestamp %s is %s away from now", ts.UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	return ts, nil
}
