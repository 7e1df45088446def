package web

import (
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"

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
	callbacksOnly := formText(c, "callbacks_only") != ""
	if formText(c, "action") == "verify" {
		return s.providerVerify(c, g, spec, cfg, clear, callbacksOnly)
	}
	v, err := s.Settings.SetGlobal(ctx, typ, cfg, callbacksOnly, clear...)
	if fe := (*settings.FieldError)(nil); errors.As(err, &fe) {
		props, perr := s.providerProps(g, typ, cfg, fe.Field, fieldMessage(fe))
		if perr != nil {
			return perr
		}
		props.CallbacksOnly = callbacksOnly
		props.FormError = "Not saved: " + fieldLabel(spec, fe.Field) + ": " + fe.Msg + "."
		return renderNoStore(c, fiber.StatusBadRequest, views.ProviderSettings(s.page(c, "Provider", "provider"), props))
	}
	if me := (*settings.MissingError)(nil); errors.As(err, &me) {
		props, perr := s.providerProps(g, typ, cfg, "", "")
		if perr != nil {
			return perr
		}
		markMissing(props.Fields, me.Keys)
		props.FormError = "Not saved: " + missingSentence(spec, me.Keys)
		return renderNoStore(c, fiber.StatusBadRequest, views.ProviderSettings(s.page(c, "Provider", "provider"), props))
	}
	if err != nil {
		return err
	}
	s.Log.Info("global provider changed", "type", v.Type, "callbacks_only", v.CallbacksOnly, "by", who(c))
	msg := "Saved: " + v.Title + " is the global provider. Signature check: " + signatureWords(v.SignatureCheck) + "."
	if v.CallbacksOnly {
		msg += " Receiving callbacks only: calls cannot be placed until " + strings.Join(fieldLabels(spec, v.Missing), ", ") + " are set."
	}
	return s.redirectFlash(c, "/settings/provider", "success", msg)
}

// missingSentence says which settings a provider needs to place calls and
// the way to save without them.
func missingSentence(spec provider.Spec, keys []string) string {
	return spec.Title + " needs " + strings.Join(fieldLabels(spec, keys), ", ") +
		" to place calls. Fill them in, or tick “Receive callbacks only” to save without them (then no call can be placed)."
}

// markMissing flags the form fields named in keys as needed.
func markMissing(fields []views.CredentialField, keys []string) {
	for i := range fields {
		if slices.Contains(keys, fields[i].Key) && fields[i].Error == "" {
			fields[i].Error = "Needed to place calls."
		}
	}
}

// fieldLabels are the labels of spec's config keys.
func fieldLabels(spec provider.Spec, keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fieldLabel(spec, k))
	}
	return out
}

// providerVerify runs the provider's offline check on the submitted values
// merged with the stored ones, without saving.
func (s *Server) providerVerify(c *fiber.Ctx, g *store.ProviderSetting, spec provider.Spec, cfg provider.Config, clear []string, callbacksOnly bool) error {
	var stored provider.Config
	if g != nil && g.Type == spec.Name {
		stored = g.Config
	}
	merged, checkErr := settings.Prepare(spec, stored, cfg, clear)
	field, msg := fieldProblem(checkErr)
	var missing []string
	if checkErr == nil {
		if err := settings.RequirePlaceCall(spec, merged, callbacksOnly); err != nil {
			missing, checkErr = settings.Missing(spec, merged), err
			msg = strings.TrimSuffix(missingSentence(spec, missing), ".")
		}
	}
	props, err := s.providerProps(g, spec.Name, cfg, field, msg)
	if err != nil {
		return err
	}
	markMissing(props.Fields, missing)
	props.CallbacksOnly = callbacksOnly
	props.Verified = verifyResult(spec, merged, msg, checkErr)
	return renderNoStore(c, fiber.StatusOK, views.ProviderSettings(s.page(c, "Provider", "provider"), props))
}

