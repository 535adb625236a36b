package gcs_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
	"github.com/banyan-backup/banyan-backup/internal/storage/gcs"
)

const testAccount = "backup@test-project.iam.gserviceaccount.com"

// tokenServer stands for Google's OAuth token endpoint: it grants the
// token "tok-1" to a signed JWT assertion of testAccount that asks for
// the storage scopes.
func tokenServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var claims struct{ Iss, Scope string }
		parts := strings.Split(r.PostFormValue("assertion"), ".")
		if len(parts) == 3 {
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			_ = json.Unmarshal(payload, &claims)
		}
		if r.PostFormValue("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || claims.Iss != testAccount ||
			!strings.Contains(claims.Scope, "https://www.googleapis.com/auth/devstorage.read_write") {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// keyFile writes a service account's key file whose tokens come from
// tokenURL.
func keyFile(t *testing.T, tokenURL string) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "test-project", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": testAccount, "client_id": "1", "token_uri": tokenURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// With a key file, every request to the store carries the token the
// account's key was exchanged for: the client built over the
// idle-failing transport keeps Google's authorization.
func TestCredentialsFileAuthorizes(t *testing.T) {
	endpoint := cloudtest.GCS(t)
	bucket := cloudtest.NewGCSBucket(t, endpoint)
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var auths []string
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	be, err := gcs.Open(t.Context(), bucket, "repo", gcs.Options{Endpoint: front.URL, CredentialsFile: keyFile(t, tokenServer(t).URL)})
	if err != nil {
		t.Fatal(err)
	}
	if err := be.Put(t.Context(), "data/x", 5, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auths) < 2 {
		t.Fatalf("%d requests reached the store, want the open's and the put's", len(auths))
	}
	for i, a := range auths {
		if a != "Bearer tok-1" {
			t.Errorf("request %d: Authorization %q, want the account's token", i+1, a)
		}
	}
}
