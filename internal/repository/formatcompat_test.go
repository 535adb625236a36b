package repository_test

// Repository format compatibility: testdata/repos/v<N>/ holds a repository
// written by the release that introduced format N, with the file hashes its
// backups must restore to. Every later release must keep reading all of
// them; TestCommittedRepositories runs on every build. Regenerate v<current>
// (only when its format is new, never to paper over a failure) with
//
//	BANYAN_REGEN_TESTREPO=1 go test ./internal/repository -run TestGenerateTestRepository

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

const testReposDir = "../../testdata/repos"

// expectedRepo is testdata/repos/v<N>/expected.json.
type expectedRepo struct {
	Format int    `json:"format"`
	Source string `json:"source"`
	// Password opens the repository of an encrypted format.
	Password string           `json:"password,omitempty"`
	Backups  []expectedBackup `json:"backups"`
	// Sets (format 3 on) name their member backups by node name and tag.
	Sets []expectedSet `json:"sets,omitempty"`
}

// expectedSet is one backup set of a committed repository.
type expectedSet struct {
	Cluster   string            `json:"cluster"`
	Operation string            `json:"operation"`
	Members   map[string]string `json:"members"`
}

// testRepoPassword is the password of committed encrypted repositories.
const testRepoPassword = "committed test repository"

// credentials opens the committed repository.
func (e expectedRepo) credentials() *repository.Credentials {
	if e.Password == "" {
		return nil
	}
	return &repository.Credentials{Password: []byte(e.Password)}
}

// expectedBackup is one backup, oldest first, named by its only tag.
type expectedBackup struct {
	Tag string `json:"tag"`
	// Parent is the tag of the backup it was taken on top of, "" for none.
	Parent string `json:"parent,omitempty"`
	// Files maps "<catalog>/data/<path>" to its size and SHA-256.
	Files map[string]expectedFile `json:"files"`
}

type expectedFile struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// testRepoOptions selects the small part of the 0.10.2 fixture kept in the
// committed repository: the bk_measure group and the schemas.
func testRepoOptions(root string) backup.Options {
	return backup.Options{
		Roots:       banyandb.Roots{Root: root},
		Catalogs:    []banyandb.Catalog{banyandb.Measure, banyandb.SchemaProperty},
		Groups:      []string{"bk_measure"},
		Location:    time.UTC,
		ToolVersion: "formatcompat-generator",
	}
}

func TestGenerateTestRepository(t *testing.T) {
	if os.Getenv("BANYAN_REGEN_TESTREPO") != "1" {
		t.Skip("set BANYAN_REGEN_TESTREPO=1 to regenerate testdata/repos/v<current>")
	}
	ctx := context.Background()
	dir := filepath.Join(testReposDir, "v"+strconv.Itoa(repository.FormatVersion))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	exp := expectedRepo{Format: repository.FormatVersion, Source: fixture.V0102 + ": measure group bk_measure and schema-property"}
	init := repository.InitOptions{ChunkSize: 16 << 10, PackSize: 64 << 10}
	if repository.FormatVersion == 2 { // format 2 is the encrypted one
		exp.Password = testRepoPassword
		init.Encrypt, init.KDF = true, &repository.Argon2Params{Time: 1, MemoryKiB: 1 << 10, Threads: 1}
	}
	repo, err := repository.Init(ctx, local.New(filepath.Join(dir, "repo")), init, repository.Options{Credentials: exp.credentials()})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	root := filepath.Join(fixture.ForTest(t, fixture.V0102), "data")
	// The first backup lacks the last day's segment; the second, taken on
	// top of it, adds it back and reuses every other file.
	seg := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261122")
	aside := filepath.Join(t.TempDir(), "seg")
	if err := os.Rename(seg, aside); err != nil {
		t.Fatal(err)
	}
	for i, tag := range []string{"first", "second"} {
		if i == 1 {
			if err := os.Rename(aside, seg); err != nil {
				t.Fatal(err)
			}
		}
		opts := testRepoOptions(root)
		opts.Tags = []string{tag}
		res, err := backup.Run(ctx, repo, opts)
		if err != nil {
			t.Fatal(err)
		}
		eb := expectedBackup{Tag: tag, Files: sourceFiles(t, root, opts)}
		if i == 1 {
			if res.Manifest.Parent == nil || res.Manifest.Summary.FilesUnchanged == 0 {
				t.Fatalf("the second backup is not incremental: %+v", res.Manifest.Summary)
			}
			eb.Parent = "first"
		}
		exp.Backups = append(exp.Backups, eb)
	}
	if repository.FormatVersion == 3 { // format 3 brought backup sets
		generateSet(t, repo, root, &exp)
	}
	data, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "expected.json"), append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d bytes in the repository", dir, treeSize(t, filepath.Join(dir, "repo")))
}

