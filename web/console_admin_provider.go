package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/provider"
	"callhook/internal/settings"
	"callhook/internal/store"
	"callhook/views"
)

// providerPage shows the global provider form for the saved type, or for
// ?type= so that switching works without JavaScript.
func (s *Server) providerPage(c *fiber.Ctx) error {
	g, err := s.Store.GlobalProvider(c.UserContext())
	if err != nil {
		return err
	}
	props, err := s.providerProps(g, c.Query("type"), nil, "", "")
	if err != nil {
		return err
	}
	return renderNoStore(c, fiber.StatusOK, views.ProviderSettings(s.page(c, "Provider", "provider"), props))
}

// providerSave saves the global provider, or with action=verify only checks
// the submitted values offline and reports the result.
func (s *Server) providerSave(c *fiber.Ctx) error {
	ctx := c.UserContext()
	g, err := s.Store.GlobalProvider(ctx)
	if err != nil {
		return err
	}
	typ := formText(c, "type")
	spec, ok := s.Providers.Get(typ)
	if !ok {
		props, err := s.providerProps(g, "", nil, "", "")
		if err != nil {
			return err
		}
		props.FormError = "Choose one of the listed provider types."
		return renderNoStore(c, fiber.StatusBadRequest, views.ProviderSettings(s.page(c, "Provider", "provider"), props))
	}
	cfg := postedConfig(c, "cfg", spec)
	clear := postedClear(c, "cfg", spec)
	if formText(c, "action") == "verify" {
		return s.providerVerify(c, g, spec, cfg, clear)
	}
	v, err := s.Settings.SetGlobal(ctx, typ, cfg, clear...)
	if fe := (*settings.FieldError)(nil); errors.As(err, &fe) {
		props, perr := s.providerProps(g, typ, cfg, fe.Field, fieldMessage(fe))
		if perr != nil {
			return perr
		}
		props.FormError = "Not saved: " + fieldLabel(spec, fe.Field) + ": " + fe.Msg + "."
		return renderNoStore(c, fiber.StatusBadRequest, views.ProviderSettings(s.page(c, "Provider", "provider"), props))
	}
	if err != nil {
		return err
	}
	s.Log.Info("global provider changed", "type", v.Type, "by", who(c))
	return s.redirectFlash(c, "/settings/provider", "success", "Saved: "+v.Title+" is the global provider. Signature check: "+signatureWords(v.SignatureCheck)+".")
}

// providerVerify runs the provider's offline check on the submitted values
// merged with the stored ones, without saving.
func (s *Server) providerVerify(c *fiber.Ctx, g *store.ProviderSetting, spec provider.Spec, cfg provider.Config, clear []string) error {
	var stored provider.Config
	if g != nil && g.Type == spec.Name {
		stored = g.Config
	}
	merged, checkErr := settings.Prepare(spec, stored, cfg, clear)
	field, msg := fieldProblem(checkErr)
	props, err := s.providerProps(g, spec.Name, cfg, field, msg)
	if err != nil {
		return err
	}
	props.Verified = verifyResult(spec, merged, msg, checkErr)
	return renderNoStore(c, fiber.StatusOK, views.ProviderSettings(s.page(c, "Provider", "provider"), props))
}

// verifyResult words the outcome of an offline check.
func verifyResult(spec provider.Spec, cfg provider.Config, msg string, err error) *views.VerifyResult {
	if err != nil {
		return &views.VerifyResult{Text: "Verification failed: " + msg + ". Nothing was saved."}
	}
	text := "The " + spec.Title + " settings look right (offline check of formats). Nothing was saved yet: press “Save provider” to use them."
	if spec.SignatureOff(cfg) {
		text += " Note: with " + spec.SigningKey + " empty the signature check would be off."
	}
	return &views.VerifyResult{OK: true, Text: text}
}

// providerProps builds the provider page for type typ ("" = the saved one).
// typed holds values this request submitted, kept in the form.
func (s *Server) providerProps(g *store.ProviderSetting, typ string, typed provider.Config, errField, errMsg string) (views.ProviderProps, error) {
	savedType, savedCfg := "generic", provider.Config{}
	if g != nil {
		savedType, savedCfg = g.Type, provider.Config(g.Config)
	}
	stored := savedCfg
	saved, ok := s.Providers.Get(savedType)
	if !ok {
		return views.ProviderProps{}, errors.New("web: stored provider " + savedType + " is not registered")
	}
	var formErr string
	if typ == "" {
		typ = savedType
	}
	spec, ok := s.Providers.Get(typ)
	if !ok {
		spec, formErr = saved, "There is no provider type “"+typ+"”; showing the saved one."
	}
	if spec.Name != savedType {
		stored = provider.Config{} // another type: nothing stored applies
	}
	// The warnings are about what is in use; the signature card is about the form's type.
	inUse := settings.Describe(saved, savedCfg)
	d := settings.Describe(spec, stored)
	p := views.ProviderProps{
		Types: s.providerOptions(), Type: spec.Name, Title: spec.Title,
		SavedType: saved.Name, SavedTitle: saved.Title, Configured: g != nil,
		Fields:       credentialFields(spec, stored, typed, errField, errMsg),
		Capabilities: capabilities(spec), SignatureCheck: d.SignatureCheck, Warnings: inUse.Warnings,
		FormError: formErr,
	}
	if g != nil {
		p.UpdatedAt = consoleTime(g.UpdatedAt)
	}
	if errField != "" && errField != "type" {
		if _, isField := spec.Field(errField); !isField && p.FormError == "" {
			p.FormError = errMsg
		}
	}
	return p, nil
}

// fieldLabel is the label of config key k, or k itself.
func fieldLabel(spec provider.Spec, k string) string {
	if f, ok := spec.Field(k); ok {
		return f.Label
	}
	if k == "type" {
		return "Provider type"
	}
	return k
}

func signatureWords(state string) string {
	switch state {
	case "on":
		return "on"
	case "off":
		return "OFF (set the signing credential to turn it on)"
	}
	return "not available for this provider"
}
