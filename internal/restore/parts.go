package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// shardParts is what part selection learns of one shard.
type shardParts struct {
	unit   *unit
	newest *planFile // the .snp with the highest epoch, nil if none
	live   map[string]bool
	keep   map[string]bool
}

// shardsOf gathers the shards of the plan that have a .snp, keyed by the
// shard's path (<catalog>/<group>/<segment>/shard-N), in plan order, each
// with its newest .snp.
func shardsOf(p *plan) (map[string]*shardParts, []string) {
	shards := map[string]*shardParts{}
	var order []string
	for i := range p.files {
		f := &p.files[i]
		if !f.isSnp {
			continue
		}
		sp := shards[f.shard]
		if sp == nil {
			sp = &shardParts{unit: f.unit}
			shards[f.shard] = sp
			order = append(order, f.shard)
		}
		if sp.newest == nil || f.snpEpoch > sp.newest.snpEpoch {
			sp.newest = f
		}
	}
	return shards, order
}

// readLive reads the parts the shard's newest .snp lists into sp.live. A
// part list larger than any real one is not read.
func readLive(ctx context.Context, repo *repository.Repository, sp *shardParts, key string) error {
	if size := sp.newest.node.Size; size > banyandb.MaxMetadataSize {
		return fmt.Errorf("cannot read part list %s/%s: it holds %d bytes, more than the %d (1 MiB) that any metadata file holds", sp.newest.cat, sp.newest.rel, size, banyandb.MaxMetadataSize)
	}
	data, err := readFile(ctx, repo, &sp.newest.node)
	if err != nil {
		return fmt.Errorf("cannot read part list %s/%s: %w", sp.newest.cat, sp.newest.rel, err)
	}
	names, err := banyandb.ParseSnp(data)
	if err != nil {
		return fmt.Errorf("cannot select parts of %s: %s/%s: %w", key, sp.newest.cat, sp.newest.rel, err)
	}
	sp.live = map[string]bool{}
	for _, n := range names {
		sp.live[n] = true
	}
	return nil
}

// selectParts narrows every shard of the selected segments to the parts
// that its newest .snp lists and whose min/max timestamps overlap the time
// window. It replaces the shard's .snp files with one new file, one epoch
// higher, listing exactly those parts, so that a server loads them and
// deletes nothing else (docs/banyandb.md, Server startup). Parts a shard's .snp does not list are
// never restored: a server would delete them. Parts it lists that the backup
// lacks (a live backup's parts in memory) have no directory and so are
// never kept.
func selectParts(ctx context.Context, repo *repository.Repository, p *plan, sel Selection) error {
	shards, order := shardsOf(p)
	for _, key := range order {
		sp := shards[key]
		if err := readLive(ctx, repo, sp, key); err != nil {
			return err
		}
		sp.keep = map[string]bool{}
	}
	for _, d := range p.dirs {
		if !d.isPart {
			continue
		}
		sp := shards[d.shard]
		if sp != nil && sp.live[d.part] && d.partInfo != nil && sel.overlapsNanos(d.partInfo.MinTimestamp, d.partInfo.MaxTimestamp) {
			sp.keep[d.part] = true
		}
	}
	kept := func(shard, part string) bool {
		sp := shards[shard]
		return part == "" || (sp != nil && sp.keep[part])
	}
	dirs := p.dirs[:0]
	for _, d := range p.dirs {
		if kept(d.shard, d.part) {
			dirs = append(dirs, d)
		}
	}
	p.dirs = dirs
	// The new .snp files first: they are made from the old ones, which
	// the filtering below moves.
	if err := replaceSnps(p, shards, order, repo.Now()); err != nil {
		return err
	}
	files := p.files[:0]
	for _, f := range p.files {
		if kept(f.shard, f.part) {
			files = append(files, f)
		}
	}
	p.files = files
	return nil
}

