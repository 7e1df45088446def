package web

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/channel"
	"callhook/internal/provider"
	"callhook/internal/settings"
	"callhook/internal/store"
	"callhook/internal/voice"
	"callhook/views"
)

// channelsPage lists the channels. Viewers see it too, without secrets.
func (s *Server) channelsPage(c *fiber.Ctx) error {
	props, err := s.channelsProps(c)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.ChannelsPage(s.page(c, "Channels", "channels"), props))
}

// channelCreate adds a channel and opens its page.
func (s *Server) channelCreate(c *fiber.Ctx) error {
	name, id := formText(c, "name"), formText(c, "id")
	ch, err := s.Channels.Create(c.UserContext(), channel.Input{ID: id, Name: &name})
	if msg, ok := formProblem(err); ok {
		props, perr := s.channelsProps(c)
		if perr != nil {
			return perr
		}
		props.Form = views.NewChannelForm{Name: name, ID: id}
		if strings.HasPrefix(msg, "Name") {
			props.Form.NameError = msg
		} else {
			props.Form.IDError = strings.Replace(msg, "Id ", "ID ", 1)
		}
		return render(c, errStatus(err), views.ChannelsPage(s.page(c, "Channels", "channels"), props))
	}
	if err != nil {
		return err
	}
	s.Log.Info("channel created", "channel", ch.ID, "by", who(c))
	return s.redirectFlash(c, "/channels/"+ch.ID, "success",
		"Channel “"+ch.Name+"” created. Reveal its callback URL below and give it to your provider.")
}

// channelPage shows one channel; ?provider= picks the override type to edit.
func (s *Server) channelPage(c *fiber.Ctx) error {
	ch, props, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	if props.Admin && c.Request().URI().QueryArgs().Has("provider") {
		g, err := s.Store.GlobalProvider(c.UserContext())
		if err != nil {
			return err
		}
		props.Provider = s.overrideForm(ch, g, c.Query("provider"), nil, "", "")
	}
	return render(c, fiber.StatusOK, views.ChannelPage(s.page(c, ch.Name, "channels"), props))
}

// channelRename changes a channel's name.
func (s *Server) channelRename(c *fiber.Ctx) error {
	name := formText(c, "name")
	ch, err := s.Channels.Update(c.UserContext(), pathParam(c, "id"), channel.Input{Name: &name})
	if msg, ok := formProblem(err); ok {
		return s.channelForm(c, errStatus(err), func(p *views.ChannelProps) { p.RenameValue, p.RenameError = name, msg })
	}
	if err != nil {
		return err
	}
	return s.redirectFlash(c, "/channels/"+ch.ID, "success", "Renamed to “"+ch.Name+"”.")
}

// channelInbound saves the inbound caller allow-list: one number per line.
func (s *Server) channelInbound(c *fiber.Ctx) error {
	text := formText(c, "inbound_allow")
	numbers := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
	ch, err := s.Channels.Update(c.UserContext(), pathParam(c, "id"), channel.Input{InboundAllow: &numbers})
	if msg, ok := formProblem(err); ok {
		return s.channelForm(c, errStatus(err), func(p *views.ChannelProps) { p.InboundValue, p.InboundError = text, msg })
	}
	if err != nil {
		return err
	}
	msg := "Inbound callers saved: nobody may act on alerts by phone."
	if n := len(ch.InboundAllow); n > 0 {
		msg = fmt.Sprintf("Inbound callers saved: %d number(s) may hear and act on this channel's alerts.", n)
	}
	return s.redirectFlash(c, "/channels/"+ch.ID+"#inbound", "success", msg)
}

// channelDelete removes a channel once its ID is typed as confirmation, so
// the confirmation works without JavaScript.
func (s *Server) channelDelete(c *fiber.Ctx) error {
	id := pathParam(c, "id")
	if formText(c, "confirm") != id {
		return s.channelForm(c, fiber.StatusBadRequest, func(p *views.ChannelProps) {
			p.DeleteError = "Type the channel ID exactly to delete it. Nothing was deleted."
		})
	}
	ch, err := s.Store.Channel(c.UserContext(), id)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteChannel(c.UserContext(), id); err != nil {
		return err
	}
	s.Log.Info("channel deleted", "channel", id, "by", who(c))
	return s.redirectFlash(c, "/channels", "success", "Channel “"+ch.Name+"” deleted; its callback URL no longer works.")
}

