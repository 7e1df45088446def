package web

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/provider"
	"callhook/internal/settings"
	"callhook/views"
)

// formProblem returns the message of an error a form can show next to its
// fields (invalid input, a conflict); other errors go to the error handler.
func formProblem(err error) (string, bool) {
	code, msg := statusOf(err)
	if code != fiber.StatusBadRequest && code != fiber.StatusConflict {
		return "", false
	}
	return upperFirst(msg), true
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// consoleTime formats a time for the console: UTC, to the minute.
func consoleTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// providerOptions lists every registered provider for a select.
func (s *Server) providerOptions() []views.Option {
	var out []views.Option
	for _, spec := range s.Providers.List() {
		out = append(out, views.Option{Value: spec.Name, Label: spec.Title})
	}
	return out
}

// capabilityLabels names the provider capabilities (docs/architecture.md, "Providers") for people.
var capabilityLabels = []struct {
	c     provider.Capability
	label string
}{
	{provider.CapPlaceCall, "Places calls"},
	{provider.CapTTS, "Speaks the alert (text to speech)"},
	{provider.CapStatusCallback, "Sends call status callbacks"},
	{provider.CapDTMFCallback, "Sends keypad (DTMF) callbacks"},
	{provider.CapStatusPolling, "Call status can be polled"},
	{provider.CapSignature, "Signs its callbacks"},
}

// capabilities lists every capability and whether spec has it.
func capabilities(spec provider.Spec) []views.Capability {
	out := make([]views.Capability, 0, len(capabilityLabels))
	for _, c := range capabilityLabels {
		out = append(out, views.Capability{Label: c.label, Has: spec.Has(c.c)})
	}
	return out
}

// signatureState is on, off or none for a provider configuration.
func signatureState(spec provider.Spec, cfg provider.Config) string {
	return settings.Describe(spec, cfg).SignatureCheck
}

// credentialFields builds the form fields of spec: stored values shown
// (secrets only as "set" and masked), typed values kept, errors attached.
// typed holds what this request submitted; nil on a plain page view.
func credentialFields(spec provider.Spec, stored, typed provider.Config, errField, errMsg string) []views.CredentialField {
	masked := spec.Mask(stored)
	var out []views.CredentialField
	for _, f := range spec.Fields {
		cf := views.CredentialField{Key: f.Key, Label: f.Label, Help: f.Help, Secret: f.Secret, Required: f.Required,
			Set: stored[f.Key] != "", Masked: masked[f.Key]}
		if !f.Secret {
			cf.Value = stored[f.Key]
		}
		if v, ok := typed[f.Key]; ok {
			cf.Value = v
		}
		if f.Key == errField {
			cf.Error = errMsg
		}
		out = append(out, cf)
	}
	return out
}

// postedConfig reads the form fields prefix_KEY of spec that the form sent.
func postedConfig(c *fiber.Ctx, prefix string, spec provider.Spec) provider.Config {
	cfg := provider.Config{}
	args := c.Request().PostArgs()
	for _, f := range spec.Fields {
		if args.Has(prefix + "_" + f.Key) {
			cfg[f.Key] = strings.TrimSpace(string(args.Peek(prefix + "_" + f.Key)))
		}
	}
	return cfg
}

// postedClear returns the saved secrets the form asks to clear
// (checkboxes named PREFIX_clear with the key as value).
func postedClear(c *fiber.Ctx, prefix string, spec provider.Spec) []string {
	var keys []string
	for _, v := range c.Request().PostArgs().PeekMulti(prefix + "_clear") {
		if f, ok := spec.Field(string(v)); ok && f.Secret {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

// fieldProblem names the field and the problem of a settings.FieldError
// ("", "" for nil; "config" for any other error).
func fieldProblem(err error) (field, msg string) {
	if err == nil {
		return "", ""
	}
	if fe := (*settings.FieldError)(nil); errors.As(err, &fe) {
		return fe.Field, fieldMessage(fe)
	}
	return "config", upperFirst(err.Error())
}

// fieldMessage is a FieldError's problem as a sentence start.
func fieldMessage(fe *settings.FieldError) string { return upperFirst(fe.Msg) }
