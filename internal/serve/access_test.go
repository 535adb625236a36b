package serve

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// idleServer is a server with one job that never fires on its own.
func idleServer(t *testing.T) *Server {
	t.Helper()
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: j
    source: {root: %s}
    repositories: [{name: local, url: %s}]
    schedule: "@yearly"
`, t.TempDir(), filepath.Join(t.TempDir(), "repo")))
	srv := New(cfg, Options{})
	t.Cleanup(func() { srv.Close(); srv.Wait() })
	return srv
}

// call sends a request to h with the given Host and headers.
func call(h http.Handler, method, host, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.Host = host
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// A page of another site cannot make a browser start a backup or read
// anything: a request whose Origin is not the server is refused on every
// path, and no answer carries CORS headers. A page of the server itself
// (same origin) is served.
func TestForeignOriginRefused(t *testing.T) {
	srv := idleServer(t)
	h := srv.Handler(Access{NoAuth: true})
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/v1/jobs/j/run"}, {"GET", "/api/v1/jobs"}, {"GET", "/api/v1/jobs/j/backups"}, {"GET", "/metrics"}, {"GET", "/healthz"},
	} {
		for _, origin := range []string{"http://evil.example", "null", "http://127.0.0.1:9999"} {
			rec := call(h, c.method, "127.0.0.1:9108", c.path, map[string]string{"Origin": origin})
			if rec.Code != http.StatusForbidden {
				t.Errorf("%s %s with Origin %s: %d, want 403", c.method, c.path, origin, rec.Code)
			}
		}
	}
	if srv.Jobs()[0].Running || strings.Contains(scrape(t, h), `banyan_backup_runs_total{backup_job="j",trigger="api"} 1`) {
		t.Error("a cross-origin POST started a run")
	}
	rec := call(h, "GET", "127.0.0.1:9108", "/api/v1/jobs", map[string]string{"Origin": "http://127.0.0.1:9108"})
	if rec.Code != http.StatusOK {
		t.Errorf("same-origin request: %d, want 200", rec.Code)
	}
	for k := range rec.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("the answer carries %s", k)
		}
	}
}

// DNS rebinding: a request whose Host is a name other than localhost, the
// listen host or an allowed host is refused on the API; IP addresses are
// accepted. /metrics and /healthz stay open.
func TestForeignHostRefused(t *testing.T) {
	srv := idleServer(t)
	h := srv.Handler(Access{NoAuth: true, Hosts: []string{"backup.internal"}})
	for host, want := range map[string]int{
		"evil.example:9108": http.StatusForbidden, "evil.example": http.StatusForbidden, "": http.StatusForbidden,
		"localhost:9108": http.StatusOK, "127.0.0.1:9108": http.StatusOK, "[::1]:9108": http.StatusOK,
		"10.1.2.3": http.StatusOK, "BACKUP.internal:9108": http.StatusOK,
	} {
		for _, path := range []string{"/api/v1/jobs", "/api/v1/jobs/j/backups"} {
			if rec := call(h, "GET", host, path, nil); rec.Code != want {
				t.Errorf("GET %s with Host %q: %d, want %d", path, host, rec.Code, want)
			}
		}
	}
	if rec := call(h, "POST", "evil.example", "/api/v1/jobs/j/run", nil); rec.Code != http.StatusForbidden {
		t.Errorf("POST with a foreign Host: %d, want 403", rec.Code)
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if rec := call(h, "GET", "prometheus.scrapes.by.name:9108", path, nil); rec.Code != http.StatusOK {
			t.Errorf("GET %s by a DNS name: %d, want 200", path, rec.Code)
		}
	}
}

// With a token, the API answers 401 without it or with another; /metrics
// and /healthz need none.
func TestTokenRequired(t *testing.T) {
	srv := idleServer(t)
	const token = "0123456789abcdef0123"
	h := srv.Handler(Access{Token: token})
	for name, header := range map[string]map[string]string{
		"no token":    nil,
		"wrong token": {"Authorization": "Bearer 0123456789abcdef0124"},
		"prefix":      {"Authorization": "Bearer " + token[:10]},
		"basic":       {"Authorization": "Basic " + token},
	} {
		for _, c := range []struct{ method, path string }{{"GET", "/api/v1/jobs"}, {"POST", "/api/v1/jobs/j/run"}, {"GET", "/api/v1/jobs/j/backups"}} {
			rec := call(h, c.method, "127.0.0.1:9108", c.path, header)
			if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s, %s: %d, want 401 with WWW-Authenticate", c.method, c.path, name, rec.Code)
			}
		}
	}
	if rec := call(h, "GET", "127.0.0.1:9108", "/api/v1/jobs", map[string]string{"Authorization": "Bearer " + token}); rec.Code != http.StatusOK {
		t.Errorf("with the token: %d, want 200", rec.Code)
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if rec := call(h, "GET", "127.0.0.1:9108", path, nil); rec.Code != http.StatusOK {
			t.Errorf("GET %s without a token: %d, want 200", path, rec.Code)
		}
	}
}

// writeToken writes a token file.
func writeToken(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Without a token or a client CA, serve listens on a loopback address
// only, unless told --insecure-no-auth.
func TestPrepare(t *testing.T) {
	good := writeToken(t, "0123456789abcdef0123\n")
	for _, c := range []struct {
		listen string
		sec    Security
		want   error // nil: no error
		noAuth bool
	}{
		{"127.0.0.1:9108", Security{}, nil, true},
		{"localhost:9108", Security{}, nil, true},
		{"[::1]:9108", Security{}, nil, true},
		{"0.0.0.0:9108", Security{}, ErrNoAuth, false},
		{":9108", Security{}, ErrNoAuth, false},
		{"10.0.0.5:9108", Security{}, ErrNoAuth, false},
		{"0.0.0.0:9108", Security{InsecureNoAuth: true}, nil, true},
		{"0.0.0.0:9108", Security{TokenFile: good}, nil, false},
		{"127.0.0.1:9108", Security{TokenFile: good}, nil, false},
	} {
		a, _, err := c.sec.Prepare(c.listen)
		switch {
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s %+v: error %v, want %v", c.listen, c.sec, err, c.want)
		case c.want == nil && err != nil:
			t.Errorf("%s %+v: %v", c.listen, c.sec, err)
		case err == nil && a.NoAuth != c.noAuth:
			t.Errorf("%s %+v: NoAuth %v, want %v", c.listen, c.sec, a.NoAuth, c.noAuth)
		}
	}
	a, _, err := Security{TokenFile: good, AllowedHosts: []string{"b.example"}}.Prepare("backup.svc:9108")
	if err != nil || a.Token != "0123456789abcdef0123" || !a.hostAllowed("backup.svc") || !a.hostAllowed("b.example:1") {
		t.Errorf("token %q, hosts %v: %v", a.Token, a.Hosts, err)
	}
	for _, bad := range []Security{
		{TokenFile: writeToken(t, "short")},
		{TokenFile: writeToken(t, "0123456789abcdef 0123")},
		{TokenFile: filepath.Join(t.TempDir(), "missing")},
		{TLSCert: "x.pem"},
		{TLSClientCA: "ca.pem"},
	} {
		if _, _, err := bad.Prepare("127.0.0.1:9108"); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}

// certs is a CA with a server and a client certificate, in PEM files.
type certs struct {
	caPEM, serverCert, serverKey string
	client                       tls.Certificate
	pool                         *x509.CertPool
}

// newCerts makes a CA, a server certificate for 127.0.0.1 and a client
// certificate.
func newCerts(t *testing.T) certs {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	c := certs{caPEM: writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER), pool: x509.NewCertPool()}
	c.pool.AddCert(ca)
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	der, key := issue(2, x509.ExtKeyUsageServerAuth)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	c.serverCert = writePEM(t, dir, "server.pem", "CERTIFICATE", der)
	c.serverKey = writePEM(t, dir, "server-key.pem", "EC PRIVATE KEY", keyDER)
	der, key = issue(3, x509.ExtKeyUsageClientAuth)
	c.client = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return c
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// With mutual TLS, a client certificate the CA signed authorizes the API;
// without one the API answers 401, while /metrics and /healthz answer.
func TestClientCertificates(t *testing.T) {
	c := newCerts(t)
	access, tc, err := Security{TLSCert: c.serverCert, TLSKey: c.serverKey, TLSClientCA: c.caPEM}.Prepare("0.0.0.0:9108")
	if err != nil {
		t.Fatal(err)
	}
	if access.NoAuth || !access.ClientCerts {
		t.Fatalf("access %+v", access)
	}
	ts := httptest.NewUnstartedServer(idleServer(t).Handler(access))
	ts.TLS = tc
	ts.StartTLS()
	defer ts.Close()
	get := func(path string, cert *tls.Certificate) int {
		cfg := &tls.Config{RootCAs: c.pool, MinVersion: tls.VersionTLS12}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := client.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if code := get("/api/v1/jobs", nil); code != http.StatusUnauthorized {
		t.Errorf("no client certificate: %d, want 401", code)
	}
	if code := get("/api/v1/jobs", &c.client); code != http.StatusOK {
		t.Errorf("with the client certificate: %d, want 200", code)
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if code := get(path, nil); code != http.StatusOK {
			t.Errorf("GET %s without a client certificate: %d, want 200", path, code)
		}
	}
}
