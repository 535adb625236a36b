package backup_test

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// PartRead names every part directory the backup reads, once, and only
// after the last of its files is stored; an unchanged part directory,
// which the next backup does not read, is not named.
func TestPartReadNamesEachReadPartOnce(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo, err := repository.Init(ctx, mem.New("t"), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	layout, err := banyandb.Scan(ctx, banyandb.Roots{Root: root}, banyandb.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range layout.Files {
		if f.Part != "" {
			want[string(f.Catalog)+"/"+filepath.ToSlash(filepath.Dir(f.Path))] = true
		}
	}
	var mu sync.Mutex
	got := map[string]int{}
	opts := backup.Options{Roots: banyandb.Roots{Root: root}}
	partRead := func(c banyandb.Catalog, dir string) {
		mu.Lock()
		got[string(c)+"/"+dir]++
		mu.Unlock()
	}
	if _, err := backup.RunWithPartRead(ctx, repo, opts, partRead); err != nil {
		t.Fatal(err)
	}
	var extra, twice []string
	for d, n := range got {
		if !want[d] {
			extra = append(extra, d)
		}
		if n != 1 {
			twice = append(twice, d)
		}
	}
	sort.Strings(extra)
	if len(got) != len(want) || len(extra) > 0 || len(twice) > 0 {
		t.Errorf("PartRead named %d directories for %d parts; not parts: %s; more than once: %s",
			len(got), len(want), strings.Join(extra, ", "), strings.Join(twice, ", "))
	}

	// The next backup reads no unchanged part: PartRead is not called.
	got = map[string]int{}
	if _, err := backup.RunWithPartRead(ctx, repo, opts, partRead); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("an unchanged backup named %d part directories", len(got))
	}
}
