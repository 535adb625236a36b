// Package compat decides whether a backup can be restored into a target
// BanyanDB release, catalog by catalog, from a table of what every release
// writes and accepts (docs/banyandb.md, Versions) and of the cross-version outcomes measured on
// real servers (testdata/fixtures/README.md, "What real servers did with each
// other's data").
//
// ParseTarget reads a release such as "0.11" or "v0.10.2"; TargetFromRoot
// infers it from an existing data root; Decide returns one Decision per
// catalog of a backup.
package compat

import (
	"fmt"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// release is one row of the table: a range of BanyanDB releases of one line
// that write the same segment format and accept the same ones.
type release struct {
	// line is the major.minor line, e.g. "0.10".
	major, minor int
	// firstPatch and lastPatch bound the patch releases of the row;
	// lastPatch -1 means every later patch of the line.
	firstPatch, lastPatch int
	// name is how messages call the row, e.g. "0.10.0–0.10.2".
	name string
	// writes is the segment format the row's releases write.
	writes string
	// accepts are the segment formats they open (docs/banyandb.md, Versions
	// and Server startup: a segment of another format stops the server with
	// an error).
	accepts []string
}

// releases is the table of docs/banyandb.md, Versions, oldest first. The 0.7, 0.8 and 0.9 rows hold
// every patch of their line, as that table names the lines only; 0.10 patches
// after 0.10.3 are not known and are refused by ParseTarget; the 0.11 row is
// the development line measured in the fixtures.
var releases = []release{
	{major: 0, minor: 7, firstPatch: 0, lastPatch: -1, name: "0.7", writes: "1.1.0", accepts: []string{"1.1.0"}},
	{major: 0, minor: 8, firstPatch: 0, lastPatch: -1, name: "0.8", writes: "1.2.0", accepts: []string{"1.2.0"}},
	{major: 0, minor: 9, firstPatch: 0, lastPatch: -1, name: "0.9", writes: "1.3.0", accepts: []string{"1.3.0"}},
	{major: 0, minor: 10, firstPatch: 0, lastPatch: 2, name: "0.10.0–0.10.2", writes: "1.4.0", accepts: []string{"1.4.0"}},
	{major: 0, minor: 10, firstPatch: 3, lastPatch: 3, name: "0.10.3", writes: "1.5.0", accepts: []string{"1.4.0", "1.5.0"}},
	{major: 0, minor: 11, firstPatch: 0, lastPatch: -1, name: "0.11", writes: "1.5.0", accepts: []string{"1.4.0", "1.5.0"}},
}

// lineOf returns the position of a release line in the order of lines
// (0.7 is 0, 0.11 is 4); docs/banyandb.md, Versions: upgrades go one line at a time.
func lineOf(r release) int { return r.minor - 7 }

func (r release) acceptsFormat(v string) bool {
	for _, a := range r.accepts {
		if a == v {
			return true
		}
	}
	return false
}

// writers returns the rows that write segment format v, oldest first.
func writers(v string) []int {
	var out []int
	for i, r := range releases {
		if r.writes == v {
			out = append(out, i)
		}
	}
	return out
}

// brokenPair is a source/target pair that the segment format check lets
// through but that real servers showed not to work.
type brokenPair struct {
	catalog banyandb.Catalog
	// segment is the segment format of the backed-up data.
	segment string
	// targetMinor is the target's line (0.<minor>).
	targetMinor int
	reason      string
	hint        string
}

// brokenPairs are the measured failures of testdata/fixtures/README.md.
// 0.10.3 was not measured: the trace layout change is recorded against 0.11
// only.
var brokenPairs = []brokenPair{{
	catalog: banyandb.Trace, segment: "1.4.0", targetMinor: 11,
	reason: "BanyanDB 0.11 reads trace parts written by 0.10.0–0.10.2 (segment format 1.4.0) with a block metadata layout it changed " +
		"without changing the segment format: the server starts but every trace query fails with " +
		"\"cannot unmarshal blockMetadata entries\" (measured on real servers)",
	hint: "restore the trace data into BanyanDB 0.10.2, or restore the other catalogs only; " +
		"--allow-incompatible restores it anyway",
}}

// downgradePropertyReason is the property outcome measured with a 0.10.2
// server on 0.11 data (fixtures README): property data is readable when
// 0.10.2 schemas are in place.
const downgradePropertyReason = "a BanyanDB 0.10.2 server reads 0.11 property data only when its own 0.10 schemas are in place"

// schemaDowngradeReason says why the schemas of a backup that may come from
// a newer release than r are refused. docs/banyandb.md, Versions: a real
// 0.10.3 server stopped on 0.11's schemas with unknown field "createdAt",
// and 0.10.2 refuses them too.
func schemaDowngradeReason(src source, r release) string {
	newest := max(src.minRow, src.maxRow)
	if r.major == 0 && r.minor == 10 && newest >= 0 && (newest >= len(releases) || releases[newest].minor >= 11) {
		return "BanyanDB 0.10 servers cannot read the schemas 0.11 writes: they refuse to start on them " +
			"(a real 0.10.3 server stopped with unknown field \"createdAt\"; 0.10.2 refuses them too)"
	}
	return fmt.Sprintf("a BanyanDB %s server cannot be relied on to read the schemas a newer release wrote", r.name)
}
