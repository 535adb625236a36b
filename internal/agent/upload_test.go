package agent_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// newRepo initializes a local repository and returns its directory.
func newRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	repo, err := repository.Init(context.Background(), local.New(dir), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	repo.Close()
	return dir
}

// openRepo opens the local repository at dir for the test's checks.
func openRepo(t *testing.T, dir string) *repository.Repository {
	t.Helper()
	repo, err := repository.Open(context.Background(), local.New(dir), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	return repo
}

// copySnapshot copies the snapshot directories a snapshot call named into
// a new root, in the same places, and returns the snapshot's data
// directories there: what the node's backup must hold.
func copySnapshot(t *testing.T, root string, snap agent.SnapshotResponse) banyandb.Roots {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "snapshot")
	out := banyandb.Roots{Data: map[banyandb.Catalog]string{}}
	for _, s := range snap.Snapshots {
		taken := snapshot.Taken{Catalog: banyandb.Catalog(s.Catalog), Name: s.Name}
		from := snapshot.SnapshotDir(banyandb.Roots{Root: root}, taken)
		if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
			continue // a catalog without groups
		}
		copyTree(t, from, snapshot.SnapshotDir(banyandb.Roots{Root: dst}, taken))
		out.Data[taken.Catalog] = snapshot.Dir(banyandb.Roots{Root: dst}, taken)
	}
	if len(out.Data) == 0 {
		t.Fatal("the snapshot has no directory")
	}
	return out
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sameFiles checks that two roots hold the same data files, byte for byte.
func sameFiles(t *testing.T, want, got banyandb.Roots) {
	t.Helper()
	read := func(roots banyandb.Roots) map[string][]byte {
		l, err := banyandb.Scan(context.Background(), roots, banyandb.ScanOptions{Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]byte{}
		for _, f := range l.Files {
			b, err := os.ReadFile(filepath.Join(roots.DataDir(f.Catalog), f.Path))
			if err != nil {
				t.Fatal(err)
			}
			out[string(f.Catalog)+"/"+f.Path] = b
		}
		return out
	}
	w, g := read(want), read(got)
	if len(w) == 0 {
		t.Fatal("no files to compare")
	}
	for p, b := range w {
		if gb, ok := g[p]; !ok || !bytes.Equal(gb, b) {
			t.Errorf("%s: restored %v (%d bytes), snapshot has %d bytes", p, ok, len(gb), len(b))
		}
	}
	for p := range g {
		if _, ok := w[p]; !ok {
			t.Errorf("%s restored, not in the snapshot", p)
		}
	}
}

// status returns the operation's state, renewing its lease.
func (a *testAgent) status(t *testing.T, op string) *agent.OperationStatus {
	t.Helper()
	var st agent.StatusResponse
	a.do(t, http.MethodGet, agent.PathStatus+"?operation="+op, nil, &st)
	return st.Operation
}

// waitUntil polls the agent's status (without renewing any lease) until
// cond holds of it, for up to two minutes.
func (a *testAgent) waitUntil(t *testing.T, what string, cond func(*agent.OperationStatus) bool) *agent.OperationStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var st agent.StatusResponse
		a.do(t, http.MethodGet, agent.PathStatus, nil, &st)
		if cond(st.Operation) {
			return st.Operation
		}
		if time.Now().After(deadline) {
			t.Fatalf("two minutes without %s: %+v", what, st.Operation)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// prepareAndSnapshot prepares operation op with the given lease and takes
// the node's snapshot.
func (a *testAgent) prepareAndSnapshot(t *testing.T, op string, leaseSeconds float64) agent.SnapshotResponse {
	t.Helper()
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: op, Repository: "main", LeaseSeconds: leaseSeconds}, nil)
	var snap agent.SnapshotResponse
	a.do(t, http.MethodPost, agent.PathSnapshot, agent.OperationRequest{Operation: op}, &snap)
	return snap
}

// expectCode sends a call with the token and checks its status.
func (a *testAgent) expectCode(t *testing.T, what, path string, body any, want int) {
	t.Helper()
	if code, b := a.call(t, http.MethodPost, path, "Bearer "+testToken, body); code != want {
		t.Errorf("%s: %d %s, want %d", what, code, b, want)
	}
}

