// Package twimltest parses TwiML/cXML replies in tests, so that replies are
// checked as XML documents rather than compared as strings. It is imported
// only by tests.
package twimltest

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"callhook/internal/provider"
)

// Doc is a parsed TwiML document: its root and its verbs in order.
type Doc struct {
	XMLName xml.Name
	Verbs   []Node `xml:",any"`
}

// Node is one parsed element.
type Node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []Node     `xml:",any"`
}

// Attr returns the value of attribute name, or "".
func (n Node) Attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Shape renders element names in order with children in parentheses,
// e.g. "Say Gather(Say) Say".
func Shape(nodes []Node) string {
	var parts []string
	for _, n := range nodes {
		s := n.XMLName.Local
		if len(n.Nodes) > 0 {
			s += "(" + Shape(n.Nodes) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// Unmarshal parses a TwiML document whose root must be <Response>.
func Unmarshal(t testing.TB, b []byte) Doc {
	t.Helper()
	var d Doc
	if err := xml.Unmarshal(b, &d); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b)
	}
	if d.XMLName.Local != "Response" {
		t.Fatalf("root %q, want Response", d.XMLName.Local)
	}
	return d
}

// Parse checks that rep is a 200 text/xml TwiML reply and parses it.
func Parse(t testing.TB, rep provider.Reply) Doc {
	t.Helper()
	if rep.Status != http.StatusOK || !strings.HasPrefix(rep.ContentType, "text/xml") {
		t.Fatalf("reply %d %q, want 200 text/xml", rep.Status, rep.ContentType)
	}
	return Unmarshal(t, rep.Body)
}
