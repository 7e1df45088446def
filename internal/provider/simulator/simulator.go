// Package simulator is a provider with no account anywhere: it "places" calls
// by posting realistic generic-format callbacks (ringing, answered, a keypad
// press, completed; sometimes busy or no answer) to the channel's own callback
// URL, so a new install (CALLHOOK_DEMO=true) shows live activity end to end
// through the real pipeline.
package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"callhook/internal/auth"
	"callhook/internal/provider"
	"callhook/internal/provider/generic"
	"callhook/internal/voice"
)

// Spec describes the simulator.
func Spec() provider.Spec {
	return provider.Spec{
		Name:  "simulator",
		Title: "Simulator (demo)",
		Capabilities: []provider.Capability{provider.CapTTS, provider.CapStatusCallback,
			provider.CapDTMFCallback, provider.CapPlaceCall},
		New: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			return New(deps), nil
		},
	}
}

// Provider is the simulator.
type Provider struct {
	client *http.Client
	// Step is the delay between simulated callbacks (default 1.5s).
	Step time.Duration
	// Rand picks outcomes; nil uses a random source.
	Rand *rand.Rand
}

// New returns a simulator posting with deps.HTTPClient.
func New(deps provider.Deps) *Provider {
	c := deps.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return &Provider{client: c, Step: 1500 * time.Millisecond}
}

// Verify accepts everything: the simulator signs nothing.
func (p *Provider) Verify(*provider.Request) error { return nil }

// Parse reads the generic format.
func (p *Provider) Parse(r *provider.Request) ([]voice.Event, error) { return generic.Parse(r) }

// Reply answers like the generic provider.
func (p *Provider) Reply(_ *provider.Request, out provider.Outcome) provider.Reply {
	return generic.SummaryReply(out)
}

// Script returns the callbacks a simulated call sends: most calls are
// answered and acknowledged or resolved by keypad; some are busy or unanswered.
func Script(callID string, r *rand.Rand) []generic.Payload {
	n := r.IntN(10)
	ev := func(et, st, digit string) generic.Payload {
		p := generic.Payload{CallID: callID, EventType: et, Status: st}
		if digit != "" {
			p.Digit, _ = json.Marshal(digit)
		}
		return p
	}
	script := []generic.Payload{ev("status", "ringing", "")}
	switch {
	case n == 0:
		return append(script, ev("status", "busy", ""))
	case n == 1:
		return append(script, ev("status", "no_answer", ""))
	case n == 2:
		return append(script, ev("error", "failed", ""))
	}
	digit := "1"
	if n >= 7 {
		digit = "2"
	}
	d := float64(8 + r.IntN(40))
	mos := 3.8 + float64(r.IntN(6))/10
	done := ev("status", "completed", "")
	done.DurationS, done.MOS = &d, &mos
	return append(script, ev("status", "answered", ""), ev("dtmf", "answered", digit), done)
}

// PlaceCall starts a simulated call and returns at once; its callbacks are
// posted to req.CallbackURL in the background.
func (p *Provider) PlaceCall(_ context.Context, req provider.PlaceRequest) (provider.PlacedCall, error) {
	if req.CallbackURL == "" {
		return provider.PlacedCall{}, fmt.Errorf("simulator: no callback URL")
	}
	id := "SIM" + auth.RandomToken(12)
	r := p.Rand
	if r == nil {
		r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	script := Script(id, r)
	for i := range script {
		if script[i].EventType == "error" {
			script[i].Message = "Simulated carrier failure"
		}
		seq := int64(i)
		script[i].Sequence = &seq
		script[i].To = req.To
	}
	go p.run(req.CallbackURL, script)
	return provider.PlacedCall{ProviderCallID: id, Status: voice.StatusQueued}, nil
}

func (p *Provider) run(url string, script []generic.Payload) {
	for _, ev := range script {
		time.Sleep(p.Step)
		body, _ := json.Marshal(ev)
		for attempt := 0; attempt < 3; attempt++ {
			resp, err := p.client.Post(url, "application/json", bytes.NewReader(body))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 500 {
					break
				}
			}
			time.Sleep(time.Duration(attempt+1) * time.Second) // providers retry too
		}
	}
}

// SampleCallback builds a generic status callback.
func (p *Provider) SampleCallback(url, callID string, now time.Time) (*provider.Request, error) {
	return generic.New(provider.Config{}, provider.Deps{}).SampleCallback(url, callID, now)
}
