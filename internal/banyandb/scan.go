package banyandb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/parallel"
)

// ErrNotRoot is wrapped by Scan's error when no catalog data directory
// exists under the roots given.
var ErrNotRoot = errors.New("not a BanyanDB data root")

// rootHint tells the user which directory is wanted.
const rootHint = "--root must be the directory given to the server as --measure-root-path etc. (the one holding measure/, stream/, ...)"

// Names Scan leaves out: they belong to a running server or to an
// unfinished write, and BanyanDB's own snapshots leave them out too.
const (
	lockFile        = "lock"
	blugePIDFile    = "bluge.pid"
	tmpSuffix       = ".tmp"
	externalTempDir = "external-segment-temp"
)

// Names that place a file in the tree.
const (
	segmentMetaFile = "metadata"
	shardPrefix     = "shard-"
	sidxDir         = "sidx"
	streamIndexDir  = "idx"
)

// FileKind says what a file is, judged by its position in the tree.
type FileKind int

// The kinds of file in a catalog's data directory.
const (
	// KindOther is any file not recognised below (trace finalize.json,
	// failed-parts/ leftovers, unexpected files).
	KindOther FileKind = iota
	// KindPart is a file inside a part directory, immutable once written.
	KindPart
	// KindSnp is a shard's <epoch>.snp list of live parts.
	KindSnp
	// KindSegmentMetadata is a segment's metadata file.
	KindSegmentMetadata
	// KindIndex is a file of a Bluge index (segment sidx/, stream shard
	// idx/, property shards) or of a trace sidx outside a part.
	KindIndex
)

