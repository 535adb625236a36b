package serve

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// runOnce starts a run of the job and waits for it to end.
func runOnce(t *testing.T, srv *Server, job string) *RunRecord {
	t.Helper()
	if ok, err := srv.Trigger(job, "api"); !ok || err != nil {
		t.Fatalf("trigger: %v %v", ok, err)
	}
	srv.Wait()
	for _, j := range srv.Jobs() {
		if j.Name == job {
			return j.LastRun
		}
	}
	t.Fatalf("no job %s", job)
	return nil
}

// A job with two repositories takes one snapshot of the node per run: the
// backup goes into the first repository and is copied into the second,
// which holds the same root tree and restores the same files.
func TestSecondRepositoryGetsACopy(t *testing.T) {
	node, root := startSim(t, sim.Faults{})
	first, second := initRepo(t), initRepo(t)
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: two
    source: {node: %s, root: %s, server_time_zone: UTC}
    repositories: [{name: a, url: %s}, {name: b, url: %s}]
    schedule: "@daily"
`, node.GRPCAddr(), root, first, second))
	srv := New(cfg, Options{})
	defer srv.Close()
	for run := 1; run <= 2; run++ {
		rec := runOnce(t, srv, "two")
		if calls := node.Stats().SnapshotCalls; calls != int64(run) {
			t.Fatalf("after %d runs the node was asked for %d snapshots, want one per run", run, calls)
		}
		if !rec.OK || len(rec.Results) != 2 || rec.Results[1].CopiedFrom != "a" || rec.Results[0].CopiedFrom != "" {
			t.Fatalf("run %d: %+v", run, rec)
		}
	}
	as, bs := backupsIn(t, first), backupsIn(t, second)
	if len(as) != 2 || len(bs) != 2 {
		t.Fatalf("backups: %d in a, %d in b; want 2 each", len(as), len(bs))
	}
	for i := range as {
		if as[i].Tree != bs[i].Tree || !as[i].Time.Equal(bs[i].Time) || bs[i].CopiedFrom == nil || bs[i].CopiedFrom.Backup != as[i].ID {
			t.Errorf("backup %d: a has %s (tree %s), b has %s (tree %s, copied from %+v)",
				i, as[i].ID.Short(), as[i].Tree.Short(), bs[i].ID.Short(), bs[i].Tree.Short(), bs[i].CopiedFrom)
		}
	}
	sameFiles(t, restoreLatest(t, first), restoreLatest(t, second))
	m := scrape(t, srv.Handler(openAccess))
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "banyan_backup_failures_total{") && !strings.HasSuffix(l, " 0") {
			t.Errorf("failure counted: %s", l)
		}
	}
	for _, want := range []string{
		`banyan_backup_backups_kept{backup_job="two",repository="b"} 2`,
		`banyan_backup_has_succeeded{backup_job="two",repository="b"} 1`,
		`banyan_backup_read_bytes_total{backup_job="two",repository="b"} 0`,
	} {
		if !hasLine(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// When the first repository cannot take the backup, the next one does,
// and the rest get a copy of it: still one snapshot per run.
func TestFirstRepositoryDownBacksUpIntoTheNext(t *testing.T) {
	node, root := startSim(t, sim.Faults{})
	down := filepath.Join(t.TempDir(), "not-initialised")
	second, third := initRepo(t), initRepo(t)
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: three
    source: {node: "http://%s", root: %s, server_time_zone: UTC}
    repositories: [{name: down, url: %s}, {name: b, url: %s}, {name: c, url: %s}]
    schedule: "@daily"
`, node.HTTPAddr(), root, down, second, third))
	srv := New(cfg, Options{})
	defer srv.Close()
	rec := runOnce(t, srv, "three")
	if rec.OK || len(rec.Results) != 3 || rec.Results[0].Kind != "repository" || rec.Results[1].Error != "" || rec.Results[2].Error != "" {
		t.Fatalf("run: %+v", rec)
	}
	if rec.Results[1].CopiedFrom != "" || rec.Results[2].CopiedFrom != "b" {
		t.Errorf("copied from: %q and %q, want b backed up and c copied from b", rec.Results[1].CopiedFrom, rec.Results[2].CopiedFrom)
	}
	if calls := node.Stats().SnapshotCalls; calls != 1 {
		t.Fatalf("the node was asked for %d snapshots, want 1", calls)
	}
	bs, cs := backupsIn(t, second), backupsIn(t, third)
	if len(bs) != 1 || len(cs) != 1 || bs[0].Tree != cs[0].Tree {
		t.Fatalf("b holds %d backups, c %d, or their trees differ", len(bs), len(cs))
	}
}

// restoreLatest restores the newest backup of the repository in dir into
// a new directory and returns it.
func restoreLatest(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	r, err := repository.Open(ctx, local.New(dir), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := r.FindBackup(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "t")
	if _, err := restore.Run(ctx, r, b, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
		t.Fatal(err)
	}
	return target
}

// sameFiles fails unless the two trees hold the same files with the same
// bytes and modes.
func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	list := func(dir string) map[string]fs.FileMode {
		out := map[string]fs.FileMode{}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			info, err := d.Info()
			if err != nil {
				return err
			}
			out[rel] = info.Mode()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	la, lb := list(a), list(b)
	if len(la) < 100 || len(la) != len(lb) {
		t.Fatalf("%d entries restored from one repository, %d from the other", len(la), len(lb))
	}
	for p, mode := range la {
		if lb[p] != mode {
			t.Errorf("%s: mode %v and %v", p, mode, lb[p])
			continue
		}
		if !mode.IsRegular() {
			continue
		}
		da, _ := os.ReadFile(filepath.Join(a, p))
		db, _ := os.ReadFile(filepath.Join(b, p))
		if !bytes.Equal(da, db) {
			t.Errorf("%s: restored bytes differ", p)
		}
	}
}

// The copy into an encrypted repository of a job is sealed with the key
// its password file opens; the backup keeps its root tree.
func TestCopyIntoEncryptedRepository(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	plain := initRepo(t)
	sealed := filepath.Join(t.TempDir(), "sealed")
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte("job password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := &repository.Credentials{Password: []byte("job password")}
	kdf := repository.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
	r, err := repository.Init(context.Background(), local.New(sealed), repository.InitOptions{Encrypt: true, KDF: &kdf}, repository.Options{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: mixed
    source: {root: %s, server_time_zone: UTC}
    repositories: [{name: plain, url: %s}, {name: sealed, url: %s, password_file: %s}]
    schedule: "@daily"
`, root, plain, sealed, pwFile))
	srv := New(cfg, Options{})
	defer srv.Close()
	if rec := runOnce(t, srv, "mixed"); !rec.OK || rec.Results[1].CopiedFrom != "plain" {
		t.Fatalf("run: %+v", rec)
	}
	r, err = repository.Open(context.Background(), local.New(sealed), repository.Options{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bs, err := r.Backups(context.Background())
	if err != nil || len(bs) != 1 || bs[0].Tree != backupsIn(t, plain)[0].Tree {
		t.Fatalf("the encrypted repository holds %d backups (%v), or another root tree", len(bs), err)
	}
	if res, err := r.Verify(context.Background(), repository.VerifyOptions{ReadData: true}); err != nil || len(res.Problems) > 0 {
		t.Fatalf("verify --read-data: %v %+v", err, res)
	}
}
