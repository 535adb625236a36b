// Command chart draws bench/compare.sh's simulated week: per kind of root,
// the bytes each tool's repository holds day by day (day 0: after the full
// backup), and the seconds each daily backup took.
//
//	go run ./bench/compare/chart --in week.tsv --out docs/compare.png
//
// The input is tab-separated, with a header line: root, tool, day, seconds,
// stored_bytes.
package main

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func main() {
	in := flag.String("in", "", "the week's results (TSV)")
	out := flag.String("out", "compare.png", "the PNG to write")
	title := flag.String("title", "", "a line under each panel's title")
	flag.Parse()
	if err := run(*in, *out, *title); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

// point is one backup of the week.
type point struct {
	root, tool string
	day        int
	seconds    float64
	stored     float64
}

func run(in, out, title string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	pts, err := parse(f)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", in, err)
	}
	return drawWeek(pts, out, title)
}

// parse reads the TSV, header first.
func parse(r io.Reader) ([]point, error) {
	sc := bufio.NewScanner(r)
	var pts []point
	for line := 0; sc.Scan(); line++ {
		if line == 0 || strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("line %d: %d fields, want 5", line+1, len(f))
		}
		day, err1 := strconv.Atoi(f[2])
		secs, err2 := strconv.ParseFloat(f[3], 64)
		stored, err3 := strconv.ParseFloat(f[4], 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("line %d: %w", line+1, err)
		}
		pts = append(pts, point{root: f[0], tool: f[1], day: day, seconds: secs, stored: stored})
	}
	if len(pts) == 0 {
		return nil, errors.New("no data")
	}
	return pts, sc.Err()
}

// drawWeek lays out one column per kind of root: stored MB above, the
// daily backups' seconds below, a line per tool.
func drawWeek(pts []point, out, title string) error {
	var roots, tools []string
	for _, p := range pts {
		if !slices.Contains(roots, p.root) {
			roots = append(roots, p.root)
		}
		if !slices.Contains(tools, p.tool) {
			tools = append(tools, p.tool)
		}
	}
	plots := [][]*plot.Plot{make([]*plot.Plot, len(roots)), make([]*plot.Plot, len(roots))}
	for c, root := range roots {
		var err error
		if plots[0][c], err = panel(pts, root, tools, "repository MB", "day (0: the full backup)", title, func(p point) float64 { return p.stored / 1e6 }); err != nil {
			return err
		}
		var days []point // the daily backups; the full backup is in the table
		for _, p := range pts {
			if p.day > 0 {
				days = append(days, p)
			}
		}
		if plots[1][c], err = panel(days, root, tools, "daily backup seconds", "day", title, func(p point) float64 { return p.seconds }); err != nil {
			return err
		}
	}
	img := vgimg.New(vg.Length(460*len(roots))*vg.Millimeter/3, 200*vg.Millimeter)
	dc := draw.New(img)
	t := draw.Tiles{Rows: 2, Cols: len(roots), PadX: 4 * vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	canvases := plot.Align(plots, t, dc)
	for r := range plots {
		for c := range plots[r] {
			plots[r][c].Draw(canvases[r][c])
		}
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// panel plots one measure of one root, a line per tool, days in order.
func panel(pts []point, root string, tools []string, ylabel, xlabel, title string, y func(point) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = root + " root: " + ylabel
	if title != "" {
		p.Title.Text += "\n" + title
	}
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Legend.Top = true
	var args []any
	for _, tool := range tools {
		var mine []point
		for _, q := range pts {
			if q.root == root && q.tool == tool {
				mine = append(mine, q)
			}
		}
		if len(mine) == 0 {
			continue
		}
		slices.SortFunc(mine, func(a, b point) int { return cmp.Compare(a.day, b.day) })
		xys := make(plotter.XYs, len(mine))
		for i, q := range mine {
			xys[i].X, xys[i].Y = float64(q.day), y(q)
		}
		args = append(args, tool, xys)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return nil, err
	}
	return p, nil
}
