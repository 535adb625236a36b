package repository

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

const testOperation = "0123456789abcdef0123456789abcdef"

// saveMembers commits one manifest per node name for operation op and
// returns a valid set naming them as data nodes.
func saveMembers(t *testing.T, r *Repository, op string, at time.Time, names ...string) *Set {
	t.Helper()
	s := &Set{Operation: op, Time: at, Cluster: "prod-banyandb", ToolVersion: "0.1.0",
		Window: Window{Start: at.Add(-time.Second), End: at}}
	for i, name := range names {
		m := sampleManifest(i)
		m.Time, m.Hostname, m.ClusterOperation = at, name, op
		m.Tree = Hash([]byte(op + name))
		id, _, err := r.SaveManifest(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		s.Nodes = append(s.Nodes, SetNode{Name: name, Role: RoleData, Backup: &id,
			Snapshot: &SnapshotWindow{Start: at.Add(-time.Second), End: at}})
	}
	return s
}

// withSets enables the sets feature under an exclusive lock.
func withSets(t *testing.T, r *Repository) {
	t.Helper()
	l := exclusive(t, r)
	if err := r.EnableFeature(t.Context(), l, FeatureSets); err != nil {
		t.Fatal(err)
	}
	l.Unlock(t.Context())
}

// shared runs fn under a shared lock of r.
func shared(t *testing.T, r *Repository, fn func(*Lock)) {
	t.Helper()
	l, err := r.Lock(t.Context(), "cluster-backup", false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(t.Context())
	fn(l)
}

// saveSet saves s under a shared lock.
func saveSet(t *testing.T, r *Repository, s *Set) (id ID, n int64, err error) {
	t.Helper()
	shared(t, r, func(l *Lock) { id, n, err = r.SaveSet(t.Context(), l, s) })
	return id, n, err
}

// A repository takes sets only once it has the sets feature; enabling it
// moves the config to format 3 with the same id, which a reopen (with the
// same password, for an encrypted one) reads back, and which releases of
// formats 1 and 2 refuse as newer.
func TestEnableSetsFeature(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypted], func(t *testing.T) {
			be := mem.New("t")
			var r *Repository
			var creds *Credentials
			if encrypted {
				r, creds = newEncryptedRepo(t, be, "secret"), pw("secret")
			} else {
				r = newTestRepo(t, be, InitOptions{})
			}
			before := r.Config()
			s := saveMembers(t, r, testOperation, t0, "10.0.0.2:17912")
			if _, _, err := saveSet(t, r, s); err == nil || !strings.Contains(err.Error(), `"sets" feature`) {
				t.Fatalf("SaveSet without the feature: %v", err)
			}
			if len(objects(t, be, "sets/")) != 0 {
				t.Fatal("a set was written without the feature")
			}
			shared(t, r, func(l *Lock) {
				if err := r.EnableFeature(t.Context(), l, FeatureSets); err == nil {
					t.Error("EnableFeature took a shared lock")
				}
			})
			withSets(t, r)
			withSets(t, r) // a second time is no error
			var raw map[string]any
			if err := json.Unmarshal(getObject(t, be, "config"), &raw); err != nil {
				t.Fatal(err)
			}
			if raw["version"] != 3.0 || raw["id"] != before.ID || raw["encryption"] != before.Encryption {
				t.Errorf("config after enabling sets: %v", raw)
			}
			if f, _ := raw["features"].([]any); len(f) != 1 || f[0] != "sets" {
				t.Errorf("features %v, want [sets]", raw["features"])
			}
			r2, err := openWith(t, be, creds)
			if err != nil {
				t.Fatalf("reopen after enabling sets: %v", err)
			}
			if !r2.Config().HasFeature(FeatureSets) || r2.Config().Encrypted() != encrypted {
				t.Errorf("reopened config %+v", r2.Config())
			}
			// What a release of format 2 does with this config: refuse it.
			old := r2.Config()
			if old.Version <= formatEncrypted {
				t.Fatalf("version %d would not stop a format 2 release", old.Version)
			}
			if _, _, err := saveSet(t, r2, s); err != nil {
				t.Fatalf("SaveSet with the feature: %v", err)
			}
		})
	}
}

