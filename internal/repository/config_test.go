package repository

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

func TestInitWritesConfig(t *testing.T) {
	for _, bk := range backends() {
		t.Run(bk.name, func(t *testing.T) {
			be := bk.new(t)
			r := newTestRepo(t, be, InitOptions{})
			got := objects(t, be, "")
			if len(got) != 1 || got["config"] == 0 {
				t.Fatalf("after Init the backend holds %v, want only config", got)
			}
			var raw map[string]any
			if err := json.Unmarshal(getObject(t, be, "config"), &raw); err != nil {
				t.Fatalf("config is not plain JSON: %v", err)
			}
			want := map[string]any{
				"version": 1.0, "hash": "blake3-256", "chunker": "fixed", "chunk_size": float64(DefaultChunkSize),
				"pack_size": float64(DefaultPackSize), "compression": "zstd", "encryption": "none",
			}
			for k, v := range want {
				if raw[k] != v {
					t.Errorf("config %s = %v, want %v", k, raw[k], v)
				}
			}
			if id, _ := raw["id"].(string); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
				t.Errorf("config id %q, want 32 hex digits", raw["id"])
			}
			if _, ok := raw["created"].(string); !ok {
				t.Errorf("config has no created time")
			}
			cfg := reopen(t, be).Config()
			if !reflect.DeepEqual(cfg, r.Config()) {
				t.Errorf("Open config %+v, Init config %+v", cfg, r.Config())
			}
		})
	}
}

func TestInitOptions(t *testing.T) {
	r := newTestRepo(t, mem.New("t"), InitOptions{PackSize: 1 << 20, ChunkSize: 256 << 10})
	if c := r.Config(); c.PackSize != 1<<20 || c.ChunkSize != 256<<10 {
		t.Errorf("config %+v", c)
	}
	if _, err := Init(t.Context(), mem.New("t"), InitOptions{PackSize: 1 << 31}, Options{}); err == nil {
		t.Error("Init accepted a 2 GiB pack size")
	}
	// Two repositories get different ids.
	r2 := newTestRepo(t, mem.New("t"), InitOptions{})
	if r.Config().ID == r2.Config().ID {
		t.Error("two repositories share an id")
	}
}

func TestInitTwice(t *testing.T) {
	for _, bk := range backends() {
		t.Run(bk.name, func(t *testing.T) {
			be := bk.new(t)
			r := newTestRepo(t, be, InitOptions{})
			before := getObject(t, be, "config")
			_, err := Init(t.Context(), be, InitOptions{PackSize: 1 << 20}, Options{})
			if !errors.Is(err, ErrAlreadyInitialized) {
				t.Fatalf("second Init = %v, want ErrAlreadyInitialized", err)
			}
			if after := getObject(t, be, "config"); string(after) != string(before) {
				t.Error("second Init changed the config")
			}
			if reopen(t, be).Config().ID != r.Config().ID {
				t.Error("repository id changed")
			}
		})
	}
}