// channelOverride sets or removes a channel's own provider. Secrets left
// blank keep their stored values.
func (s *Server) channelOverride(c *fiber.Ctx) error {
	ctx := c.UserContext()
	ch, err := s.Store.Channel(ctx, pathParam(c, "id"))
	if err != nil {
		return err
	}
	typ := formText(c, "type")
	var o *channel.ProviderOverride
	var cfg provider.Config
	if typ != "" {
		spec, ok := s.Providers.Get(typ)
		if !ok {
			return s.overrideProblem(c, ch, "", nil, "", "Choose one of the listed provider types.")
		}
		cfg = postedConfig(c, "ov", spec)
		o = &channel.ProviderOverride{Type: typ, Config: cfg, Clear: postedClear(c, "ov", spec),
			CallbacksOnly: formText(c, "callbacks_only") != ""}
	}
	if _, err := s.Channels.Update(ctx, ch.ID, channel.Input{Provider: &o}); err != nil {
		if fe := (*settings.FieldError)(nil); errors.As(err, &fe) {
			return s.overrideProblem(c, ch, typ, cfg, fe.Field, fieldMessage(fe))
		}
		if me := (*settings.MissingError)(nil); errors.As(err, &me) {
			g, gerr := s.Store.GlobalProvider(ctx)
			if gerr != nil {
				return gerr
			}
			return s.channelForm(c, fiber.StatusBadRequest, func(p *views.ChannelProps) {
				p.Provider = s.overrideForm(ch, g, typ, cfg, "", "")
				markMissing(p.Provider.Fields, me.Keys)
				p.Provider.Error = "Not saved: " + missingSentence(me.Spec, me.Keys)
			})
		}
		if msg, ok := formProblem(err); ok {
			return s.overrideProblem(c, ch, typ, cfg, "config", msg)
		}
		return err
	}
	s.Log.Info("channel provider changed", "channel", ch.ID, "type", typ, "by", who(c))
	if o == nil {
		return s.redirectFlash(c, "/channels/"+ch.ID+"#provider", "success", "This channel now uses the global provider.")
	}
	spec, _ := s.Providers.Get(typ)
	msg := "Saved: this channel now uses its own " + spec.Title + " settings."
	if o.CallbacksOnly {
		if saved, err := s.Store.Channel(ctx, ch.ID); err == nil {
			if missing := settings.Missing(spec, saved.ProviderConfig); len(missing) > 0 {
				msg += " Receiving callbacks only: calls cannot be placed on this channel until " + strings.Join(fieldLabels(spec, missing), ", ") + " are set."
			}
		}
	}
	return s.redirectFlash(c, "/channels/"+ch.ID+"#provider", "success", msg)
}

func (s *Server) overrideProblem(c *fiber.Ctx, ch *store.Channel, typ string, typed provider.Config, field, msg string) error {
	g, err := s.Store.GlobalProvider(c.UserContext())
	if err != nil {
		return err
	}
	return s.channelForm(c, fiber.StatusBadRequest, func(p *views.ChannelProps) {
		p.Provider = s.overrideForm(ch, g, typ, typed, field, msg)
		p.Provider.Error = "Not saved: " + msg
	})
}

// channelsProps builds the channel list for the signed-in user.
func (s *Server) channelsProps(c *fiber.Ctx) (views.ChannelsProps, error) {
	ctx := c.UserContext()
	chs, err := s.Store.Channels(ctx)
	if err != nil {
		return views.ChannelsProps{}, err
	}
	g, err := s.Store.GlobalProvider(ctx)
	if err != nil {
		return views.ChannelsProps{}, err
	}
	p, _ := principal(c)
	global, _ := s.globalSpec(g)
	props := views.ChannelsProps{Admin: p.Admin(), GlobalTitle: global.Title}
	for i := range chs {
		spec, cfg, own := s.effectiveProvider(&chs[i], g)
		props.Rows = append(props.Rows, views.ChannelRow{ID: chs[i].ID, Name: chs[i].Name, Provider: spec.Title, Override: own,
			SignatureCheck: signatureState(spec, cfg), DTMF: dtmfSummary(chs[i].DTMFMap)})
	}
	return props, nil
}

// loadChannel reads the :id channel and builds its page for the signed-in user.
func (s *Server) loadChannel(c *fiber.Ctx) (*store.Channel, views.ChannelProps, error) {
	ctx := c.UserContext()
	ch, err := s.Store.Channel(ctx, pathParam(c, "id"))
	if err != nil {
		return nil, views.ChannelProps{}, err
	}
	g, err := s.Store.GlobalProvider(ctx)
	if err != nil {
		return nil, views.ChannelProps{}, err
	}
	p, _ := principal(c)
	props := s.channelProps(ch, g, p.Admin())
	if props.Keypad, err = s.keypadRows(ctx, ch.ID); err != nil {
		return nil, views.ChannelProps{}, err
	}
	return ch, props, nil
}

// channelForm re-renders the :id channel page after a form post, with edit
// applied (errors, a revealed secret, a test result).
func (s *Server) channelForm(c *fiber.Ctx, status int, edit func(p *views.ChannelProps)) error {
	ch, props, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	edit(&props)
	return renderNoStore(c, status, views.ChannelPage(s.page(c, ch.Name, "channels"), props))
}

