package allocs

import "testing"

var sink []byte

func TestBytesCountsLargeAllocations(t *testing.T) {
	const n = 8 << 20
	got := Bytes(func() { sink = make([]byte, n) })
	if got < n || got > n+Slack {
		t.Errorf("Bytes counted %d for an allocation of %d", got, n)
	}
	if got := Bytes(func() {}); got > Slack {
		t.Errorf("Bytes counted %d for nothing", got)
	}
}
