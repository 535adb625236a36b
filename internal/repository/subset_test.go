package repository

import (
	"testing"
)

func TestParseSubset(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Subset
		ok   bool
	}{
		{"1/7", Subset{N: 1, Of: 7}, true},
		{"7/7", Subset{N: 7, Of: 7}, true},
		{"256/256", Subset{N: 256, Of: 256}, true},
		{"12.5%", Subset{Percent: 12.5}, true},
		{"100%", Subset{Percent: 100}, true},
		{"0/7", Subset{}, false},
		{"8/7", Subset{}, false},
		{"1/257", Subset{}, false},
		{"0%", Subset{}, false},
		{"101%", Subset{}, false},
		{"half", Subset{}, false},
		{"1/", Subset{}, false},
	} {
		got, err := ParseSubset(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSubset(%q) = %+v, %v; want %+v, ok %v", c.in, got, err, c.want, c.ok)
		}
		if c.ok && got.String() != c.in {
			t.Errorf("Subset %q prints as %q", c.in, got.String())
		}
	}
}

// TestVerifySubsets: the groups 1/T … T/T read every pack exactly once, a
// damaged pack is found by the group holding it, and a percentage reads
// that share of the packs.
func TestVerifySubsets(t *testing.T) {
	f := newVerifyFixture(t)
	const of = 3
	read := map[ID]int{}
	total := 0
	for n := 1; n <= of; n++ {
		sub := Subset{N: n, Of: of}
		for id := range sub.pick(map[ID]struct{}{f.p1: {}, f.p2: {}, f.t1: {}, f.t2: {}}) {
			read[id]++
		}
		total += f.verify(t, VerifyOptions{ReadData: true, Subset: sub}).PacksRead
	}
	if total != 4 || len(read) != 4 {
		t.Errorf("groups 1/%d … %d/%d read %d packs, %d distinct; want each of the 4 once", of, of, of, total, len(read))
	}
	if res := f.verify(t, VerifyOptions{ReadData: true, Subset: Subset{Percent: 50}}); res.PacksRead != 2 {
		t.Errorf("50%% read %d of 4 packs", res.PacksRead)
	}

	flipByte(t, f.be, packName(f.p2), 10)
	found := 0
	for n := 1; n <= of; n++ {
		res := f.verify(t, VerifyOptions{ReadData: true, Subset: Subset{N: n, Of: of}})
		if len(res.Problems) > 0 {
			found++
			if int(f.p2[0])%of != n-1 {
				t.Errorf("subset %d/%d, which does not hold the damaged pack, found %v", n, of, res.Problems)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d subsets found the damaged pack, want 1", found)
	}
}
