// Command profile runs one backup or restore in-process with CPU and heap
// profiles, to find where time and memory go:
//
//	go run ./bench/profile --repo R --root D [--restore ID --target T] --out /tmp/prof
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

func main() {
	repoDir := flag.String("repo", "", "repository (created when absent)")
	root := flag.String("root", "", "data root to back up")
	restoreID := flag.String("restore", "", "restore this backup instead of backing up")
	target := flag.String("target", "", "restore target")
	out := flag.String("out", "/tmp/prof", "profile output directory")
	password := flag.String("password", "", "password of an encrypted repository (one is created encrypted when given)")
	flag.Parse()
	if err := run(*repoDir, *root, *restoreID, *target, *out, *password); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
}

func run(repoDir, root, restoreID, target, out, password string) error {
	ctx := context.Background()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var store engine.StoreOptions
	if password != "" {
		store.Repository.Credentials = &repository.Credentials{Password: []byte(password)}
	}
	opened := time.Now()
	r, err := engine.Open(ctx, repoDir, store)
	fmt.Printf("open: %.3fs\n", time.Since(opened).Seconds())
	if err != nil {
		if r, err = engine.Init(ctx, repoDir, repository.InitOptions{Encrypt: password != ""}, store); err != nil {
			return err
		}
	}
	defer r.Close()
	repo := r.Repository
	cpu, err := os.Create(filepath.Join(out, "cpu.pprof"))
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		return err
	}
	start := time.Now()
	if restoreID != "" {
		b, err := repo.FindBackup(ctx, restoreID)
		if err != nil {
			return err
		}
		if _, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Progress: &phases{start: start}}); err != nil {
			return err
		}
	} else {
		res, err := backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC, Progress: &phases{start: start}})
		if err != nil {
			return err
		}
		fmt.Printf("backup %s: read %d files, added %d bytes\n", res.ID.Short(), res.Summary.FilesRead, res.Summary.BytesAdded+res.Size)
	}
	pprof.StopCPUProfile()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%.3fs, heap sys %d MiB, total alloc %d MiB, GCs %d\n", time.Since(start).Seconds(), ms.HeapSys>>20, ms.TotalAlloc>>20, ms.NumGC)
	heap, err := os.Create(filepath.Join(out, "heap.pprof"))
	if err != nil {
		return err
	}
	defer heap.Close()
	return pprof.Lookup("allocs").WriteTo(heap, 0)
}

// phases prints when each phase starts and how long it took, with the
// items and bytes it advanced by.
type phases struct {
	mu           sync.Mutex
	start, began time.Time
	name         string
	items, bytes int64
}

func (p *phases) Start(phase string, _, _ int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.name, p.began, p.items, p.bytes = phase, time.Now(), 0, 0
}

func (p *phases) Advance(items, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items += items
	p.bytes += bytes
}

func (p *phases) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Printf("  %-10s at %.3fs took %.3fs (%d items, %d bytes)\n", p.name, p.began.Sub(p.start).Seconds(), time.Since(p.began).Seconds(), p.items, p.bytes)
}
