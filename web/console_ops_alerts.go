package web

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/dispatch"
	"callhook/internal/store"
	"callhook/internal/voice"
	"callhook/views"
)

// alertsFilter reads the alerts list filters; an unknown state is a 400.
func alertsFilter(c *fiber.Ctx) (store.ListFilter, error) {
	f := store.ListFilter{Status: c.Query("state"), Cursor: c.Query("cursor"), Limit: 50}
	switch voice.AlertState(f.Status) {
	case "", voice.AlertFiring, voice.AlertAcknowledged, voice.AlertResolved:
		return f, nil
	}
	return f, badRequest("state must be firing, acknowledged or resolved")
}

// alertList loads one page of alerts as the list region shows it.
func (s *Server) alertList(c *fiber.Ctx, f store.ListFilter) (views.AlertListProps, error) {
	ctx := c.UserContext()
	p, err := s.Store.Alerts(ctx, f)
	if err != nil {
		return views.AlertListProps{}, err
	}
	items := p.Items
	if f.Status == "" && f.Cursor == "" {
		// The first page of all alerts leads with every firing one (up to
		// a page), however old: they are what someone on call came for.
		if items, err = s.firingFirst(ctx, items, f.Limit); err != nil {
			return views.AlertListProps{}, err
		}
	}
	as, err := s.Store.AlertViews(ctx, items)
	if err != nil {
		return views.AlertListProps{}, err
	}
	pr, _ := principal(c)
	l := views.AlertListProps{Alerts: as, CSRF: pr.CSRF, Filtered: f.Status != "", Admin: pr.Admin(),
		Next: opsURL("/alerts", "state", f.Status, "cursor", f.Cursor)}
	if p.NextCursor != nil {
		l.OlderURL = opsURL("/alerts", "state", f.Status, "cursor", *p.NextCursor)
	}
	if f.Cursor != "" {
		l.NewestURL = opsURL("/alerts", "state", f.Status)
	}
	return l, nil
}

// firingFirst returns the firing alerts (newest first, up to limit), then
// the rest of page in its order.
func (s *Server) firingFirst(ctx context.Context, page []store.Alert, limit int) ([]store.Alert, error) {
	firing, err := s.Store.Alerts(ctx, store.ListFilter{Status: string(voice.AlertFiring), Limit: limit})
	if err != nil {
		return nil, err
	}
	out := append([]store.Alert(nil), firing.Items...)
	for _, a := range page {
		if a.State != string(voice.AlertFiring) {
			out = append(out, a)
		}
	}
	return out, nil
}

// alertsProps is the whole alerts page; form carries a raise-alert attempt to show again.
func (s *Server) alertsProps(c *fiber.Ctx, f store.ListFilter, form views.RaiseAlertForm) (views.AlertsProps, error) {
	l, err := s.alertList(c, f)
	if err != nil {
		return views.AlertsProps{}, err
	}
	pr, _ := principal(c)
	p := views.AlertsProps{State: f.Status, List: l, Admin: pr.Admin(), CSRF: pr.CSRF, Form: form,
		Severities: voice.Severities,
		LiveSrc:    opsURL("/fragments/alerts", "state", f.Status, "cursor", f.Cursor)}
	if p.KeypadPrompts, err = s.keypadPrompts(c.UserContext()); err != nil {
		return p, err
	}
	if pr.Admin() {
		if p.Channels, err = s.opsChannels(c.UserContext()); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (s *Server) alertsPage(c *fiber.Ctx) error {
	f, err := alertsFilter(c)
	if err != nil {
		return err
	}
	pg, err := s.livePage(c, "Alerts", "alerts")
	if err != nil {
		return err
	}
	p, err := s.alertsProps(c, f, views.RaiseAlertForm{Severity: "critical"})
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.Alerts(pg, p))
}

func (s *Server) alertsFragment(c *fiber.Ctx) error {
	f, err := alertsFilter(c)
	if err != nil {
		return err
	}
	l, err := s.alertList(c, f)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.AlertList(l))
}

// raiseAlert creates an alert from the admin form and places its calls. A
// rejected input shows the form again with the message.
func (s *Server) alertRaise(c *fiber.Ctx) error {
	form := views.RaiseAlertForm{
		Title: strings.Clone(c.FormValue("title")), Message: strings.Clone(c.FormValue("message")),
		Severity: strings.Clone(c.FormValue("severity")), ChannelID: strings.Clone(c.FormValue("channel_id")),
		Targets: strings.Clone(c.FormValue("targets")), Mode: strings.Clone(c.FormValue("mode")),
	}
	in := dispatch.AlertInput{Title: form.Title, Message: form.Message, Severity: form.Severity, ChannelID: form.ChannelID, Mode: form.Mode}
	for _, line := range strings.FieldsFunc(form.Targets, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if t := strings.TrimSpace(line); t != "" {
			in.Targets = append(in.Targets, t)
		}
	}
	id, err := s.Dispatch.CreateAlert(c.UserContext(), in)
	if errors.Is(err, voice.ErrInvalid) {
		_, form.Error = statusOf(err)
		return s.alertsFormError(c, form)
	}
	if err != nil {
		return err
	}
	s.Log.Info("alert raised", "alert", id, "by", who(c), "targets", len(in.Targets))
	msg := "Alert #" + itoa(id) + " raised."
	if n := len(in.Targets); n > 0 {
		msg += " Calling " + itoa(int64(n)) + " target(s); their progress shows below."
	}
	return s.redirectFlash(c, "/alerts/"+itoa(id), "success", msg)
}

