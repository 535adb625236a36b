package repository

import (
	"cmp"
	"slices"
)

// boundRepack keeps the copying of live blobs within max bytes (0: no
// bound). It repacks first the packs that free the most space per byte
// copied (the most unused bytes for the fewest live ones), and keeps the
// others as they are, for a later prune: their unused blobs stay stored
// and indexed, and nothing is lost. Packs no backup uses at all are
// deleted whatever the bound, as they cost nothing to copy.
func (p *prunePlan) boundRepack(max int64) {
	if max <= 0 || p.repackLive <= max {
		return
	}
	type cand struct {
		id           ID
		live, unused int64
	}
	cands := make([]cand, 0, len(p.repack))
	for id, locs := range p.repack {
		var live int64
		for _, l := range locs {
			live += int64(l.Length)
		}
		cands = append(cands, cand{id, live, p.stored[id] - live})
	}
	// unused/live descending, compared as unused_a*live_b > unused_b*live_a.
	slices.SortFunc(cands, func(a, b cand) int {
		if c := cmp.Compare(b.unused*a.live, a.unused*b.live); c != 0 {
			return c
		}
		return cmp.Compare(a.id.String(), b.id.String())
	})
	p.repackLive = 0
	for _, c := range cands {
		if p.repackLive+c.live <= max {
			p.repackLive += c.live
			continue
		}
		delete(p.repack, c.id)
		delete(p.remove, c.id)
		p.keep[c.id] = struct{}{}
		p.later++
	}
}
