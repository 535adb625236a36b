package schedule

import (
	"context"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, spec string) Schedule {
	t.Helper()
	s, err := Parse(spec, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseDescriptorsAndCron(t *testing.T) {
	start := time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC) // a Wednesday
	for _, c := range []struct {
		spec string
		next time.Time
	}{
		{"@hourly", time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC)},
		{"@daily", time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"@weekly", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)},
		{"@every 6h", start.Add(6 * time.Hour)},
		{"0 3 * * *", time.Date(2026, 3, 5, 3, 0, 0, 0, time.UTC)},
		{"*/15 * * * *", time.Date(2026, 3, 4, 10, 45, 0, 0, time.UTC)},
		{"CRON_TZ=Asia/Shanghai 0 3 * * *", time.Date(2026, 3, 4, 19, 0, 0, 0, time.UTC)},
	} {
		got := mustParse(t, c.spec).Next(start)
		if !got.Equal(c.next) {
			t.Errorf("%s: next after %v = %v, want %v", c.spec, start, got, c.next)
		}
	}
}

func TestParseLocation(t *testing.T) {
	loc := time.FixedZone("UTC+8", 8*3600)
	s, err := Parse("0 3 * * *", loc)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 1, 1, 19, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("next = %v, want %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{"", "0 3 * *", "@fortnightly", "@every -1h", "@every 10ms", "61 * * * *"} {
		if _, err := Parse(spec, nil); err == nil {
			t.Errorf("%q: no error", spec)
		} else if !strings.Contains(err.Error(), "schedule") {
			t.Errorf("%q: error %q does not name the schedule", spec, err)
		}
	}
}

func TestSetFireTimes(t *testing.T) {
	// Daily at 02:30 plus hourly: 60 days give 24*60 hourly fires and 60
	// daily ones, none merged (02:30 is not on the hour).
	set := Set{mustParse(t, "@hourly"), mustParse(t, "30 2 * * *")}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(60 * 24 * time.Hour)
	got := FireTimes(set, from, to, 0)
	if len(got) != 60*24+60 {
		t.Fatalf("%d fire times, want %d", len(got), 60*24+60)
	}
	for i := 1; i < len(got); i++ {
		if !got[i].After(got[i-1]) {
			t.Fatalf("fire times not increasing at %d: %v then %v", i, got[i-1], got[i])
		}
	}
	// Overlapping schedules fire once per instant.
	both := FireTimes(Set{mustParse(t, "@hourly"), mustParse(t, "@daily")}, from, from.Add(48*time.Hour), 0)
	if len(both) != 48 {
		t.Fatalf("hourly+daily over 2 days: %d fire times, want 48", len(both))
	}
	if n := len(FireTimes(set, from, to, 5)); n != 5 {
		t.Fatalf("limit 5 gave %d", n)
	}
}

func TestFakeClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	a := f.After(time.Hour)
	b := f.After(2 * time.Hour)
	f.Advance(90 * time.Minute)
	select {
	case got := <-a:
		if !got.Equal(start.Add(90 * time.Minute)) {
			t.Fatalf("a fired with %v", got)
		}
	default:
		t.Fatal("a did not fire after its time")
	}
	select {
	case <-b:
		t.Fatal("b fired early")
	default:
	}
	if f.Waiters() != 1 {
		t.Fatalf("waiters = %d, want 1", f.Waiters())
	}
	f.Advance(30 * time.Minute)
	<-b
	if now := f.Now(); !now.Equal(start.Add(2 * time.Hour)) {
		t.Fatalf("now = %v", now)
	}
}

// Loop on a fake clock fires at each schedule time, in order.
func TestLoopOnFakeClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := NewFake(start)
	set := Set{mustParse(t, "@hourly"), mustParse(t, "@daily")}
	fired := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Loop(ctx, clock, set, func(at time.Time) { fired <- at })
		close(done)
	}()
	want := FireTimes(set, start, start.Add(72*time.Hour), 0)
	for i, w := range want {
		clock.WaitForWaiter(1)
		clock.Set(w)
		if got := <-fired; !got.Equal(w) {
			t.Fatalf("fire %d at %v, want %v", i, got, w)
		}
	}
	cancel()
	<-done
}
