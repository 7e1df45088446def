package web

import (
	"github.com/gofiber/fiber/v2"

	"callhook/internal/store"
	"callhook/views"
)

// usersPage lists users and API tokens with their forms.
func (s *Server) usersPage(c *fiber.Ctx) error {
	return s.usersForm(c, fiber.StatusOK, nil)
}

// tokensPage sends a reload of the token-created page back to the list
// (the token itself is never shown again).
func (s *Server) tokensPage(c *fiber.Ctx) error {
	return c.Redirect("/users#tokens", fiber.StatusSeeOther)
}

// userCreate adds a console user.
func (s *Server) userCreate(c *fiber.Ctx) error {
	name, role := formText(c, "name"), formText(c, "role")
	u, err := s.Auth.CreateUser(c.UserContext(), name, c.FormValue("password"), role)
	if msg, ok := formProblem(err); ok {
		return s.usersForm(c, errStatus(err), func(p *views.UsersProps) {
			p.NewUser = views.NewUserForm{Name: name, Role: role, Error: "Not added: " + msg}
		})
	}
	if err != nil {
		return err
	}
	s.Log.Info("user created", "user", u.Name, "role", u.Role, "by", who(c))
	return s.redirectFlash(c, "/users", "success", "User “"+u.Name+"” added as "+u.Role+".")
}

// userSetDisabled disables or enables a user; nobody can disable themselves.
// Disabling ends the user's sessions.
func (s *Server) userSetDisabled(disabled bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := paramID(c)
		if err != nil {
			return err
		}
		if p, _ := principal(c); p.UserID == id {
			return s.redirectFlash(c, "/users", "error", "You cannot disable or enable yourself; ask another admin.")
		}
		u, err := s.Store.User(c.UserContext(), id)
		if err != nil {
			return err
		}
		u.Disabled = disabled
		if err := s.Store.UpdateUser(c.UserContext(), u, "disabled"); err != nil {
			return err
		}
		s.Log.Info("user changed", "user", u.Name, "disabled", disabled, "by", who(c))
		if disabled {
			return s.redirectFlash(c, "/users", "success", "User “"+u.Name+"” disabled and signed out.")
		}
		return s.redirectFlash(c, "/users", "success", "User “"+u.Name+"” enabled.")
	}
}

// userPassword sets a user's password.
func (s *Server) userPassword(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	u, err := s.Store.User(c.UserContext(), id)
	if err != nil {
		return err
	}
	err = s.Auth.SetPassword(c.UserContext(), u, c.FormValue("password"))
	if msg, ok := formProblem(err); ok {
		return s.usersForm(c, errStatus(err), func(p *views.UsersProps) { p.PasswordFor, p.PasswordError = id, msg })
	}
	if err != nil {
		return err
	}
	s.Log.Info("user password changed", "user", u.Name, "by", who(c))
	return s.redirectFlash(c, "/users", "success", "Password of “"+u.Name+"” changed.")
}

// tokenCreate makes an API token and shows its value once, in this answer
// only: never in a URL, a cookie or a log.
func (s *Server) tokenCreate(c *fiber.Ctx) error {
	name, role := formText(c, "name"), formText(c, "role")
	value, t, err := s.Auth.CreateToken(c.UserContext(), name, role)
	if msg, ok := formProblem(err); ok {
		return s.usersForm(c, errStatus(err), func(p *views.UsersProps) {
			p.NewToken = views.NewTokenForm{Name: name, Role: role, Error: "Not created: " + msg}
		})
	}
	if err != nil {
		return err
	}
	s.Log.Info("api token created", "token", t.Name, "prefix", t.Prefix, "role", t.Role, "by", who(c))
	return s.usersForm(c, fiber.StatusOK, func(p *views.UsersProps) {
		p.Created = &views.CreatedToken{Name: t.Name, Role: t.Role, Value: value}
	})
}

// tokenRevoke revokes an API token.
func (s *Server) tokenRevoke(c *fiber.Ctx) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	if err := s.Store.RevokeToken(c.UserContext(), id); err != nil {
		return err
	}
	s.Log.Info("api token revoked", "token_id", id, "by", who(c))
	return s.redirectFlash(c, "/users#tokens", "success", "Token revoked; requests using it are now refused.")
}

// usersForm renders the users page with edit applied (errors, a new token).
func (s *Server) usersForm(c *fiber.Ctx, status int, edit func(p *views.UsersProps)) error {
	props, err := s.usersProps(c)
	if err != nil {
		return err
	}
	if edit != nil {
		edit(&props)
	}
	return renderNoStore(c, status, views.UsersPage(s.page(c, "Users & tokens", "users"), props))
}

func (s *Server) usersProps(c *fiber.Ctx) (views.UsersProps, error) {
	ctx := c.UserContext()
	users, err := s.Store.Users(ctx)
	if err != nil {
		return views.UsersProps{}, err
	}
	tokens, err := s.Store.Tokens(ctx)
	if err != nil {
		return views.UsersProps{}, err
	}
	me, _ := principal(c)
	var p views.UsersProps
	for _, u := range users {
		p.Users = append(p.Users, views.UserRow{ID: u.ID, Name: u.Name, Role: u.Role, Created: u.CreatedAt,
			Disabled: u.Disabled, Self: u.ID == me.UserID})
	}
	for _, t := range tokens {
		p.Tokens = append(p.Tokens, tokenRow(t))
	}
	return p, nil
}

func tokenRow(t store.APIToken) views.TokenRow {
	return views.TokenRow{ID: t.ID, Name: t.Name, Role: t.Role, Prefix: t.Prefix, Created: t.CreatedAt,
		LastUsed: t.LastUsedAt, Revoked: t.RevokedAt}
}
