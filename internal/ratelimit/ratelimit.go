// Package ratelimit caps how many bytes per second a whole run reads from
// its source, uploads to its repository or downloads from it. One Limiter is
// a token bucket (golang.org/x/time/rate) shared by every worker of a run,
// so the cap holds for the run, not per file or per worker.
package ratelimit

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// The bucket holds one second's worth of bytes (at least minBurst, at most
// maxBurst) and starts empty. So over any span of a run the bytes let
// through never exceed the rate times the span plus one second's worth, and
// a phase that passes no bytes (a scan, a node's snapshot call) of up to a
// second is caught up afterwards: the run's average holds to the rate.
// Waits larger than the bucket are split into pieces.
const (
	minBurst = 64 << 10
	maxBurst = 1 << 30
)

// Limiter lets through at most a fixed number of bytes per second. A nil
// *Limiter lets everything through, so callers need not check.
type Limiter struct {
	l     *rate.Limiter
	burst int
	bps   int64
}

// New returns a limiter of bytesPerSecond, or nil (no limit) when it is 0
// or less.
func New(bytesPerSecond int64) *Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	burst := max(bytesPerSecond, minBurst)
	burst = min(burst, maxBurst)
	l := rate.NewLimiter(rate.Limit(bytesPerSecond), int(burst))
	// Start empty: a full bucket would let a second's worth through at
	// once and overshoot the rate of short runs.
	l.ReserveN(time.Now(), int(burst))
	return &Limiter{l: l, burst: int(burst), bps: bytesPerSecond}
}

// BytesPerSecond is the limit (0 for a nil limiter).
func (l *Limiter) BytesPerSecond() int64 {
	if l == nil {
		return 0
	}
	return l.bps
}

// WaitN blocks until n bytes may pass, or ctx is done.
func (l *Limiter) WaitN(ctx context.Context, n int64) error {
	if l == nil {
		return ctx.Err()
	}
	for n > 0 {
		step := min(n, int64(l.burst))
		if err := l.l.WaitN(ctx, int(step)); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("cannot wait for the rate limit: %w", err)
		}
		n -= step
	}
	return nil
}

// Reader returns r throttled by l; r itself when l is nil. Bytes are paid
// for after they are read, so a read never waits for bytes it does not get.
func (l *Limiter) Reader(ctx context.Context, r io.Reader) io.Reader {
	if l == nil {
		return r
	}
	return &reader{ctx: ctx, r: r, l: l}
}

type reader struct {
	ctx context.Context
	r   io.Reader
	l   *Limiter
}

func (r *reader) Read(p []byte) (int, error) {
	if len(p) > r.l.burst {
		p = p[:r.l.burst]
	}
	n, err := r.r.Read(p)
	if n > 0 {
		if werr := r.l.WaitN(r.ctx, int64(n)); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// ParseRate parses a limit in bytes per second: a plain number of bytes or
// a size such as 20MiB, 500KiB, 1GiB (powers of 1024), 20MB, 500kB (powers
// of 1000), with an optional "/s". "0" or "" means no limit.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "ps")
	lower := strings.ToLower(t)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000}, {"tb", 1000 * 1000 * 1000 * 1000},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40}, {"b", 1},
	} {
		if strings.HasSuffix(lower, u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("cannot parse rate %q: want bytes per second such as 20MiB, 500KiB or 1048576", s)
	}
	return int64(v * float64(mult)), nil
}