// A set round-trips through the envelope (sealed in an encrypted
// repository: its bytes hold no node name), is listed oldest first and
// found by prefix and "latest".
func TestSetRoundTrip(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypted], func(t *testing.T) {
			be := mem.New("t")
			var r *Repository
			if encrypted {
				r = newEncryptedRepo(t, be, "secret")
			} else {
				r = newTestRepo(t, be, InitOptions{})
			}
			withSets(t, r)
			ops := []string{testOperation, strings.Repeat("ab", 16)}
			var ids []ID
			for i, op := range ops {
				s := saveMembers(t, r, op, t0.Add(time.Duration(1-i)*time.Hour), "data-a.example:17912", "data-b.example:17912")
				q := t0
				s.Nodes = append(s.Nodes, SetNode{Name: "liaison-0.example:18912", Role: RoleLiaison,
					Queue: &LiaisonQueue{Checked: t0, Parts: 2, Bytes: 4096, OldestFlush: &q, Drained: false}})
				s.Watermark = map[string]time.Time{"measure": t0.Add(-5 * time.Second)}
				id, n, err := saveSet(t, r, s)
				if err != nil || n == 0 {
					t.Fatalf("SaveSet: %v (%d bytes)", err, n)
				}
				ids = append(ids, id)
				data := getObject(t, be, "sets/"+id.String())
				if Hash(data) != id || data[4] != kindSet {
					t.Errorf("set object: id %s, kind %d", Hash(data).Short(), data[4])
				}
				if encrypted && (data[5] != encryptionAESGCM || bytes.Contains(data, []byte("data-a.example"))) {
					t.Errorf("the set object of an encrypted repository is not sealed")
				}
			}
			sets, err := reopenWithSets(t, be, encrypted).Sets(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(sets) != 2 || sets[0].ID != ids[1] || sets[1].ID != ids[0] {
				t.Fatalf("Sets: %d sets, want the second saved first (older)", len(sets))
			}
			got := sets[1]
			if got.Cluster != "prod-banyandb" || len(got.Nodes) != 3 || got.DataNodes() != 2 || len(got.Members()) != 2 ||
				got.Nodes[2].Queue == nil || got.Nodes[2].Queue.Parts != 2 || !got.Watermark["measure"].Equal(t0.Add(-5*time.Second)) ||
				got.Format != SetFormat {
				t.Errorf("set read back: %+v", got.Set)
			}
			if s, err := r.FindSet(t.Context(), "latest"); err != nil || s.ID != ids[0] {
				t.Errorf("FindSet latest = %v, %v", s.ID.Short(), err)
			}
			if s, err := r.FindSet(t.Context(), ids[1].String()[:10]); err != nil || s.ID != ids[1] {
				t.Errorf("FindSet prefix = %v, %v", s.ID.Short(), err)
			}
			if _, err := r.FindSet(t.Context(), "ffffffffff"); !errors.Is(err, ErrSetNotFound) {
				t.Errorf("FindSet of nothing: %v", err)
			}
		})
	}
}

