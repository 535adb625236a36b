// Package faults wraps a storage.Backend so that tests can make it fail on
// cue, the same way over every backend: errors on chosen operations and
// names, writes cut off midway, latency, a process that dies after its Nth
// write, and pauses that hold an operation until the test releases it.
//
// Rules, the crash point and pauses may be changed while operations run.
// Staging is the wrapped backend's own (over the local backend, PutStaged
// renames the staged file into place), so the faults apply to the real
// paths.
package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Op is a set of operations.
type Op uint

// The operations, to be combined with |.
const (
	OpPut Op = 1 << iota
	OpCreate
	OpPutStaged
	OpGet
	OpStat
	OpList
	OpDelete

	// OpWrite is every operation that stores an object.
	OpWrite = OpPut | OpCreate | OpPutStaged
)

var opNames = []string{"put", "create", "stage-put", "get", "stat", "list", "delete"}

// String names the operations in o, such as "put|create".
func (o Op) String() string {
	var names []string
	for i, n := range opNames {
		if o&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

// matches reports whether the set o (0: every operation) holds op.
func (o Op) matches(op Op) bool { return o == 0 || o&op != 0 }

// verb words op in errors.
func (o Op) verb() string {
	switch o {
	case OpPut, OpPutStaged:
		return "write"
	case OpGet:
		return "read"
	}
	return o.String()
}

// ErrCrashed is wrapped by the errors of the writes and deletes refused
// after the crash point (see CrashAfter).
var ErrCrashed = errors.New("simulated crash")

// Rule injects a fault into the calls it matches. The calls are matched
// against the rules in order; every rule that triggers on a call waits its
// Delay, and the first one with an Err fails the call (the rules after it
// do not see the call).
type Rule struct {
	// Op is the operations the rule applies to; 0: every one.
	Op Op
	// Prefix selects the objects by name (List calls by their prefix);
	// "": every one.
	Prefix string
	// After is the number of matching calls that pass before the rule
	// triggers; Times the number it then triggers on (0: every later one).
	// The zero values trigger on every matching call; After: n-1, Times: 1
	// on the nth only.
	After, Times int
	// Delay is waited before a triggered call goes on or fails; a done
	// context cuts it short and fails the call.
	Delay time.Duration
	// Err, when set, fails a triggered call with an error wrapping it;
	// the wrapped backend never sees the call. Wrap storage.ErrTransient
	// in it for a failure that a retry may cure.
	Err error
	// Short makes a write failed by Err first read about half of its
	// input, as an upload cut off midway (it stores nothing), and a Get
	// failed by Err open the object and hand out about half of the bytes
	// asked for before its reader fails, as a download cut off midway.
	Short bool
}

type rule struct {
	Rule
	seen int
}

// Backend is a storage.Backend that injects faults into another. It is safe
// for concurrent use.
type Backend struct {
	be storage.Backend

	mu       sync.Mutex
	rules    []*rule
	pauses   []*Pause
	limit    int // writes and deletes allowed in all; < 0: no crash
	writes   int // writes and deletes that succeeded
	inflight int // writes and deletes admitted and not finished
	calls    map[call]int
}

type call struct {
	op   Op
	name string
}

// New returns be with the rules, and no crash point.
func New(be storage.Backend, rules ...Rule) *Backend {
	b := &Backend{be: be, limit: -1, calls: make(map[call]int)}
	b.SetRules(rules...)
	return b
}

// SetRules replaces the rules; their call counts start from zero.
func (b *Backend) SetRules(rules ...Rule) {
	rs := make([]*rule, len(rules))
	for i, r := range rules {
		rs[i] = &rule{Rule: r}
	}
	b.mu.Lock()
	b.rules = rs
	b.mu.Unlock()
}

// CrashAfter lets n more writes (Put, Create, PutStaged) and deletes
// succeed, then fails every later one with an error wrapping ErrCrashed,
// storing and deleting nothing, as if the process had died; n < 0 removes
// the crash point. Writes running at the crash point are counted as
// admitted, so that no more than n succeed even when they run at once.
// Reads go on working.
func (b *Backend) CrashAfter(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 {
		b.limit = -1
		return
	}
	b.limit = b.writes + b.inflight + n
}

// Writes returns the number of writes and deletes that have succeeded.
func (b *Backend) Writes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writes
}

// Calls returns the number of calls made so far of the operations in op (0:
// every one) on names starting with prefix (List calls by their prefix),
// failed ones included.
func (b *Backend) Calls(op Op, prefix string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for c, k := range b.calls {
		if op.matches(c.op) && strings.HasPrefix(c.name, prefix) {
			n += k
		}
	}
	return n
}

// Pause holds the first call that matches it until released.
type Pause struct {
	op       Op
	prefix   string
	claimed  bool // guarded by the Backend's mu
	reached  chan struct{}
	released chan struct{}
	once     sync.Once
}

// PauseBefore returns a pause that holds the next call of an operation in
// op (0: every one) on a name starting with prefix, before it reaches the
// rules, the crash point or the wrapped backend, until Release (or until
// its context is done, which fails it).
func (b *Backend) PauseBefore(op Op, prefix string) *Pause {
	p := &Pause{op: op, prefix: prefix, reached: make(chan struct{}), released: make(chan struct{})}
	b.mu.Lock()
	b.pauses = append(b.pauses, p)
	b.mu.Unlock()
	return p
}

// Reached is closed when a call is held by the pause.
func (p *Pause) Reached() <-chan struct{} { return p.reached }

// Release lets the held call go on; released before a call reaches it, the
// pause lets that call pass at once. It may be called more than once.
func (p *Pause) Release() { p.once.Do(func() { close(p.released) }) }

// before runs the faults of a call of op on name: the pause, the rules and,
// for writes and deletes, the crash point. When it returns nil for a write
// or delete, the caller must call done with the operation's outcome. When
// it fails a write, cut says whether to read half of its input first.
func (b *Backend) before(ctx context.Context, op Op, name string) (cut bool, err error) {
	if err := b.hold(ctx, op, name); err != nil {
		return false, b.fail(op, name, err)
	}
	delay, cut, fail := b.match(op, name)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false, b.fail(op, name, ctx.Err())
		}
	}
	if fail != nil {
		return cut, b.fail(op, name, fail)
	}
	if op&(OpWrite|OpDelete) == 0 {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit >= 0 && b.writes+b.inflight >= b.limit {
		return false, b.fail(op, name, ErrCrashed)
	}
	b.inflight++
	return false, nil
}

