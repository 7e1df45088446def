package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/channel"
	"callhook/internal/dispatch"
	"callhook/internal/settings"
	"callhook/internal/store"
	"callhook/internal/voice"
)

// Provider.

func (s *Server) apiGetProvider(c *fiber.Ctx) error {
	v, err := s.Settings.Global(c.UserContext())
	if err != nil {
		return err
	}
	p, _ := principal(c)
	if !p.Admin() {
		v.Config = nil
	}
	return c.JSON(v)
}

func (s *Server) apiPutProvider(c *fiber.Ctx) error {
	var in struct {
		Type   string            `json:"type"`
		Config map[string]string `json:"config"`
		Clear  []string          `json:"clear"`
		// CallbacksOnly saves a provider without what it needs to place calls.
		CallbacksOnly bool `json:"callbacks_only"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	v, err := s.Settings.SetGlobal(c.UserContext(), in.Type, in.Config, in.CallbacksOnly, in.Clear...)
	if err != nil {
		return err
	}
	s.Log.Info("global provider changed", "type", v.Type, "by", who(c))
	return c.JSON(v)
}

func (s *Server) apiListProviders(c *fiber.Ctx) error {
	out := []settings.ProviderView{}
	for _, spec := range s.Providers.List() {
		out = append(out, settings.Describe(spec, nil))
	}
	return c.JSON(out)
}

// Channels.

// channelBody is the JSON of a channel create or change. Provider is kept
// raw to tell "absent" (unchanged) from null (remove the override).
type channelBody struct {
	ID      string             `json:"id"`
	Name    *string            `json:"name"`
	DTMFMap *map[string]string `json:"dtmf_map"`
	// InboundAllow is the list of caller numbers that may act on alerts.
	InboundAllow *[]string       `json:"inbound_allow"`
	Provider     json.RawMessage `json:"provider"`
}

func (b channelBody) input() (channel.Input, error) {
	in := channel.Input{ID: b.ID, Name: b.Name, DTMFMap: b.DTMFMap, InboundAllow: b.InboundAllow}
	if len(b.Provider) > 0 {
		var o *channel.ProviderOverride
		if string(b.Provider) != "null" {
			o = new(channel.ProviderOverride)
			if err := json.Unmarshal(b.Provider, o); err != nil {
				return in, badRequest("provider must be null or {\"type\", \"config\"}")
			}
		}
		in.Provider = &o
	}
	return in, nil
}

func (s *Server) channelView(ctx context.Context, c *fiber.Ctx, ch *store.Channel) (channel.View, error) {
	g, err := s.Store.GlobalProvider(ctx)
	if err != nil {
		return channel.View{}, err
	}
	p, _ := principal(c)
	return s.Channels.ViewOf(ch, p.Admin(), g), nil
}

func (s *Server) apiListChannels(c *fiber.Ctx) error {
	ctx := c.UserContext()
	chs, err := s.Store.Channels(ctx)
	if err != nil {
		return err
	}
	out := []channel.View{}
	for i := range chs {
		v, err := s.channelView(ctx, c, &chs[i])
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	return c.JSON(out)
}

func (s *Server) apiCreateChannel(c *fiber.Ctx) error {
	var b channelBody
	if err := decode(c, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	ch, err := s.Channels.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	s.Log.Info("channel created", "channel", ch.ID, "by", who(c))
	v, err := s.channelView(c.UserContext(), c, ch)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (s *Server) apiGetChannel(c *fiber.Ctx) error {
	ch, err := s.Store.Channel(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v, err := s.channelView(c.UserContext(), c, ch)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) apiPatchChannel(c *fiber.Ctx) error {
	var b channelBody
	if err := decode(c, &b); err != nil {
		return err
	}
	if b.ID != "" && b.ID != c.Params("id") {
		return badRequest("id cannot be changed")
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	ch, err := s.Channels.Update(c.UserContext(), c.Params("id"), in)
	if err != nil {
		return err
	}
	v, err := s.channelView(c.UserContext(), c, ch)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) apiDeleteChannel(c *fiber.Ctx) error {
	if err := s.Store.DeleteChannel(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	s.Log.Info("channel deleted", "channel", c.Params("id"), "by", who(c))
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) apiRotateSecret(c *fiber.Ctx) error {
	grace := channel.DefaultGrace
	if len(c.Body()) > 0 {
		var b struct {
			GraceSeconds *int64 `json:"grace_seconds"`
		}
		if err := decode(c, &b); err != nil {
			return err
		}
		if b.GraceSeconds != nil {
			grace = time.Duration(*b.GraceSeconds) * time.Second
		}
	}
	ch, err := s.Channels.Rotate(c.UserContext(), c.Params("id"), grace)
	if err != nil {
		return err
	}
	s.Log.Info("channel secret rotated", "channel", ch.ID, "by", who(c))
	v, err := s.channelView(c.UserContext(), c, ch)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// testCallback sends a sample callback; {"digit": "1"} (or ?digit=1) makes
// it the provider's keypad callback for that key instead of a status one.
func (s *Server) apiTestCallback(c *fiber.Ctx) error {
	in := struct {
		Digit string `json:"digit"`
	}{Digit: c.Query("digit")}
	if len(c.Body()) > 0 {
		if err := decode(c, &in); err != nil {
			return err
		}
	}
	res, err := s.Callbacks.SendTest(c.UserContext(), c.Params("id"), strings.TrimSpace(in.Digit))
	if err != nil {
		return err
	}
	return c.Status(replayStatus(res)).JSON(replayView(res))
}

// Alerts.

func (s *Server) apiCreateAlert(c *fiber.Ctx) error {
	var in dispatch.AlertInput
	if err := decode(c, &in); err != nil {
		return err
	}
	id, err := s.Dispatch.CreateAlert(c.UserContext(), in)
	if err != nil {
		return err
	}
	v, err := s.Store.AlertView(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (s *Server) apiListAlerts(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	if f.Status == "" {
		f.Status = c.Query("state")
	}
	page, err := s.Store.Alerts(c.UserContext(), f)
	if err != nil {
		return err
	}
	views, err := s.Store.AlertViews(c.UserContext(), page.Items)
	if err != nil {
		return err
	}
	return c.JSON(store.Page[voice.AlertView]{Items: views, NextCursor: page.NextCursor})
}

func (s *Server) apiGetAlert(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	v, err := s.Store.AlertView(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) apiAlertAction(a voice.Action) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := paramID(c)
		if err != nil {
			return err
		}
		p, _ := principal(c)
		via := "api"
		if p.Via == "session" {
			via = "console"
		}
		if _, err := s.Dispatch.ChangeAlert(c.UserContext(), id, a, p, via); err != nil {
			return err
		}
		v, err := s.Store.AlertView(c.UserContext(), id)
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

// Calls.

func (s *Server) apiCreateCall(c *fiber.Ctx) error {
	var in dispatch.CallInput
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.ChannelID == "" {
		return badRequest("channel_id is required")
	}
	id, err := s.Dispatch.PlaceCall(c.UserContext(), in)
	if err != nil {
		return err
	}
	v, err := s.Store.CallView(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (s *Server) apiListCalls(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	if f.Status != "" {
		if _, err := voice.ParseStatus(f.Status); err != nil {
			return badRequest("status: " + err.Error())
		}
	}
	page, err := s.Store.Calls(c.UserContext(), f)
	if err != nil {
		return err
	}
	items := make([]voice.CallView, 0, len(page.Items))
	for i := range page.Items {
		items = append(items, page.Items[i].View())
	}
	return c.JSON(store.Page[voice.CallView]{Items: items, NextCursor: page.NextCursor})
}

func (s *Server) apiGetCall(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	v, err := s.Store.CallView(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) apiCallsCSV(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	f.Limit = 500
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="calls.csv"`)
	w := csv.NewWriter(c)
	_ = w.Write([]string{"id", "channel_id", "alert_id", "provider", "provider_call_id", "direction", "from", "to",
		"status", "duration_s", "mos", "created_at", "updated_at"})
	for {
		page, err := s.Store.Calls(c.UserContext(), f)
		if err != nil {
			return err
		}
		for _, cl := range page.Items {
			_ = w.Write([]string{itoa(cl.ID), cl.ChannelID, optInt(cl.AlertID), cl.Provider, cl.ProviderCallID,
				cl.Direction, csvSafe(cl.From), csvSafe(cl.To), cl.Status, optFloat(cl.DurationS), optFloat(cl.MOS),
				cl.CreatedAt.Format(time.RFC3339), cl.UpdatedAt.Format(time.RFC3339)})
		}
		if page.NextCursor == nil {
			break
		}
		f.Cursor = *page.NextCursor
	}
	w.Flush()
	return w.Error()
}

