package repository

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// VerifyOptions selects what Verify checks.
type VerifyOptions struct {
	// Backups to check; empty means all.
	Backups []Backup
	// ReadData reads every pack the backups use and checks every blob's hash.
	ReadData bool
	// Subset narrows ReadData to some of the packs (zero: all).
	Subset   Subset
	Progress progress.Reporter
}

// Problem is one thing wrong, with the backup and file it affects.
type Problem struct {
	Backup string `json:"backup"`
	Path   string `json:"path,omitempty"`
	Blob   string `json:"blob,omitempty"`
	Pack   string `json:"pack,omitempty"`
	Error  string `json:"error"`
}

func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "backup %s", ShortHex(p.Backup))
	if p.Path != "" {
		fmt.Fprintf(&b, ": %s", p.Path)
	}
	fmt.Fprintf(&b, ": %s", p.Error)
	return b.String()
}

// ShortHex returns the first 8 digits of a hex id, as the CLI shows ids,
// or s itself when it is shorter.
func ShortHex(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// VerifyResult reports what Verify checked and found.
type VerifyResult struct {
	Backups   int       `json:"backups"`
	Sets      int       `json:"sets,omitempty"`
	Files     int64     `json:"files"`
	Blobs     int       `json:"blobs"`
	Packs     int       `json:"packs"`
	PacksRead int       `json:"packs_read"`
	BytesRead int64     `json:"bytes_read"`
	Problems  []Problem `json:"problems"`
}

// Verify checks that every backup's trees and blobs are indexed and their
// packs exist with the indexed size; with ReadData it also reads the packs
// and checks every blob's hash. Problems are returned in the result, not as
// the error; the error is for failures to check at all.
func (r *Repository) Verify(ctx context.Context, opts VerifyOptions) (*VerifyResult, error) {
	rep := progress.OrNop(opts.Progress)
	backups := opts.Backups
	if len(backups) == 0 {
		var err error
		if backups, err = r.Backups(ctx); err != nil {
			return nil, err
		}
	}
	stored := map[ID]int64{}
	err := r.be.List(ctx, "data/", func(o storage.ObjectInfo) error {
		if id, err := ParseID(o.Name[strings.LastIndexByte(o.Name, '/')+1:]); err == nil {
			stored[id] = o.Size
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list packs in %s: %w", r.be.Location(), err)
	}
	res := &VerifyResult{Backups: len(backups)}
	if len(opts.Backups) == 0 {
		if err := r.verifySets(ctx, backups, res); err != nil {
			return nil, err
		}
	}
	needed := map[ID]struct{}{} // blobs the backups use
	packs := map[ID]struct{}{}  // packs they live in
	badPack := map[ID]string{}  // pack → why it is unusable
	for _, b := range backups {
		r.verifyTree(ctx, b, res, stored, needed, packs, badPack)
	}
	res.Blobs, res.Packs = len(needed), len(packs)
	var badBlob map[ID]string
	if opts.ReadData {
		var err error
		if badBlob, err = r.readPacks(ctx, opts.Subset.pick(packs), badPack, res, rep); err != nil {
			return nil, err
		}
	}
	if len(badBlob) > 0 || len(badPack) > 0 {
		r.nameDamage(ctx, backups, badBlob, badPack, res)
	}
	return res, nil
}

// verifyTree walks one backup's trees, checking every blob is indexed and
// its pack stored with the right size.
func (r *Repository) verifyTree(ctx context.Context, b Backup, res *VerifyResult, stored map[ID]int64, needed, packs map[ID]struct{}, badPack map[ID]string) {
	check := func(path string, id ID) {
		needed[id] = struct{}{}
		loc, ok := r.index.Lookup(id)
		if !ok {
			res.Problems = append(res.Problems, Problem{Backup: b.ID.String(), Path: path, Blob: id.String(), Error: fmt.Sprintf("blob %s is in no index", id.Short())})
			return
		}
		packs[loc.Pack] = struct{}{}
		size, ok := stored[loc.Pack]
		want, _ := r.index.PackSize(loc.Pack)
		switch {
		case !ok:
			badPack[loc.Pack] = "pack is missing"
		case size != want:
			badPack[loc.Pack] = fmt.Sprintf("pack has %d bytes, the index says %d", size, want)
		}
	}
	if err := checkManifest(b.Manifest); err != nil {
		res.Problems = append(res.Problems, Problem{Backup: b.ID.String(), Error: err.Error()})
	}
	check("", b.Tree)
	err := r.Walk(ctx, b.Tree, func(path string, n *Node) error {
		switch {
		case n.Type == NodeFile:
			res.Files++
			for _, id := range n.Blobs {
				check(path, id)
			}
		case n.Subtree != nil:
			check(path, *n.Subtree)
		}
		return nil
	})
	if err != nil {
		p := Problem{Backup: b.ID.String(), Error: err.Error()}
		var te *TreeError
		if errors.As(err, &te) {
			p.Path, p.Error = te.Dir, te.Problem
		}
		res.Problems = append(res.Problems, p)
	}
}

// readPacks reads every pack and checks its hash and each blob's hash. It
// returns the blobs that failed, by id.
func (r *Repository) readPacks(ctx context.Context, packs map[ID]struct{}, badPack map[ID]string, res *VerifyResult, rep progress.Reporter) (map[ID]string, error) {
	ids := make([]ID, 0, len(packs))
	var total int64
	for id := range packs {
		if _, bad := badPack[id]; !bad {
			ids = append(ids, id)
			size, _ := r.index.PackSize(id)
			total += size
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	blobsOf := map[ID][]Location{}
	r.index.mu.RLock()
	for id, e := range r.index.blobs {
		if _, ok := packs[e.pack]; ok {
			blobsOf[e.pack] = append(blobsOf[e.pack], e.location(id))
		}
	}
	r.index.mu.RUnlock()
	rep.Start("verify", int64(len(ids)), total)
	defer rep.Done()
	badBlob := map[ID]string{}
	for _, id := range ids {
		data, err := storage.ReadAll(ctx, r.be, packName(id))
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				badPack[id] = "pack is missing"
				continue
			}
			return nil, fmt.Errorf("cannot read pack %s: %w", id.Short(), err)
		}
		res.PacksRead++
		res.BytesRead += int64(len(data))
		rep.Advance(1, int64(len(data)))
		anyBad := false
		intact := Hash(data) == id // before decodeBlob decrypts blobs in place
		for _, loc := range blobsOf[id] {
			end := uint64(loc.Offset) + uint64(loc.Length)
			if end > uint64(len(data)) {
				badBlob[loc.ID] = fmt.Sprintf("blob %s lies past the end of pack %s", loc.ID.Short(), id.Short())
				anyBad = true
				continue
			}
			if _, err := r.decodeBlob(loc, data[loc.Offset:end], nil); err != nil {
				badBlob[loc.ID] = err.Error()
				anyBad = true
			}
		}
		if !intact && !anyBad {
			badPack[id] = "pack does not match its hash (damage outside the blobs this repository uses)"
		}
	}
	return badBlob, nil
}

// nameDamage walks the backups again to name every file that uses a
// damaged blob or pack.
func (r *Repository) nameDamage(ctx context.Context, backups []Backup, badBlob map[ID]string, badPack map[ID]string, res *VerifyResult) {
	for _, b := range backups {
		_ = r.Walk(ctx, b.Tree, func(path string, n *Node) error {
			ids := n.Blobs
			if n.Subtree != nil {
				ids = []ID{*n.Subtree}
			}
			for _, id := range ids {
				if why, ok := badBlob[id]; ok {
					res.Problems = append(res.Problems, Problem{Backup: b.ID.String(), Path: path, Blob: id.String(), Error: why})
					continue
				}
				if loc, ok := r.index.Lookup(id); ok {
					if why, ok := badPack[loc.Pack]; ok {
						res.Problems = append(res.Problems, Problem{Backup: b.ID.String(), Path: path, Blob: id.String(), Pack: loc.Pack.String(), Error: fmt.Sprintf("%s: %s", loc.Pack.Short(), why)})
					}
				}
			}
			return nil
		})
	}
}
