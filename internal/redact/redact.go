// Package redact keeps credentials out of what banyan-backup prints, logs
// and answers: the user information, query and fragment of a repository URL
// or an endpoint URL, and the secrets of the object stores' environment
// variables, wherever a message quotes them (an SDK's error may echo a
// request URL, with the query the credentials went into).
package redact

import (
	"net/url"
	"slices"
	"strings"
)

// Mark replaces what is hidden.
const Mark = "redacted"

// minSecret is the shortest secret replaced wherever it appears in a
// message: shorter values (a one-letter user name) would blank out ordinary
// words, and guard nothing.
const minSecret = 4

// secretWords, found anywhere in a query parameter's name, mark its value
// as a credential: X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
// client_secret, password...
var secretWords = [...]string{"secret", "token", "password", "passwd", "credential", "signature", "auth"}

// secretTokens mark it when they are a whole word of the name: sig (Azure
// SAS), pwd, session.
var secretTokens = [...]string{"sig", "pwd", "pass", "session"}

// URL returns a repository or endpoint URL fit to be shown: the user
// information, every query value and the fragment replaced by "redacted".
// A plain path (no "scheme://") is returned unchanged. It works on text
// url.Parse refuses as well.
func URL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	return redactURL(raw, true)
}

// parts are the pieces of a "scheme://..." string.
type parts struct {
	head                       string // "scheme://"
	userinfo                   string
	hostPath                   string
	query                      string
	frag                       string
	hasUser, hasQuery, hasFrag bool
}

// split cuts a "scheme://..." string into its parts without url.Parse,
// which refuses some of the strings users write (an AWS secret key may hold
// a "/"). The user information runs up to the last "@" before the query:
// an "@" in a path hides the path before it, which is safe.
func split(raw string) parts {
	i := strings.Index(raw, "://")
	p := parts{head: raw[:i+3]}
	rest := raw[i+3:]
	rest, p.frag, p.hasFrag = strings.Cut(rest, "#")
	rest, p.query, p.hasQuery = strings.Cut(rest, "?")
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		p.userinfo, rest, p.hasUser = rest[:at], rest[at+1:], true
	}
	p.hostPath = rest
	return p
}

// redactURL hides the user information and the fragment of a
// "scheme://..." string, and the values of its query parameters: all of
// them, or (allValues false) those whose names look like credentials.
func redactURL(raw string, allValues bool) string {
	p := split(raw)
	out := p.head
	if p.hasUser {
		out += Mark + "@"
	}
	out += p.hostPath
	if p.hasQuery {
		out += "?" + redactQuery(p.query, allValues)
	}
	switch {
	case p.hasFrag && p.frag != "":
		out += "#" + Mark
	case p.hasFrag:
		out += "#"
	}
	return out
}

// redactQuery replaces parameter values in a raw query, keeping its order
// and its names.
func redactQuery(query string, allValues bool) string {
	params := strings.Split(query, "&")
	for i, p := range params {
		name, value, ok := strings.Cut(p, "=")
		if !ok || value == "" {
			continue
		}
		if allValues || secretName(name) {
			params[i] = name + "=" + Mark
		}
	}
	return strings.Join(params, "&")
}

// secretName reports whether a parameter name looks like a credential's:
// it holds one of secretWords, is made of secretTokens, or ends in "key"
// (access_key, AccountKey; not max-keys).
func secretName(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	name = strings.ToLower(name)
	if strings.HasSuffix(name, "key") {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	words := strings.FieldsFunc(name, func(c rune) bool { return (c < 'a' || c > 'z') && (c < '0' || c > '9') })
	for _, w := range words {
		if slices.Contains(secretTokens[:], w) {
			return true
		}
	}
	return false
}

// Redactor hides known secrets, and the credentials of any URL, in text.
// The zero value hides only the credentials of URLs. It is not safe for
// concurrent use while secrets are added.
type Redactor struct {
	secrets []string
}

// New returns a Redactor that knows the secrets of the given URLs
// (AddURL).
func New(urls ...string) *Redactor {
	r := &Redactor{}
	for _, u := range urls {
		r.AddURL(u)
	}
	return r
}

// Clone returns a Redactor that hides what r hides, to which more secrets
// can be added; a nil r gives an empty one.
func (r *Redactor) Clone() *Redactor {
	if r == nil {
		return &Redactor{}
	}
	return &Redactor{secrets: slices.Clone(r.secrets)}
}

// Add makes r hide each secret wherever it appears, as written and
// URL-encoded. Secrets shorter than four characters are ignored.
func (r *Redactor) Add(secrets ...string) {
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if len(form) >= minSecret && !slices.Contains(r.secrets, form) {
				r.secrets = append(r.secrets, form)
			}
		}
	}
	// Longer first, so that a secret containing another is hidden whole.
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

