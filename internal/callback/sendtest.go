package callback

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"callhook/internal/channel"
	"callhook/internal/provider"
	"callhook/internal/store"
	"callhook/internal/voice"
)

// TestCallMessage is the message of the calls "send test callback"
// registers: they have no alert, so a keypad sample on them resolves to
// the mapped action without changing any alert.
const TestCallMessage = "Test call of “Send test callback” (no alert: keypad actions change nothing)"

// SendTest runs a sample callback of the channel's provider, signed with its
// configured credentials where the scheme allows, through the whole
// pipeline. With digit empty the sample is a status callback; otherwise it
// is the provider's keypad callback carrying digit, so the channel's DTMF
// mapping is exercised.
//
// The sample is about a test call registered for it first (outbound, on
// the channel, already completed so it never counts as in progress, and
// with no alert), so the callback is matched and stored as accepted like a
// real one, and a keypad sample resolves to the action the mapping gives
// (shown as the event's action, with Changed false) without acknowledging
// or resolving any real alert.
func (s *Service) SendTest(ctx context.Context, channelID, digit string) (Result, error) {
	ch, err := s.Store.Channel(ctx, channelID)
	if err != nil {
		return Result{}, err
	}
	if digit != "" {
		if err := (voice.DTMFMap{digit: voice.ActionAcknowledge}).Validate(); err != nil {
			return Result{}, voice.Invalid("", "digit: %v", err)
		}
	}
	spec, cfg, err := s.resolve(ctx, ch)
	if err != nil {
		return Result{}, err
	}
	prov, err := spec.New(cfg, s.Deps)
	if err != nil {
		return Result{}, voice.Invalid("", "provider configuration: %v", err)
	}
	sampler, ok := prov.(provider.Sampler)
	if !ok {
		return Result{}, voice.Invalid("", "%s cannot build a sample callback", spec.Title)
	}
	dtmf, ok := prov.(provider.DTMFSampler)
	if digit != "" && !ok {
		return Result{}, voice.Invalid("", "%s cannot build a sample keypad callback", spec.Title)
	}
	now := s.now()
	callID := "test-" + strconv.FormatInt(now.UnixNano(), 36)
	call := &store.Call{ChannelID: ch.ID, Provider: spec.Name, ProviderCallID: callID,
		Direction: string(voice.Outbound), To: "console test", Message: TestCallMessage,
		Status: string(voice.StatusCompleted)}
	if err := s.Store.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.RegisterCall(ctx, call, ch, now)
	}); err != nil {
		return Result{}, fmt.Errorf("callback: register test call: %w", err)
	}
	u := channel.CallbackURL(s.PublicURL, ch.ID, ch.Secret)
	var req *provider.Request
	if digit == "" {
		req, err = sampler.SampleCallback(u, callID, now)
	} else {
		req, err = dtmf.SampleDTMF(u, callID, digit, now)
	}
	if err != nil {
		return Result{}, fmt.Errorf("callback: sample: %w", err)
	}
	_, rawQuery, _ := strings.Cut(req.URL, "?")
	return s.Handle(ctx, Inbound{ChannelID: ch.ID, Secret: ch.Secret, Method: req.Method, RawQuery: rawQuery,
		Header: req.Header, Body: req.Body, RemoteAddr: "console test"}), nil
}
