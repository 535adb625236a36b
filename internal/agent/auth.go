package agent

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// MinTokenLength is the shortest token the agent accepts: 32 characters,
// what `head -c 32 /dev/urandom | base64` gives and more.
const MinTokenLength = 32

// tokenFile is the agent's token, read from a file and read again when the
// file changes (size or modification time), so that a secret can be
// rotated without a restart. Safe for concurrent use.
type tokenFile struct {
	path string
	mu   sync.Mutex
	size int64
	mod  time.Time
	tok  []byte
}

// newTokenFile reads path and checks the token.
func newTokenFile(path string) (*tokenFile, error) {
	t := &tokenFile{path: path}
	if _, err := t.current(); err != nil {
		return nil, err
	}
	return t, nil
}

// current returns the token, reading the file again if it changed. When
// the file becomes unreadable or its token too short, the error refuses
// every request until it is fixed.
func (t *tokenFile) current() ([]byte, error) {
	info, err := os.Stat(t.path)
	if err != nil {
		return nil, fmt.Errorf("cannot read token file: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && info.Size() == t.size && info.ModTime().Equal(t.mod) {
		return t.tok, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return nil, fmt.Errorf("cannot read token file: %w", err)
	}
	tok := bytes.TrimSpace(b)
	if len(tok) < MinTokenLength {
		return nil, fmt.Errorf("cannot use token file %s: the token has %d characters, fewer than %d (make one with `head -c 32 /dev/urandom | base64`)", t.path, len(tok), MinTokenLength)
	}
	t.tok, t.size, t.mod = tok, info.Size(), info.ModTime()
	return tok, nil
}

// errUnauthorized is the refusal of a request without the right token.
var errUnauthorized = errors.New("unauthorized")

// check reports whether the request carries the token as
// "Authorization: Bearer <token>" (the scheme in any case).
func (t *tokenFile) check(r *http.Request) error {
	want, err := t.current()
	if err != nil {
		return err
	}
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return errUnauthorized
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
		return errUnauthorized
	}
	return nil
}

// requireToken refuses, before any routing, every request that does not
// carry the token: 401 with WWW-Authenticate and an empty body, whatever
// its path, so that nothing of the API answers without it. onRefuse, if
// set, is told of each refusal (for logs).
func requireToken(t *tokenFile, next http.Handler, onRefuse func(*http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := t.check(r); err != nil {
			if onRefuse != nil {
				onRefuse(r, err)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="banyan-backup agent"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