// hold counts the call and waits at the first pause it matches, if any.
func (b *Backend) hold(ctx context.Context, op Op, name string) error {
	b.mu.Lock()
	b.calls[call{op, name}]++
	var pause *Pause
	for _, p := range b.pauses {
		if !p.claimed && p.op.matches(op) && strings.HasPrefix(name, p.prefix) {
			p.claimed, pause = true, p
			break
		}
	}
	b.mu.Unlock()
	if pause == nil {
		return nil
	}
	close(pause.reached)
	select {
	case <-pause.released:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// match runs the call through the rules: the delay to wait, whether to
// read half its input, and the error to fail it with (nil: none).
func (b *Backend) match(op Op, name string) (delay time.Duration, cut bool, fail error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.rules {
		if !r.Op.matches(op) || !strings.HasPrefix(name, r.Prefix) {
			continue
		}
		r.seen++
		if r.seen <= r.After || r.Times > 0 && r.seen > r.After+r.Times {
			continue
		}
		delay += r.Delay
		if r.Err != nil {
			return delay, r.Short, r.Err
		}
	}
	return delay, false, nil
}

// done records the outcome of a write or delete that before admitted.
func (b *Backend) done(err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inflight--
	if err == nil {
		b.writes++
	}
	return err
}

func (b *Backend) fail(op Op, name string, err error) error {
	if op == OpList {
		return fmt.Errorf("cannot list %q in %s: %w", name, b.be.Location(), err)
	}
	return fmt.Errorf("cannot %s %s in %s: %w", op.verb(), name, b.be.Location(), err)
}

// Location implements storage.Backend.
func (b *Backend) Location() string { return b.be.Location() }

// Put implements storage.Backend.
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	if err := b.beforeWrite(ctx, OpPut, name, size, r); err != nil {
		return err
	}
	return b.done(b.be.Put(ctx, name, size, r))
}

// Create implements storage.Backend.
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	if err := b.beforeWrite(ctx, OpCreate, name, size, r); err != nil {
		return err
	}
	return b.done(b.be.Create(ctx, name, size, r))
}

// beforeWrite is before for Put and Create: a failed write reads half its
// input first when its rule says so.
func (b *Backend) beforeWrite(ctx context.Context, op Op, name string, size int64, r io.Reader) error {
	cut, err := b.before(ctx, op, name)
	if cut {
		_, _ = io.CopyN(io.Discard, r, size/2)
	}
	return err
}

// StageFile implements storage.Backend: the wrapped backend's staging,
// without faults.
func (b *Backend) StageFile() (*os.File, error) { return b.be.StageFile() }

// PutStaged implements storage.Backend. A failed call removes the staged
// file, as the contract asks. A call cut off midway reads half the file
// from its start, leaving the file's offset there, as an upload that read
// the file would.
func (b *Backend) PutStaged(ctx context.Context, name string, f *os.File) error {
	cut, err := b.before(ctx, OpPutStaged, name)
	if err != nil {
		if cut {
			if st, serr := f.Stat(); serr == nil {
				if _, serr := f.Seek(0, io.SeekStart); serr == nil {
					_, _ = io.CopyN(io.Discard, f, st.Size()/2)
				}
			}
		}
		storage.DiscardStaged(f)
		return err
	}
	return b.done(b.be.PutStaged(ctx, name, f))
}

// Get implements storage.Backend.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	cut, err := b.before(ctx, OpGet, name)
	if err != nil && !cut {
		return nil, err
	}
	rc, gerr := b.be.Get(ctx, name, offset, length)
	if gerr != nil || err == nil {
		return rc, gerr
	}
	if length < 0 {
		info, serr := b.be.Stat(ctx, name)
		if serr != nil {
			rc.Close()
			return nil, serr
		}
		length = info.Size - offset
	}
	return &cutReader{rc: rc, left: length / 2, err: err}, nil
}

// cutReader hands out left bytes of a read, then fails with err.
type cutReader struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, c.err
	}
	n, err := c.rc.Read(p[:min(int64(len(p)), c.left)])
	c.left -= int64(n)
	if err == io.EOF {
		err = c.err // the cut comes first
	}
	return n, err
}

func (c *cutReader) Close() error { return c.rc.Close() }

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	if _, err := b.before(ctx, OpStat, name); err != nil {
		return storage.ObjectInfo{}, err
	}
	return b.be.Stat(ctx, name)
}

// List implements storage.Backend; rules and pauses match the prefix.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if _, err := b.before(ctx, OpList, prefix); err != nil {
		return err
	}
	return b.be.List(ctx, prefix, fn)
}

// Delete implements storage.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if _, err := b.before(ctx, OpDelete, name); err != nil {
		return err
	}
	return b.done(b.be.Delete(ctx, name))
}

// Close implements storage.Backend.
func (b *Backend) Close() error { return b.be.Close() }