// lockFiles lists the repository's locks.
func lockFiles(t *testing.T, repoDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(repoDir, "locks"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// A data node's agent: prepare, snapshot, upload, status until uploaded,
// commit. The node's backup exists, records the set's operation, the
// node's name as its host and the node as its source, and restores to
// exactly the snapshot's files, which check finds clean; the repository
// verifies clean and holds no lock. The snapshot is gone once uploaded.
// Calls out of order are refused (409), and so are upload and commit
// without the token, doing nothing.
func TestUploadAndCommitANodeBackup(t *testing.T) {
	ctx := context.Background()
	node := startSim(t, nil)
	a := startAgent(t, node, agent.RoleData, nil)
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main", LeaseSeconds: 600}, nil)
	upload := agent.UploadRequest{Operation: opA, Tags: []string{"nightly"}}
	a.expectCode(t, "upload before the snapshot", agent.PathUpload, upload, http.StatusConflict)
	var snap agent.SnapshotResponse
	a.do(t, http.MethodPost, agent.PathSnapshot, agent.OperationRequest{Operation: opA}, &snap)
	want := copySnapshot(t, a.root, snap)
	commit := agent.CommitRequest{Operation: opA, SetOperation: opB}
	a.expectCode(t, "commit before the upload", agent.PathCommit, commit, http.StatusConflict)
	a.expectCode(t, "commit naming no set operation", agent.PathCommit, agent.CommitRequest{Operation: opA}, http.StatusBadRequest)
	if code, _ := a.call(t, http.MethodPost, agent.PathUpload, "Bearer wrong", upload); code != http.StatusUnauthorized {
		t.Errorf("upload with a wrong token: %d", code)
	}
	if st := a.status(t, opA); st.Phase != agent.PhaseSnapshotted || st.Progress != nil {
		t.Fatalf("a refused upload changed the operation: %+v", st)
	}

	a.do(t, http.MethodPost, agent.PathUpload, upload, nil)
	a.expectCode(t, "a second upload", agent.PathUpload, upload, http.StatusConflict)
	st := a.waitUntil(t, "the upload's end", func(st *agent.OperationStatus) bool {
		return st != nil && st.Phase != agent.PhaseUploading
	})
	if st.Phase != agent.PhaseUploaded {
		t.Fatalf("upload ended %s: %s", st.Phase, st.Error)
	}
	if st.Summary == nil || st.Summary.Files == 0 || st.Progress == nil || st.Progress.Step != "backup" ||
		st.Progress.FilesDone != st.Progress.Files || st.Progress.BytesDone != st.Progress.Bytes || st.Progress.Bytes != st.Summary.BytesRead {
		t.Errorf("uploaded: summary %+v, progress %+v", st.Summary, st.Progress)
	}
	if dirs := snapshotDirs(t, a.root); len(dirs) != 0 {
		t.Errorf("snapshot directories once uploaded: %v", dirs)
	}
	if code, _ := a.call(t, http.MethodPost, agent.PathCommit, "", commit); code != http.StatusUnauthorized {
		t.Errorf("commit without a token: %d", code)
	}
	repo := openRepo(t, a.repo)
	if backups, err := repo.Backups(ctx); err != nil || len(backups) != 0 {
		t.Fatalf("backups before the commit: %v %v", backups, err)
	}

	var resp agent.CommitResponse
	a.do(t, http.MethodPost, agent.PathCommit, commit, &resp)
	a.expectCode(t, "a second commit", agent.PathCommit, commit, http.StatusConflict)
	if st := a.status(t, opA); st.Phase != agent.PhaseCommitted || st.Backup != resp.Backup || resp.Backup == "" {
		t.Errorf("after commit: status %+v, answer %+v", st, resp)
	}
	if locks := lockFiles(t, a.repo); len(locks) != 0 {
		t.Errorf("locks after the commit: %v", locks)
	}
	b := loadOnlyBackup(t, repo, resp.Backup)
	m := b.Manifest
	if m.ClusterOperation != opB || m.Hostname != a.name || m.Host() != a.name || !slices.Equal(m.Tags, []string{"nightly"}) ||
		m.Source.Type != "node" || m.Source.Node != node.GRPCAddr() || m.Source.APIVersion == "" || len(m.LackingParts) != resp.LackingParts {
		t.Errorf("manifest: operation %q host %q/%q tags %v source %+v lacking %d (answered %d)", m.ClusterOperation, m.Hostname, m.Host(),
			m.Tags, m.Source, len(m.LackingParts), resp.LackingParts)
	}
	for c := range want.Data {
		if got := m.Source.Roots[string(c)]; got != (banyandb.Roots{Root: a.root}).DataDir(c) {
			t.Errorf("source root of %s: %q", c, got)
		}
	}
	if len(m.LackingParts) != 0 {
		t.Fatalf("the snapshot lacks parts (%v): compare them as backup's tests do", m.LackingParts)
	}
	target := banyandb.Roots{Root: filepath.Join(t.TempDir(), "target")}
	if _, err := restore.Run(ctx, repo, b, restore.Options{Roots: target}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, want, target)
	report, err := banyandb.Check(ctx, target, banyandb.ScanOptions{Location: time.UTC})
	if err != nil || len(report.Issues) != 0 {
		t.Errorf("check of the restored node: %v %+v", err, report)
	}
	verifyClean(t, repo, 1)

	// Releasing a committed operation ends it: the agent is free.
	a.do(t, http.MethodPost, agent.PathRelease, agent.OperationRequest{Operation: opA}, nil)
	var after agent.StatusResponse
	a.do(t, http.MethodGet, agent.PathStatus, nil, &after)
	if after.Operation != nil {
		t.Errorf("operation after releasing the committed one: %+v", after.Operation)
	}
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opB, Repository: "main"}, nil)
}