func reopenWithSets(t *testing.T, be storage.Backend, encrypted bool) *Repository {
	t.Helper()
	var c *Credentials
	if encrypted {
		c = pw("secret")
	}
	r, err := openWith(t, be, c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// SaveSet refuses a set that breaks the format's rules, or whose members
// are missing or were committed for another operation, and writes nothing.
func TestSaveSetRefusals(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, InitOptions{})
	withSets(t, r)
	other := saveMembers(t, r, strings.Repeat("cd", 16), t0, "x:1")
	missing := Hash([]byte("no such manifest"))
	tests := []struct {
		name string
		edit func(s *Set)
		want string
	}{
		{"bad operation", func(s *Set) { s.Operation = "xyz" }, "32 lowercase hex"},
		{"no data node", func(s *Set) { s.Nodes = []SetNode{{Name: "l:1", Role: RoleLiaison}} }, "no data node"},
		{"unsorted", func(s *Set) { s.Nodes[0], s.Nodes[1] = s.Nodes[1], s.Nodes[0] }, "not sorted"},
		{"duplicate name", func(s *Set) { s.Nodes[1].Name = s.Nodes[0].Name }, "not sorted by unique name"},
		{"unknown role", func(s *Set) { s.Nodes[0].Role = "hot" }, `role "hot"`},
		{"data node without backup", func(s *Set) { s.Nodes[0].Backup = nil }, "has no backup"},
		{"same backup twice", func(s *Set) { s.Nodes[1].Backup = s.Nodes[0].Backup }, "same backup"},
		{"missing member", func(s *Set) { s.Nodes[0].Backup = &missing }, "backup not found"},
		{"member of another operation", func(s *Set) { s.Nodes[0].Backup = other.Nodes[0].Backup }, "was committed for operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := saveMembers(t, r, testOperation, t0, "a:1", "b:1")
			tt.edit(s)
			_, _, err := saveSet(t, r, s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SaveSet = %v, want an error saying %q", err, tt.want)
			}
			if n := len(objects(t, be, "sets/")); n != 0 {
				t.Errorf("%d sets written", n)
			}
		})
	}
}

// A set whose lock was lost is not written: a prune may have deleted what
// its members' uploads stored.
func TestSaveSetNeedsItsLock(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, InitOptions{})
	withSets(t, r)
	s := saveMembers(t, r, testOperation, t0, "a:1")
	shared(t, r, func(lock *Lock) {
		if err := be.Delete(t.Context(), lock.name); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.SaveSet(t.Context(), lock, s); !errors.Is(err, ErrLockLost) {
			t.Fatalf("SaveSet after its lock was removed: %v, want ErrLockLost", err)
		}
	})
	if n := len(objects(t, be, "sets/")); n != 0 {
		t.Errorf("%d sets written", n)
	}
}

// Forgetting a set removes its object, then its members; members of a
// cluster operation without a set are orphans.
func TestRemoveSetsAndOrphans(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, InitOptions{})
	withSets(t, r)
	keep := saveMembers(t, r, testOperation, t0, "a:1", "b:1")
	gone := saveMembers(t, r, strings.Repeat("ab", 16), t0.Add(time.Hour), "a:1", "b:1")
	orphan := saveMembers(t, r, strings.Repeat("ef", 16), t0.Add(2*time.Hour), "a:1")
	lone, _, err := r.SaveManifest(t.Context(), sampleManifest(7))
	if err != nil {
		t.Fatal(err)
	}
	var goneID ID
	for i, s := range []*Set{keep, gone} {
		id, _, err := saveSet(t, r, s)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			goneID = id
		}
	}
	backups, err := r.Backups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sets, err := r.Sets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	orphans := Orphans(backups, sets)
	if len(orphans) != 1 || orphans[0].ID != *orphan.Nodes[0].Backup {
		t.Errorf("orphans %v, want the member of the operation without a set", orphans)
	}
	if m := Membership(sets); len(m) != 4 || m[*gone.Nodes[1].Backup] != goneID {
		t.Errorf("membership %v", m)
	}
	shared(t, r, func(l *Lock) {
		if err := r.RemoveSets(t.Context(), l, []ID{goneID}); err == nil {
			t.Error("RemoveSets took a shared lock")
		}
	})
	lock := exclusive(t, r)
	if err := r.RemoveSets(t.Context(), lock, []ID{goneID, goneID}); err != nil {
		t.Fatal(err)
	}
	left := objects(t, be, "manifests/")
	for _, id := range gone.Members() {
		if _, ok := left["manifests/"+id.String()]; ok {
			t.Errorf("member %s of the forgotten set is still there", id.Short())
		}
	}
	for _, id := range append(keep.Members(), *orphan.Nodes[0].Backup, lone) {
		if _, ok := left["manifests/"+id.String()]; !ok {
			t.Errorf("backup %s was removed with another set", id.Short())
		}
	}
	if n := len(objects(t, be, "sets/")); n != 1 {
		t.Errorf("%d sets left, want 1", n)
	}
}

