package settings

import (
	"errors"
	"strings"
	"testing"

	"callhook/internal/provider"
	"callhook/internal/provider/generic"
	"callhook/internal/provider/signalwire"
	"callhook/internal/store"
)

// TestPrepareRefusesMetadataURLs: callhook sends credentials to these URLs,
// so a cloud metadata or link-local address is refused when saved, naming
// the field; loopback and private gateways are real deployments and pass.
func TestPrepareRefusesMetadataURLs(t *testing.T) {
	sw := provider.Config{"project_id": "b3877c40-da60-4998-90ad-b792e98472af", "from": "+14155550123"}
	with := func(cfg provider.Config, k, v string) provider.Config {
		out := provider.Config{k: v}
		for key, val := range cfg {
			out[key] = val
		}
		return out
	}
	tests := []struct {
		name  string
		spec  provider.Spec
		cfg   provider.Config
		field string // "" = accepted
	}{
		{"generic metadata IP", generic.Spec(), provider.Config{"api_url": "http://169.254.169.254/"}, "api_url"},
		{"generic metadata IP with path", generic.Spec(), provider.Config{"api_url": "http://169.254.169.254/latest/meta-data"}, "api_url"},
		{"generic link-local IPv6", generic.Spec(), provider.Config{"api_url": "http://[fe80::1]:8080/v1"}, "api_url"},
		{"generic AWS IPv6 metadata", generic.Spec(), provider.Config{"api_url": "http://[fd00:ec2::254]/"}, "api_url"},
		{"generic Alibaba metadata", generic.Spec(), provider.Config{"api_url": "http://100.100.100.200/"}, "api_url"},
		{"generic GCP metadata name", generic.Spec(), provider.Config{"api_url": "http://metadata.google.internal/v1"}, "api_url"},
		{"generic loopback gateway", generic.Spec(), provider.Config{"api_url": "http://127.0.0.1:8080/v1"}, ""},
		{"generic LAN gateway", generic.Spec(), provider.Config{"api_url": "http://10.0.0.5/v1"}, ""},
		{"generic public API", generic.Spec(), provider.Config{"api_url": "https://calls.example.com/v1"}, ""},
		{"generic no URL", generic.Spec(), provider.Config{"api_token": "x"}, ""},
		{"signalwire metadata IP", signalwire.Spec(), with(sw, "space_url", "169.254.169.254"), "space_url"},
		{"signalwire metadata URL", signalwire.Spec(), with(sw, "space_url", "http://169.254.169.254"), "space_url"},
		{"signalwire space", signalwire.Spec(), with(sw, "space_url", "example.signalwire.com"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Prepare(tt.spec, nil, tt.cfg, nil)
			if tt.field == "" {
				if err != nil {
					t.Errorf("Prepare: %v, want accepted", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Prepare: %v, want an invalid-input error naming %s", err, tt.field)
			}
		})
	}
}
