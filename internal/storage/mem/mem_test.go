package mem_test

import (
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return mem.New(t.Name()) })
}

func TestLocation(t *testing.T) {
	if got := mem.New("repo").Location(); got != "mem://repo" {
		t.Fatalf("Location() = %q, want mem://repo", got)
	}
}
