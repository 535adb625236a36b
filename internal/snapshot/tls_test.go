package snapshot

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	commonv1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/common/v1"
	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string // path of the PEM file of cert
}

// newCA makes a CA and writes its certificate to a PEM file.
func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: path}
}

// serverCert issues a certificate for 127.0.0.1.
func (ca *testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// fakeSnapshots answers every snapshot request with one measure snapshot;
// it stands in for a node only to test the TLS options.
type fakeSnapshots struct {
	databasev1.UnimplementedSnapshotServiceServer
}

func (fakeSnapshots) Snapshot(context.Context, *databasev1.SnapshotRequest) (*databasev1.SnapshotResponse, error) {
	return &databasev1.SnapshotResponse{Snapshots: []*databasev1.Snapshot{
		{Catalog: commonv1.Catalog_CATALOG_MEASURE, Name: "20261123193143-00000001"},
	}}, nil
}

// startTLSServer serves fakeSnapshots over gRPC with TLS and returns its
// address. It offers no GetAPIVersion: first contact must still work.
func startTLSServer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	databasev1.RegisterSnapshotServiceServer(srv, fakeSnapshots{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func TestGRPCTLS(t *testing.T) {
	ca, other := newCA(t, "ca"), newCA(t, "other")
	addr := startTLSServer(t, ca.serverCert(t))
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "trusted CA", opts: Options{TLS: true, CACert: ca.pem}},
		{name: "skip verify", opts: Options{TLS: true, InsecureSkipVerify: true}},
		{name: "untrusted CA", opts: Options{TLS: true, CACert: other.pem},
			wantErr: "over gRPC: TLS handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "system CAs", opts: Options{TLS: true}, wantErr: "TLS handshake failed"},
		{name: "plaintext", opts: Options{}, wantErr: "cannot reach BanyanDB node " + addr + " over gRPC"},
		{name: "missing CA file", opts: Options{TLS: true, CACert: filepath.Join(t.TempDir(), "none.pem")},
			wantErr: "cannot read CA certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Node = "grpc://" + addr
			tt.opts.ConnectTimeout = 2 * time.Second
			c, err := Dial(context.Background(), tt.opts)
			if tt.wantErr != "" {
				if err == nil {
					c.Close()
					t.Fatalf("Dial succeeded, want %q", tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			taken, err := c.Snapshot(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(taken) != 1 || taken[0].Catalog != banyandb.Measure {
				t.Errorf("Snapshot = %+v", taken)
			}
		})
	}
}

func TestGRPCTLSErrorIsUnreachable(t *testing.T) {
	ca, other := newCA(t, "ca"), newCA(t, "other")
	addr := startTLSServer(t, ca.serverCert(t))
	_, err := Dial(context.Background(), Options{Node: addr, TLS: true, CACert: other.pem, ConnectTimeout: 2 * time.Second})
	var uerr x509.UnknownAuthorityError
	if !errors.Is(err, ErrUnreachable) || !errors.As(err, &uerr) {
		t.Errorf("error %v is not an unreachable x509 error", err)
	}
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"version":{"version":"0.11","revision":"tls"}}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := srv.Listener.Addr().String()
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "trusted CA", opts: Options{Node: "https://" + addr, CACert: caPath}},
		{name: "skip verify", opts: Options{Node: "https://" + addr, InsecureSkipVerify: true}},
		{name: "untrusted", opts: Options{Node: "https://" + addr},
			wantErr: "cannot reach BanyanDB node " + addr + " over HTTP: TLS handshake failed: tls: failed to verify certificate"},
		{name: "plain http", opts: Options{Node: "http://" + addr}, wantErr: "cannot reach BanyanDB node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.ConnectTimeout = 2 * time.Second
			c, err := Dial(context.Background(), tt.opts)
			if tt.wantErr != "" {
				if err == nil {
					// A plain HTTP client gets an HTTP 400 from a TLS
					// server: reachable, but no call works.
					defer c.Close()
					if _, err = c.APIVersion(context.Background()); err == nil {
						t.Fatalf("APIVersion succeeded, want %q", tt.wantErr)
					}
					return
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			v, err := c.APIVersion(context.Background())
			if err != nil || v != (Version{"0.11", "tls"}) {
				t.Errorf("APIVersion = %+v, %v", v, err)
			}
		})
	}
}