// String returns a short lowercase name for k.
func (k FileKind) String() string {
	switch k {
	case KindOther:
		return "other"
	case KindPart:
		return "part"
	case KindSnp:
		return "snp"
	case KindSegmentMetadata:
		return "segment-metadata"
	case KindIndex:
		return "index"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Owner is a file's user and group ids (zero where the platform has
// none).
type Owner struct {
	UID, GID uint32
}

// File is one regular file of a catalog's data directory.
type File struct {
	Catalog Catalog
	// Path is relative to the catalog's data dir, slash separated, e.g.
	// "bk_measure/seg-20261119/shard-0/0000000000000001/fv.bin".
	Path string
	// Group and Segment are "" when not applicable (property files have a
	// group and a shard but no segment).
	Group, Segment string
	// Shard is -1 when the file is not inside a shard.
	Shard int
	// Part is the 16 hex digit part name when the file is inside a part
	// directory (also trace sidx/<rule>/<part>/), else "".
	Part string
	Kind FileKind
	// From Lstat.
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
	Inode   uint64
	Dev     uint64
	Nlink   uint64
	Owner   Owner
}

// Dir is one directory below a catalog's data directory (the data directory
// itself is not listed). Empty ones such as external-segment-temp are listed
// too, so that a restore can recreate the same tree.
type Dir struct {
	Catalog Catalog
	// Path is relative to the catalog's data dir, slash separated.
	Path    string
	Mode    fs.FileMode
	ModTime time.Time
	Inode   uint64
	Owner   Owner
	// Reused is set on a part directory that ScanOptions.ReusePart accepted:
	// its files are not listed and its metadata.json is not read.
	Reused bool
}

// Layout is what Scan found under the roots.
type Layout struct {
	// Catalogs lists the catalogs whose data directory exists, in
	// AllCatalogs order.
	Catalogs []Catalog
	// Files, Dirs and Parts are sorted by catalog (AllCatalogs order) then
	// path; Segments by catalog, group, start and name.
	Files    []File
	Dirs     []Dir
	Segments []Segment
	Parts    []Part
	// Zone is the zone segment names were read in, and how it was chosen.
	Zone Zone
	// Warnings describe what the server would reject or delete on startup
	// (segment without metadata, part without a readable metadata.json,
	// directory named seg-… that is no segment name). Scan does not fail on
	// them: the files are listed all the same.
	Warnings []string
}

// TotalBytes returns the sum of the sizes of Files. A file with several
// names in the layout counts once per name.
func (l *Layout) TotalBytes() int64 {
	var n int64
	for _, f := range l.Files {
		n += f.Size
	}
	return n
}

// ScanOptions tunes Scan.
type ScanOptions struct {
	// Catalogs to scan; empty means all.
	Catalogs []Catalog
	// Groups to scan; empty means all. The schema catalog's group is
	// always scanned: a backup without schemas cannot be restored.
	Groups []string
	// Location is the server's time zone, in which segment names are
	// written; nil means learn it from the segments' metadata
	// (ResolveZone). A Location the metadata contradicts fails the scan
	// with ErrTimeZone.
	Location *time.Location
	// ZoneUnchecked reads segment names in Location (nil: time.Local)
	// without learning or checking the zone: for scans that need no
	// segment windows, such as a check of a root or a look at a restore
	// target's formats.
	ZoneUnchecked bool
	// ReusePart, when set, is asked about every part directory (rel is its
	// path below the catalog's data dir). Parts are immutable once written
	// (docs/banyandb.md, Measure, stream and trace trees), so a part
	// directory that a previous backup recorded (the same directory, or a
	// snapshot's hard links to the same commit marker) need not be walked
	// again: when ReusePart returns true the directory is listed with
	// Reused set, and neither its files nor its metadata.json are read.
	ReusePart func(c Catalog, rel string, id PartDirID) bool
	// SkipFiles names files directly in a catalog's data directory to
	// leave out: the claim file a live backup keeps in the snapshot
	// directory it scans in place of the data directory.
	SkipFiles []string
	// PartDirsOnly lists part directories and reads their metadata.json
	// (a trace sidx part's manifest.json), but neither enters them nor
	// lists their files: for a check, which needs none of them.
	PartDirsOnly bool
}

// FileID is what tells one file from another: inode, size and time.
type FileID struct {
	Inode   uint64
	Size    int64
	ModTime time.Time
}

// PartDirID identifies a part directory: its own inode and time, and on
// demand its commit marker's (Marker). A node's snapshot makes new part
// directories of hard links to the same files: the marker's identity
// survives, the directory's does not.
type PartDirID struct {
	Inode   uint64
	ModTime time.Time
	abs     string
	sidx    bool
}

// Marker returns the identity of the part's commit marker (metadata.json,
// or manifest.json of a trace sidx part; zero when missing). It costs a
// stat, which on a cold cache is a read from the disk: ask only when the
// directory's own identity does not settle the question.
func (id PartDirID) Marker() FileID { return markerID(id.abs, id.sidx) }

// Scan walks the data directory of every selected catalog and lists and
// classifies what a backup must copy. Catalogs whose data directory does not
// exist are skipped; if none exists the error wraps ErrNotRoot.
//
// Scan leaves out the files named lock and bluge.pid, every file or
// directory whose name ends in .tmp (with its contents), and the files inside
// external-segment-temp/ directories, all of which are temporary or belong to
// a running server; the external-segment-temp directories themselves are
// listed in Dirs. The snapshots directory beside data is never read. A
// symbolic link or special file below a data directory is an error
// (a data directory that is itself a symbolic link is followed). Scan reads
// every segment metadata file and part metadata.json, and stops when ctx is
// done.
func Scan(ctx context.Context, roots Roots, opts ScanOptions) (*Layout, error) {
	cats, err := selectCatalogs(opts.Catalogs)
	if err != nil {
		return nil, fmt.Errorf("cannot scan BanyanDB data: %w", err)
	}
	s := &scanner{ctx: ctx, layout: &Layout{}, reuse: opts.ReusePart, dirsOnly: opts.PartDirsOnly, groups: opts.Groups, skip: opts.SkipFiles}
	var looked []string
	for _, c := range cats {
		croot := roots.CatalogRoot(c)
		if d := roots.Data[c]; d != "" {
			croot = d
		}
		if croot == "" {
			continue // only some catalogs have a root of their own
		}
		if _, err := os.Stat(croot); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("cannot scan %s root %s: %w", c, croot, err)
			}
			if roots.overridden(c) {
				return nil, fmt.Errorf("cannot scan %s root %s: %w: the directory does not exist", c, croot, ErrNotRoot)
			}
			looked = append(looked, roots.DataDir(c))
			continue
		}
		dataDir := roots.DataDir(c)
		fi, err := os.Stat(dataDir)
		if errors.Is(err, fs.ErrNotExist) {
			looked = append(looked, dataDir)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot scan %s: %w", dataDir, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("cannot scan %s: not a directory", dataDir)
		}
		s.layout.Catalogs = append(s.layout.Catalogs, c)
		if err := s.scanCatalog(c, dataDir); err != nil {
			return nil, err
		}
	}
	if len(s.layout.Catalogs) == 0 {
		if len(looked) == 0 {
			return nil, fmt.Errorf("cannot scan BanyanDB data: %w: no root given; %s", ErrNotRoot, rootHint)
		}
		if _, err := os.Stat(roots.Root); roots.Root != "" && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot scan %s: %w: the directory does not exist; %s", roots.Root, ErrNotRoot, rootHint)
		}
		where := roots.Root
		if where == "" {
			where = "the catalog roots"
		}
		return nil, fmt.Errorf("cannot scan %s: %w: found none of %s; %s",
			where, ErrNotRoot, strings.Join(looked, ", "), rootHint)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.finish(opts); err != nil {
		return nil, err
	}
	return s.layout, nil
}