// verifyResult words the outcome of an offline check.
func verifyResult(spec provider.Spec, cfg provider.Config, msg string, err error) *views.VerifyResult {
	if err != nil {
		return &views.VerifyResult{Text: "Verification failed: " + msg + ". Nothing was saved."}
	}
	text := "The " + spec.Title + " settings look right (offline check of formats and of the settings needed to place calls; " +
		spec.Title + " was not contacted). Nothing was saved yet: press “Save provider” to use them."
	if spec.SignatureOff(cfg) {
		text += " Note: with " + fieldLabel(spec, spec.SigningKey) + " empty the signature check would be off."
	}
	if missing := settings.Missing(spec, cfg); len(missing) > 0 {
		text += " Receiving callbacks only: no call can be placed without " + strings.Join(fieldLabels(spec, missing), ", ") + "."
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
	// The warnings are about what is in use; the signature and capability
	// cards are about the form's type with what the form holds.
	inUse := settings.Describe(saved, savedCfg)
	d := settings.Describe(spec, spec.Merge(stored, typed))
	p := views.ProviderProps{
		Types: s.providerOptions(), Type: spec.Name, Title: spec.Title,
		SavedType: saved.Name, SavedTitle: saved.Title, Configured: g != nil,
		Fields:       credentialFields(spec, stored, typed, errField, errMsg),
		Capabilities: capabilities(spec), SignatureCheck: d.SignatureCheck, Warnings: inUse.Warnings,
		FormError: formErr,
		// A saved configuration without the place-call settings was saved
		// "callbacks only": keep the box ticked so saving again keeps working.
		CallbacksOnly: g != nil && spec.Name == savedType && len(settings.Missing(spec, stored)) > 0,
		NeedsPlace:    len(placeFields(spec)) > 0,
		CallbackHelp:  callbackHelp(spec),
		URLWarning:    loopbackWarning(s.Channels.PublicURL),
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

// placeFields are the settings spec needs to place calls.
func placeFields(spec provider.Spec) []string {
	var out []string
	for _, f := range spec.Fields {
		if f.Required {
			out = append(out, f.Key)
		}
	}
	return out
}

// callbackHelp says, per provider, where a channel's callback URL goes and
// when it is needed at all (docs/providers.md): calls callhook places carry
// their status callback URL in the request that places them, so pasting it
// into the provider is for inbound calls and calls placed elsewhere.
func callbackHelp(spec provider.Spec) string {
	const placed = " Calls callhook places carry their callback URL already; paste it only for inbound calls and calls placed elsewhere."
	switch spec.Name {
	case "twilio":
		return "Paste the callback URL into the phone number's “A call comes in” webhook (Voice configuration), or as StatusCallback when you place calls yourself." + placed
	case "signalwire":
		return "Paste the callback URL into the phone number's “When a call comes in” cXML webhook, or as StatusCallback when you place calls yourself." + placed
	case "vonage":
		return "Paste the callback URL into the Voice application's Answer URL and Event URL." + placed
	case "plivo":
		return "Paste the callback URL into the Plivo application's Answer URL and Hangup URL." + placed
	case "telnyx":
		return "Paste the callback URL into the Call Control application's Webhook URL." + placed
	case "wavecell":
		return "callhook does not place 8x8 calls: paste the callback URL into the sub-account's voice webhook (CALL_STATUS and VCA) for every call you want to follow."
	case "dograh":
		return "callhook does not place Dograh calls: paste the callback URL into Dograh's status callback setting for every call you want to follow."
	case "generic":
		return "Calls placed through the API URL carry the callback URL in their request (callback_url); give it to your calling service only for calls it places on its own or receives."
	case "simulator":
		return "The simulator posts to the callback URL by itself: nothing to paste."
	}
	return "Give the callback URL to " + spec.Title + " for the calls you want to follow."
}

// loopbackWarning warns when callback URLs are built on a loopback address
// (127.0.0.0/8, ::1, localhost): no provider can reach them.
func loopbackWarning(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	ip := net.ParseIP(host)
	if host != "localhost" && !strings.HasSuffix(host, ".localhost") && (ip == nil || !ip.IsLoopback()) {
		return ""
	}
	return "Callback URLs start with " + publicURL + ", a loopback address no provider can reach. Set CALLHOOK_PUBLIC_URL (or --public-url) to the public https address of this server before giving a callback URL to a provider."
}
