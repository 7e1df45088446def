package web

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/store"
	"callhook/internal/voice"
	"callhook/views"
)

// opsNoStore keeps browsers from caching live fragments.
func opsNoStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// opsURL returns path with the non-empty query values, in a stable order.
func opsURL(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// opsNext is where a console form post returns to: a local path from the
// form's "next" field, else fallback. Anything that could leave the site
// (scheme, host, "//", backslashes) falls back.
func opsNext(c *fiber.Ctx, fallback string) string {
	next := c.FormValue("next")
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n") {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return fallback
	}
	return strings.Clone(next)
}

// opsChannels lists the channels as filter and form options (never secrets).
func (s *Server) opsChannels(ctx context.Context) ([]views.OpsOption, error) {
	chs, err := s.Store.Channels(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]views.OpsOption, 0, len(chs))
	for _, ch := range chs {
		label := ch.ID
		if ch.Name != "" && ch.Name != ch.ID {
			label = ch.Name + " (" + ch.ID + ")"
		}
		out = append(out, views.OpsOption{Value: ch.ID, Label: label})
	}
	return out, nil
}

// opsCountCap bounds the dashboard counters; a count at the cap shows as "500+".
const opsCountCap = 500

// dashboardCounts computes the dashboard's headline numbers.
func (s *Server) dashboardCounts(ctx context.Context) (views.DashboardCounts, error) {
	c, err := s.Store.DashboardCounts(ctx, time.Now().Add(-time.Hour), opsCountCap)
	if err != nil {
		return views.DashboardCounts{Cap: opsCountCap}, err
	}
	return views.DashboardCounts{Cap: c.Cap, InProgress: c.InProgress, Firing: c.Firing, Acknowledged: c.Acknowledged, Rejected: c.Rejected}, nil
}

// openAlerts returns the firing and acknowledged alerts, newest first.
func (s *Server) openAlerts(ctx context.Context, limit int) ([]voice.AlertView, error) {
	var all []store.Alert
	for _, st := range []voice.AlertState{voice.AlertFiring, voice.AlertAcknowledged} {
		p, err := s.Store.Alerts(ctx, store.ListFilter{Status: string(st), Limit: limit})
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
	}
	// Firing first (they need someone), then acknowledged; each newest first.
	if len(all) > limit {
		all = all[:limit]
	}
	vs, err := s.Store.AlertViews(ctx, all)
	if err != nil {
		return nil, err
	}
	// Among the firing, those whose calls all failed lead: nobody is on them.
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].CallsFailed() && !vs[j].CallsFailed() })
	return vs, nil
}

func (s *Server) dashboardProps(c *fiber.Ctx) (views.DashboardProps, error) {
	ctx := c.UserContext()
	var d views.DashboardProps
	var err error
	if d.Counts, err = s.dashboardCounts(ctx); err != nil {
		return d, err
	}
	if d.Alerts, err = s.dashboardAlerts(c); err != nil {
		return d, err
	}
	if d.Calls, err = s.dashboardCalls(ctx); err != nil {
		return d, err
	}
	if d.Callbacks, err = s.dashboardCallbacks(ctx); err != nil {
		return d, err
	}
	return d, nil
}

func (s *Server) dashboardAlerts(c *fiber.Ctx) (views.AlertListProps, error) {
	p, _ := principal(c)
	as, err := s.openAlerts(c.UserContext(), 20)
	return views.AlertListProps{Alerts: as, CSRF: p.CSRF, Next: "/", Compact: true, Admin: p.Admin()}, err
}

func (s *Server) dashboardCalls(ctx context.Context) (views.CallListProps, error) {
	p, err := s.Store.Calls(ctx, store.ListFilter{Limit: 10})
	return views.CallListProps{Calls: opsCallViews(p.Items), Compact: true}, err
}

func (s *Server) dashboardCallbacks(ctx context.Context) (views.CallbackListProps, error) {
	p, err := s.Store.Callbacks(ctx, store.ListFilter{Limit: 10})
	return views.CallbackListProps{Callbacks: opsCallbackViews(p.Items), Compact: true}, err
}

func (s *Server) dashboardPage(c *fiber.Ctx) error {
	pg, err := s.livePage(c, "Dashboard", "dashboard")
	if err != nil {
		return err
	}
	d, err := s.dashboardProps(c)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.Dashboard(pg, d))
}

func (s *Server) dashboardCountersFragment(c *fiber.Ctx) error {
	n, err := s.dashboardCounts(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.DashboardCounters(n))
}

func (s *Server) dashboardAlertsFragment(c *fiber.Ctx) error {
	l, err := s.dashboardAlerts(c)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.AlertList(l))
}

func (s *Server) dashboardCallsFragment(c *fiber.Ctx) error {
	l, err := s.dashboardCalls(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.CallList(l))
}

func (s *Server) dashboardCallbacksFragment(c *fiber.Ctx) error {
	l, err := s.dashboardCallbacks(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.CallbackList(l))
}
