package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
)

// objectStore is one of the test servers that scripts/test-servers.sh
// starts, seen from the CLI.
type objectStore struct {
	name string
	// setup sets the credentials in the environment and returns the URL
	// of a fresh, empty repository location and the flags that reach it.
	setup func(t *testing.T) (url string, flags []string)
	// credentials sets the good credentials in the environment.
	credentials func(t *testing.T)
	// badCredentials, when set, replaces the credentials with wrong ones
	// (fake-gcs-server checks none).
	badCredentials func(t *testing.T)
	// opts opens the location from the test itself, with the good
	// credentials in the environment.
	opts func() backends.Options
	// missing is the URL of a bucket that does not exist.
	missing string
}

func objectStores() []objectStore {
	return []objectStore{
		{
			name: "s3",
			setup: func(t *testing.T) (string, []string) {
				srv := cloudtest.S3(t)
				setAWS(t, srv.AccessKey, srv.SecretKey)
				return "s3://" + srv.NewBucket(t) + "/backups/node-1", []string{"--s3-endpoint", srv.Endpoint}
			},
			credentials: func(t *testing.T) {
				srv := cloudtest.S3(t)
				setAWS(t, srv.AccessKey, srv.SecretKey)
			},
			badCredentials: func(t *testing.T) {
				srv := cloudtest.S3(t)
				setAWS(t, srv.AccessKey, "not-the-secret-4711")
			},
			opts: func() backends.Options {
				var o backends.Options
				o.S3.Endpoint = os.Getenv("BANYAN_TEST_S3_ENDPOINT")
				return o
			},
			missing: "s3://no-such-bucket-4711/repo",
		},
		{
			name: "gcs",
			setup: func(t *testing.T) (string, []string) {
				endpoint := cloudtest.GCS(t)
				return "gs://" + cloudtest.NewGCSBucket(t, endpoint) + "/backups", []string{"--gcs-endpoint", endpoint}
			},
			opts: func() backends.Options {
				var o backends.Options
				o.GCS.Endpoint = os.Getenv("BANYAN_TEST_GCS_ENDPOINT")
				return o
			},
			missing: "gs://no-such-bucket-4711/repo",
		},
		{
			name: "azure",
			setup: func(t *testing.T) (string, []string) {
				srv := cloudtest.Azure(t)
				t.Setenv("AZURE_STORAGE_ACCOUNT", srv.Account)
				t.Setenv("AZURE_STORAGE_KEY", srv.Key)
				return "azure://" + srv.NewContainer(t) + "/backups", []string{"--azure-endpoint", srv.Endpoint}
			},
			credentials: func(t *testing.T) {
				t.Setenv("AZURE_STORAGE_KEY", cloudtest.Azure(t).Key)
			},
			badCredentials: func(t *testing.T) {
				t.Setenv("AZURE_STORAGE_KEY", "bm90LXRoZS1rZXktNDcxMS1ub3QtdGhlLWtleQ==")
			},
			opts: func() backends.Options {
				var o backends.Options
				o.Azure.Endpoint = os.Getenv("BANYAN_TEST_AZURE_ENDPOINT")
				return o
			},
			missing: "azure://no-such-container-4711/repo",
		},
	}
}