func TestOpenNoRepository(t *testing.T) {
	for _, bk := range append(backends(), testBackend{"missing dir", func(t *testing.T) storage.Backend {
		return local.New(filepath.Join(t.TempDir(), "does", "not", "exist"))
	}}) {
		t.Run(bk.name, func(t *testing.T) {
			be := bk.new(t)
			_, err := Open(t.Context(), be, Options{})
			if !errors.Is(err, ErrNoRepository) {
				t.Fatalf("Open = %v, want ErrNoRepository", err)
			}
			if errors.Is(err, ErrNotInitialized) {
				t.Errorf("empty location also reported as not initialised: %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "banyan-backup init") || !strings.Contains(msg, be.Location()) {
				t.Errorf("message %q should name the location and suggest `banyan-backup init`", msg)
			}
		})
	}
}

func TestOpenNotInitialized(t *testing.T) {
	for _, bk := range backends() {
		t.Run(bk.name, func(t *testing.T) {
			be := bk.new(t)
			putObject(t, be, "data/ab/abcdef", []byte("something"))
			_, err := Open(t.Context(), be, Options{})
			if !errors.Is(err, ErrNotInitialized) {
				t.Fatalf("Open = %v, want ErrNotInitialized", err)
			}
			if errors.Is(err, ErrNoRepository) {
				t.Errorf("non-empty location reported as no repository: %v", err)
			}
			if !strings.Contains(err.Error(), be.Location()) {
				t.Errorf("message %q does not name the location", err)
			}
		})
	}
}

func TestOpenRejectsConfig(t *testing.T) {
	valid := func(edit func(c map[string]any)) []byte {
		c := map[string]any{
			"version": 1, "id": "00112233445566778899aabbccddeeff", "created": "2026-11-23T00:00:00Z",
			"hash": "blake3-256", "chunker": "fixed", "chunk_size": 4194304, "pack_size": 33554432,
			"compression": "zstd", "encryption": "none",
		}
		edit(c)
		b, _ := json.Marshal(c)
		return b
	}
	tests := []struct {
		name     string
		config   []byte
		want     error
		contains string
	}{
		{"version 2 unencrypted", valid(func(c map[string]any) { c["version"] = 2 }), ErrIntegrity, "do not go together"},
		{"version 1 encrypted", valid(func(c map[string]any) { c["encryption"] = EncryptionAESGCM }), ErrIntegrity, "do not go together"},
		{"version 4", valid(func(c map[string]any) { c["version"] = 4 }), ErrUnsupportedFormat, "upgrade"},
		{"unknown feature", valid(func(c map[string]any) { c["version"], c["features"] = 3, []string{"sets", "teleport"} }),
			ErrUnsupportedFormat, `feature "teleport", which this release does not know: upgrade`},
		{"features before format 3", valid(func(c map[string]any) { c["features"] = []string{"sets"} }), ErrIntegrity, "need format 3"},
		{"format 3 without features", valid(func(c map[string]any) { c["version"] = 3 }), ErrIntegrity, "no feature"},
		{"a feature twice", valid(func(c map[string]any) { c["version"], c["features"] = 3, []string{"sets", "sets"} }), ErrIntegrity, "twice"},
		{"version 3 unknown encryption", valid(func(c map[string]any) { c["version"], c["encryption"], c["features"] = 3, "rot13", []string{"sets"} }), ErrUnsupportedFormat, "rot13"},
		{"version 99", valid(func(c map[string]any) { c["version"] = 99 }), ErrUnsupportedFormat, "upgrade"},
		{"encryption aes", valid(func(c map[string]any) { c["encryption"] = "aes" }), ErrUnsupportedFormat, "aes"},
		{"version 0", valid(func(c map[string]any) { c["version"] = 0 }), ErrIntegrity, ""},
		{"unknown hash", valid(func(c map[string]any) { c["hash"] = "sha256" }), ErrIntegrity, "sha256"},
		{"unknown chunker", valid(func(c map[string]any) { c["chunker"] = "cdc" }), ErrIntegrity, "cdc"},
		{"zero pack size", valid(func(c map[string]any) { c["pack_size"] = 0 }), ErrIntegrity, ""},
		{"zero chunk size", valid(func(c map[string]any) { delete(c, "chunk_size") }), ErrIntegrity, ""},
		// Opened before: every backup worker allocates a chunk.
		{"huge chunk size", valid(func(c map[string]any) { c["chunk_size"] = 1 << 40 }), ErrIntegrity, ""},
		{"2 GiB pack size", valid(func(c map[string]any) { c["pack_size"] = 1 << 31 }), ErrIntegrity, ""},
		{"not json", []byte("version = 1\n"), ErrIntegrity, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := mem.New("t")
			putObject(t, be, "config", tt.config)
			r, err := Open(t.Context(), be, Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, %v; want %v", r, err, tt.want)
			}
			if r != nil {
				t.Error("Open returned a repository with an error")
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("message %q does not contain %q", err, tt.contains)
			}
		})
	}
	// The valid base config opens.
	be := mem.New("t")
	putObject(t, be, "config", valid(func(map[string]any) {}))
	if r := reopen(t, be); r.Config().PackSize != 33554432 {
		t.Errorf("config %+v", r.Config())
	}
}

func TestOpenRejectsTamperedIndex(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	saveAll(t, r, randBlob(1, 100))
	var name string
	for n := range objects(t, be, "index/") {
		name = n
	}
	flipByte(t, be, name, 10)
	if _, err := Open(t.Context(), be, Options{}); !errors.Is(err, ErrIntegrity) {
		t.Errorf("Open with a damaged index file = %v, want ErrIntegrity", err)
	}
}
