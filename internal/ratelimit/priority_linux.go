package ratelimit

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

const ioprioWhoProcess = 1

// setPriority applies to each thread: on Linux both setpriority and
// ioprio_set act on one thread (task) per call.
func setPriority(nice *int, io *IOClass) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("cannot list this process's threads: %w", err)
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if nice != nil {
			if err := unix.Setpriority(unix.PRIO_PROCESS, tid, *nice); err != nil {
				return fmt.Errorf("cannot set nice %d: %w", *nice, err)
			}
		}
		if io != nil {
			prio := uintptr(io.Class<<13 | io.Level)
			if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), prio); errno != 0 {
				return fmt.Errorf("cannot set the I/O class: %w", errno)
			}
		}
	}
	return nil
}
