package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/store"
	"callhook/internal/voice"
	"callhook/views"
)

func opsCallbackViews(cbs []store.Callback) []voice.CallbackView {
	out := make([]voice.CallbackView, 0, len(cbs))
	for i := range cbs {
		out = append(out, cbs[i].View(false))
	}
	return out
}

// callbacksFilter reads the callback inspector's filters; an unknown outcome is a 400.
func callbacksFilter(c *fiber.Ctx) (store.ListFilter, error) {
	f := store.ListFilter{Outcome: c.Query("outcome"), ChannelID: c.Query("channel_id"), Cursor: c.Query("cursor"), Limit: 50}
	switch f.Outcome {
	case "", store.OutcomeAccepted, store.OutcomeDuplicate, store.OutcomeUnmatched, store.OutcomeRejected:
		return f, nil
	}
	return f, badRequest("outcome must be accepted, duplicate, unmatched or rejected")
}

// callbackList loads one page of callbacks as the list region shows it.
func (s *Server) callbackList(ctx context.Context, f store.ListFilter) (views.CallbackListProps, error) {
	p, err := s.Store.Callbacks(ctx, f)
	if err != nil {
		return views.CallbackListProps{}, err
	}
	l := views.CallbackListProps{Callbacks: opsCallbackViews(p.Items), Filtered: f.Outcome != "" || f.ChannelID != ""}
	if p.NextCursor != nil {
		l.OlderURL = opsURL("/callbacks", "outcome", f.Outcome, "channel_id", f.ChannelID, "cursor", *p.NextCursor)
	}
	if f.Cursor != "" {
		l.NewestURL = opsURL("/callbacks", "outcome", f.Outcome, "channel_id", f.ChannelID)
	}
	return l, nil
}

func (s *Server) callbacksPage(c *fiber.Ctx) error {
	f, err := callbacksFilter(c)
	if err != nil {
		return err
	}
	pg, err := s.livePage(c, "Callbacks", "callbacks")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	l, err := s.callbackList(ctx, f)
	if err != nil {
		return err
	}
	chs, err := s.opsChannels(ctx)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.Callbacks(pg, views.CallbacksProps{
		Outcome: f.Outcome, ChannelID: f.ChannelID, Channels: chs, List: l,
		LiveSrc: opsURL("/fragments/callbacks", "outcome", f.Outcome, "channel_id", f.ChannelID, "cursor", f.Cursor),
	}))
}

func (s *Server) callbacksFragment(c *fiber.Ctx) error {
	f, err := callbacksFilter(c)
	if err != nil {
		return err
	}
	l, err := s.callbackList(c.UserContext(), f)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.CallbackList(l))
}

// callbackFull returns a stored callback with its raw request and parsed events.
func (s *Server) callbackFull(ctx context.Context, id int64) (voice.CallbackView, error) {
	cb, err := s.Store.Callback(ctx, id)
	if err != nil {
		return voice.CallbackView{}, err
	}
	evs, err := s.Store.CallbackEvents(ctx, id)
	if err != nil {
		return voice.CallbackView{}, err
	}
	v := cb.View(true)
	for i := range evs {
		v.Events = append(v.Events, evs[i].View())
	}
	return v, nil
}

func (s *Server) callbackPage(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	v, err := s.callbackFull(ctx, id)
	if err != nil {
		return err
	}
	pr, _ := principal(c)
	p := views.CallbackProps{Callback: v, Admin: pr.Admin(), CSRF: pr.CSRF}
	// After a replay the page shows the new callback's result beside the original.
	if r, err := strconv.ParseInt(c.Query("replayed"), 10, 64); err == nil && r > 0 {
		rv, err := s.callbackFull(ctx, r)
		if err != nil && !store.IsNotFound(err) {
			return err
		}
		if err == nil && rv.ReplayOf != nil && *rv.ReplayOf == id {
			p.Replay = &rv
		}
	}
	pg := s.page(c, "Callback #"+itoa(id), "callbacks")
	return render(c, fiber.StatusOK, views.CallbackPage(pg, p))
}

// consoleReplay runs a stored callback through the pipeline again (an admin
// fixed the configuration) and shows the new result on the original's page.
func (s *Server) callbackReplay(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	res, err := s.Callbacks.Replay(c.UserContext(), id)
	if err != nil {
		return err
	}
	s.Log.Info("callback replayed", "callback", id, "new_callback", res.CallbackID, "outcome", res.Outcome, "by", who(c))
	back := "/callbacks/" + itoa(id)
	if res.Status == http.StatusServiceUnavailable || res.CallbackID == 0 {
		return s.redirectFlash(c, back, "error", "The replay could not be stored (database unavailable). Try again shortly.")
	}
	kind, msg := "success", "Replayed: the pipeline stored it as callback #"+itoa(res.CallbackID)+" ("+res.Outcome+")."
	if res.Outcome == store.OutcomeRejected {
		kind = "warning"
		msg = "Replayed: still rejected (" + views.ReasonLabel(res.Reason) + "), stored as callback #" + itoa(res.CallbackID) + "."
	}
	return s.redirectFlash(c, opsURL(back, "replayed", itoa(res.CallbackID)), kind, msg)
}
