package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
)

// globals are the flags every command shares.
type globals struct {
	repo  string
	json  bool
	quiet bool
}

func (g *globals) repoURL() (string, error) {
	u := g.repo
	if u == "" {
		u = os.Getenv("BANYAN_BACKUP_REPO")
	}
	if u == "" {
		return "", usagef("no repository given: use --repo PATH or set BANYAN_BACKUP_REPO")
	}
	return u, nil
}

func (g *globals) backend() (storage.Backend, error) {
	u, err := g.repoURL()
	if err != nil {
		return nil, err
	}
	be, err := backends.Open(u)
	if err != nil {
		return nil, usageError{err}
	}
	return be, nil
}

// openRepo opens the repository and loads its index.
func (g *globals) openRepo(ctx context.Context) (*repository.Repository, error) {
	be, err := g.backend()
	if err != nil {
		return nil, err
	}
	return repository.Open(ctx, be, repository.Options{})
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("cannot write JSON: %w", err)
	}
	return nil
}
