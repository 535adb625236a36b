package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	gojson "github.com/goccy/go-json"
)

// Node types in a tree.
const (
	NodeDir  = "dir"
	NodeFile = "file"
)

// SegmentInfo is what a segment directory's node records.
type SegmentInfo struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	EndKnown bool      `json:"end_known"`
	Version  string    `json:"version"`
}

// PartInfo is what a part directory's node records, from its metadata.json.
type PartInfo struct {
	MinTimestamp   int64  `json:"min_timestamp"`
	MaxTimestamp   int64  `json:"max_timestamp"`
	TotalCount     uint64 `json:"total_count"`
	CompressedSize uint64 `json:"compressed_size"`
	// Marker is the part's commit marker (metadata.json, or manifest.json
	// of a trace sidx part) as the backup found it: a later backup that
	// finds the same file there (a snapshot hard-links it) reuses the
	// part's subtree without walking it. Absent in older backups.
	Marker *FileID `json:"marker,omitempty"`
}

// FileID tells one file from another: inode, size and time.
type FileID struct {
	Inode   uint64    `json:"inode"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
}

// Node is one entry of a tree: a file with its blobs, or a directory with
// its subtree. For a directory, Size and Files total everything below it.
type Node struct {
	Name    string      `json:"name"`
	Type    string      `json:"type"`
	Mode    fs.FileMode `json:"mode"`
	Size    int64       `json:"size,omitempty"`
	Files   int64       `json:"files,omitempty"`
	ModTime time.Time   `json:"mtime,omitzero"`
	Inode   uint64      `json:"inode,omitempty"`
	// UID and GID own the file or directory; 0 (root) is left out, as in
	// backups made before owners were recorded.
	UID     uint32       `json:"uid,omitempty"`
	GID     uint32       `json:"gid,omitempty"`
	Blobs   []ID         `json:"blobs,omitempty"`
	Subtree *ID          `json:"subtree,omitempty"`
	Segment *SegmentInfo `json:"segment,omitempty"`
	Part    *PartInfo    `json:"part,omitempty"`
	// Origin is set on a file a live backup took from a node's snapshot
	// where the node writes each copy anew from a live file (a Bluge index
	// file): it names that live file and the copy's last bytes, so that the
	// next live backup can reuse Blobs unread.
	Origin *Origin `json:"origin,omitempty"`
}

// Origin is the live file a snapshot's copy was written from, as it was
// when the backup took the copy, and the copy's last bytes (at most
// OriginTailSize). A node writes a snapshot's copy of an unchanged live
// index file byte for byte the same every time (docs/banyandb.md,
// Snapshots), so a later copy of the same live file, of the same size and
// ending with the same bytes, has the same content
// (repository-format.md, "Incremental backups").
type Origin struct {
	Inode   uint64    `json:"inode"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	Tail    []byte    `json:"tail"`
}

// OriginTailSize is how many of a copy's last bytes an Origin keeps.
const OriginTailSize = 32

// Same reports whether a copy with origin o was written from the
// same live file as the one this origin names, and ends the same.
func (o *Origin) Same(other *Origin) bool {
	return o != nil && other != nil && o.Inode == other.Inode && o.Size == other.Size &&
		o.ModTime.Equal(other.ModTime) && string(o.Tail) == string(other.Tail)
}

// Tree is one directory: its entries sorted by name.
type Tree struct {
	Entries []Node `json:"entries"`
}

// SaveTree stores a tree through the saver and returns its id. It refuses
// a tree that no reader would accept (repository-format.md, "Valid
// trees"): names, order, types and modes.
func (s *Saver) SaveTree(ctx context.Context, t *Tree, scratch *Scratch) (ID, bool, error) {
	if err := checkEntries(t, false, nil); err != nil {
		return ID{}, false, fmt.Errorf("cannot store tree: %w", err)
	}
	data, err := json.Marshal(t)
	if err != nil {
		return ID{}, false, fmt.Errorf("cannot encode tree: %w", err)
	}
	id := Hash(data)
	added, err := s.Save(ctx, TreeBlob, id, data, scratch)
	return id, added, err
}

// LoadTree reads and decodes a tree blob.
func (r *Repository) LoadTree(ctx context.Context, id ID) (*Tree, error) {
	data, err := r.LoadBlob(ctx, id, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot load tree %s: %w", id.Short(), err)
	}
	var t Tree
	if err := decodeTree(data, &t); err != nil {
		return nil, fmt.Errorf("%w: tree %s is not valid: %v", ErrIntegrity, id.Short(), err)
	}
	return &t, nil
}

// decodeTree decodes a tree blob's JSON into t. Restores and backups decode
// thousands of trees before their first file (a 2 GiB root has 7,240):
// goccy/go-json decodes them four times as fast as encoding/json, to the
// same Tree (FuzzTree compares the two; docs/dependencies.md). A panic in
// the decoder, on bytes a hostile repository could hold, is an error.
func decodeTree(data []byte, t *Tree) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot decode: %v", p)
		}
	}()
	return gojson.Unmarshal(data, t)
}

// WalkFunc is called for every node below a tree with its slash path.
// Returning SkipDir for a directory skips its contents.
type WalkFunc func(path string, n *Node) error

// SkipDir tells Walk not to descend into a directory.
//
//lint:ignore ST1012 a control-flow signal named after fs.SkipDir, not an error a caller reports
var SkipDir = errors.New("skip this directory")

// Walk visits every node under the tree id depth-first, in name order.
// A directory is visited before its entries. Before it visits any, it
// checks the trees as repository-format.md, "Valid trees", says: names,
// order, types, modes, sizes, depth and the number of entries; a tree that
// breaks a rule fails the walk with a *TreeError (ErrIntegrity), so that
// fn only ever sees valid names and bounded work.
func (r *Repository) Walk(ctx context.Context, id ID, fn WalkFunc) error {
	c := newTreeCheck(r)
	if err := c.backup(ctx, id); err != nil {
		return err
	}
	var visited int64
	return r.walk(ctx, c, id, "", 0, &visited, fn)
}

func (r *Repository) walk(ctx context.Context, c *treeCheck, id ID, prefix string, depth int, visited *int64, fn WalkFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := c.load(ctx, id)
	if err != nil {
		return err
	}
	// The first pass checked every tree it could load; these checks
	// hold the walk to the same rules should it load one more.
	if err := c.checked(t, id, prefix, depth); err != nil {
		return err
	}
	*visited += int64(len(t.Entries))
	if err := c.limits(prefix, depth, treeStats{nodes: *visited, height: min(len(t.Entries), 1)}); err != nil {
		return err
	}
	for i := range t.Entries {
		n := &t.Entries[i]
		p := joinPath(prefix, n.Name)
		if err := fn(p, n); err != nil {
			if errors.Is(err, SkipDir) && n.Type == NodeDir {
				continue
			}
			return err
		}
		if n.Type == NodeDir && n.Subtree != nil {
			if err := r.walk(ctx, c, *n.Subtree, p, depth+1, visited, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
