package provider

import "fmt"

func wrapf(base error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", base, fmt.Sprintf(format, args...))
}

// Errorf wraps one of the package's sentinel errors with a message.
func Errorf(base error, format string, args ...any) error { return wrapf(base, format, args...) }