func (s *Server) alertsFormError(c *fiber.Ctx, form views.RaiseAlertForm) error {
	pg, err := s.livePage(c, "Alerts", "alerts")
	if err != nil {
		return err
	}
	p, err := s.alertsProps(c, store.ListFilter{Limit: 50}, form)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusBadRequest, views.Alerts(pg, p))
}

// alertProps loads one alert with its calls and change history.
func (s *Server) alertProps(c *fiber.Ctx) (views.AlertProps, error) {
	id, err := paramID(c)
	if err != nil {
		return views.AlertProps{}, err
	}
	ctx := c.UserContext()
	v, err := s.Store.AlertView(ctx, id)
	if err != nil {
		return views.AlertProps{}, err
	}
	pr, _ := principal(c)
	p := views.AlertProps{Alert: v, CSRF: pr.CSRF, KeypadPrompt: keypadPrompt(nil), Admin: pr.Admin()}
	if v.ChannelID != nil {
		p.ChannelName = s.opsChannelName(ctx, *v.ChannelID)
		if ch, err := s.Store.Channel(ctx, *v.ChannelID); err == nil {
			p.KeypadPrompt = keypadPrompt(ch)
		}
	}
	return p, nil
}

// opsChannelName returns a channel's name, or "" if it is gone.
func (s *Server) opsChannelName(ctx context.Context, id string) string {
	ch, err := s.Store.Channel(ctx, id)
	if err != nil {
		return ""
	}
	return ch.Name
}

func (s *Server) alertPage(c *fiber.Ctx) error {
	p, err := s.alertProps(c)
	if err != nil {
		return err
	}
	pg, err := s.livePage(c, "Alert #"+itoa(p.Alert.ID)+": "+p.Alert.Title, "alerts")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.AlertPage(pg, p))
}

func (s *Server) alertFragment(c *fiber.Ctx) error {
	p, err := s.alertProps(c)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.AlertDetail(p))
}

// consoleAlertAction acknowledges or resolves an alert from a console form
// and returns to the page the form was on.
func (s *Server) alertAction(a voice.Action) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := paramID(c)
		if err != nil {
			return err
		}
		p, _ := principal(c)
		changed, err := s.Dispatch.ChangeAlert(c.UserContext(), id, a, p, "console")
		if err != nil {
			return err
		}
		next := opsNext(c, "/alerts/"+itoa(id))
		if !changed {
			al, err := s.Store.Alert(c.UserContext(), id)
			if err != nil {
				return err
			}
			return s.redirectFlash(c, next, "warning", "Alert #"+itoa(id)+" is already "+al.State+"; nothing changed.")
		}
		done := "acknowledged"
		if a == voice.ActionResolve {
			done = "resolved"
		}
		s.Log.Info("alert changed", "alert", id, "action", string(a), "by", p.Name, "via", "console")
		return s.redirectFlash(c, next, "success", "Alert #"+itoa(id)+" "+done+" by "+p.Name+".")
	}
}

// consoleCallAgain places an alert's calls again from the admins' Call again
// button and returns to the page the button was on.
func (s *Server) alertCallAgain(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	next := opsNext(c, "/alerts/"+itoa(id))
	ids, err := s.Dispatch.CallAgain(c.UserContext(), id)
	if errors.Is(err, voice.ErrInvalid) || errors.Is(err, voice.ErrConflict) {
		return s.redirectFlash(c, next, "error", "Alert #"+itoa(id)+": "+callAgainRefusal(err))
	}
	if err != nil {
		return err
	}
	s.Log.Info("alert called again", "alert", id, "by", who(c), "calls", len(ids))
	return s.redirectFlash(c, next, "success", "Alert #"+itoa(id)+": calling "+itoa(int64(len(ids)))+" number(s) again; their progress shows on the alert's page.")
}

// callAgainRefusal says why an alert cannot be called again.
func callAgainRefusal(err error) string {
	if errors.Is(err, store.ErrConflict) {
		return "it is resolved, so nobody is called again."
	}
	return "it has no outbound calls whose numbers could be called again."
}