// AddURL makes r hide the secrets of a URL: its user name and password,
// its query (whole and each value) and its fragment. A plain path has
// none.
func (r *Redactor) AddURL(raw string) {
	if !strings.Contains(raw, "://") {
		return
	}
	p := split(raw)
	if p.hasUser {
		user, pass, _ := strings.Cut(p.userinfo, ":")
		r.Add(p.userinfo, user, pass)
		r.addDecoded(user, pass)
	}
	r.Add(p.query, p.frag)
	r.addDecoded(p.frag)
	r.AddQuery(p.query, true)
}

// AddQuery makes r hide the values of a query string (an Azure SAS token,
// say): all of them, or (all false) those whose names look like
// credentials'.
func (r *Redactor) AddQuery(query string, all bool) {
	for _, p := range strings.Split(query, "&") {
		name, value, ok := strings.Cut(p, "=")
		if ok && (all || secretName(name)) {
			r.Add(value)
			r.addDecoded(value)
		}
	}
}

// addDecoded adds the percent-decoded forms of values that have one.
func (r *Redactor) addDecoded(values ...string) {
	for _, v := range values {
		if d, err := url.PathUnescape(v); err == nil && d != v {
			r.Add(d)
		}
		if d, err := url.QueryUnescape(v); err == nil && d != v {
			r.Add(d)
		}
	}
}

// String returns text with every known secret replaced by "redacted", and
// in every "scheme://..." URL it quotes, the user information, the fragment
// and the values of query parameters named like credentials replaced too.
// A nil Redactor does the latter only.
func (r *Redactor) String(text string) string {
	if r != nil {
		for _, s := range r.secrets {
			text = strings.ReplaceAll(text, s, Mark)
		}
	}
	return redactURLsIn(text)
}

// redactURLsIn redacts every "scheme://..." run of text, up to a space or a
// quote.
func redactURLsIn(text string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, "://")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		start := i
		for start > 0 && schemeChar(text[start-1]) {
			start--
		}
		end := i + 3
		for end < len(text) && !urlEnd(text[end]) {
			end++
		}
		b.WriteString(text[:start])
		if start == i {
			b.WriteString(text[start:end]) // no scheme: not a URL
		} else {
			b.WriteString(redactURL(text[start:end], false))
		}
		text = text[end:]
	}
}

func schemeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

// urlEnd reports whether c ends a URL quoted in a message.
func urlEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}

// AddEnv makes r hide the credentials the object stores read from the
// environment (getenv is os.Getenv): AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN (whole, and
// its signature), and the account key and signature of
// AZURE_STORAGE_CONNECTION_STRING. The Azure SDK quotes a SAS token's
// signature in the request URLs of its errors.
func (r *Redactor) AddEnv(getenv func(string) string) {
	r.Add(getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"), getenv("AZURE_STORAGE_KEY"))
	sas := strings.TrimPrefix(getenv("AZURE_STORAGE_SAS_TOKEN"), "?")
	r.Add(sas)
	r.AddQuery(sas, false)
	for _, kv := range strings.Split(getenv("AZURE_STORAGE_CONNECTION_STRING"), ";") {
		name, value, _ := strings.Cut(kv, "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "accountkey":
			r.Add(value)
		case "sharedaccesssignature":
			r.Add(value)
			r.AddQuery(value, false)
		}
	}
}
