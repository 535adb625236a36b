package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
)

// IOClass is a Linux I/O scheduling class and level, as ionice(1) takes.
type IOClass struct {
	Class int // 1 realtime, 2 best-effort, 3 idle
	Level int // 0 (highest) to 7, for realtime and best-effort
}

// ParseIOClass parses "idle", "best-effort", "best-effort:7" or
// "realtime:0" (also the numbers 1–3 for the class).
func ParseIOClass(s string) (IOClass, error) {
	name, level, hasLevel := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	var c IOClass
	switch name {
	case "realtime", "1":
		c.Class = 1
	case "best-effort", "besteffort", "be", "2":
		c.Class = 2
	case "idle", "3":
		c.Class = 3
	default:
		return c, fmt.Errorf("cannot parse I/O class %q: want idle, best-effort[:0-7] or realtime[:0-7]", s)
	}
	if hasLevel {
		n, err := strconv.Atoi(level)
		if err != nil || n < 0 || n > 7 || c.Class == 3 {
			return c, fmt.Errorf("cannot parse I/O class %q: the level is 0 to 7, for best-effort and realtime only", s)
		}
		c.Level = n
	} else if c.Class == 2 {
		c.Level = 7
	}
	return c, nil
}

// SetPriority sets the CPU nice value (when nice is not nil) and the I/O
// class (when io is not nil) of every thread of this process; threads
// started later inherit them.
func SetPriority(nice *int, io *IOClass) error {
	if nice != nil && (*nice < -20 || *nice > 19) {
		return fmt.Errorf("cannot set nice %d: want -20 to 19", *nice)
	}
	return setPriority(nice, io)
}
