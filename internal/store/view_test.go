package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"callhook/internal/voice"
)

// The write path encodes with goccy/go-json (encodeJSON); what it stores
// and streams must read back as what encoding/json would have written, for
// every field of every shape it encodes, with the strings that need
// escaping: quotes, control characters, HTML, U+2028, invalid UTF-8. (The
// bytes may differ: goccy writes 4.3e-07 for 4.3e-7 and orders map keys
// its own way.)
func TestEncodeJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 8, 7, 654321000, time.UTC)
	zoned := at.In(time.FixedZone("x", -5*3600))
	id, seq, dur, mos := int64(42), int64(7), 12.5, 4.3e-7
	big := 1e21
	for _, s := range []string{"", "plain", `q"uo\te`, "tab\tnl\nnul\x00", "<b>&amp;</b>", "line\u2028sep\u2029", "bad\xffutf8", "é ✓ 🎉"} {
		s := s
		for name, v := range map[string]any{
			"event": voice.EventView{ID: id, CallID: &id, EventType: s, Status: s, Digit: s, Action: s, Applied: true,
				Native: s, Message: s, Seq: &seq, OccurredAt: &zoned, ReceivedAt: at, CallbackID: id, ProviderCallID: s},
			"event, nil pointers": voice.EventView{ReceivedAt: at},
			"call": voice.CallView{ID: id, ChannelID: s, AlertID: &id, Provider: s, ProviderCallID: s, Direction: s,
				From: s, To: s, Message: s, Status: s, DurationS: &dur, MOS: &mos, CreatedAt: at, UpdatedAt: zoned},
			"call, large duration": voice.CallView{DurationS: &big},
			"callback": voice.CallbackView{ID: id, ChannelID: s, Provider: s, Method: s, Path: s, Query: s, ContentType: s,
				Headers: map[string][]string{s: {s, "b"}, "A": nil}, Body: &s, BodySize: 3, BodyTruncated: true, Outcome: s,
				Reason: s, Error: s, StatusCode: 200, EventCount: 1, ReplayOf: &id, Replayable: true, ReceivedAt: at},
			"headers": map[string][]string{"X-" + s: {s}, "Z": {}},
			"values":  map[string]string{s: s, "k": "v"},
		} {
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeJSON(v)
			if err != nil {
				t.Fatalf("%s %q: %v", name, s, err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("%s %q: %s: %v", name, s, got, err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s %q:\n got %s\nwant %s", name, s, got, want)
			}
		}
	}
}
