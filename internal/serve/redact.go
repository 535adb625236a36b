package serve

import (
	"net/url"
	"strings"
)

// secretWords mark URL query parameters whose values are credentials.
var secretWords = []string{"secret", "key", "token", "password", "passwd", "sig", "credential", "auth"}

// RedactURL returns a repository URL fit for logs, metrics and API
// answers: no password or user in it, and the values of query parameters
// that look like credentials replaced by "redacted". A plain path is
// returned unchanged.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable repository URL)"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	q := u.Query()
	changed := false
	for k := range q {
		lk := strings.ToLower(k)
		for _, w := range secretWords {
			if strings.Contains(lk, w) {
				q.Set(k, "redacted")
				changed = true
				break
			}
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
