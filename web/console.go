package web

import (
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"callhook/internal/auth"
	"callhook/views"
)

// FlashCookie carries a one-time message to the next page.
const FlashCookie = "callhook_flash"

// requireSession sends visitors without a console session to the sign-in
// page and checks the CSRF token of every form post.
func (s *Server) requireSession(c *fiber.Ctx) error {
	p, ok := principal(c)
	if !ok || p.Via != "session" {
		// A live-region refresh must not follow a redirect and inject the
		// sign-in page into the region: it gets a plain 401.
		if c.Method() == fiber.MethodGet && c.Get("X-Requested-With") != "fetch" {
			return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
		}
		return auth.ErrUnauthorized
	}
	if err := checkCSRF(c, p); err != nil {
		return err
	}
	return c.Next()
}

// adminOnly hides configuration pages from viewers (and refuses their posts).
func (s *Server) adminOnly(c *fiber.Ctx) error {
	p, _ := principal(c)
	if !p.Admin() {
		return &httpError{status: fiber.StatusForbidden, msg: "This page is for admins. Ask an admin if you need a change here."}
	}
	return c.Next()
}

// page returns the layout data for a signed-in page and consumes the flash.
func (s *Server) page(c *fiber.Ctx, title, active string) views.Page {
	p, _ := principal(c)
	pg := views.Page{Title: title, Active: active, User: p.Name, Admin: p.Admin(), CSRF: p.CSRF, LiveAfter: -1}
	if v := c.Cookies(FlashCookie); v != "" {
		if kind, text, ok := strings.Cut(v, "|"); ok {
			if t, err := url.QueryUnescape(text); err == nil {
				pg.Flash = &views.Flash{Kind: kind, Text: t}
			}
		}
		c.Cookie(&fiber.Cookie{Name: FlashCookie, Value: "", Path: "/", Expires: time.Unix(0, 0), HTTPOnly: true, SameSite: "Lax"})
	}
	return pg
}

// livePage is page with live updates resuming after the current feed position.
func (s *Server) livePage(c *fiber.Ctx, title, active string) (views.Page, error) {
	pg := s.page(c, title, active)
	seq, err := s.Store.LastSeq(c.UserContext())
	if err != nil {
		return pg, err
	}
	pg.LiveAfter = seq
	return pg, nil
}

// flash sets a one-time message shown by the next page.
func (s *Server) flash(c *fiber.Ctx, kind, text string) {
	c.Cookie(&fiber.Cookie{Name: FlashCookie, Value: kind + "|" + url.QueryEscape(text), Path: "/",
		MaxAge: 60, HTTPOnly: true, SameSite: "Lax", Secure: s.Config.SecureCookies})
}

// redirectFlash sets a flash and redirects after a form post (303).
func (s *Server) redirectFlash(c *fiber.Ctx, to, kind, text string) error {
	s.flash(c, kind, text)
	return c.Redirect(to, fiber.StatusSeeOther)
}

// render writes a templ component as the HTML response.
func render(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

// renderError shows an error page to a browser.
func (s *Server) renderError(c *fiber.Ctx, code int, msg string) error {
	if p, ok := principal(c); ok && p.Via == "session" {
		return render(c, code, views.ErrorPage(s.page(c, "Error", ""), code, msg))
	}
	if code == fiber.StatusUnauthorized && c.Method() == fiber.MethodGet {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	return render(c, code, views.BareError(code, msg))
}