// selectCatalogs validates and deduplicates the catalogs asked for, in
// AllCatalogs order; none means all.
func selectCatalogs(asked []Catalog) ([]Catalog, error) {
	if len(asked) == 0 {
		return AllCatalogs(), nil
	}
	want := map[Catalog]bool{}
	for _, c := range asked {
		if !c.Valid() {
			return nil, fmt.Errorf("cannot select catalog %q: unknown", string(c))
		}
		want[c] = true
	}
	var out []Catalog
	for _, c := range AllCatalogs() {
		if want[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// scanner accumulates a Layout.
type scanner struct {
	ctx      context.Context
	layout   *Layout
	segments []segDir
	parts    []partDir
	reuse    func(c Catalog, rel string, id PartDirID) bool
	dirsOnly bool // ScanOptions.PartDirsOnly
	groups   []string
	skip     []string // files of the data directory left out
}

// wantGroup reports whether the group directory name of catalog c is scanned.
func (s *scanner) wantGroup(c Catalog, name string) bool {
	return len(s.groups) == 0 || c == SchemaProperty || slices.Contains(s.groups, name)
}

// segDir is a directory named like a segment, read once the walk is done.
type segDir struct {
	catalog Catalog
	group   string
	name    string
	abs     string
}

// partDir is a part directory, whose metadata is read once the walk is done.
type partDir struct {
	part Part
	abs  string
}

// scanWorkers is how many directories are walked at once. The walk waits
// on the disk (a cold cache reads every directory block and inode), so
// many more walkers than cores keep the disk's queue full.
const scanWorkers = 48

// scanCatalog walks one catalog's data directory: each entry of each group
// directory (a segment, a shard of a property group) is walked on its own,
// in parallel, into a scanner of its own; they are merged in order.
func (s *scanner) scanCatalog(c Catalog, dataDir string) error {
	resolved, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		return fmt.Errorf("cannot scan %s: %w", dataDir, err)
	}
	ents, err := os.ReadDir(resolved)
	if err != nil {
		return fmt.Errorf("cannot scan %s: %w", dataDir, err)
	}
	var starts []string // walked whole
	for _, e := range ents {
		start := filepath.Join(resolved, e.Name())
		if !e.IsDir() || !s.wantGroup(c, e.Name()) {
			if !e.IsDir() && !slices.Contains(s.skip, e.Name()) {
				starts = append(starts, start)
			}
			continue
		}
		// The group directory itself, then each of its entries.
		if err := s.walk(c, dataDir, resolved, start, false); err != nil {
			return err
		}
		sub, err := os.ReadDir(start)
		if err != nil {
			return fmt.Errorf("cannot scan %s: %w", filepath.Join(dataDir, e.Name()), err)
		}
		for _, se := range sub {
			starts = append(starts, filepath.Join(start, se.Name()))
		}
	}
	subs := make([]*scanner, len(starts))
	errs := make([]error, len(starts))
	sem := make(chan struct{}, scanWorkers)
	var wg sync.WaitGroup
	for i, start := range starts {
		sub := &scanner{ctx: s.ctx, layout: &Layout{}, reuse: s.reuse, dirsOnly: s.dirsOnly}
		subs[i] = sub
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = sub.walk(c, dataDir, resolved, start, true)
		}()
	}
	wg.Wait()
	for i, sub := range subs {
		if errs[i] != nil {
			return errs[i]
		}
		s.layout.Files = append(s.layout.Files, sub.layout.Files...)
		s.layout.Dirs = append(s.layout.Dirs, sub.layout.Dirs...)
		s.segments = append(s.segments, sub.segments...)
		s.parts = append(s.parts, sub.parts...)
	}
	return nil
}

// walk lists what lies at start, a path below the catalog's data directory
// resolved (shown to users as dataDir), and below it when descend is set.
func (s *scanner) walk(c Catalog, dataDir, resolved, start string, descend bool) error {
	return filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("cannot scan %s: %w", p, err)
		}
		if err := s.ctx.Err(); err != nil {
			return err
		}
		if p == resolved {
			return nil
		}
		rel, err := filepath.Rel(resolved, p)
		if err != nil {
			return fmt.Errorf("cannot scan %s: %w", p, err)
		}
		rel = filepath.ToSlash(rel)
		shown := filepath.Join(dataDir, filepath.FromSlash(rel))
		name := d.Name()
		if IsUnfinished(name) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		typ := d.Type()
		if typ&fs.ModeSymlink != 0 {
			return fmt.Errorf("cannot back up symlink %s: BanyanDB data roots hold no symlinks", shown)
		}
		if !d.IsDir() && !typ.IsRegular() {
			return fmt.Errorf("cannot back up %s: not a regular file or directory (%v)", shown, typ)
		}
		if !d.IsDir() && (name == lockFile || name == blugePIDFile || inExternalTemp(rel)) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("cannot scan %s: %w", shown, err)
		}
		if d.IsDir() {
			isPart := s.addDir(c, rel, p, info)
			if isPart && s.dirsOnly {
				return filepath.SkipDir
			}
			if isPart && s.reuse != nil {
				last := &s.layout.Dirs[len(s.layout.Dirs)-1]
				pd := &s.parts[len(s.parts)-1]
				if s.reuse(c, rel, PartDirID{Inode: last.Inode, ModTime: last.ModTime, abs: p, sidx: pd.part.Rule != ""}) {
					last.Reused = true
					s.parts = s.parts[:len(s.parts)-1]
					return filepath.SkipDir
				}
			}
			if !descend {
				return filepath.SkipDir
			}
			return nil
		}
		f := classify(c, rel)
		f.Size = info.Size()
		f.Mode = info.Mode()
		f.ModTime = info.ModTime()
		f.Inode, f.Dev, f.Nlink = StatIDs(info)
		f.Owner = StatOwner(info)
		s.layout.Files = append(s.layout.Files, f)
		return nil
	})
}

