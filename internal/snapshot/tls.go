package snapshot

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// tlsConfig returns the client TLS configuration of opts for a server named
// host.
func tlsConfig(opts Options, host string) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         host,
		InsecureSkipVerify: opts.InsecureSkipVerify, //nolint:gosec // the user asked for it
	}
	if opts.CACert != "" {
		pem, err := os.ReadFile(opts.CACert)
		if err != nil {
			return nil, fmt.Errorf("cannot read CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cannot read CA certificate: no PEM certificate in %s", opts.CACert)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// handshakeError marks an error of the TLS handshake.
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// isTLSError reports whether err comes from a TLS handshake: a certificate
// that does not verify, an alert, or a peer that does not speak TLS.
func isTLSError(err error) bool {
	return tlsCause(err) != nil
}

// tlsCause returns the TLS part of err, nil if there is none.
func tlsCause(err error) error {
	var (
		he      *handshakeError
		verr    *tls.CertificateVerificationError
		rec     tls.RecordHeaderError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &he):
		return he.err
	case errors.As(err, &verr):
		return verr
	case errors.As(err, &rec):
		return rec
	case errors.As(err, &alert):
		return alert
	case errors.As(err, &unknown):
		return unknown
	case errors.As(err, &host):
		return host
	case errors.As(err, &invalid):
		return invalid
	}
	return nil
}

// isRefused reports whether err is a refused connection.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
