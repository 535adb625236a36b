//go:build !linux

package ratelimit

import (
	"errors"
	"runtime"
)

func setPriority(nice *int, io *IOClass) error {
	if nice == nil && io == nil {
		return nil
	}
	return errors.New("cannot set --nice or --ionice: supported on Linux only")
}

// BackgroundThread locks the calling goroutine to its OS thread; this
// platform gets no lower priority. The goroutine must end without
// unlocking.
func BackgroundThread() {
	runtime.LockOSThread()
}
