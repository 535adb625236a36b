//go:build !linux

package ratelimit

import (
	"errors"
)

func setPriority(nice *int, io *IOClass) error {
	if nice == nil && io == nil {
		return nil
	}
	return errors.New("cannot set --nice or --ionice: supported on Linux only")
}