// saveMember is saveBackup for a member of cluster operation op, of node.
func saveMember(t *testing.T, r *Repository, op, node string, blob []byte) ID {
	t.Helper()
	id := saveBackup(t, r, blob)
	m, err := r.LoadManifest(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	m.ClusterOperation, m.Hostname = op, node
	member, _, err := r.SaveManifest(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	forget(t, r, id)
	return member
}

// Prune deletes the manifests of a cluster backup that failed before its
// set was written, then their data; a dry run only counts them. The set's
// members and a node's own backups are kept.
func TestPruneRemovesOrphans(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	withSets(t, r)
	member := saveMember(t, r, testOperation, "a:1", randBlob(1, 12<<10))
	orphan := saveMember(t, r, strings.Repeat("ab", 16), "a:1", randBlob(2, 12<<10))
	lone := saveBackup(t, r, randBlob(3, 12<<10))
	set := &Set{Operation: testOperation, Time: t0, Cluster: "c", Nodes: []SetNode{{Name: "a:1", Role: RoleData, Backup: &member}}}
	if _, _, err := saveSet(t, r, set); err != nil {
		t.Fatal(err)
	}
	packsBefore := len(objects(t, be, "data/"))
	res, err := prune(t, r, PruneOptions{DryRun: true})
	if err != nil || res.OrphansRemoved != 1 {
		t.Fatalf("dry run: %+v, %v; want one orphan", res, err)
	}
	if _, ok := objects(t, be, "manifests/")["manifests/"+orphan.String()]; !ok {
		t.Fatal("a dry run removed the orphan")
	}
	res, err = prune(t, r, PruneOptions{})
	if err != nil || res.OrphansRemoved != 1 || res.Backups != 2 || res.PacksDeleted == 0 {
		t.Fatalf("prune: %+v, %v; want one orphan removed, two backups kept, its packs deleted", res, err)
	}
	left := objects(t, be, "manifests/")
	if _, ok := left["manifests/"+orphan.String()]; ok || len(left) != 2 {
		t.Errorf("manifests after prune: %v", left)
	}
	if n := len(objects(t, be, "data/")); n >= packsBefore {
		t.Errorf("%d packs after prune, %d before: the orphan's data stayed", n, packsBefore)
	}
	ver, err := reopen(t, be).Verify(t.Context(), VerifyOptions{ReadData: true})
	if err != nil || len(ver.Problems) > 0 || ver.Backups != 2 {
		t.Errorf("verify after prune: %+v, %v", ver, err)
	}
	_ = lone
}

// Verify names a set whose member backup is missing.
func TestVerifyFindsMissingMember(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	withSets(t, r)
	a := saveMember(t, r, testOperation, "a:1", randBlob(1, 1000))
	b := saveMember(t, r, testOperation, "b:1", randBlob(2, 1000))
	set := &Set{Operation: testOperation, Time: t0, Cluster: "c", Nodes: []SetNode{
		{Name: "a:1", Role: RoleData, Backup: &a}, {Name: "b:1", Role: RoleData, Backup: &b}}}
	id, _, err := saveSet(t, r, set)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Verify(t.Context(), VerifyOptions{})
	if err != nil || len(res.Problems) != 0 || res.Sets != 1 {
		t.Fatalf("verify of a whole set: %+v, %v", res, err)
	}
	forget(t, r, b)
	res, err = r.Verify(t.Context(), VerifyOptions{})
	if err != nil || len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error, "backup set "+id.Short()+": the backup of node b:1 is missing") {
		t.Fatalf("verify of a set missing a member: %+v, %v", res, err)
	}
}