// loadOnlyBackup checks that the repository holds one backup, id, and
// returns it.
func loadOnlyBackup(t *testing.T, repo *repository.Repository, id string) repository.Backup {
	t.Helper()
	backups, err := repo.Backups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(backups) != 1 || backups[0].ID.String() != id {
		t.Fatalf("backups %v, want only %s", backups, id)
	}
	return backups[0]
}

// verifyClean verifies the repository, reading every pack: no problem,
// and n backups.
func verifyClean(t *testing.T, repo *repository.Repository, n int) {
	t.Helper()
	res, err := repo.Verify(context.Background(), repository.VerifyOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 || res.Backups != n {
		t.Errorf("verify: %v %+v, want %d backups and no problem", err, res, n)
	}
}

// slowAgent is an agent whose uploads read 32 KiB a second, so that one
// of the fixture's node (900 KB) runs for half a minute: long enough to
// stop it midway, on any machine.
func slowAgent(t *testing.T) *testAgent {
	t.Helper()
	node := startSim(t, nil)
	return startAgent(t, node, agent.RoleData, func(o *agent.Options) { o.Upload.ReadLimit = ratelimit.New(32 << 10) })
}

// uploadStarted waits, renewing operation op's lease as a coordinator
// does, until its upload has read some bytes or ended, and returns its
// status.
func (a *testAgent) uploadStarted(t *testing.T, op string) *agent.OperationStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := a.status(t, op)
		if st.Phase != agent.PhaseUploading || (st.Progress != nil && st.Progress.BytesDone > 0) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("two minutes without the upload reading: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkDropped checks what an upload stopped midway leaves: no backup, no
// lock, no snapshot, no operation, and a repository that verifies clean.
func checkDropped(t *testing.T, a *testAgent) {
	t.Helper()
	var st agent.StatusResponse
	a.do(t, http.MethodGet, agent.PathStatus, nil, &st)
	if st.Operation != nil {
		t.Errorf("operation after it was dropped: %+v", st.Operation)
	}
	if dirs := snapshotDirs(t, a.root); len(dirs) != 0 {
		t.Errorf("snapshot directories left: %v", dirs)
	}
	if locks := lockFiles(t, a.repo); len(locks) != 0 {
		t.Errorf("locks left: %v", locks)
	}
	repo := openRepo(t, a.repo)
	if backups, err := repo.Backups(context.Background()); err != nil || len(backups) != 0 {
		t.Errorf("backups after the upload was dropped: %v %v", backups, err)
	}
	verifyClean(t, repo, 0)
}

// abort during an upload stops it: no backup, the lock given up, the
// snapshot deleted. Commit and release are refused while it runs.
func TestAbortDuringUpload(t *testing.T) {
	a := slowAgent(t)
	a.prepareAndSnapshot(t, opA, 600)
	a.do(t, http.MethodPost, agent.PathUpload, agent.UploadRequest{Operation: opA}, nil)
	if st := a.uploadStarted(t, opA); st.Phase != agent.PhaseUploading {
		t.Fatalf("the read-limited upload is not running: %+v", st)
	}
	a.expectCode(t, "commit during the upload", agent.PathCommit, agent.CommitRequest{Operation: opA, SetOperation: opA}, http.StatusConflict)
	a.expectCode(t, "release during the upload", agent.PathRelease, agent.OperationRequest{Operation: opA}, http.StatusConflict)
	if locks := lockFiles(t, a.repo); len(locks) != 1 {
		t.Errorf("locks during the upload: %v, want its own", locks)
	}
	a.do(t, http.MethodPost, agent.PathAbort, agent.OperationRequest{Operation: opA}, nil)
	checkDropped(t, a)
	a.do(t, http.MethodPost, agent.PathAbort, agent.OperationRequest{Operation: opA}, nil)
}

// A lease that runs out during an upload (the coordinator stops polling
// status) stops it as abort does: the upload does not outlive its lease.
func TestLeaseExpiryDuringUpload(t *testing.T) {
	a := slowAgent(t)
	a.prepareAndSnapshot(t, opA, 3)
	a.do(t, http.MethodPost, agent.PathUpload, agent.UploadRequest{Operation: opA}, nil)
	st := a.uploadStarted(t, opA)
	if st.Phase != agent.PhaseUploading {
		t.Fatalf("the read-limited upload is not running: %+v", st)
	}
	a.waitUntil(t, "the lease's end", func(st *agent.OperationStatus) bool { return st == nil })
	checkDropped(t, a)
	if code, body := a.call(t, http.MethodPost, agent.PathCommit, "Bearer "+testToken, agent.CommitRequest{Operation: opA, SetOperation: opA}); code != http.StatusNotFound || !strings.Contains(body, "lease") {
		t.Errorf("commit after the lease ended: %d %s", code, body)
	}
}

// A liaison's agent uploads nothing (its queues are transient): the
// upload is done at once and the commit names no backup.
func TestLiaisonUploadsNothing(t *testing.T) {
	liaison := startLiaison(t)
	a := startAgent(t, liaison, agent.RoleLiaison, nil)
	a.prepareAndSnapshot(t, opA, 0)
	a.do(t, http.MethodPost, agent.PathUpload, agent.UploadRequest{Operation: opA}, nil)
	if st := a.status(t, opA); st.Phase != agent.PhaseUploaded {
		t.Errorf("a liaison's upload: %+v", st)
	}
	var resp agent.CommitResponse
	a.do(t, http.MethodPost, agent.PathCommit, agent.CommitRequest{Operation: opA, SetOperation: opA}, &resp)
	if resp.Backup != "" {
		t.Errorf("a liaison committed backup %s", resp.Backup)
	}
	if backups, err := openRepo(t, a.repo).Backups(context.Background()); err != nil || len(backups) != 0 {
		t.Errorf("backups of a liaison: %v %v", backups, err)
	}
}

// An upload that fails (its repository gone) is reported by status as
// failed with its error; commit is refused, and abort deletes the
// snapshot.
func TestFailedUploadIsReported(t *testing.T) {
	node := startSim(t, nil)
	a := startAgent(t, node, agent.RoleData, nil)
	a.prepareAndSnapshot(t, opA, 600)
	if err := os.Rename(a.repo, a.repo+".moved"); err != nil {
		t.Fatal(err)
	}
	a.do(t, http.MethodPost, agent.PathUpload, agent.UploadRequest{Operation: opA}, nil)
	st := a.waitUntil(t, "the upload's end", func(st *agent.OperationStatus) bool {
		return st != nil && st.Phase != agent.PhaseUploading
	})
	if st.Phase != agent.PhaseFailed || !strings.Contains(st.Error, "cannot") {
		t.Errorf("status of an upload into a repository gone: %+v", st)
	}
	a.expectCode(t, "commit of a failed upload", agent.PathCommit, agent.CommitRequest{Operation: opA, SetOperation: opA}, http.StatusConflict)
	a.do(t, http.MethodPost, agent.PathAbort, agent.OperationRequest{Operation: opA}, nil)
	if dirs := snapshotDirs(t, a.root); len(dirs) != 0 {
		t.Errorf("snapshot directories after abort: %v", dirs)
	}
}

// commit checks that the upload's lock still stands: once another process
// removed it (judging it stale), commit is refused and writes nothing.
func TestCommitRefusedWhenTheLockIsLost(t *testing.T) {
	node := startSim(t, nil)
	a := startAgent(t, node, agent.RoleData, nil)
	a.prepareAndSnapshot(t, opA, 600)
	a.do(t, http.MethodPost, agent.PathUpload, agent.UploadRequest{Operation: opA}, nil)
	if st := a.waitUntil(t, "the upload's end", func(st *agent.OperationStatus) bool {
		return st != nil && st.Phase != agent.PhaseUploading
	}); st.Phase != agent.PhaseUploaded {
		t.Fatalf("upload ended %s: %s", st.Phase, st.Error)
	}
	locks := lockFiles(t, a.repo)
	if len(locks) != 1 {
		t.Fatalf("locks of the uploaded operation: %v, want its own", locks)
	}
	if err := os.Remove(filepath.Join(a.repo, "locks", locks[0])); err != nil {
		t.Fatal(err)
	}
	code, body := a.call(t, http.MethodPost, agent.PathCommit, "Bearer "+testToken, agent.CommitRequest{Operation: opA, SetOperation: opA})
	if code != http.StatusConflict || !strings.Contains(body, "lock") {
		t.Errorf("commit with its lock removed: %d %s, want 409", code, body)
	}
	if backups, err := openRepo(t, a.repo).Backups(context.Background()); err != nil || len(backups) != 0 {
		t.Errorf("backups after a refused commit: %v %v", backups, err)
	}
	if st := a.status(t, opA); st.Phase != agent.PhaseFailed {
		t.Errorf("status after a refused commit: %+v", st)
	}
}