// channelProps is the page of ch; the secret parts only for admins, and
// the secret itself only when a handler reveals it.
func (s *Server) channelProps(ch *store.Channel, g *store.ProviderSetting, admin bool) views.ChannelProps {
	v := s.Channels.ViewOf(ch, admin, g)
	spec, cfg, own := s.effectiveProvider(ch, g)
	p := views.ChannelProps{
		Admin: admin, ID: ch.ID, Name: ch.Name, Created: consoleTime(ch.CreatedAt), Updated: consoleTime(ch.UpdatedAt),
		ProviderTitle: spec.Title, Override: own, SignatureCheck: signatureState(spec, cfg), Warnings: v.Warnings,
		Mapping: dtmfRows(ch.DTMFMap), Prompt: keypadPrompt(ch),
	}
	if !admin {
		return p
	}
	p.MaskedURL = channel.CallbackURL(s.Channels.PublicURL, ch.ID, "••••••••")
	p.TestKeys = testKeys(ch)
	p.CallbackHelp, p.URLWarning = callbackHelp(spec), loopbackWarning(s.Channels.PublicURL)
	if v.PreviousSecretExpires != nil {
		p.PrevSecretExpires = consoleTime(*v.PreviousSecretExpires)
	}
	p.RenameValue = ch.Name
	p.InboundValue = strings.Join(ch.InboundAllow, "\n")
	p.DTMF = views.DTMFEditor{Rows: append(dtmfRows(ch.DTMFMap), views.DTMFRow{Action: "acknowledge"})}
	cur := ""
	if own {
		cur = spec.Name
	}
	p.Provider = s.overrideForm(ch, g, cur, nil, "", "")
	return p
}

// overrideForm builds the provider override form for type typ ("" = use the global provider).
func (s *Server) overrideForm(ch *store.Channel, g *store.ProviderSetting, typ string, typed provider.Config, errField, errMsg string) views.OverrideForm {
	global, _ := s.globalSpec(g)
	f := views.OverrideForm{
		Types:       append([]views.Option{{Value: "", Label: "Global provider (" + global.Title + ")"}}, s.providerOptions()...),
		GlobalTitle: global.Title,
	}
	var stored provider.Config
	if ch.ProviderType != nil && *ch.ProviderType != "" {
		if cur, ok := s.Providers.Get(*ch.ProviderType); ok {
			f.Current = cur.Title
		}
		if *ch.ProviderType == typ {
			stored = ch.ProviderConfig
		}
	}
	if typ == "" {
		return f
	}
	spec, ok := s.Providers.Get(typ)
	if !ok {
		f.Error = "There is no provider type “" + typ + "”."
		return f
	}
	f.Type, f.Title = spec.Name, spec.Title
	f.Fields = credentialFields(spec, stored, typed, errField, errMsg)
	f.Capabilities = capabilities(spec)
	f.NeedsPlace = len(placeFields(spec)) > 0
	// A saved override without the place-call settings was saved "callbacks
	// only": keep the box ticked so saving again keeps working.
	f.CallbacksOnly = stored != nil && len(settings.Missing(spec, stored)) > 0
	return f
}

// globalSpec returns the global provider's spec and config (generic when none is set).
func (s *Server) globalSpec(g *store.ProviderSetting) (provider.Spec, provider.Config) {
	name, cfg := "generic", provider.Config{}
	if g != nil {
		name, cfg = g.Type, provider.Config(g.Config)
	}
	spec, ok := s.Providers.Get(name)
	if !ok {
		spec = provider.Spec{Name: name, Title: name}
	}
	return spec, cfg
}

// effectiveProvider is the provider a channel's callbacks go through, and
// whether it is the channel's own.
func (s *Server) effectiveProvider(ch *store.Channel, g *store.ProviderSetting) (provider.Spec, provider.Config, bool) {
	if ch.ProviderType != nil && *ch.ProviderType != "" {
		spec, ok := s.Providers.Get(*ch.ProviderType)
		if !ok {
			spec = provider.Spec{Name: *ch.ProviderType, Title: *ch.ProviderType}
		}
		return spec, provider.Config(ch.ProviderConfig), true
	}
	spec, cfg := s.globalSpec(g)
	return spec, cfg, false
}

// dtmfRows lists a mapping in key order (shorter keys first).
func dtmfRows(m map[string]string) []views.DTMFRow {
	rows := make([]views.DTMFRow, 0, len(m))
	for k, v := range m {
		rows = append(rows, views.DTMFRow{Digits: k, Action: v})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i].Digits, rows[j].Digits
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	})
	return rows
}

// dtmfSummary is a mapping in one line: "1 → acknowledge · 2 → resolve".
// An empty mapping is applied as the default one (store.ChannelDTMF), and
// says so.
func dtmfSummary(m map[string]string) string {
	if len(m) == 0 {
		def := map[string]string{}
		for k, a := range voice.DefaultDTMFMap() {
			def[k] = string(a)
		}
		return "no keys mapped, so the default applies: " + dtmfSummary(def)
	}
	var parts []string
	for _, r := range dtmfRows(m) {
		parts = append(parts, r.Digits+" → "+r.Action)
	}
	return strings.Join(parts, " · ")
}

// errStatus is the HTTP status of err.
func errStatus(err error) int {
	code, _ := statusOf(err)
	return code
}
