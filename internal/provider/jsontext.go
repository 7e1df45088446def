package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// JSONText is a JSON scalar read as text, for payload fields a provider
// sends sometimes as a string and sometimes as a number: a string as is, a
// number, true or false as its literal, null as "". Objects and arrays are
// an error.
type JSONText string

// UnmarshalJSON implements json.Unmarshaler.
func (t *JSONText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = JSONText(s)
	case b[0] == '{' || b[0] == '[':
		return fmt.Errorf("want a string or a number, got %.20s", b)
	default:
		// true, false and number literals are kept verbatim.
		*t = JSONText(b)
	}
	return nil
}
