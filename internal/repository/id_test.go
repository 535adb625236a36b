package repository

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHashIsBLAKE3(t *testing.T) {
	// Published BLAKE3-256 test vectors.
	tests := []struct {
		in   string
		want string
	}{
		{"", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
		{"abc", "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"},
	}
	for _, tt := range tests {
		if got := Hash([]byte(tt.in)).String(); got != tt.want {
			t.Errorf("Hash(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestIDRoundTrip(t *testing.T) {
	for _, in := range []string{"", "a", "hello world", strings.Repeat("x", 10000)} {
		id := Hash([]byte(in))
		s := id.String()
		if len(s) != 64 || strings.ToLower(s) != s {
			t.Fatalf("String() = %q, want 64 lowercase hex digits", s)
		}
		if id.Short() != s[:8] {
			t.Errorf("Short() = %q, want %q", id.Short(), s[:8])
		}
		back, err := ParseID(s)
		if err != nil {
			t.Fatalf("ParseID(%q): %v", s, err)
		}
		if back != id {
			t.Errorf("ParseID(String()) = %v, want %v", back, id)
		}
		upper, err := ParseID(strings.ToUpper(s))
		if err != nil || upper != id {
			t.Errorf("ParseID(upper) = %v, %v; want %v", upper, err, id)
		}
		if id.IsZero() {
			t.Errorf("Hash(%q).IsZero() = true", in)
		}
	}
	if !(ID{}).IsZero() {
		t.Error("ID{}.IsZero() = false")
	}
}

func TestParseIDRejects(t *testing.T) {
	good := Hash([]byte("x")).String()
	tests := map[string]string{
		"empty":       "",
		"short":       good[:63],
		"long":        good + "0",
		"non-hex":     "zz" + good[2:],
		"space":       " " + good[1:],
		"short form":  good[:8],
		"prefix 0x":   "0x" + good[2:],
		"unicode":     "é" + good[2:],
		"double size": good + good,
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			id, err := ParseID(s)
			if err == nil {
				t.Fatalf("ParseID(%q) = %v, want error", s, id)
			}
			if !id.IsZero() {
				t.Errorf("ParseID(%q) returned non-zero id %v with error", s, id)
			}
		})
	}
}

func TestIDJSON(t *testing.T) {
	type wrap struct {
		ID  ID  `json:"id"`
		Ptr *ID `json:"ptr"`
	}
	id := Hash([]byte("json"))
	data, err := json.Marshal(wrap{ID: id, Ptr: &id})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + id.String() + `","ptr":"` + id.String() + `"}`
	if string(data) != want {
		t.Fatalf("Marshal = %s, want %s", data, want)
	}
	var back wrap
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != id || back.Ptr == nil || *back.Ptr != id {
		t.Errorf("Unmarshal = %+v, want both %v", back, id)
	}
	if err := json.Unmarshal([]byte(`{"id":"abc"}`), &back); err == nil {
		t.Error("Unmarshal of a short id succeeded")
	}
}