// setAWS gives the AWS SDK these credentials and nothing from the user's
// own configuration.
func setAWS(t *testing.T, access, secret string) {
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// TestObjectStoreRoundTrip backs both fixtures up into each object store,
// backs one up again (incrementally), verifies every pack and restores.
func TestObjectStoreRoundTrip(t *testing.T) {
	for _, st := range objectStores() {
		for _, enc := range encryptions {
			t.Run(st.name+"/"+enc.name, func(t *testing.T) {
				objectStoreRoundTrip(t, st, enc)
			})
		}
	}
}

// encryption is how a test's repository is made and opened: its init
// flags, and the flags every command then needs.
type encryption struct {
	name         string
	init, access func(t *testing.T) []string
}

// encryptions are a plain and an encrypted repository.
var encryptions = []encryption{
	{"plain", func(*testing.T) []string { return nil }, func(*testing.T) []string { return nil }},
	{"encrypted", func(t *testing.T) []string {
		return []string{"--encrypt", "--kdf-memory", "8", "--kdf-time", "1"}
	}, func(t *testing.T) []string {
		return []string{"--password-file", testPasswordFile(t)}
	}},
}

// testPasswordFile writes the tests' repository password into a file.
func testPasswordFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(binary), "password")
	if err := os.WriteFile(path, []byte("test password 4711\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// objectStoreRoundTrip backs up both fixtures into a fresh repository on st,
// the second twice, restores each and verifies the repository.
func objectStoreRoundTrip(t *testing.T, st objectStore, enc encryption) {
	repo, flags := st.setup(t)
	flags = append(flags, enc.access(t)...)
	with := func(args ...string) []string { return append(args, flags...) }
	mustRun(t, with(append([]string{"init", "--repo", repo}, enc.init(t)...)...)...)
	for i, name := range []string{fixture.V0102, fixture.V011} {
		root := fixtureRoot(t, name)
		b := backupJSONOf(t, repo, root, flags...)
		if b.FilesRead != b.Files || b.BytesRead != b.BytesTotal {
			t.Errorf("%s: first backup read %d of %d files", name, b.FilesRead, b.Files)
		}
		if i == 1 {
			again := backupJSONOf(t, repo, root, flags...)
			if again.FilesRead != 0 || again.FilesUnchanged != b.Files {
				t.Errorf("incremental backup read %d files, %d unchanged; want 0 and %d", again.FilesRead, again.FilesUnchanged, b.Files)
			}
			if limit := b.BytesTotal / 100; again.BytesAdded >= limit {
				t.Errorf("incremental backup added %d bytes, want < %d", again.BytesAdded, limit)
			}
			b = again
		}
		target := filepath.Join(t.TempDir(), "restored")
		mustRun(t, with("restore", b.ID, "--repo", repo, "--target", target)...)
		compareTrees(t, root, target)
	}
	mustRun(t, with("verify", "--repo", repo, "--read-data")...)
	out := mustRun(t, with("list", "--repo", repo, "--json")...)
	if n := strings.Count(out, `"id"`); n != 3 {
		t.Errorf("list shows %d backups, want 3:\n%s", n, out)
	}
}

// TestObjectStoreErrors: wrong credentials and missing buckets fail fast,
// with one line naming the location and the cause, exit 1, nothing written.
func TestObjectStoreErrors(t *testing.T) {
	for _, st := range objectStores() {
		t.Run(st.name, func(t *testing.T) {
			repo, flags := st.setup(t)
			with := func(args ...string) []string { return append(args, flags...) }

			start := time.Now()
			r := run(t, with("init", "--repo", st.missing)...)
			if r.code != 1 || !strings.Contains(r.stderr, "does not exist") ||
				!strings.Contains(r.stderr, strings.SplitN(st.missing, "/repo", 2)[0]) {
				t.Errorf("init in a missing bucket: exit %d, stderr %q; want 1 and a message naming it", r.code, r.stderr)
			}
			// Fast by design: permanent errors are not retried (the
			// retry package's tests count the attempts).
			t.Logf("init in a missing bucket failed in %v", time.Since(start))

			if st.badCredentials == nil {
				return
			}
			st.badCredentials(t)
			start = time.Now()
			r = run(t, with("init", "--repo", repo)...)
			if r.code != 1 || !strings.Contains(r.stderr, "access denied") || !strings.Contains(r.stderr, repo[:strings.Index(repo, "/backups")]) ||
				strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || strings.Contains(r.stderr, "4711") {
				t.Errorf("init with wrong credentials: exit %d, stderr %q; want 1 and one line saying access is denied", r.code, r.stderr)
			}
			t.Logf("init with wrong credentials failed in %v", time.Since(start))
			r = run(t, with("backup", "--repo", repo, "--root", fixtureRoot(t, fixture.V011))...)
			if r.code != 1 || !strings.Contains(r.stderr, "access denied") {
				t.Errorf("backup with wrong credentials: exit %d, stderr %q", r.code, r.stderr)
			}

			// Nothing was written.
			st.credentials(t)
			be, err := backends.OpenWith(t.Context(), repo, st.opts())
			if err != nil {
				t.Fatal(err)
			}
			defer be.Close()
			n := 0
			if err := be.List(t.Context(), "", func(storage.ObjectInfo) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d objects written with wrong credentials", n)
			}
		})
	}
}
