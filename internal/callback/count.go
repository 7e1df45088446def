package callback

// countJSONElements counts the elements of body when it is a JSON array,
// scanning bytes without decoding anything, and stops as soon as the count
// passes limit. It reports whether the array holds more than limit elements.
// A body that is not an array (an object, a form) reports false: the provider
// parses it and the pipeline counts the events it gives. Malformed JSON is
// left to the provider's parser to name.
//
// This runs before any decoding so that a megabyte of "[{},{},…]" costs one
// pass over the bytes and no allocation (docs/architecture.md, "Bounds").
func countJSONElements(body []byte, limit int) bool {
	i := 0
	for i < len(body) && isSpace(body[i]) {
		i++
	}
	if i == len(body) || body[i] != '[' {
		return false
	}
	depth, inString, escaped := 0, false, false
	n, seen := 0, false
	for ; i < len(body); i++ {
		b := body[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
			if depth == 1 && !seen {
				seen, n = true, n+1
			}
		case '[', '{':
			if depth == 1 && !seen {
				seen, n = true, n+1
			}
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return n > limit
			}
		case ',':
			if depth == 1 {
				seen = false
			}
		default:
			if depth == 1 && !seen && !isSpace(b) {
				seen, n = true, n+1
			}
		}
		if n > limit {
			return true
		}
	}
	return n > limit
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