// generateSet adds a backup set of two nodes to a committed repository:
// one node backs up the measure group and the schemas, the other only the
// schemas.
func generateSet(t *testing.T, repo *repository.Repository, root string, exp *expectedRepo) {
	ctx := context.Background()
	lock, err := repo.Lock(ctx, "init", true)
	if err != nil {
		t.Fatal(err)
	}
	err = repo.EnableFeature(ctx, lock, repository.FeatureSets)
	lock.Unlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es := expectedSet{Cluster: "committed", Operation: "00112233445566778899aabbccddeeff", Members: map[string]string{}}
	set := &repository.Set{Operation: es.Operation, Cluster: es.Cluster, ToolVersion: "formatcompat-generator"}
	for i, node := range []string{"10.0.0.2:17912", "10.0.0.3:17912"} {
		opts := testRepoOptions(root)
		opts.Tags, opts.Host, opts.ClusterOperation = []string{"node-" + string(rune('a'+i))}, node, es.Operation
		if i == 1 {
			opts.Catalogs = []banyandb.Catalog{banyandb.SchemaProperty}
		}
		start := repo.Now().UTC()
		res, err := backup.Run(ctx, repo, opts)
		if err != nil {
			t.Fatal(err)
		}
		id := res.Backup.ID
		set.Nodes = append(set.Nodes, repository.SetNode{Name: node, Role: repository.RoleData, Backup: &id,
			Snapshot: &repository.SnapshotWindow{Start: start, End: start}})
		es.Members[node] = opts.Tags[0]
		exp.Backups = append(exp.Backups, expectedBackup{Tag: opts.Tags[0], Files: sourceFiles(t, root, opts)})
	}
	set.Time = repo.Now().UTC()
	set.Window = repository.Window{Start: set.Nodes[0].Snapshot.Start, End: set.Nodes[1].Snapshot.End}
	lock, err = repo.Lock(ctx, "cluster-backup", false)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock(ctx)
	if _, _, err := repo.SaveSet(ctx, lock, set); err != nil {
		t.Fatal(err)
	}
	exp.Sets = append(exp.Sets, es)
}

// checkCommittedSets checks that every set expected.json names is there,
// with its members.
func checkCommittedSets(t *testing.T, repo *repository.Repository, exp expectedRepo, byTag map[string]repository.Backup) {
	sets, err := repo.Sets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != len(exp.Sets) {
		t.Fatalf("%d backup sets, want %d", len(sets), len(exp.Sets))
	}
	for i, es := range exp.Sets {
		s := sets[i]
		if s.Cluster != es.Cluster || s.Operation != es.Operation || len(s.Members()) != len(es.Members) {
			t.Errorf("set %d: cluster %q, operation %q, %d members; want %+v", i, s.Cluster, s.Operation, len(s.Members()), es)
		}
		for node, tag := range es.Members {
			n, ok := s.Node(node)
			if b := byTag[tag]; !ok || n.Backup == nil || *n.Backup != b.ID || b.ClusterOperation != s.Operation {
				t.Errorf("set %d: node %s is not backup %s", i, node, tag)
			}
		}
	}
}

// sourceFiles hashes the files a backup with opts copies, as Scan lists them.
func sourceFiles(t *testing.T, root string, opts backup.Options) map[string]expectedFile {
	t.Helper()
	layout, err := banyandb.Scan(context.Background(), opts.Roots, banyandb.ScanOptions{Catalogs: opts.Catalogs, Groups: opts.Groups, Location: opts.Location})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]expectedFile{}
	for _, f := range layout.Files {
		out[string(f.Catalog)+"/data/"+f.Path] = hashFile(t, filepath.Join(opts.Roots.DataDir(f.Catalog), filepath.FromSlash(f.Path)))
	}
	return out
}