// addDir records a directory and notes it when it is a segment or a part;
// it reports whether it is a part.
func (s *scanner) addDir(c Catalog, rel, abs string, info fs.FileInfo) bool {
	ino, _, _ := StatIDs(info)
	s.layout.Dirs = append(s.layout.Dirs, Dir{Catalog: c, Path: rel, Mode: info.Mode(), ModTime: info.ModTime(), Inode: ino, Owner: StatOwner(info)})
	if !c.HasSegments() {
		return false
	}
	p := strings.Split(rel, "/")
	if len(p) == 2 && strings.HasPrefix(p[1], SegmentPrefix) {
		s.segments = append(s.segments, segDir{catalog: c, group: p[0], name: p[1], abs: abs})
		return false
	}
	if len(p) < 4 || !strings.HasPrefix(p[1], SegmentPrefix) {
		return false
	}
	shard, ok := shardNumber(p[2])
	if !ok {
		return false
	}
	part := Part{Catalog: c, Group: p[0], Segment: p[1], Shard: shard, Path: rel}
	switch {
	case len(p) == 4 && IsPartName(p[3]):
		part.Name = p[3]
	case len(p) == 6 && p[3] == sidxDir && IsPartName(p[5]):
		part.Rule, part.Name = p[4], p[5]
	default:
		return false
	}
	s.parts = append(s.parts, partDir{part: part, abs: abs})
	return true
}

// markerID returns the identity of the commit marker of the part
// directory abs (zero when it has none).
func markerID(abs string, sidx bool) FileID {
	name := PartMetadataFile
	if sidx {
		name = SidxManifestFile
	}
	st, err := os.Lstat(filepath.Join(abs, name))
	if err != nil {
		return FileID{}
	}
	ino, _, _ := StatIDs(st)
	return FileID{Inode: ino, Size: st.Size(), ModTime: st.ModTime()}
}

// inExternalTemp reports whether the file rel lies inside an
// external-segment-temp directory.
func inExternalTemp(rel string) bool {
	dirs := strings.Split(rel, "/")
	for _, d := range dirs[:len(dirs)-1] {
		if d == externalTempDir {
			return true
		}
	}
	return false
}

