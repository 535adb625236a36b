//go:build unix

package backup_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// BenchmarkEncryptionCost backs up and restores one root into a plain and
// into an encrypted repository, in process and with the page cache warm,
// so that the cost of sealing and opening blobs is measured apart from
// the disk's noise and from the password's key derivation (done once per
// command, outside the timed loop): docs/benchmarks.md, "Encryption at
// rest". The root is the v0.11 fixture plus 64 MiB of files, half of them
// text that compresses and half random bytes.
//
//	go test ./internal/backup -run '^$' -bench EncryptionCost -count 6
func BenchmarkEncryptionCost(b *testing.B) {
	outer := b // each repository lives until its restores are done
	root := benchRoot(b)
	size := dirSize(b, root)
	for _, enc := range []bool{false, true} {
		name := "plain"
		if enc {
			name = "encrypted"
		}
		var (
			repo *repository.Repository
			dir  string
			last repository.Backup
		)
		b.Run(name+"/backup", func(b *testing.B) {
			b.SetBytes(size)
			defer reportCPU(b)()
			for b.Loop() {
				b.StopTimer()
				if repo != nil {
					repo.Close()
					if err := os.RemoveAll(dir); err != nil {
						b.Fatal(err)
					}
				}
				dir = filepath.Join(outer.TempDir(), "repo")
				repo = benchRepo(outer, dir, enc) // a fresh one: every blob is sealed and stored
				b.StartTimer()
				res, err := backup.Run(b.Context(), repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC})
				if err != nil {
					b.Fatal(err)
				}
				last = res.Backup
			}
		})
		b.Run(name+"/restore", func(b *testing.B) {
			b.SetBytes(size)
			defer reportCPU(b)()
			for b.Loop() {
				b.StopTimer()
				target := filepath.Join(b.TempDir(), "t")
				b.StartTimer()
				if _, err := restore.Run(b.Context(), repo, last, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
					b.Fatal(err)
				}
			}
		})
		if repo != nil {
			repo.Close()
		}
	}
}

// benchRepo makes a repository, which the caller closes; an encrypted one's key is derived with
// the least memory the format allows, as the benchmark times the data's
// path, not the password's.
func benchRepo(b *testing.B, dir string, encrypted bool) *repository.Repository {
	b.Helper()
	opts := repository.Options{}
	init := repository.InitOptions{}
	if encrypted {
		opts.Credentials = &repository.Credentials{Password: []byte("benchmark password")}
		init.Encrypt = true
		init.KDF = &repository.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
	}
	r, err := repository.Init(b.Context(), local.New(dir), init, opts)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// reportCPU reports the process's CPU time (user and system) per
// iteration as cpu-ms/op when the returned function is called: on a shared
// machine it moves much less with the load than the wall time does. It
// includes the untimed setup, the same for both kinds of repository.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64((cpuTime(b)-start).Milliseconds())/float64(b.N), "cpu-ms/op")
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchRoot(b *testing.B) string {
	b.Helper()
	root := filepath.Join(fixture.ForTest(b, fixture.V011), "data")
	dir := filepath.Join(root, "stream", "data", "sw_log", "seg-20261120", "shard-0", "00000000000000ff")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("trace service endpoint instance latency error status ok GET POST /api/v1 span segment log")
	for i := range 16 {
		buf := make([]byte, 4<<20)
		if i%2 == 0 {
			for j := range buf {
				buf[j] = byte(rnd.Uint32())
			}
		} else {
			var sb strings.Builder
			for sb.Len() < len(buf) {
				sb.WriteString(words[rnd.IntN(len(words))])
				sb.WriteByte(' ')
			}
			copy(buf, sb.String())
		}
		if err := os.WriteFile(filepath.Join(dir, "f"+string(rune('a'+i))+".bin"), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return root
}

func dirSize(b *testing.B, root string) int64 {
	b.Helper()
	var n int64
	err := filepath.Walk(root, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
