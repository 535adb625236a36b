package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// secretParts are put in repository and endpoint URLs and in the object
// stores' environment variables; none may be printed.
var secretParts = []string{"AKIAUSERSECRET", "PWSECRET", "QUERYSECRET", "ACCESSKEYSECRET", "FRAGSECRET",
	"SIGSECRET", "ENVSIGSECRET", "EPUSERSECRET", "EPPWSECRET", "CONNKEYSECRET"}

// closedAddr returns an address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestSecretsInURLsNeverPrinted gives every command that opens a
// repository (serve --check through its config) URLs with credentials in the user information, the query and
// the fragment (refused as written), and endpoints with credentials that
// reach no server (the SDKs' errors quote their request URLs), with and
// without --json: the commands fail, and print none of the secrets.
func TestSecretsInURLsNeverPrinted(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	dead := closedAddr(t)
	t.Setenv("AZURE_STORAGE_ACCOUNT", "acct")
	t.Setenv("AZURE_STORAGE_SAS_TOKEN", "?sv=2024-01-01&sig=ENVSIGSECRET")
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "CONNKEYSECRET")
	locations := [][]string{
		{"--repo", "s3://AKIAUSERSECRET:PWSECRET@bucket/prefix?secret=QUERYSECRET&access_key=ACCESSKEYSECRET#FRAGSECRET"},
		{"--repo", "s3://AKIAUSERSECRET:PW/SECRET@bucket/prefix"}, // url.Parse refuses it
		{"--repo", "azure://container/prefix?sv=2024-01-01&sig=SIGSECRET"},
		{"--repo", "gs://AKIAUSERSECRET@bucket/prefix#FRAGSECRET"},
		{"--repo", "file:///tmp/repo?token=QUERYSECRET#FRAGSECRET"},
		{"--repo", "https://AKIAUSERSECRET:PWSECRET@bad host/x?sig=SIGSECRET"},
		{"--repo", "s3://bucket/prefix", "--s3-endpoint", "http://EPUSERSECRET:EPPWSECRET@" + dead + "/?token=QUERYSECRET"},
		{"--repo", "s3://bucket/prefix", "--s3-endpoint", "http://EPUSERSECRET:EPPWSECRET@" + dead},
		{"--repo", "gs://bucket/prefix", "--gcs-endpoint", "http://EPUSERSECRET:EPPWSECRET@" + dead + "/?token=QUERYSECRET"},
		{"--repo", "azure://container/prefix", "--azure-endpoint", "http://EPUSERSECRET:EPPWSECRET@" + dead + "/?sig=SIGSECRET"},
	}
	commands := [][]string{
		{"init"}, {"backup", "--root", root}, {"list"}, {"show", "latest"}, {"verify"}, {"unlock"},
		{"restore", "latest", "--target", filepath.Join(t.TempDir(), "target")}, {"forget", "--keep-last", "1"}, {"prune"},
	}
	for _, loc := range locations {
		// serve --check opens the repositories its config names.
		config := filepath.Join(t.TempDir(), "serve.yaml")
		if err := os.WriteFile(config, []byte(fmt.Sprintf("jobs:\n  - name: j\n    source: {root: %s}\n    repositories: [{url: %q}]\n    schedule: \"@daily\"\n",
			root, loc[1])), 0o600); err != nil {
			t.Fatal(err)
		}
		serveCheck := append([]string{"serve", "--check", "--config", config}, loc[2:]...)
		for _, c := range append(commands, serveCheck) {
			for _, json := range []bool{false, true} {
				args := append(append([]string{}, c...), loc...)
				if c[0] == "serve" {
					args = append([]string{}, c...)
				}
				if json {
					args = append(args, "--json")
				}
				r := run(t, args...)
				if r.code == 0 {
					t.Errorf("%s: exit 0", strings.Join(args, " "))
				}
				for _, s := range secretParts {
					if strings.Contains(r.stdout+r.stderr, s) {
						t.Errorf("%s prints %s:\nstdout: %s\nstderr: %s", strings.Join(args, " "), s, r.stdout, r.stderr)
					}
				}
			}
		}
	}
}