func hashFile(t *testing.T, name string) expectedFile {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return expectedFile{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
}

// restoredFiles hashes every regular file below dir.
func restoredFiles(t *testing.T, dir string) map[string]expectedFile {
	t.Helper()
	out := map[string]expectedFile{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = hashFile(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func treeSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, f := range restoredFiles(t, dir) {
		n += f.Size
	}
	return n
}

// copyRepo copies the regular files of a committed repository into a new
// temporary directory, as a git checkout has them (no empty directories),
// so that opening it (locks) never writes into testdata.
func copyRepo(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "repo")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// committedRepos lists testdata/repos/v<N> with N.
func committedRepos(t *testing.T) map[int]string {
	t.Helper()
	ents, err := os.ReadDir(testReposDir)
	if err != nil {
		t.Fatalf("cannot list the committed repositories: %v", err)
	}
	out := map[int]string{}
	for _, e := range ents {
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "v")); err == nil && e.IsDir() && strings.HasPrefix(e.Name(), "v") {
			out[n] = filepath.Join(testReposDir, e.Name())
		}
	}
	if out[1] == "" {
		t.Fatal("testdata/repos/v1 is missing")
	}
	return out
}

func TestCommittedRepositories(t *testing.T) {
	for n, dir := range committedRepos(t) {
		t.Run(fmt.Sprintf("v%d", n), func(t *testing.T) { checkCommittedRepo(t, n, dir) })
	}
}

func checkCommittedRepo(t *testing.T, format int, dir string) {
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp expectedRepo
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Open(ctx, local.New(copyRepo(t, filepath.Join(dir, "repo"))), repository.Options{Credentials: exp.credentials()})
	if err != nil {
		t.Fatalf("this release cannot open a format %d repository: %v", format, err)
	}
	defer repo.Close()
	if v := repo.Config().Version; v != format || exp.Format != format {
		t.Fatalf("repository in v%d has format %d, expected.json says %d", format, v, exp.Format)
	}
	backups, err := repo.Backups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(backups) != len(exp.Backups) {
		t.Fatalf("%d backups listed, want %d", len(backups), len(exp.Backups))
	}
	byTag := map[string]repository.Backup{}
	for i, b := range backups {
		e := exp.Backups[i]
		if !reflect.DeepEqual(b.Tags, []string{e.Tag}) {
			t.Fatalf("backup %d has tags %v, want [%s]", i, b.Tags, e.Tag)
		}
		// A repository moves to format 3 when its first set is written, so
		// the backups before it record the format they were written in.
		if b.RepositoryFormat > format || (format != 3 && b.RepositoryFormat != 0 && b.RepositoryFormat != format) {
			t.Errorf("backup %s records repository format %d, want %d", e.Tag, b.RepositoryFormat, format)
		}
		byTag[e.Tag] = b
		if e.Parent != "" && (b.Parent == nil || *b.Parent != byTag[e.Parent].ID) {
			t.Errorf("backup %s has parent %v, want %s", e.Tag, b.Parent, byTag[e.Parent].ID.Short())
		}
	}
	checkCommittedSets(t, repo, exp, byTag)
	res, err := repo.Verify(ctx, repository.VerifyOptions{ReadData: true})
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("verify --read-data: %v %v", err, res.Problems)
	}
	for i, b := range backups {
		target := filepath.Join(t.TempDir(), "restored")
		if _, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC}); err != nil {
			t.Fatalf("restore %s: %v", exp.Backups[i].Tag, err)
		}
		check, err := banyandb.Check(ctx, banyandb.Roots{Root: target}, banyandb.ScanOptions{Location: time.UTC})
		if err != nil || check.Errors() > 0 {
			t.Errorf("restored %s: check: %v %v", exp.Backups[i].Tag, err, check)
		}
		got, want := restoredFiles(t, target), exp.Backups[i].Files
		for name, w := range want {
			if g, ok := got[name]; !ok {
				t.Errorf("restore %s: %s missing", exp.Backups[i].Tag, name)
			} else if g != w {
				t.Errorf("restore %s: %s is %+v, want %+v", exp.Backups[i].Tag, name, g, w)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("restore %s: unexpected file %s", exp.Backups[i].Tag, name)
			}
		}
	}
}

// A repository of a newer format is refused, for reading and so for
// writing, with a message that says to upgrade, and nothing is written to it.
func TestNewerRepositoryFormatRefused(t *testing.T) {
	ctx := context.Background()
	dir := copyRepo(t, filepath.Join(testReposDir, "v1", "repo"))
	var cfg map[string]any
	data, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	newer := repository.FormatVersion + 1
	cfg["version"] = newer
	data, _ = json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	before := restoredFiles(t, dir)

	_, err = repository.Open(ctx, local.New(dir), repository.Options{})
	want := fmt.Sprintf("has format %d, newer than this release supports (%d): upgrade banyan-backup", newer, repository.FormatVersion)
	if !errors.Is(err, repository.ErrUnsupportedFormat) || !strings.Contains(err.Error(), want) {
		t.Fatalf("opening a format %d repository: %v; want ErrUnsupportedFormat saying %q", newer, err, want)
	}
	if _, err := repository.Init(ctx, local.New(dir), repository.InitOptions{}, repository.Options{}); !errors.Is(err, repository.ErrAlreadyInitialized) {
		t.Errorf("init over a newer repository: %v, want ErrAlreadyInitialized", err)
	}
	if after := restoredFiles(t, dir); !reflect.DeepEqual(before, after) {
		t.Errorf("refusing a newer repository changed it: %d objects before, %d after", len(before), len(after))
	}
}
