package snapshot

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
	"github.com/banyan-backup/banyan-backup/internal/allocs"
)

// FuzzSnapshotAnswer decodes a node's HTTP answer to a snapshot request
// as the client does (httpClient.call, then takenFrom, which the gRPC
// client shares): every snapshot it returns has a known catalog and a
// name that is one plain directory name, or an error; memory stays in
// proportion to the answer.
func FuzzSnapshotAnswer(f *testing.F) {
	f.Add([]byte(`{"snapshots":[{"catalog":"CATALOG_MEASURE","name":"20261123193143-00000001"},` +
		`{"catalog":"CATALOG_PROPERTY","name":"schema-property/20261123193143-00000001"},{"catalog":"CATALOG_STREAM","error":"busy"}]}`))
	f.Add([]byte(`{"snapshots":[{"catalog":"CATALOG_TRACE","name":"../x"},{"catalog":"CATALOG_PROPERTY","error":"e"},{"catalog":"CATALOG_PROPERTY","name":"p"}]}`))
	f.Add([]byte(`{"snapshots":[{"catalog":7,"name":"x"}],"unknown":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var taken []Taken
		n := allocs.Bytes(func() {
			resp := &databasev1.SnapshotResponse{}
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, resp); err != nil {
				return
			}
			taken, _ = takenFrom(resp.GetSnapshots())
		})
		if n > uint64(256*len(data))+allocs.Slack {
			t.Fatalf("allocated %d bytes for a %d-byte answer", n, len(data))
		}
		for _, tk := range taken {
			if !tk.Catalog.Valid() {
				t.Fatalf("snapshot of catalog %q", tk.Catalog)
			}
			if tk.Name == "" && tk.Error == "" || tk.Name != "" && !plainName(tk.Name) {
				t.Fatalf("snapshot %+v", tk)
			}
		}
	})
}
