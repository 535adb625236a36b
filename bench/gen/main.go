// Command gen writes a synthetic Apache SkyWalking BanyanDB data root for
// the banyan-backup benchmarks (bench/backup.sh), following the disk layout
// in docs/banyandb.md: measure, stream and trace groups with daily segments, 2–4
// shards, immutable parts listed by .snp files, Bluge index directories,
// and the property and schema-property stores.
//
// Part sizes are heavy-tailed (a few KB to hundreds of MB), and their bytes
// are pseudo-random, like BanyanDB's already zstd-compressed blocks, with
// about 3% compressible content (.tfm/.tm metadata, JSON, small files).
// With --stream-index, a root of log streams: most bytes in the streams'
// element indexes, whose Bluge segments are shaped like real ones
// (incompressible stored documents first, then offsets, dictionaries and
// postings) and compress about 2:1. The tree depends only on --seed,
// --size and --stream-index.
//
//	go run ./bench/gen --out /var/tmp/root --size 2GiB
//	go run ./bench/gen --out /var/tmp/root --add-parts 1   # +1% new parts
//	go run ./bench/gen --out /var/tmp/root --next-day      # a day of a node
//	go run ./bench/gen --check /var/tmp/root               # verify the layout
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	out      string
	size     int64
	seed     uint64
	add      float64 // > 0: incremental mode
	check    string
	workers  int
	addIsSet bool
	nextDay  bool
	// streamIndex is the share of the bytes in stream element indexes.
	streamIndex float64
}

// parseFlags parses and validates the command line.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "", "root directory to create (absent or empty), or the existing root for --add-parts")
	size := fs.String("size", "2GiB", "total bytes: 2GiB, 512MiB, 100MB, 1048576 …")
	fs.Uint64Var(&o.seed, "seed", 1, "seed; the same seed and size give the same tree")
	fs.Float64Var(&o.add, "add-parts", 0, "add new parts totalling PERCENT of the existing root's bytes")
	fs.StringVar(&o.check, "check", "", "verify that DIR has the BanyanDB layout, then exit")
	fs.BoolVar(&o.nextDay, "next-day", false, "move the existing root a day on: new parts in today's segment, merges in yesterday's, a segment created for tomorrow, the oldest expired")
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "parallel writers")
	fs.Float64Var(&o.streamIndex, "stream-index", 0, "share of the bytes in stream element indexes (shard idx/), e.g. 0.67 for a root of log streams like a real one, whose Bluge index files are then shaped like real ones and compress about 2:1 (0: the default root's small, incompressible indexes; with --add-parts: new index files are shaped so)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { o.addIsSet = o.addIsSet || f.Name == "add-parts" })
	if o.check != "" {
		return o, nil
	}
	if o.out == "" {
		return o, errors.New("--out is required")
	}
	if o.streamIndex < 0 || o.streamIndex > 0.9 {
		return o, errors.New("--stream-index must be between 0 and 0.9")
	}
	if o.addIsSet && o.add <= 0 {
		return o, errors.New("--add-parts needs a positive percent")
	}
	if o.addIsSet && o.nextDay {
		return o, errors.New("--add-parts and --next-day exclude each other")
	}
	var err error
	o.size, err = parseSize(*size)
	return o, err
}

// run executes one invocation and prints its one-line summary.
func run(args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.check != "" {
		return runCheck(o.check, stderr)
	}
	start := time.Now()
	var st stats
	what := "generated"
	index := kindRandom
	if o.streamIndex > 0 {
		index = kindBluge
	}
	switch {
	case o.addIsSet:
		n, err := addParts(o.out, o.add, o.seed, index, &st)
		if err != nil {
			return err
		}
		what = fmt.Sprintf("added %d parts (%.3g%%):", n, o.add)
	case o.nextDay:
		n, err := nextDay(o.out, o.seed, index, &st)
		if err != nil {
			return err
		}
		what = fmt.Sprintf("moved %d groups a day on:", n)
	default:
		if err := generate(o, &st); err != nil {
			return err
		}
	}
	secs := time.Since(start).Seconds()
	b := st.bytes.Load()
	fmt.Fprintf(stderr, "gen: %s %d files, %d dirs, %d bytes (%s) in %.2f s (%.0f MiB/s) in %s\n",
		what, st.files.Load(), st.dirs.Load(), b, formatMiB(b), secs, float64(b)/(1<<20)/secs, o.out)
	return nil
}

// generate writes a new root.
func generate(o options, st *stats) error {
	if err := ensureEmptyDir(o.out); err != nil {
		return err
	}
	p := newShapedPlan(o.seed, o.size, o.streamIndex)
	return runJobs(o.out, o.seed, p.jobs, o.workers, st)
}

// ensureEmptyDir creates dir, or accepts it if it exists and is empty.
func ensureEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// runCheck verifies a root and reports.
func runCheck(root string, stderr io.Writer) error {
	c := checkRoot(root)
	for i, p := range c.problems {
		if i == 20 {
			fmt.Fprintf(stderr, "  … %d more\n", len(c.problems)-i)
			break
		}
		fmt.Fprintln(stderr, "  "+p)
	}
	if len(c.problems) > 0 {
		return fmt.Errorf("check %s: %d problems", root, len(c.problems))
	}
	fmt.Fprintf(stderr, "gen: check %s: OK: %d groups, %d segments, %d shards, %d parts\n",
		root, c.groups, c.segments, c.shards, c.parts)
	return nil
}
