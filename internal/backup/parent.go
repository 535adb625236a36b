package backup

import (
	"context"
	"fmt"
	"path"
	"sync"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// previous is what the parent backup recorded, by path in the root tree:
// its files outside part directories, and its part directories (whose
// contents are not loaded: parts are immutable).
// A live backup's preread (through file) and scan (reusesPart) use it at
// once, under mu; after the preread stops, the backup proper alone does.
type previous struct {
	mu    sync.Mutex
	files map[string]*repository.Node
	parts map[string]*repository.Node
	// loaded are the part directories whose files are in files.
	loaded map[string]bool
}

func newPrevious() *previous {
	return &previous{files: map[string]*repository.Node{}, parts: map[string]*repository.Node{}, loaded: map[string]bool{}}
}

// reusesPart accepts a part directory the parent recorded at the same path
// whose subtree the repository still has, when it is the same directory
// (inode and modification time: a file added, removed or renamed inside
// would move the time) or, with byMarker (a live backup's snapshot, whose
// part directories are new every time), holds the same commit marker
// (inode, size and time: a new directory of hard links to the same part).
// BanyanDB never changes a part once its marker is written, and never
// reuses a part's name.
func (p *previous) reusesPart(repo *repository.Repository, c banyandb.Catalog, rel string, id banyandb.PartDirID, byMarker bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.parts[nodePath(c, rel)]
	if n == nil || n.Subtree == nil || !repo.Index().Has(*n.Subtree) {
		return false
	}
	if n.Inode == id.Inode && n.ModTime.Equal(id.ModTime) {
		return true // the same directory
	}
	return byMarker && n.Part != nil && n.Part.Marker != nil && sameMarker(n.Part.Marker, id.Marker())
}

// sameMarker reports whether a part's recorded commit marker r is the file m.
func sameMarker(r *repository.FileID, m banyandb.FileID) bool {
	return m.Inode != 0 && r.Inode == m.Inode && r.Size == m.Size && r.ModTime.Equal(m.ModTime)
}

// file returns the parent's node for a file. A file inside a part directory
// that could not be reused as a whole (its directory changed) is looked up
// in that part's subtree, loaded on first need.
func (p *previous) file(ctx context.Context, repo *repository.Repository, treePath string) (*repository.Node, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n, ok := p.files[treePath]; ok {
		return n, nil
	}
	dir := path.Dir(treePath)
	part, ok := p.parts[dir]
	if !ok || part.Subtree == nil || p.loaded[dir] {
		return nil, nil
	}
	p.loaded[dir] = true // the part stays in parts: the scan may still reuse it whole
	t, err := repo.LoadTree(ctx, *part.Subtree)
	if err != nil {
		return nil, fmt.Errorf("cannot read parent backup: %w", err)
	}
	for i := range t.Entries {
		if n := &t.Entries[i]; n.Type == repository.NodeFile {
			p.files[dir+"/"+n.Name] = n
		}
	}
	return p.files[treePath], nil
}

// loadParent finds the parent backup and indexes what it recorded: the
// newest backup of the same roots (of host too, when host is set).
func loadParent(ctx context.Context, repo *repository.Repository, opts Options, src repository.Source, host string) (*repository.Backup, *previous, error) {
	prev := newPrevious()
	var parent *repository.Backup
	if opts.Parent != "" {
		b, err := repo.FindBackup(ctx, opts.Parent)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot use parent: %w", err)
		}
		parent = &b
	} else {
		backups, err := repo.Backups(ctx)
		if err != nil {
			return nil, nil, err
		}
		for i := len(backups) - 1; i >= 0; i-- {
			if sameRoots(backups[i].Source.Roots, src.Roots) && (host == "" || backups[i].Host() == host) {
				parent = &backups[i]
				break
			}
		}
	}
	if parent == nil {
		return nil, prev, nil
	}
	l := &parentLoader{repo: repo, prev: prev, force: opts.ForceRehash, sem: make(chan struct{}, workers(opts))}
	l.load(ctx, parent.Tree, "")
	l.wg.Wait()
	if l.err != nil {
		return nil, nil, fmt.Errorf("cannot read parent backup %s: %w", parent.ID.Short(), l.err)
	}
	return parent, prev, nil
}

// parentLoader decodes the parent's trees on several goroutines; part
// directories are recorded, not descended into.
type parentLoader struct {
	repo  *repository.Repository
	prev  *previous
	force bool
	sem   chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
}

func (l *parentLoader) load(ctx context.Context, id repository.ID, prefix string) {
	t, err := l.repo.LoadTree(ctx, id)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || l.err != nil {
		if l.err == nil {
			l.err = err
		}
		return
	}
	for i := range t.Entries {
		n := &t.Entries[i]
		p := n.Name
		if prefix != "" {
			p = prefix + "/" + n.Name
		}
		switch {
		case n.Type == repository.NodeFile:
			l.prev.files[p] = n
		case n.Subtree == nil:
		case banyandb.IsPartName(n.Name) && !l.force:
			l.prev.parts[p] = n
		default:
			l.wg.Add(1)
			go func(id repository.ID) {
				defer l.wg.Done()
				l.sem <- struct{}{}
				defer func() { <-l.sem }()
				l.load(ctx, id, p)
			}(*n.Subtree)
		}
	}
}

// sameRoots reports whether a backup of roots a can be the parent of one
// of roots b: every catalog of b that a had is at the same place.
func sameRoots(a, b map[string]string) bool {
	shared := 0
	for k, v := range b {
		if av, ok := a[k]; ok {
			if av != v {
				return false
			}
			shared++
		}
	}
	return shared > 0
}
