package callback

import (
	"strings"
	"testing"
)

func TestCountJSONElements(t *testing.T) {
	cases := []struct {
		body  string
		limit int
		over  bool
	}{
		{`[]`, 0, false},
		{`[{}]`, 0, true},
		{`[{}]`, 1, false},
		{` [ {"a":[1,2,3]}, {"b":"x,y]"} ] `, 2, false},
		{` [ {"a":[1,2,3]}, {"b":"x,y]"} ] `, 1, true},
		{`["a\"],[", 1, null, true]`, 4, false},
		{`["a\"],[", 1, null, true]`, 3, true},
		{`{"events":[1,2,3,4,5]}`, 1, false},
		{`call_id=1&x=2`, 0, false},
		{`[1,2,3`, 2, true},
		{"[" + strings.Repeat("{},", 1_000_000) + "{}]", 100, true},
	}
	for _, c := range cases {
		if got := countJSONElements([]byte(c.body), c.limit); got != c.over {
			name := c.body
			if len(name) > 40 {
				name = name[:40] + "…"
			}
			t.Errorf("%s limit %d: over=%v, want %v", name, c.limit, got, c.over)
		}
	}
}

// The scan allocates nothing, however long the array.
func TestCountJSONElementsAllocates(t *testing.T) {
	body := []byte("[" + strings.Repeat("{},", 300_000) + "{}]")
	if n := testing.AllocsPerRun(5, func() { countJSONElements(body, 100) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func FuzzCountJSONElements(f *testing.F) {
	for _, s := range []string{`[]`, `[{},{}]`, `["a\"b",[1,[2]],{"x":"]"}]`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		countJSONElements(body, 3)
	})
}
