package web

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/store"
	"callhook/internal/voice"
	"callhook/views"
)

func opsCallViews(cs []store.Call) []voice.CallView {
	out := make([]voice.CallView, 0, len(cs))
	for i := range cs {
		out = append(out, cs[i].View())
	}
	return out
}

// callsFilter reads the calls list filters; an unknown status is a 400.
func callsFilter(c *fiber.Ctx) (store.ListFilter, error) {
	f := store.ListFilter{Status: c.Query("status"), ChannelID: c.Query("channel_id"), Cursor: c.Query("cursor"), Limit: 50}
	if f.Status != "" {
		if _, err := voice.ParseStatus(f.Status); err != nil {
			return f, badRequest("status: " + err.Error())
		}
	}
	return f, nil
}

// callList loads one page of calls as the list region shows it.
func (s *Server) callList(ctx context.Context, f store.ListFilter) (views.CallListProps, error) {
	p, err := s.Store.Calls(ctx, f)
	if err != nil {
		return views.CallListProps{}, err
	}
	l := views.CallListProps{Calls: opsCallViews(p.Items), Filtered: f.Status != "" || f.ChannelID != ""}
	if p.NextCursor != nil {
		l.OlderURL = opsURL("/calls", "status", f.Status, "channel_id", f.ChannelID, "cursor", *p.NextCursor)
	}
	if f.Cursor != "" {
		l.NewestURL = opsURL("/calls", "status", f.Status, "channel_id", f.ChannelID)
	}
	return l, nil
}

func (s *Server) callsPage(c *fiber.Ctx) error {
	f, err := callsFilter(c)
	if err != nil {
		return err
	}
	pg, err := s.livePage(c, "Calls", "calls")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	l, err := s.callList(ctx, f)
	if err != nil {
		return err
	}
	chs, err := s.opsChannels(ctx)
	if err != nil {
		return err
	}
	statuses := make([]string, 0, len(voice.Statuses))
	for _, st := range voice.Statuses {
		statuses = append(statuses, string(st))
	}
	return render(c, fiber.StatusOK, views.Calls(pg, views.CallsProps{
		Status: f.Status, ChannelID: f.ChannelID, Statuses: statuses, Channels: chs, List: l,
		LiveSrc: opsURL("/fragments/calls", "status", f.Status, "channel_id", f.ChannelID, "cursor", f.Cursor),
		CSVURL:  opsURL("/api/v1/calls.csv", "status", f.Status, "channel_id", f.ChannelID),
	}))
}

func (s *Server) callsFragment(c *fiber.Ctx) error {
	f, err := callsFilter(c)
	if err != nil {
		return err
	}
	l, err := s.callList(c.UserContext(), f)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.CallList(l))
}

// callProps loads a call with its timeline, its alert and its channel name.
func (s *Server) callProps(c *fiber.Ctx) (views.CallProps, error) {
	id, err := paramID(c)
	if err != nil {
		return views.CallProps{}, err
	}
	ctx := c.UserContext()
	v, err := s.Store.CallView(ctx, id)
	if err != nil {
		return views.CallProps{}, err
	}
	pr, _ := principal(c)
	p := views.CallProps{Call: v, CSRF: pr.CSRF}
	if v.AlertID != nil {
		a, err := s.Store.Alert(ctx, *v.AlertID)
		if err != nil && !store.IsNotFound(err) {
			return p, err
		}
		if a != nil {
			p.AlertTitle, p.AlertState = a.Title, a.State
		}
	}
	if ch, err := s.Store.Channel(ctx, v.ChannelID); err == nil {
		p.ChannelName = ch.Name
	} else if !store.IsNotFound(err) {
		return p, err
	}
	return p, nil
}

func (s *Server) callPage(c *fiber.Ctx) error {
	p, err := s.callProps(c)
	if err != nil {
		return err
	}
	pg, err := s.livePage(c, "Call #"+itoa(p.Call.ID), "calls")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.CallPage(pg, p))
}

func (s *Server) callFactsFragment(c *fiber.Ctx) error {
	p, err := s.callProps(c)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.CallFacts(p))
}

func (s *Server) callTimelineFragment(c *fiber.Ctx) error {
	p, err := s.callProps(c)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.CallTimeline(p.Call.Events, p.Call.AlertID != nil))
}
