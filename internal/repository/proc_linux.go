//go:build linux

package repository

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// currentPIDSpace reads this process's pid space from /proc. It returns
// what it could not read as unknown, and everything as unknown when /proc
// is not this process's own (mounted from another PID namespace, where
// pids mean other processes).
func currentPIDSpace() pidSpace {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return pidSpace{}
	}
	link, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return pidSpace{}
	}
	var ns uint64
	if _, err := fmt.Sscanf(link, "pid:[%d]", &ns); err != nil {
		return pidSpace{}
	}
	pid, start, ok := readStat("self")
	if !ok || pid != os.Getpid() {
		return pidSpace{}
	}
	return pidSpace{bootID: strings.TrimSpace(string(boot)), namespace: ns, start: start}
}

// processStart returns when process pid started (clock ticks since boot),
// read from /proc; ok is false when it cannot be read.
func processStart(pid int) (start uint64, ok bool) {
	got, start, ok := readStat(strconv.Itoa(pid))
	return start, ok && got == pid
}

// readStat reads the pid (field 1) and start time (field 22) of
// /proc/<name>/stat. The command name (field 2) is in parentheses and
// may hold spaces and parentheses: the fields after it follow the last
// ')'.
func readStat(name string) (pid int, start uint64, ok bool) {
	data, err := os.ReadFile("/proc/" + name + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || end < open {
		return 0, 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return 0, 0, false
	}
	fields := strings.Fields(s[end+1:]) // from field 3 on
	if len(fields) < 20 {
		return 0, 0, false
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return pid, start, true
}
