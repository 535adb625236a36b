package repository

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Subset selects which packs `verify --read-data` reads: all (the zero
// value), group N of Of (packs whose id's first byte modulo Of is N-1, so
// Of runs with N = 1…Of read every pack once), or a random Percent of them.
type Subset struct {
	N, Of   int
	Percent float64
}

// ParseSubset reads "N/T" (1 ≤ N ≤ T ≤ 256) or "P%" (0 < P ≤ 100).
func ParseSubset(s string) (Subset, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || !(f > 0 && f <= 100) {
			return Subset{}, fmt.Errorf("invalid subset %q: want a percentage above 0 and at most 100, such as 10%%", s)
		}
		return Subset{Percent: f}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	n, err1 := strconv.Atoi(a)
	of, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || of < 1 || of > 256 || n < 1 || n > of {
		return Subset{}, fmt.Errorf("invalid subset %q: want N/T with 1 ≤ N ≤ T ≤ 256 (such as 1/7, read on day one of seven) or a percentage", s)
	}
	return Subset{N: n, Of: of}, nil
}

// String is the subset as ParseSubset reads it ("" for all).
func (s Subset) String() string {
	switch {
	case s.Of > 0:
		return fmt.Sprintf("%d/%d", s.N, s.Of)
	case s.Percent > 0:
		return strconv.FormatFloat(s.Percent, 'f', -1, 64) + "%"
	}
	return ""
}

// pick returns the packs the subset selects.
func (s Subset) pick(packs map[ID]struct{}) map[ID]struct{} {
	switch {
	case s.Of > 0:
		out := map[ID]struct{}{}
		for id := range packs {
			if int(id[0])%s.Of == s.N-1 {
				out[id] = struct{}{}
			}
		}
		return out
	case s.Percent > 0 && s.Percent < 100:
		ids := make([]ID, 0, len(packs))
		for id := range packs {
			ids = append(ids, id)
		}
		rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		out := map[ID]struct{}{}
		for _, id := range ids[:int(math.Ceil(float64(len(ids))*s.Percent/100))] {
			out[id] = struct{}{}
		}
		return out
	}
	return packs
}
