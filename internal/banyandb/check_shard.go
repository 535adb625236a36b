package banyandb

import (
	"slices"
	"sort"
)

// PartListLoad is what the server makes of one of a shard's .snp files.
type PartListLoad struct {
	Name  string
	Parts []string // the parts it lists, when it loads
	Err   error    // why it does not load
}

// loadSnps reads and parses a shard's .snp files as the server tries
// them (LoadPartLists).
func (c *checker) loadSnps(sh *shardState) (tried, older []PartListLoad) {
	return LoadPartLists(sh.snps, func(name string) ([]byte, error) {
		return ReadMetadataFile(c.dataFile(sh.catalog, sh.path+"/"+name))
	})
}

// LoadPartLists reads and parses a shard's .snp files (names, read by
// read) from the highest epoch down, as the server tries them
// (docs/banyandb.md, Server startup): the files tried, the winner (the
// first that loads) last when there is one, and the older ones, which the
// server never reads. A file that cannot be read does not load.
func LoadPartLists(names []string, read func(name string) ([]byte, error)) (tried, older []PartListLoad) {
	names = slices.Clone(names)
	sort.Slice(names, func(i, j int) bool {
		a, _ := SnpEpoch(names[i])
		b, _ := SnpEpoch(names[j])
		return a > b
	})
	won := false
	for _, name := range names {
		l := PartListLoad{Name: name}
		b, err := read(name)
		if err == nil {
			l.Parts, err = ParseSnp(b)
		}
		l.Err = err
		if won {
			older = append(older, l)
			continue
		}
		tried = append(tried, l)
		won = err == nil
	}
	return tried, older
}

// WinningPartList returns the parts that the .snp a server loads lists,
// and false when none of the files loads (LoadPartLists).
func WinningPartList(names []string, read func(name string) ([]byte, error)) ([]string, bool) {
	tried, _ := LoadPartLists(names, read)
	if n := len(tried); n > 0 && tried[n-1].Err == nil {
		return tried[n-1].Parts, true
	}
	return nil, false
}

// checkShard applies the shard rules of docs/banyandb.md, Server startup,
// to one shard: stray directories, the .snp that wins, the parts it does
// not list, the listed parts the shard lacks, and incomplete parts.
func (c *checker) checkShard(sh *shardState) error {
	issue := func(sev Severity, act Action, format string, args ...any) {
		c.add(sev, act, sh.catalog, sh.group, sh.segment, sh.num, sh.path, format, args...)
	}
	for _, name := range sh.stray {
		issue(SeverityWarning, ActionDelete, "directory %s is not a part (its name is not 16 hex digits): the server deletes it", name)
	}
	for _, p := range sh.sidxParts {
		if p.Meta == nil {
			issue(SeverityError, ActionDelete, "sidx part %s/%s has no valid %s%s: the server deletes it", p.Rule, p.Name, SidxManifestFile, why(p.MetaError))
		}
	}

	tried, older := c.loadSnps(sh)
	var winner *PartListLoad
	if n := len(tried); n > 0 && tried[n-1].Err == nil {
		winner = &tried[n-1]
		tried = tried[:n-1]
	}
	for _, l := range older {
		if l.Err != nil {
			issue(SeverityWarning, ActionIgnore, "older part list %s cannot be loaded (%v): the server never reads it, as %s loads", l.Name, l.Err, winner.Name)
		}
	}
	for i, l := range tried {
		next := "and no older .snp is left"
		switch {
		case i+1 < len(tried):
			next = "and tries the next older, " + tried[i+1].Name
		case winner != nil:
			next = "and falls back to the next older, " + winner.Name
		}
		issue(SeverityWarning, ActionFallBack, "part list %s cannot be loaded (%v): the server deletes it %s", l.Name, l.Err, next)
	}
	onDisk := len(sh.parts)
	switch {
	case winner == nil && len(sh.snps) == 0 && onDisk > 0:
		issue(SeverityError, ActionEmpty, "shard has no .snp: the server empties it, deleting %s", partCount(onDisk))
		return nil
	case winner == nil && onDisk > 0:
		issue(SeverityError, ActionEmpty, "no .snp of the shard loads: the server empties it, deleting %s", partCount(onDisk))
		return nil
	case winner == nil && len(sh.snps) == 0:
		issue(SeverityWarning, ActionEmpty, "shard has no .snp: the server empties it (it holds no parts)")
		return nil
	case winner == nil:
		return nil // the fallbacks above say it all
	case len(winner.Parts) == 0 && onDisk > 0:
		issue(SeverityError, ActionEmpty, "the winning part list %s lists no parts: the server empties the shard, deleting %s", winner.Name, partCount(onDisk))
		return nil
	}

	listed := map[string]bool{}
	for _, n := range winner.Parts {
		listed[n] = true
		if _, ok := sh.parts[n]; !ok {
			issue(SeverityError, ActionSkip, "part %s is listed in the winning part list %s but not in the shard: the server skips it without a word, and its rows are not served",
				n, winner.Name)
		}
	}
	names := make([]string, 0, len(sh.parts))
	for n := range sh.parts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch {
		case !listed[n]:
			issue(SeverityError, ActionDelete, "part %s is not listed in the winning part list %s: the server deletes it", n, winner.Name)
		case sh.parts[n].Meta == nil:
			issue(SeverityError, ActionDelete, "part %s has no valid %s%s: the server deletes it as incomplete", n, PartMetadataFile, why(sh.parts[n].MetaError))
		}
	}
	return nil
}

// why puts a reason in parentheses, or nothing when there is none.
func why(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}
