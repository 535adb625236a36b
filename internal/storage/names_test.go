package storage_test

import (
	"errors"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

func TestCheckName(t *testing.T) {
	for _, name := range []string{"config", "data/ab/abcdef", "locks/x.y", ".hidden", "a-b_c"} {
		if err := storage.CheckName(name); err != nil {
			t.Errorf("CheckName(%q): %v", name, err)
		}
	}
	for _, name := range []string{"", "..", "../x", "a/../b", "a/..", "x..y", "/abs", `a\b`,
		"a//b", "a/", "./a", "a/./b", "a\x00b"} {
		if err := storage.CheckName(name); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("CheckName(%q) = %v, want ErrInvalidName", name, err)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, prefix := range []string{"", "data/", "locks/ab", "data"} {
		if err := storage.CheckPrefix(prefix); err != nil {
			t.Errorf("CheckPrefix(%q): %v", prefix, err)
		}
	}
	for _, prefix := range []string{"/", "../", "a/..", `a\`} {
		if err := storage.CheckPrefix(prefix); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("CheckPrefix(%q) = %v, want ErrInvalidName", prefix, err)
		}
	}
}
