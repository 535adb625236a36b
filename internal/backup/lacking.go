package backup

import (
	"path"
	"path/filepath"
	"slices"
	"sort"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// lackingParts lists, per shard of a scanned snapshot, the parts that the
// shard's newest .snp (the one a server would load: the highest epoch that
// parses) lists but that the snapshot has no directory of. A node lists
// the parts it still holds in memory in its snapshot's .snp without
// linking them (docs/banyandb.md, Snapshots): their rows are in no
// snapshot, and a restore must not promise them to a server. The result is
// sorted by catalog (AllCatalogs order), group, segment and shard.
func lackingParts(roots banyandb.Roots, l *banyandb.Layout) []repository.LackingParts {
	type shard struct {
		file banyandb.File // any .snp of it, for its place
		snps []string      // paths of its .snp files
	}
	shards := map[string]*shard{}
	var order []string
	for _, f := range l.Files {
		if f.Kind != banyandb.KindSnp || f.Shard < 0 || f.Segment == "" {
			continue
		}
		key := string(f.Catalog) + ":" + path.Dir(f.Path)
		sh := shards[key]
		if sh == nil {
			sh = &shard{file: f}
			shards[key] = sh
			order = append(order, key)
		}
		sh.snps = append(sh.snps, f.Path)
	}
	dirs := map[string]bool{}
	for _, d := range l.Dirs {
		dirs[string(d.Catalog)+":"+d.Path] = true
	}
	var out []repository.LackingParts
	for _, key := range order {
		sh := shards[key]
		c := sh.file.Catalog
		listed := winningPartList(roots.DataDir(c), sh.snps)
		var missing []string
		for _, p := range listed {
			if !dirs[string(c)+":"+path.Dir(sh.file.Path)+"/"+p] && !slices.Contains(missing, p) {
				missing = append(missing, p)
			}
		}
		if len(missing) == 0 {
			continue
		}
		sort.Strings(missing)
		out = append(out, repository.LackingParts{Catalog: string(c), Group: sh.file.Group, Segment: sh.file.Segment,
			Shard: sh.file.Shard, Parts: missing})
	}
	rank := map[string]int{}
	for i, c := range banyandb.AllCatalogs() {
		rank[string(c)] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.Catalog != b.Catalog:
			return rank[a.Catalog] < rank[b.Catalog]
		case a.Group != b.Group:
			return a.Group < b.Group
		case a.Segment != b.Segment:
			return a.Segment < b.Segment
		}
		return a.Shard < b.Shard
	})
	return out
}

// winningPartList returns the parts that the .snp a server would load
// lists, of a shard's .snp files (paths below dataDir, all in one shard);
// nil when none loads (check reports that shard).
func winningPartList(dataDir string, snps []string) []string {
	shard := filepath.Join(dataDir, filepath.FromSlash(path.Dir(snps[0])))
	names := make([]string, len(snps))
	for i, p := range snps {
		names[i] = path.Base(p)
	}
	listed, _ := banyandb.WinningPartList(names, func(name string) ([]byte, error) {
		return banyandb.ReadMetadataFile(filepath.Join(shard, name))
	})
	return listed
}