// dropLacking writes a new .snp for every shard of the plan whose newest
// .snp lists parts the backup lacks (lacking, by shard path: a live
// backup's parts that were in the node's memory, docs/banyandb.md,
// Snapshots): one epoch higher, listing what the newest one lists but
// those parts, so that the restored shard lists exactly the parts the
// backup holds. A part the backup holds stays listed: if the restore did
// not write it, check reports it lost. Every other shard is restored as it
// is. It records each shard's lacking parts in the plan.
func dropLacking(ctx context.Context, repo *repository.Repository, p *plan, lacking map[string][]string) error {
	all, allOrder := shardsOf(p)
	shards := map[string]*shardParts{}
	var order []string
	for _, key := range allOrder {
		sp := all[key]
		gone := lacking[key]
		if len(gone) == 0 {
			continue
		}
		if err := readLive(ctx, repo, sp, key); err != nil {
			return err
		}
		sp.keep = map[string]bool{}
		for n := range sp.live {
			sp.keep[n] = true
		}
		for _, n := range gone {
			delete(sp.keep, n)
		}
		shards[key] = sp
		order = append(order, key)
	}
	return replaceSnps(p, shards, order, repo.Now())
}

// deriveLacking finds, for a live backup whose manifest does not record
// what its snapshot lacked (one written before manifests recorded it), the
// parts each shard's newest .snp lists that the backup has no directory
// for: in a node's snapshot, those are the parts it held in memory
// (docs/banyandb.md, Snapshots), the same rule a live backup applies when
// it records them. A live backup that lacked nothing costs one small read
// per shard.
func deriveLacking(ctx context.Context, repo *repository.Repository, p *plan) (map[string][]string, error) {
	shards, order := shardsOf(p)
	present := map[string]map[string]bool{}
	for _, d := range p.dirs {
		if d.isPart {
			if present[d.shard] == nil {
				present[d.shard] = map[string]bool{}
			}
			present[d.shard][d.part] = true
		}
	}
	lacking := map[string][]string{}
	for _, key := range order {
		sp := shards[key]
		if err := readLive(ctx, repo, sp, key); err != nil {
			return nil, err
		}
		for n := range sp.live {
			if !present[key][n] {
				lacking[key] = append(lacking[key], n)
			}
		}
		sort.Strings(lacking[key])
	}
	return lacking, nil
}

// noteLacking records, for every shard of the plan with a .snp, the parts
// the backup lacks (lacking, by shard path), for the result.
func (p *plan) noteLacking(lacking map[string][]string) {
	shards, order := shardsOf(p)
	for _, key := range order {
		if gone := lacking[key]; len(gone) > 0 {
			p.lacking = append(p.lacking, lackingShard{unit: shards[key].unit, shard: key, parts: gone})
		}
	}
}

// replaceSnps replaces the .snp files of the given shards by one new
// file each, listing the shard's kept parts (newSnp).
func replaceSnps(p *plan, shards map[string]*shardParts, order []string, now time.Time) error {
	if len(order) == 0 {
		return nil
	}
	var newSnps []planFile
	for _, key := range order {
		f, err := newSnp(shards[key], key, now)
		if err != nil {
			return err
		}
		newSnps = append(newSnps, f)
	}
	files := p.files[:0]
	for _, f := range p.files {
		if !f.isSnp || shards[f.shard] == nil {
			files = append(files, f)
		}
	}
	p.files = append(files, newSnps...)
	return nil
}

// newSnp makes the shard's new part list: the kept parts, sorted, in a
// file named for the epoch after the newest one.
func newSnp(sp *shardParts, shard string, now time.Time) (planFile, error) {
	names := make([]string, 0, len(sp.keep))
	for n := range sp.keep {
		names = append(names, n)
	}
	sort.Strings(names)
	data, err := json.Marshal(names)
	if err != nil {
		return planFile{}, fmt.Errorf("cannot encode part list of %s: %w", shard, err)
	}
	old := sp.newest
	name := fmt.Sprintf("%016x.snp", old.snpEpoch+1)
	_, shardRel, _ := strings.Cut(shard, "/")
	node := repository.Node{Name: name, Type: repository.NodeFile, Mode: old.node.Mode, Size: int64(len(data)), ModTime: now, UID: old.node.UID, GID: old.node.GID}
	return planFile{cat: old.cat, rel: shardRel + "/" + name, unit: sp.unit, node: node, data: data, generated: true, shard: shard}, nil
}

// readFile reads a small file of the backup whole.
func readFile(ctx context.Context, repo *repository.Repository, n *repository.Node) ([]byte, error) {
	var out []byte
	for _, id := range n.Blobs {
		b, err := repo.LoadBlob(ctx, id, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}
