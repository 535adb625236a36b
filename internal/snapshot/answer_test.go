package snapshot

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/common/v1"
	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

func TestTakenFrom(t *testing.T) {
	const n = "20261123193143-0000000A"
	snap := func(c commonv1.Catalog, name, err string) *databasev1.Snapshot {
		return &databasev1.Snapshot{Catalog: c, Name: name, Error: err}
	}
	tests := []struct {
		name    string
		in      []*databasev1.Snapshot
		want    []Taken
		wantErr string
	}{
		{name: "all", in: []*databasev1.Snapshot{
			snap(commonv1.Catalog_CATALOG_PROPERTY, SchemaPrefix+n, ""),
			snap(commonv1.Catalog_CATALOG_PROPERTY, n, ""),
			snap(commonv1.Catalog_CATALOG_MEASURE, n, ""),
			snap(commonv1.Catalog_CATALOG_STREAM, n, ""),
			snap(commonv1.Catalog_CATALOG_TRACE, n, "disk full"),
		}, want: []Taken{
			{banyandb.SchemaProperty, n, ""}, {banyandb.Property, n, ""}, {banyandb.Measure, n, ""},
			{banyandb.Stream, n, ""}, {banyandb.Trace, n, "disk full"},
		}},
		{name: "unnamed schema failure", in: []*databasev1.Snapshot{
			snap(commonv1.Catalog_CATALOG_PROPERTY, "", "boom"),
			snap(commonv1.Catalog_CATALOG_PROPERTY, n, ""),
		}, want: []Taken{{banyandb.SchemaProperty, "", "boom"}, {banyandb.Property, n, ""}}},
		{name: "unnamed property failure", in: []*databasev1.Snapshot{
			snap(commonv1.Catalog_CATALOG_PROPERTY, SchemaPrefix+n, ""),
			snap(commonv1.Catalog_CATALOG_PROPERTY, "", "boom"),
		}, want: []Taken{{banyandb.SchemaProperty, n, ""}, {banyandb.Property, "", "boom"}}},
		{name: "unspecified catalog", in: []*databasev1.Snapshot{
			snap(commonv1.Catalog_CATALOG_UNSPECIFIED, n, ""),
			snap(commonv1.Catalog_CATALOG_MEASURE, n, ""),
		}, want: []Taken{{banyandb.Measure, n, ""}}, wantErr: "unexpected catalog CATALOG_UNSPECIFIED"},
		{name: "unknown catalog", in: []*databasev1.Snapshot{snap(commonv1.Catalog(9), n, "")},
			want: []Taken{}, wantErr: "unexpected catalog 9"},
		{name: "path in name", in: []*databasev1.Snapshot{snap(commonv1.Catalog_CATALOG_MEASURE, "../x", "")},
			want: []Taken{}, wantErr: "not a plain directory name"},
		{name: "empty", in: []*databasev1.Snapshot{snap(commonv1.Catalog_CATALOG_STREAM, "", "")},
			want: []Taken{}, wantErr: "neither a name nor an error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := takenFrom(tt.in)
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewRequest(t *testing.T) {
	if _, err := newRequest([]Group{{Catalog: banyandb.SchemaProperty, Name: "_schema"}}); err == nil {
		t.Error("newRequest accepted a schema-property group")
	}
	req, err := newRequest([]Group{{Catalog: banyandb.Trace, Name: "t"}})
	if err != nil || len(req.GetGroups()) != 1 || req.GetGroups()[0].GetCatalog() != commonv1.Catalog_CATALOG_TRACE {
		t.Errorf("newRequest = %v, %v", req, err)
	}
}

// fakeHTTP serves answer on every /api/v1/ path with the given status and
// records the last snapshot request body.
func fakeHTTP(t *testing.T, status int, answer string, body *string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == healthPath {
			_, _ = io.WriteString(w, "SERVING")
			return
		}
		if body != nil && r.URL.Path == snapshotPath {
			b, _ := io.ReadAll(r.Body)
			*body = r.Method + " " + r.Header.Get("Content-Type") + " " + string(b)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHTTPAnswers(t *testing.T) {
	const n = "20261123193143-00000001"
	tests := []struct {
		name, answer string
		status       int
		groups       []Group
		wantBody     string
		want         []Taken
		wantErr      string
	}{
		{name: "fixture answer", status: 200,
			answer:   `{"snapshots":[{"catalog":"CATALOG_PROPERTY","name":"schema-property/` + n + `","error":""},{"catalog":"CATALOG_MEASURE","name":"` + n + `","error":"","extra":1}],"more":true}`,
			wantBody: "POST application/json {}",
			want:     []Taken{{banyandb.SchemaProperty, n, ""}, {banyandb.Measure, n, ""}}},
		{name: "groups", status: 200, answer: `{"snapshots":[]}`,
			groups:   []Group{{banyandb.Measure, "bk_measure"}},
			wantBody: `POST application/json {"groups":[{"catalog":"CATALOG_MEASURE","group":"bk_measure"}]}`,
			want:     []Taken{}},
		{name: "unknown enum", status: 200, answer: `{"snapshots":[{"catalog":"CATALOG_METRIC","name":"` + n + `"}]}`,
			wantErr: "unexpected catalog CATALOG_UNSPECIFIED"},
		{name: "server error", status: 503, answer: `{"code":14,"message":"the simulator is stopping","details":[]}`,
			wantErr: `POST /api/v1/snapshot: HTTP 503 Service Unavailable: {"code":14,"message":"the simulator is stopping","details":[]}`},
		{name: "long error", status: 500, answer: strings.Repeat("x", 1000),
			wantErr: "HTTP 500 Internal Server Error: " + strings.Repeat("x", 200) + "…"},
		{name: "not json", status: 200, answer: `<html>`, wantErr: `cannot parse answer "<html>"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body string
			url := fakeHTTP(t, tt.status, tt.answer, &body)
			c := dial(t, Options{Node: url})
			got, err := c.Snapshot(context.Background(), tt.groups)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if strings.Join(strings.Fields(body), "") != strings.Join(strings.Fields(tt.wantBody), "") {
				t.Errorf("request %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestHTTPVersion(t *testing.T) {
	url := fakeHTTP(t, 200, `{"version":{"version":"0.10","revision":"3b4e4d973"}}`, nil)
	c := dial(t, Options{Node: url, CallTimeout: time.Second})
	v, err := c.APIVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v != (Version{"0.10", "3b4e4d973"}) {
		t.Errorf("APIVersion = %+v", v)
	}
	empty := fakeHTTP(t, 200, `{}`, nil)
	if _, err := dial(t, Options{Node: empty}).APIVersion(context.Background()); err == nil ||
		!strings.Contains(err.Error(), "no version") {
		t.Errorf("APIVersion of an empty answer: %v", err)
	}
}