// classify names the group, segment, shard and part of the file rel and
// judges its kind by its position.
func classify(c Catalog, rel string) File {
	f := File{Catalog: c, Path: rel, Shard: -1, Kind: KindOther}
	p := strings.Split(rel, "/")
	if len(p) < 2 {
		return f // a file directly in the data directory
	}
	if !c.HasSegments() {
		// <group>/shard-N/<Bluge file>; before 0.10: shard-N/<Bluge file>.
		if n, ok := shardNumber(p[0]); ok && len(p) == 2 {
			f.Shard, f.Kind = n, KindIndex
			return f
		}
		f.Group = p[0]
		if n, ok := shardNumber(p[1]); ok && len(p) >= 3 {
			f.Shard, f.Kind = n, KindIndex
		}
		return f
	}
	f.Group = p[0]
	if len(p) < 3 || !strings.HasPrefix(p[1], SegmentPrefix) {
		return f
	}
	f.Segment = p[1]
	if len(p) == 3 && p[2] == segmentMetaFile {
		f.Kind = KindSegmentMetadata
		return f
	}
	if p[2] == sidxDir {
		f.Kind = KindIndex
		return f
	}
	n, ok := shardNumber(p[2])
	if !ok || len(p) < 4 {
		return f
	}
	f.Shard = n
	switch {
	case len(p) == 4:
		if _, ok := SnpEpoch(p[3]); ok {
			f.Kind = KindSnp
		}
	case IsPartName(p[3]):
		f.Part, f.Kind = p[3], KindPart
	case p[3] == streamIndexDir:
		f.Kind = KindIndex
	case p[3] == sidxDir:
		if len(p) >= 7 && IsPartName(p[5]) {
			f.Part, f.Kind = p[5], KindPart
		} else {
			f.Kind = KindIndex
		}
	}
	return f
}

// ShardNumber parses a shard directory name, shard-<N>.
func ShardNumber(name string) (int, bool) { return shardNumber(name) }

