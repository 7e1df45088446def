package channel

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"callhook/internal/provider"
	"callhook/internal/provider/generic"
	"callhook/internal/provider/twilio"
	"callhook/internal/store"
	"callhook/internal/store/storetest"
)

func TestValidateDTMF(t *testing.T) {
	tests := []struct {
		in      map[string]string
		wantErr bool
	}{
		{map[string]string{"1": "acknowledge", "2": "resolve"}, false},
		{map[string]string{"787": "Resolve", "*9#": "ack"}, false},
		{map[string]string{"1a": "acknowledge"}, true},
		{map[string]string{"": "acknowledge"}, true},
		{map[string]string{"1": "snooze"}, true},
		{map[string]string{"1": "acknowledge", " 1 ": "resolve"}, true},
		{map[string]string{"12345678901234567": "resolve"}, true},
	}
	for _, tt := range tests {
		out, err := ValidateDTMF(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ValidateDTMF(%v) = %v, %v", tt.in, out, err)
		}
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("error %v is not ErrInvalid", err)
		}
	}
	out, _ := ValidateDTMF(map[string]string{"*9#": "ack"})
	if out["*9#"] != "acknowledge" {
		t.Errorf("normalized %v", out)
	}
}

func TestCreateRotateOverride(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	m := &Manager{Store: st, Providers: provider.NewRegistry(generic.Spec(), twilio.Spec()), PublicURL: "https://h.example", Now: func() time.Time { return now }}
	ch, err := m.Create(ctx, Input{})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ch_[a-z0-9]{10}$`).MatchString(ch.ID) || len(ch.Secret) < 32 || ch.DTMFMap["1"] != "acknowledge" {
		t.Errorf("created %+v", ch)
	}
	for _, bad := range []Input{{ID: "Caps"}, {ID: "-x"}, {ID: "a/b"}} {
		if _, err := m.Create(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Create(%+v) = %v", bad, err)
		}
	}
	old := ch.Secret
	r, err := m.Rotate(ctx, ch.ID, time.Hour)
	if err != nil || r.Secret == old || *r.PrevSecret != old || !r.PrevSecretExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("rotate: %+v %v", r, err)
	}
	if _, err := m.Rotate(ctx, ch.ID, -time.Second); err == nil {
		t.Error("negative grace accepted")
	}
	// Override: write-only secrets kept when blank, dropped when the type changes.
	tw := &ProviderOverride{Type: "twilio", Config: map[string]string{"auth_token": "0123456789abcdef0123456789abcdef"}, CallbacksOnly: true}
	if _, err := m.Update(ctx, ch.ID, Input{Provider: &tw}); err != nil {
		t.Fatal(err)
	}
	blank := &ProviderOverride{Type: "twilio", Config: map[string]string{"auth_token": ""}, CallbacksOnly: true}
	u, _ := m.Update(ctx, ch.ID, Input{Provider: &blank})
	if u.ProviderConfig["auth_token"] == "" {
		t.Error("a blank secret dropped the stored one")
	}
	v := m.ViewOf(u, true, nil)
	if v.Provider.Config["auth_token"] == u.ProviderConfig["auth_token"] || v.SignatureCheckDisabled {
		t.Errorf("view %+v shows the secret or the wrong state", v.Provider)
	}
	if m.ViewOf(u, false, nil).Secret != "" || m.ViewOf(u, false, nil).CallbackURL != "" {
		t.Error("a viewer's view carries the secret")
	}
	clear := &ProviderOverride{Type: "twilio", Clear: []string{"auth_token"}, CallbacksOnly: true}
	u, _ = m.Update(ctx, ch.ID, Input{Provider: &clear})
	if u.ProviderConfig["auth_token"] != "" || !m.ViewOf(u, true, nil).SignatureCheckDisabled {
		t.Error("clear did not empty the token")
	}
	var none *ProviderOverride
	u, _ = m.Update(ctx, ch.ID, Input{Provider: &none})
	if u.ProviderType != nil {
		t.Errorf("override not removed: %v", *u.ProviderType)
	}
}
