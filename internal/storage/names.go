package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidName is wrapped by every error about an object name or list
// prefix that no backend accepts.
var ErrInvalidName = errors.New("invalid object name")

// CheckName reports whether name is a valid object name: a non-empty,
// slash-separated relative path without "..", "." or empty elements, a
// leading slash, backslashes or NUL bytes. The error wraps ErrInvalidName.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidName)
	}
	if err := CheckPrefix(name); err != nil {
		return err
	}
	for _, elem := range strings.Split(name, "/") {
		switch elem {
		case "":
			return fmt.Errorf("%w: empty path element", ErrInvalidName)
		case ".":
			return fmt.Errorf("%w: must not contain \".\" elements", ErrInvalidName)
		}
	}
	return nil
}

// CheckPrefix reports whether prefix may be passed to List. Unlike a name, a
// prefix may be empty, end in a slash or stop in the middle of an element
// ("locks/ab"). The error wraps ErrInvalidName.
func CheckPrefix(prefix string) error {
	switch {
	case strings.HasPrefix(prefix, "/"):
		return fmt.Errorf("%w: must not start with \"/\"", ErrInvalidName)
	case strings.Contains(prefix, ".."):
		return fmt.Errorf("%w: must not contain \"..\"", ErrInvalidName)
	case strings.Contains(prefix, `\`):
		return fmt.Errorf("%w: must not contain backslashes", ErrInvalidName)
	case strings.ContainsRune(prefix, 0):
		return fmt.Errorf("%w: must not contain NUL bytes", ErrInvalidName)
	}
	return nil
}

// CheckWrite checks the arguments of a Put or Create (verb "write" or
// "create") before a backend starts it: a valid name, a size that is not
// negative, a context not yet done.
func CheckWrite(ctx context.Context, verb, name string, size int64) error {
	if err := CheckName(name); err != nil {
		return fmt.Errorf("cannot %s %q: %w", verb, name, err)
	}
	if size < 0 {
		return fmt.Errorf("cannot %s %s: negative size %d", verb, name, size)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot %s %s: %w", verb, name, err)
	}
	return nil
}

// CheckRead checks the arguments of a Get before a backend starts it: a
// valid name, an offset that is not negative, a context not yet done.
func CheckRead(ctx context.Context, name string, offset int64) error {
	if err := CheckName(name); err != nil {
		return fmt.Errorf("cannot read %q: %w", name, err)
	}
	if offset < 0 {
		return fmt.Errorf("cannot read %s: negative offset %d", name, offset)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot read %s: %w", name, err)
	}
	return nil
}
