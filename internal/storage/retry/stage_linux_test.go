package retry_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
	"github.com/banyan-backup/banyan-backup/internal/storage/retry"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

// A backend that stages in the temporary directory (storage.StageTemp)
// gives a file without a name. A staged put that fails midway, reading
// half of it, is sent again whole from the same file; nothing appears in
// the temporary directory at any point, and no descriptor of the file is
// left open at the end, whether the put succeeds or not.
func TestNamelessStagedPutIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fails int
		ok    bool
	}{{"cured", 3, true}, {"for good", 100, false}} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			f := faults.New(mem.New("mem://test"), faults.Rule{Op: faults.OpPutStaged, Times: tc.fails, Err: errTransient, Short: true})
			b := retry.Wrap(f, fast)
			staged, err := b.StageFile()
			if err != nil {
				t.Fatal(err)
			}
			data := make([]byte, 3<<20+5)
			rng := rand.NewChaCha8([32]byte{7})
			_, _ = rng.Read(data)
			if _, err := staged.Write(data); err != nil {
				t.Fatal(err)
			}
			storagetest.WantEmptyDir(t, tmp, "after StageFile")
			putStagedFailing(t, f, b, staged, data, tc.fails, tc.ok)
			storagetest.WantEmptyDir(t, tmp, "after PutStaged")
			if open := openIn(t, tmp); len(open) != 0 {
				t.Errorf("descriptors left open after PutStaged: %v", open)
			}
			runtime.KeepAlive(staged) // not closed by its finalizer before openIn looked
		})
	}
}

// openIn lists this process's descriptors of files in dir, those without a
// name left included.
func openIn(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("cannot list the open descriptors: %v", err)
	}
	var open []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			open = append(open, fd.Name()+" -> "+target)
		}
	}
	return open
}
