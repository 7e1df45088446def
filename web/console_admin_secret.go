package web

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"callhook/internal/channel"
	"callhook/views"
)

// channelReveal answers with the channel page showing its secret and full
// callback URL. It is a POST so the secret never appears in a URL, history
// or a cache (the answer is no-store).
func (s *Server) channelReveal(c *fiber.Ctx) error {
	ch, props, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	props.Revealed = true
	props.Secret = ch.Secret
	props.CallbackURL = channel.CallbackURL(s.Channels.PublicURL, ch.ID, ch.Secret)
	s.Log.Info("channel secret revealed", "channel", ch.ID, "by", who(c))
	return renderNoStore(c, fiber.StatusOK, views.ChannelPage(s.page(c, ch.Name, "channels"), props))
}

// channelCopyURL answers the full callback URL as text for the page's "Copy
// URL" button, which puts it on the clipboard without showing it. Like Reveal
// it is a POST with the CSRF token and is never cached.
func (s *Server) channelCopyURL(c *fiber.Ctx) error {
	ch, err := s.Store.Channel(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	s.Log.Info("channel callback URL copied", "channel", ch.ID, "by", who(c))
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.SendString(channel.CallbackURL(s.Channels.PublicURL, ch.ID, ch.Secret))
}

// maxGraceHours bounds the grace period a rotation may keep the old secret for.
const maxGraceHours = 30 * 24

// channelRotate gives the channel a new secret; the old one stays valid for
// grace_hours (default 24).
func (s *Server) channelRotate(c *fiber.Ctx) error {
	hours := int(channel.DefaultGrace / time.Hour)
	if v := formText(c, "grace_hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxGraceHours {
			return badRequest("the grace period must be 0 to " + strconv.Itoa(maxGraceHours) + " hours")
		}
		hours = n
	}
	ch, err := s.Channels.Rotate(c.UserContext(), pathParam(c, "id"), time.Duration(hours)*time.Hour)
	if err != nil {
		return err
	}
	s.Log.Info("channel secret rotated", "channel", ch.ID, "grace_hours", hours, "by", who(c))
	msg := "Secret rotated; the old secret stopped working. "
	if ch.PrevSecretExpiresAt != nil && hours > 0 {
		msg = "Secret rotated. The old secret keeps working until " + consoleTime(*ch.PrevSecretExpiresAt) + ". "
	}
	return s.redirectFlash(c, "/channels/"+ch.ID, "success", msg+"Reveal the new callback URL and give it to your provider.")
}

// channelTest runs a sample callback of the channel's provider through the
// real pipeline and shows what happened: a status callback, or with
// digit the keypad callback of that key and the action the mapping takes.
func (s *Server) channelTest(c *fiber.Ctx) error {
	digit := formText(c, "digit")
	res, err := s.Callbacks.SendTest(c.UserContext(), pathParam(c, "id"), digit)
	if msg, ok := formProblem(err); ok {
		return s.channelForm(c, fiber.StatusBadRequest, func(p *views.ChannelProps) { p.TestError = msg })
	}
	if err != nil {
		return err
	}
	s.Log.Info("test callback sent", "channel", pathParam(c, "id"), "outcome", res.Outcome, "reason", res.Reason, "by", who(c))
	r := replayView(res)
	t := &views.TestResult{CallbackID: r.CallbackID, Outcome: r.Outcome, Reason: r.Reason, Error: r.Error,
		ProviderStatus: r.ProviderStatus, Reply: r.Reply, Digit: digit}
	for _, e := range r.Events {
		t.Events = append(t.Events, views.TestEvent{CallID: e.CallID, Type: e.EventType, Status: e.Status,
			Digit: e.Digit, Action: e.Action, Applied: e.Applied, Matched: e.Matched, Note: testNote(e)})
	}
	return s.channelForm(c, fiber.StatusOK, func(p *views.ChannelProps) { p.Test = t; p.TestDigit = digit })
}
