package provider

import (
	"encoding/json"
	"testing"
)

func TestJSONText(t *testing.T) {
	for in, want := range map[string]string{
		`"abc"`: "abc", `" a "`: " a ", `12`: "12", `1.50`: "1.50", `-3e2`: "-3e2",
		`true`: "true", `false`: "false", `null`: "", `"é\n"`: "é\n",
	} {
		var v struct {
			F JSONText `json:"f"`
		}
		if err := json.Unmarshal([]byte(`{"f": `+in+` }`), &v); err != nil || string(v.F) != want {
			t.Errorf("%s: %q, %v; want %q", in, v.F, err, want)
		}
	}
	for _, in := range []string{`{}`, `[1]`, `"unterminated`} {
		var v struct {
			F JSONText `json:"f"`
		}
		if err := json.Unmarshal([]byte(`{"f": `+in+`}`), &v); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}
