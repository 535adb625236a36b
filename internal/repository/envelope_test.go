package repository

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

type envelopeValue struct {
	Name  string   `json:"name"`
	N     int      `json:"n"`
	Items []string `json:"items"`
}

func newTestCodec(t *testing.T) *codec {
	t.Helper()
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

func TestEnvelopeRoundTrip(t *testing.T) {
	c := newTestCodec(t)
	in := envelopeValue{Name: "manifest", N: 42, Items: []string{strings.Repeat("abc", 1000), "x"}}
	for _, kind := range []byte{kindIndex, kindManifest, kindLock} {
		data, err := c.sealJSON(kind, in)
		if err != nil {
			t.Fatal(err)
		}
		wantHeader := []byte{'B', 'B', 'K', '1', kind, 0, 1, 0}
		if !bytes.Equal(data[:envelopeSize], wantHeader) {
			t.Errorf("kind %d: header % x, want % x", kind, data[:envelopeSize], wantHeader)
		}
		if len(data) > 1000 {
			t.Errorf("kind %d: %d bytes: repetitive payload was not compressed", kind, len(data))
		}
		var out envelopeValue
		if err := c.openJSON(kind, data, &out); err != nil {
			t.Fatalf("kind %d: openJSON: %v", kind, err)
		}
		if out.Name != in.Name || out.N != in.N || len(out.Items) != 2 || out.Items[0] != in.Items[0] {
			t.Errorf("kind %d: round trip gave %+v", kind, out)
		}
	}
}

func TestEnvelopeUncompressedPayload(t *testing.T) {
	// Byte 6 = 0 means the payload is plain JSON; a reader must accept it.
	c := newTestCodec(t)
	data := append([]byte{'B', 'B', 'K', '1', kindManifest, 0, 0, 0}, `{"name":"plain","n":7}`...)
	var out envelopeValue
	if err := c.openJSON(kindManifest, data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Name != "plain" || out.N != 7 {
		t.Errorf("got %+v", out)
	}
}

func TestEnvelopeRejects(t *testing.T) {
	c := newTestCodec(t)
	good, err := c.sealJSON(kindManifest, envelopeValue{Name: "x", N: 1})
	if err != nil {
		t.Fatal(err)
	}
	with := func(off int, v byte) []byte {
		b := bytes.Clone(good)
		b[off] = v
		return b
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrIntegrity},
		{"short header", good[:5], ErrIntegrity},
		{"bad magic", with(0, 'X'), ErrIntegrity},
		{"bad magic version", with(3, '2'), ErrIntegrity},
		{"wrong kind", with(4, kindIndex), ErrIntegrity},
		{"encrypted object in a plain repository", with(5, 1), ErrIntegrity},
		{"unknown encryption", with(5, 2), ErrUnsupportedFormat},
		{"unknown encryption 255", with(5, 255), ErrUnsupportedFormat},
		{"unknown compression", with(6, 7), ErrUnsupportedFormat},
		{"truncated zstd", good[:len(good)-3], ErrIntegrity},
		{"header only", good[:envelopeSize], ErrIntegrity},
		{"garbage zstd", append(bytes.Clone(good[:envelopeSize]), "not zstd at all"...), ErrIntegrity},
		{"plain bad json", append([]byte{'B', 'B', 'K', '1', kindManifest, 0, 0, 0}, `{"name":`...), ErrIntegrity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out envelopeValue
			err := c.openJSON(kindManifest, tt.data, &out)
			if !errors.Is(err, tt.want) {
				t.Fatalf("openJSON = %v, want %v", err, tt.want)
			}
		})
	}
	// Unknown encryption is refused before the payload is looked at, and
	// not confused with damage.
	err = c.openJSON(kindManifest, with(5, 2), new(envelopeValue))
	if errors.Is(err, ErrIntegrity) {
		t.Errorf("unknown encryption also reported as integrity failure: %v", err)
	}
}
