//go:build !linux

package store

import "errors"

// raiseThread is Linux only (priority.go).
func raiseThread() (undo func(), err error) { return nil, errors.ErrUnsupported }
