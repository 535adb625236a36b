// Package allocs measures how many heap bytes a function allocates, for the
// fuzz targets' memory bounds: a parser must not allocate by a length field
// it has not checked against its input.
package allocs

import "runtime/metrics"

const heapAllocs = "/gc/heap/allocs:bytes"

// Slack is what Bytes may count beyond fn's own allocations: small objects
// are counted a span (up to 32 KiB) at a time, per size class, and other
// goroutines may allocate meanwhile. Allocations over 32 KiB are counted
// exactly.
const Slack = 1 << 20

// Bytes returns the heap bytes allocated while fn ran, fn's own give or
// take Slack.
func Bytes(fn func()) uint64 {
	s := []metrics.Sample{{Name: heapAllocs}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	fn()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}
