package choices

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// treeFile is one regular file of a BanyanDB data tree.
type treeFile struct {
	rel  string // slash-separated path below the root, e.g. "measure/data/bk_measure/…"
	data []byte
}

// loadDataTrees extracts the fixture archive name and returns every regular
// file below <root>/<catalog>/data/, sorted by path. Snapshots are left out:
// they are hard links to the same files and would only double the counts.
func loadDataTrees(t testing.TB, name string) []treeFile {
	t.Helper()
	root := filepath.Join(fixture.ForTest(t, name), "data")
	catalogs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var files []treeFile
	for _, c := range catalogs {
		if !c.IsDir() {
			continue
		}
		dataDir := filepath.Join(root, c.Name(), "data")
		if _, err := os.Stat(dataDir); err != nil {
			continue
		}
		err := filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, treeFile{rel: filepath.ToSlash(rel), data: data})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		t.Fatalf("fixture %s: no files below <root>/<catalog>/data", name)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return files
}

// isPartName reports whether s is a part directory name (16 hex digits).
func isPartName(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// table collects tab-separated rows and renders them aligned.
type table struct {
	b strings.Builder
	w *tabwriter.Writer
}

func newTable(header ...string) *table {
	t := &table{}
	t.w = tabwriter.NewWriter(&t.b, 0, 0, 2, ' ', 0)
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	fmt.Fprintln(t.w, strings.Join(cells, "\t")+"\t")
}

func (t *table) String() string {
	t.w.Flush()
	return t.b.String()
}

func pct(part, whole int64) string {
	if whole == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

func num(n int64) string { return fmt.Sprint(n) }
