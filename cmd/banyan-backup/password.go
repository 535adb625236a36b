package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// passwordEnv holds a repository password (BANYAN_BACKUP_PASSWORD_FILE,
// from the --password-file flag, names a file holding one instead).
const passwordEnv = "BANYAN_BACKUP_PASSWORD"

// credFlags say how to open an encrypted repository. Passwords never come
// from flags (they would show in the process list).
type credFlags struct {
	passwordFile string
	keyFile      string
	prompted     []byte // a password read from the terminal, kept for the run
	env          string // the password's variable; "" is passwordEnv
}

func (c *credFlags) register(pf *pflag.FlagSet) {
	pf.StringVar(&c.passwordFile, "password-file", "", "file holding the password of an encrypted repository (or "+passwordEnv+"; asked on a terminal)")
	pf.StringVar(&c.keyFile, "key-file", "", "key file of an encrypted repository, instead of a password")
}

// credentials returns what the flags, the environment or an earlier
// prompt give; nil when nothing is given.
func (c *credFlags) credentials() (*repository.Credentials, error) {
	switch {
	case c.keyFile != "":
		data, err := os.ReadFile(c.keyFile)
		if err != nil {
			return nil, usagef("cannot read --key-file: %v", err)
		}
		return &repository.Credentials{KeyFile: data}, nil
	case c.passwordFile != "":
		pw, err := readPasswordFile(c.passwordFile)
		if err != nil {
			return nil, err
		}
		return &repository.Credentials{Password: pw}, nil
	case os.Getenv(c.passwordEnv()) != "":
		return &repository.Credentials{Password: []byte(os.Getenv(c.passwordEnv()))}, nil
	case c.prompted != nil:
		return &repository.Credentials{Password: c.prompted}, nil
	}
	return nil, nil
}

// passwordEnv is the variable that holds the password.
func (c *credFlags) passwordEnv() string {
	if c.env != "" {
		return c.env
	}
	return passwordEnv
}

// readPasswordFile reads a password file: its first line, without the
// line end.
func readPasswordFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("cannot read password file: %v", err)
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		data = data[:i]
	}
	if len(data) == 0 {
		return nil, usagef("password file %s is empty", path)
	}
	return data, nil
}

// promptPassword asks for a password on the terminal; confirm asks twice.
// It fails when standard input is not a terminal.
func promptPassword(what string, confirm bool) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errNoTerminal
	}
	fmt.Fprintf(os.Stderr, "%s: ", what)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("cannot read password: %w", err)
	}
	if len(pw) == 0 {
		return nil, usagef("empty password")
	}
	if confirm {
		fmt.Fprintf(os.Stderr, "%s again: ", what)
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, fmt.Errorf("cannot read password: %w", err)
		}
		if !bytes.Equal(pw, again) {
			return nil, usagef("the passwords differ")
		}
	}
	return pw, nil
}

var errNoTerminal = errors.New("no terminal to ask on")

// openWithCredentials opens url with the credentials the global flags
// give (openWithCredentials).
func (g *globals) openWithCredentials(ctx context.Context, url string, o engine.StoreOptions) (*engine.Repo, error) {
	return openWithCredentials(ctx, url, o, &g.creds)
}

// openWithCredentials opens url with the credentials c gives, asking for
// a password on the terminal when the repository is encrypted and c gives
// none.
func openWithCredentials(ctx context.Context, url string, o engine.StoreOptions, c *credFlags) (*engine.Repo, error) {
	creds, err := c.credentials()
	if err != nil {
		return nil, err
	}
	o.Repository.Credentials = creds
	repo, err := engine.Open(ctx, url, o)
	if creds != nil || !errors.Is(err, repository.ErrNeedCredentials) {
		return repo, err
	}
	pw, perr := promptPassword("password of "+url, false)
	if errors.Is(perr, errNoTerminal) {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	c.prompted = pw
	o.Repository.Credentials = &repository.Credentials{Password: pw}
	return engine.Open(ctx, url, o)
}

// kdfFlags tune the Argon2id of a new password key.
type kdfFlags struct {
	memoryMiB int
	time      int
}

func (k *kdfFlags) register(cmd *cobra.Command) {
	d := repository.DefaultArgon2()
	cmd.Flags().IntVar(&k.memoryMiB, "kdf-memory", int(d.MemoryKiB>>10), "MiB of memory Argon2id uses to turn a new password into a key (more resists guessing better)")
	cmd.Flags().IntVar(&k.time, "kdf-time", int(d.Time), "passes of Argon2id over that memory")
}

func (k *kdfFlags) params() (*repository.Argon2Params, error) {
	if k.memoryMiB < 1 || k.memoryMiB > 4096 || k.time < 1 || k.time > 100 {
		return nil, usagef("invalid --kdf-memory %d or --kdf-time %d: want 1 to 4096 MiB and 1 to 100 passes", k.memoryMiB, k.time)
	}
	p := repository.DefaultArgon2()
	p.MemoryKiB, p.Time = uint32(k.memoryMiB)<<10, uint32(k.time)
	return &p, nil
}