// csvSafe stops spreadsheet formula injection through caller-controlled values.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=@-", rune(v[0])) {
		return "'" + v
	}
	return v
}

func optInt(p *int64) string {
	if p == nil {
		return ""
	}
	return itoa(*p)
}

func optFloat(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}

// Callbacks.

func (s *Server) apiListCallbacks(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	page, err := s.Store.Callbacks(c.UserContext(), f)
	if err != nil {
		return err
	}
	items := make([]voice.CallbackView, 0, len(page.Items))
	for i := range page.Items {
		items = append(items, page.Items[i].View(false))
	}
	return c.JSON(store.Page[voice.CallbackView]{Items: items, NextCursor: page.NextCursor})
}

func (s *Server) apiGetCallback(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	cb, err := s.Store.Callback(c.UserContext(), id)
	if err != nil {
		return err
	}
	evs, err := s.Store.CallbackEvents(c.UserContext(), id)
	if err != nil {
		return err
	}
	v := cb.View(true)
	for i := range evs {
		v.Events = append(v.Events, evs[i].View())
	}
	return c.JSON(v)
}

// Stats.

func (s *Server) apiStats(c *fiber.Ctx) error {
	st, err := s.Store.Stats(c.UserContext())
	if err != nil {
		return err
	}
	if st == nil {
		st = []voice.Stat{}
	}
	return c.JSON(fiber.Map{"items": st})
}

// Operations.

func (s *Server) healthz(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) }

func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ready(ctx); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "not ready", "error": err.Error()})
	}
	return c.JSON(fiber.Map{"status": "ready"})
}
