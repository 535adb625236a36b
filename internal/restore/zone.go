package restore

import (
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// ZoneFor chooses the server's time zone for a restore of backup b, in
// which dates (--from 2026-11-20) and segment names are read: given (nil:
// none) and not contradicted by the ends the backup's segments record;
// else the zone the backup recorded; else one learned from those ends, or
// the local zone when they are none (banyandb.ResolveZone). The error
// wraps banyandb.ErrTimeZone.
//
// reread is set for a backup written before manifests recorded their zone
// when the zone was given or learned: its segments' recorded starts were
// read in whatever zone that backup was told or guessed, so a restore
// reads them again from the names in this zone (Selection.Zone).
func ZoneFor(b repository.Backup, given *time.Location) (zone banyandb.Zone, reread bool, err error) {
	old := b.ServerZone == nil
	if given == nil && !old {
		if loc, err := banyandb.ParseZone(b.ServerZone.Name); err == nil && loc != nil {
			return banyandb.Zone{Location: loc, Source: banyandb.ZoneRecorded}, false, nil
		}
	}
	ends := make([]banyandb.SegmentEnd, 0, len(b.Segments))
	for _, s := range b.Segments {
		ends = append(ends, banyandb.SegmentEnd{Catalog: banyandb.Catalog(s.Catalog), Group: s.Group, Name: s.Name, End: s.End, EndKnown: s.EndKnown})
	}
	zone, err = banyandb.ResolveZone(ends, banyandb.ZoneOptions{Given: given})
	if err != nil {
		return banyandb.Zone{}, false, err
	}
	return zone, old && zone.Source != banyandb.ZoneLocal, nil
}

// window is the segment window a restore selects by: the recorded one, or
// with Selection.Zone set one that starts at the name read in that zone
// (a derived end moves with the start; an end the metadata recorded
// stays).
func (s Selection) window(name string, info *repository.SegmentInfo) *repository.SegmentInfo {
	if info == nil || s.Zone == nil {
		return info
	}
	start, _, err := banyandb.ParseSegmentName(name, s.Zone)
	if err != nil {
		return info
	}
	w := *info
	if !w.EndKnown {
		w.End = w.End.Add(start.Sub(w.Start))
	}
	w.Start = start.UTC()
	return &w
}
