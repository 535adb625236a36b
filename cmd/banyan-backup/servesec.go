package main

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/serve"
)

// secFlags are serve's flags that secure its HTTP listener; each
// overrides the config key of the same meaning.
type secFlags struct {
	sec   serve.Security
	flags *cobra.Command
}

func (s *secFlags) add(cmd *cobra.Command) {
	s.flags = cmd
	f := cmd.Flags()
	f.StringVar(&s.sec.TokenFile, "token-file", "", "file holding the bearer token the API requires (config: token_file)")
	f.StringVar(&s.sec.TLSCert, "tls-cert", "", "PEM certificate: serve HTTPS (config: tls_cert)")
	f.StringVar(&s.sec.TLSKey, "tls-key", "", "PEM private key of --tls-cert (config: tls_key)")
	f.StringVar(&s.sec.TLSClientCA, "tls-client-ca", "", "PEM CA certificates: client certificates they signed may use the API, mutual TLS (config: tls_client_ca)")
	f.StringSliceVar(&s.sec.AllowedHosts, "allowed-hosts", nil, "host names the API may be reached by besides IP addresses, localhost and the --listen host (config: allowed_hosts)")
	f.BoolVar(&s.sec.InsecureNoAuth, "insecure-no-auth", false, "serve the API without authentication on an address other machines reach")
}

// security merges the config's keys and the flags given.
func (s *secFlags) security(cfg *serve.Config) serve.Security {
	out := serve.Security{TokenFile: cfg.TokenFile, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey, TLSClientCA: cfg.TLSClientCA,
		AllowedHosts: cfg.AllowedHosts, InsecureNoAuth: s.sec.InsecureNoAuth}
	f := s.flags.Flags()
	for _, o := range []struct {
		flag     string
		dst, src *string
	}{{"token-file", &out.TokenFile, &s.sec.TokenFile}, {"tls-cert", &out.TLSCert, &s.sec.TLSCert},
		{"tls-key", &out.TLSKey, &s.sec.TLSKey}, {"tls-client-ca", &out.TLSClientCA, &s.sec.TLSClientCA}} {
		if f.Changed(o.flag) {
			*o.dst = *o.src
		}
	}
	if f.Changed("allowed-hosts") {
		out.AllowedHosts = s.sec.AllowedHosts
	}
	return out
}

// listen opens serve's listener, with TLS when configured (tlsOn), and
// returns the API's access rules. A problem with the security settings is
// a usage error.
func (s *secFlags) listen(cfg *serve.Config, addr string) (ln net.Listener, access serve.Access, tlsOn bool, err error) {
	access, tc, err := s.security(cfg).Prepare(addr)
	if err != nil {
		return nil, serve.Access{}, false, usageError{err}
	}
	if ln, err = net.Listen("tcp", addr); err != nil {
		return nil, serve.Access{}, false, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	return ln, access, tc != nil, nil
}

// authName says how the API is authenticated, for the logs.
func authName(a serve.Access) string {
	switch {
	case a.NoAuth:
		return "none"
	case a.Token != "" && a.ClientCerts:
		return "token or client certificate"
	case a.ClientCerts:
		return "client certificate"
	}
	return "token"
}
