package voice

import (
	"errors"
	"fmt"
)

// The kinds of error every package returns and the web layer maps to HTTP
// statuses in one place (docs/architecture.md, "Packages"). Wrap them with
// context; test them with errors.Is.
var (
	// ErrNotFound: the thing does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value is taken, or the state forbids it (409).
	ErrConflict = errors.New("already exists")
	// ErrInvalid: the input is wrong (400); see FieldError.
	ErrInvalid = errors.New("invalid")
	// ErrUnavailable: the database could not begin, write or commit (503).
	ErrUnavailable = errors.New("unavailable")
)

// FieldError is invalid input, with the field it concerns ("" when it is
// about the whole input), so a form can mark the field and an API answer
// name it. It is an ErrInvalid.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Unwrap makes a FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Invalid returns a FieldError about field.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
