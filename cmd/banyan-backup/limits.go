package main

import (
	"runtime"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
)

// limitFlags are the resource controls of backup, restore and serve.
type limitFlags struct {
	upload, download, read string
	concurrency            int
	cpus                   int
	nice                   int
	ionice                 string
	withRead               bool
}

// addLimitFlags adds the flags; withRead adds --limit-read (commands that
// read a BanyanDB root).
func addLimitFlags(cmd *cobra.Command, lf *limitFlags, withRead bool) {
	f := cmd.Flags()
	lf.withRead = withRead
	f.StringVar(&lf.upload, "limit-upload", "", "cap on bytes per second written to the repository, over the whole run (e.g. 20MiB)")
	f.StringVar(&lf.download, "limit-download", "", "cap on bytes per second read from the repository, over the whole run (e.g. 50MiB)")
	if withRead {
		f.StringVar(&lf.read, "limit-read", "", "cap on bytes per second read from the BanyanDB data root, over the whole run (e.g. 50MiB)")
	}
	f.IntVar(&lf.concurrency, "concurrency", 0, "files read or written at once (default: the CPU count, or --cpus)")
	f.IntVar(&lf.cpus, "cpus", 0, "CPUs the process may use at once (sets GOMAXPROCS; default all)")
	f.IntVar(&lf.nice, "nice", 0, "CPU nice value for the process, -20 to 19 (Linux; 0: unchanged)")
	f.StringVar(&lf.ionice, "ionice", "", "I/O class for the process: idle, best-effort[:0-7] or realtime[:0-7] (Linux)")
}

// runLimits are the parsed limits of one run.
type runLimits struct {
	upload, download, read *ratelimit.Limiter
	workers                int
}

// apply parses the flags, sets GOMAXPROCS and the process priority, and
// returns the limiters. Bad values are usage errors.
func (lf *limitFlags) apply() (runLimits, error) {
	var rl runLimits
	for _, l := range []struct {
		flag, val string
		dst       **ratelimit.Limiter
	}{{"--limit-upload", lf.upload, &rl.upload}, {"--limit-download", lf.download, &rl.download}, {"--limit-read", lf.read, &rl.read}} {
		n, err := ratelimit.ParseRate(l.val)
		if err != nil {
			return rl, usagef("invalid %s: %v", l.flag, err)
		}
		*l.dst = ratelimit.New(n)
	}
	if lf.concurrency < 0 || lf.cpus < 0 {
		return rl, usagef("invalid --concurrency or --cpus: want a positive number (0: default)")
	}
	if lf.cpus > 0 {
		runtime.GOMAXPROCS(lf.cpus)
	}
	rl.workers = lf.concurrency
	var nice *int
	if lf.nice != 0 {
		if lf.nice < -20 || lf.nice > 19 {
			return rl, usagef("invalid --nice %d: want -20 to 19", lf.nice)
		}
		nice = &lf.nice
	}
	var io *ratelimit.IOClass
	if lf.ionice != "" {
		c, err := ratelimit.ParseIOClass(lf.ionice)
		if err != nil {
			return rl, usagef("invalid --ionice: %v", err)
		}
		io = &c
	}
	if err := ratelimit.SetPriority(nice, io); err != nil {
		return rl, err
	}
	return rl, nil
}
