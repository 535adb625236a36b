package serve

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
)

// Access says who may use the API (/api/..., and every path but /metrics,
// /healthz and /readyz) and through which host names (docs/serve.md,
// "Security"). /metrics, /healthz and /readyz are open to anyone who reaches
// them, but like every path they refuse cross-origin requests.
type Access struct {
	// Token, when not empty, authorizes an API request that carries
	// "Authorization: Bearer <Token>".
	Token string
	// ClientCerts authorizes an API request made over TLS with a client
	// certificate the server verified (mutual TLS).
	ClientCerts bool
	// NoAuth serves the API to whoever reaches it: a loopback listener
	// without a token or client CA, or --insecure-no-auth.
	NoAuth bool
	// Hosts are the names an API request's Host header may give besides IP
	// addresses and localhost: the listen address's host name and the
	// allowed hosts. Other names are refused, against DNS rebinding.
	Hosts []string
}

// openPath reports the paths that need no credentials and take any Host:
// scrapers and probes reach them by whatever name. They hold no secret
// (readiness names jobs, repositories and failure kinds, never an error's
// text).
func openPath(p string) bool {
	switch p {
	case "/metrics", "/healthz", "/readyz":
		return true
	}
	return false
}

// guard enforces a on every request before next sees it.
func (a Access) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-origin request refused: Origin " + origin + " is not this server"})
			return
		}
		if !openPath(r.URL.Path) { // the API, and any path yet to come
			if !a.hostAllowed(r.Host) {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "host " + r.Host + " refused: use the server's address, or add the name to --allowed-hosts"})
				return
			}
			if !a.authorized(r) {
				if a.Token != "" {
					w.Header().Set("WWW-Authenticate", `Bearer realm="banyan-backup"`)
				}
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized: give the token as 'Authorization: Bearer TOKEN' or a client certificate"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin reports whether an Origin header names the host the request
// was sent to: a page of this server, not of another site.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// hostAllowed reports whether the Host header names this server: an IP
// address (no DNS is involved, so no rebinding), localhost, or one of
// a.Hosts.
func (a Access) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
		return true
	}
	return slices.ContainsFunc(a.Hosts, func(h string) bool { return strings.EqualFold(h, host) })
}

// authorized reports whether a request may use the API.
func (a Access) authorized(r *http.Request) bool {
	if a.NoAuth {
		return true
	}
	if a.ClientCerts && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	if a.Token == "" {
		return false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(a.Token)) == 1
}

// Security is how serve's HTTP listener is secured: the config's keys,
// overridden by serve's flags.
type Security struct {
	// TokenFile holds the bearer token of the API (surrounding white space
	// is dropped).
	TokenFile string
	// TLSCert and TLSKey make the listener serve HTTPS; TLSClientCA adds
	// mutual TLS: client certificates it signed authorize API requests.
	TLSCert, TLSKey, TLSClientCA string
	// AllowedHosts are host names API requests may use besides IP
	// addresses, localhost and the listen address's host.
	AllowedHosts []string
	// InsecureNoAuth serves the API without authentication on an address
	// that is not a loopback one.
	InsecureNoAuth bool
}

// ErrNoAuth is wrapped by Prepare's error for a listener reachable from
// other machines with no authentication configured.
var ErrNoAuth = errors.New("the API would be open to the network")

// minToken is the shortest token accepted: 16 characters.
const minToken = 16

// Prepare reads the token and certificates and returns the API's Access
// for a listener on listen, and the listener's TLS configuration (nil:
// plain HTTP). A listen address that is not a loopback one needs a token
// or a client CA, unless InsecureNoAuth (ErrNoAuth).
func (sec Security) Prepare(listen string) (Access, *tls.Config, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return Access{}, nil, fmt.Errorf("cannot use listen address %q: %w", listen, err)
	}
	a := Access{Hosts: slices.Clone(sec.AllowedHosts)}
	if host != "" && net.ParseIP(host) == nil {
		a.Hosts = append(a.Hosts, host)
	}
	if sec.TokenFile != "" {
		if a.Token, err = readToken(sec.TokenFile); err != nil {
			return Access{}, nil, err
		}
	}
	tc, err := sec.tlsConfig()
	if err != nil {
		return Access{}, nil, err
	}
	a.ClientCerts = tc != nil && tc.ClientCAs != nil
	if a.Token == "" && !a.ClientCerts {
		if !loopback(host) && !sec.InsecureNoAuth {
			return Access{}, nil, fmt.Errorf("cannot listen on %s: %w: give --token-file or --tls-client-ca (token_file, tls_client_ca), "+
				"listen on 127.0.0.1, or pass --insecure-no-auth", listen, ErrNoAuth)
		}
		a.NoAuth = true
	}
	return a, tc, nil
}

// readToken reads a bearer token file.
func readToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read token file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	switch {
	case len(token) < minToken:
		return "", fmt.Errorf("cannot use token file %s: the token has %d characters, want at least %d (e.g. openssl rand -hex 32)", path, len(token), minToken)
	case strings.ContainsAny(token, " \t\r\n"):
		return "", fmt.Errorf("cannot use token file %s: the token holds white space; write one token on one line", path)
	}
	return token, nil
}

// tlsConfig returns the listener's TLS configuration, nil without a
// certificate. Client certificates are asked for but not required, so that
// /metrics and /healthz stay open to scrapers and probes without one.
func (sec Security) tlsConfig() (*tls.Config, error) {
	switch {
	case sec.TLSCert == "" && sec.TLSKey == "" && sec.TLSClientCA == "":
		return nil, nil
	case sec.TLSCert == "" || sec.TLSKey == "":
		return nil, errors.New("cannot serve TLS: give both --tls-cert and --tls-key (tls_cert, tls_key); mutual TLS needs them too")
	}
	cert, err := tls.LoadX509KeyPair(sec.TLSCert, sec.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("cannot load TLS certificate: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if sec.TLSClientCA != "" {
		pem, err := os.ReadFile(sec.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("cannot read client CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cannot read client CA certificate: no PEM certificate in %s", sec.TLSClientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// loopback reports whether a listen host is reachable from this machine
// only: localhost or a loopback address. An empty host listens everywhere.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