// shardNumber parses a shard directory name, shard-<N>.
func shardNumber(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, shardPrefix)
	if !ok || !allDigits(digits) {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// finish reads segment and part metadata, chooses the zone segment names
// are read in, derives segment ends and sorts.
func (s *scanner) finish(opts ScanOptions) error {
	l := s.layout
	if err := s.readSegments(opts); err != nil {
		return err
	}
	paths := make([]string, len(s.parts))
	for i, pd := range s.parts {
		paths[i] = filepath.Join(pd.abs, partMetadataName(pd.part))
	}
	metas, err := readMetadataFiles(s.ctx, paths)
	if err != nil {
		return err
	}
	for i, pd := range s.parts {
		part := pd.part
		file := partMetadataName(part)
		b, err := metas[i].data, metas[i].err
		switch {
		case errors.Is(err, fs.ErrNotExist):
			l.Warnings = append(l.Warnings, fmt.Sprintf("%s: part %s has no %s: the server deletes it on startup", part.Catalog, part.Path, file))
		case err != nil:
			part.MetaError = err.Error()
			l.Warnings = append(l.Warnings, fmt.Sprintf("%s: part %s: %v", part.Catalog, part.Path, err))
		default:
			meta, err := ParsePartMetadata(b)
			if err != nil {
				part.MetaError = err.Error()
				l.Warnings = append(l.Warnings, fmt.Sprintf("%s: part %s: %v", part.Catalog, part.Path, err))
				break
			}
			part.Meta = meta
		}
		l.Parts = append(l.Parts, part)
	}

	sort.Slice(l.Files, func(i, j int) bool {
		return lessPath(l.Files[i].Catalog, l.Files[i].Path, l.Files[j].Catalog, l.Files[j].Path)
	})
	sort.Slice(l.Dirs, func(i, j int) bool {
		return lessPath(l.Dirs[i].Catalog, l.Dirs[i].Path, l.Dirs[j].Catalog, l.Dirs[j].Path)
	})
	sort.Slice(l.Parts, func(i, j int) bool {
		return lessPath(l.Parts[i].Catalog, l.Parts[i].Path, l.Parts[j].Catalog, l.Parts[j].Path)
	})
	sort.Slice(l.Segments, func(i, j int) bool {
		a, b := l.Segments[i], l.Segments[j]
		if a.Catalog != b.Catalog {
			return a.Catalog.order() < b.Catalog.order()
		}
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.Name < b.Name
	})
	deriveEnds(l.Segments, l.Zone.Location)
	sort.Strings(l.Warnings)
	return nil
}

// partMetadataName is the file that holds a part's metadata: metadata.json,
// or a secondary index part's manifest.json.
func partMetadataName(p Part) string {
	if p.Rule != "" {
		return SidxManifestFile
	}
	return PartMetadataFile
}

// metadataReaders is how many metadata files are read at once: on a cold
// cache each read waits on the disk, which serves many at once.
const metadataReaders = 32

// metadataRead is one file's content, or why it could not be read.
type metadataRead struct {
	data []byte
	err  error
}

// readMetadataFiles reads the metadata files at paths (ReadMetadataFile)
// on metadataReaders goroutines, in the order given; an empty path is
// skipped. The error is ctx's, if it ends first.
func readMetadataFiles(ctx context.Context, paths []string) ([]metadataRead, error) {
	out := make([]metadataRead, len(paths))
	err := parallel.ForEach(ctx, metadataReaders, parallel.Positions(len(paths)), func() func(context.Context, int) error {
		return func(_ context.Context, i int) error {
			if paths[i] != "" {
				out[i].data, out[i].err = ReadMetadataFile(paths[i])
			}
			return nil
		}
	})
	return out, err
}

// readSegments reads every segment's metadata, chooses the zone (see
// ScanOptions.Location) and reads the segments' names in it.
func (s *scanner) readSegments(opts ScanOptions) error {
	l := s.layout
	var ends []SegmentEnd
	paths := make([]string, len(s.segments))
	for i, sd := range s.segments {
		if _, _, err := ParseSegmentName(sd.name, time.UTC); err == nil {
			paths[i] = filepath.Join(sd.abs, segmentMetaFile)
		}
	}
	metas, err := readMetadataFiles(s.ctx, paths)
	if err != nil {
		return err
	}
	for i, sd := range s.segments {
		if _, _, err := ParseSegmentName(sd.name, time.UTC); err != nil {
			l.Warnings = append(l.Warnings, fmt.Sprintf("%s: %s/%s is not a segment: %v", sd.catalog, sd.group, sd.name, err))
			continue
		}
		seg := Segment{Catalog: sd.catalog, Group: sd.group, Name: sd.name}
		b, err := metas[i].data, metas[i].err
		switch {
		case errors.Is(err, fs.ErrNotExist):
			l.Warnings = append(l.Warnings, fmt.Sprintf("%s: segment %s has no metadata file: the server deletes it on startup", sd.catalog, seg.Path()))
		case err != nil:
			l.Warnings = append(l.Warnings, fmt.Sprintf("%s: cannot read metadata of segment %s: %v", sd.catalog, seg.Path(), err))
		default:
			version, end, hasEnd, err := ParseSegmentMetadata(b)
			if err != nil {
				l.Warnings = append(l.Warnings, fmt.Sprintf("%s: segment %s: %v", sd.catalog, seg.Path(), err))
				break
			}
			seg.Version, seg.End, seg.EndKnown = version, end, hasEnd
		}
		l.Segments = append(l.Segments, seg)
		ends = append(ends, SegmentEnd{Catalog: seg.Catalog, Group: seg.Group, Name: seg.Name, End: seg.End, EndKnown: seg.EndKnown})
	}
	if opts.ZoneUnchecked {
		l.Zone = Zone{Location: opts.Location, Source: ZoneGiven}
		if l.Zone.Location == nil {
			l.Zone = Zone{Location: time.Local, Source: ZoneLocal}
		}
	} else {
		zone, err := ResolveZone(ends, ZoneOptions{Given: opts.Location})
		if err != nil {
			return err
		}
		l.Zone = zone
	}
	for i := range l.Segments {
		l.Segments[i].Start, _, _ = ParseSegmentName(l.Segments[i].Name, l.Zone.Location)
	}
	return nil
}

// deriveEnds fills the end of every segment whose metadata gave none: the
// start of the group's next segment, else one naming unit after its start.
// segs must be sorted by catalog, group and start.
func deriveEnds(segs []Segment, loc *time.Location) {
	for i := range segs {
		if segs[i].EndKnown {
			continue
		}
		if i+1 < len(segs) && segs[i+1].Catalog == segs[i].Catalog && segs[i+1].Group == segs[i].Group &&
			segs[i+1].Start.After(segs[i].Start) {
			segs[i].End = segs[i+1].Start
			continue
		}
		_, unit, err := ParseSegmentName(segs[i].Name, loc)
		if err != nil {
			continue // cannot happen: only parsed names are listed
		}
		segs[i].End = nextWindow(segs[i].Start, unit)
	}
}

// lessPath orders by catalog (AllCatalogs order) then path.
func lessPath(ca Catalog, pa string, cb Catalog, pb string) bool {
	if ca != cb {
		return ca.order() < cb.order()
	}
	return pa < pb
}
