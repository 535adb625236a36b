package repository

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// fastKDF keeps the tests' Argon2id cheap; the parameters are stored in
// each key, so they only change how long opening takes.
var fastKDF = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

func pw(s string) *Credentials { return &Credentials{Password: []byte(s)} }

// newEncryptedRepo makes an encrypted repository opened with password.
func newEncryptedRepo(t *testing.T, be storage.Backend, password string) *Repository {
	t.Helper()
	kdf := fastKDF
	// Chunks hold the tests' largest blob (300 KiB): a blob is at most a chunk.
	r, err := Init(t.Context(), be, InitOptions{PackSize: 1 << 20, ChunkSize: 512 << 10, Encrypt: true, KDF: &kdf}, Options{Credentials: pw(password)})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

func openWith(t *testing.T, be storage.Backend, c *Credentials) (*Repository, error) {
	t.Helper()
	r, err := Open(t.Context(), be, Options{Credentials: c})
	if err == nil {
		t.Cleanup(r.Close)
	}
	return r, err
}

// TestEncryptedRoundTrip: blobs, trees, index files, manifests and locks
// of an encrypted repository read back with the password, verify (data
// read) is clean, and a damaged blob is caught.
func TestEncryptedRoundTrip(t *testing.T) {
	be := mem.New("enc")
	r := newEncryptedRepo(t, be, "correct horse")
	if cfg := r.Config(); cfg.Version != 2 || cfg.Encryption != EncryptionAESGCM {
		t.Fatalf("config %+v, want format 2, aes-256-gcm", cfg)
	}
	data := [][]byte{randBlob(1, 100<<10), textBlob(2, 300<<10)}
	id := saveBackup(t, r, data...)

	r2, err := openWith(t, be, pw("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := r2.FindBackup(t.Context(), id.String())
	if err != nil {
		t.Fatal(err)
	}
	root, err := r2.LoadTree(t.Context(), b.Tree)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r2.LoadTree(t.Context(), *root.Entries[0].Subtree)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for _, bid := range tree.Entries[0].Blobs {
		blob, err := r2.LoadBlob(t.Context(), bid, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, blob...)
	}
	if !bytes.Equal(got, slices.Concat(data...)) {
		t.Error("the file read back differs")
	}
	res, err := r2.Verify(t.Context(), VerifyOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 || res.PacksRead == 0 {
		t.Fatalf("verify: %+v, %v", res, err)
	}

	// Damage one byte of a data pack: verify names it.
	for name := range objects(t, be, "data/") {
		pbs, err := r2.codec.parsePack(getObject(t, be, name))
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		if pbs[0].Type == DataBlob {
			flipByte(t, be, name, int(pbs[0].Offset)+40)
			break
		}
	}
	res, err = reopenWith(t, be, pw("correct horse")).Verify(t.Context(), VerifyOptions{ReadData: true})
	if err != nil || len(res.Problems) == 0 {
		t.Errorf("verify after damage: %+v, %v; want a problem", res, err)
	}
}

func reopenWith(t *testing.T, be storage.Backend, c *Credentials) *Repository {
	t.Helper()
	r, err := openWith(t, be, c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEncryptedOpenRefusals: no password, a wrong one, and a password for
// a repository that is not encrypted are refused with their own errors,
// and nothing is written.
func TestEncryptedOpenRefusals(t *testing.T) {
	be := mem.New("enc")
	r := newEncryptedRepo(t, be, "right")
	saveBackup(t, r, randBlob(1, 10<<10))
	before := objects(t, be, "")
	if _, err := openWith(t, be, nil); !errors.Is(err, ErrNeedCredentials) {
		t.Errorf("no password: %v", err)
	}
	if _, err := openWith(t, be, pw("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := openWith(t, be, &Credentials{KeyFile: bytes.Repeat([]byte("k"), 64)}); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("a key file where a password key is: %v", err)
	}
	if after := objects(t, be, ""); !maps.Equal(before, after) {
		t.Errorf("refused opens changed the repository: %v → %v", before, after)
	}

	plain := mem.New("plain")
	newTestRepo(t, plain, InitOptions{})
	if _, err := openWith(t, plain, pw("right")); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("a password for a plain repository: %v", err)
	}
	if _, err := Init(t.Context(), mem.New("x"), InitOptions{Encrypt: true}, Options{}); !errors.Is(err, ErrNeedCredentials) {
		t.Errorf("encrypted init without a password: %v", err)
	}
}

// TestKeys: a second password opens the repository; the key in use and
// the last key cannot be removed; a changed password replaces the old one;
// a key file works as a password does.
func TestKeys(t *testing.T) {
	be := mem.New("keys")
	r := newEncryptedRepo(t, be, "first")
	id := saveBackup(t, r, randBlob(1, 10<<10))
	kdf := fastKDF
	_, err := r.AddKey(t.Context(), pw("second"), &kdf)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := randBlob(9, 64)
	third, err := r.AddKey(t.Context(), &Credentials{KeyFile: keyFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddKey(t.Context(), &Credentials{KeyFile: []byte("short")}, nil); err == nil {
		t.Error("a key file of 5 bytes was accepted")
	}
	for _, c := range []*Credentials{pw("first"), pw("second"), {KeyFile: keyFile}} {
		r2, err := openWith(t, be, c)
		if err != nil {
			t.Fatalf("open with %+v: %v", c, err)
		}
		if _, err := r2.FindBackup(t.Context(), id.String()); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := r.Keys(t.Context())
	if err != nil || len(keys) != 3 {
		t.Fatalf("keys %+v, %v; want 3", keys, err)
	}
	lock := exclusive(t, r)
	if _, err := r.RemoveKey(t.Context(), lock, r.keyID); err == nil {
		t.Error("the key in use was removed")
	}
	if removed, err := r.RemoveKey(t.Context(), lock, third[:8]); err != nil || removed != third {
		t.Errorf("remove %s by prefix: %s, %v", third[:8], removed, err)
	}
	lock.Unlock(t.Context())

	r2 := reopenWith(t, be, pw("second"))
	lock = exclusive(t, r2)
	newID, err := r2.ChangePassword(t.Context(), lock, pw("changed"), &kdf)
	if err != nil {
		t.Fatal(err)
	}
	lock.Unlock(t.Context())
	if _, err := openWith(t, be, pw("second")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("the old password still opens: %v", err)
	}
	r3 := reopenWith(t, be, pw("changed"))
	if keys, _ := r3.Keys(t.Context()); len(keys) != 2 || !slices.ContainsFunc(keys, func(k KeyInfo) bool { return k.ID == newID && k.Current }) {
		t.Errorf("keys after passwd: %+v", keys)
	}
	r4 := reopenWith(t, be, pw("first"))
	lock = exclusive(t, r4)
	if _, err := r4.RemoveKey(t.Context(), lock, newID); err != nil {
		t.Fatalf("remove the other of two keys: %v", err)
	}
	if _, err := r4.RemoveKey(t.Context(), lock, r4.keyID); err == nil {
		t.Error("the last key, in use, was removed")
	}
	if _, err := r4.RemoveKey(t.Context(), lock, "ffff"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("remove of an unknown key: %v", err)
	}
}

func exclusive(t *testing.T, r *Repository) *Lock {
	t.Helper()
	l, err := r.Lock(t.Context(), "key", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Unlock(t.Context()) })
	return l
}

// TestEncryptedPackRecoveryAndPrune: the trailer of an encrypted pack is
// read with two ranged reads as for a plain one (adoption), and prune
// repacks sealed blobs as they are.
func TestEncryptedPackRecoveryAndPrune(t *testing.T) {
	be := mem.New("enc")
	r := newEncryptedRepo(t, be, "pw")
	a := saveBackup(t, r, randBlob(1, 40<<10), randBlob(2, 40<<10))
	b := saveBackup(t, r, randBlob(1, 40<<10), randBlob(3, 40<<10))
	for name, size := range objects(t, be, "data/") {
		id, _ := ParseID(name[strings.LastIndexByte(name, '/')+1:])
		blobs, err := r.readOrphan(t.Context(), id, size)
		if err != nil || len(blobs) == 0 {
			t.Fatalf("read trailer of %s: %v, %v", name, blobs, err)
		}
	}
	forget(t, r, a)
	res, err := prune(t, r, PruneOptions{})
	if err != nil || res.PacksRepacked == 0 {
		t.Fatalf("prune: %+v, %v; want a repack", res, err)
	}
	r2 := reopenWith(t, be, pw("pw"))
	v, err := r2.Verify(t.Context(), VerifyOptions{ReadData: true})
	if err != nil || len(v.Problems) != 0 || v.Backups != 1 {
		t.Errorf("after prune: %+v, %v", v, err)
	}
	if _, err := r2.FindBackup(t.Context(), b.String()); err != nil {
		t.Error(err)
	}
}
