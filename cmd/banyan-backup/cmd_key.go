package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// newKeyFlags say where a new key's password or key file comes from.
type newKeyFlags struct {
	passwordFile string
	keyFile      string
	kdf          kdfFlags
}

func (n *newKeyFlags) register(cmd *cobra.Command) {
	n.kdf.register(cmd)
	cmd.Flags().StringVar(&n.passwordFile, "new-password-file", "", "file holding the new password (or BANYAN_BACKUP_NEW_PASSWORD; asked twice on a terminal)")
	cmd.Flags().StringVar(&n.keyFile, "new-key-file", "", "key file for the new key, instead of a password (at least 32 random bytes: head -c 64 /dev/urandom > FILE)")
}

func (n *newKeyFlags) credentials() (*repository.Credentials, error) {
	switch {
	case n.keyFile != "":
		data, err := os.ReadFile(n.keyFile)
		if err != nil {
			return nil, usagef("cannot read --new-key-file: %v", err)
		}
		return &repository.Credentials{KeyFile: data}, nil
	case n.passwordFile != "":
		pw, err := readPasswordFile(n.passwordFile)
		if err != nil {
			return nil, err
		}
		return &repository.Credentials{Password: pw}, nil
	case os.Getenv("BANYAN_BACKUP_NEW_PASSWORD") != "":
		return &repository.Credentials{Password: []byte(os.Getenv("BANYAN_BACKUP_NEW_PASSWORD"))}, nil
	}
	pw, err := promptPassword("new password", true)
	if errors.Is(err, errNoTerminal) {
		return nil, usagef("no new password: give --new-password-file FILE, BANYAN_BACKUP_NEW_PASSWORD or --new-key-file FILE")
	}
	if err != nil {
		return nil, err
	}
	return &repository.Credentials{Password: pw}, nil
}

func newKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage the passwords and key files of an encrypted repository",
		Long: `An encrypted repository's master key is stored once per password or key
file, each wrapped by it ('keys/' objects): any one of them opens the
repository. Add one per operator or secret store, remove those that leaked.`,
		Args: argsUsage(cobra.NoArgs),
	}
	cmd.AddCommand(newKeyListCmd(g), newKeyAddCmd(g), newKeyRemoveCmd(g), newKeyPasswdCmd(g))
	return cmd
}

func newKeyListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the repository's keys (the one in use is marked *)",
		Args:  argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			keys, err := repo.Keys(cmd.Context())
			if err != nil {
				return notEncrypted(err)
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), keys)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, " \tID\tCREATED\tUSER\tHOST\tKIND")
			for _, k := range keys {
				cur := " "
				if k.Current {
					cur = "*"
				}
				kind := k.KDF
				if a := k.Argon2id; a != nil {
					kind = fmt.Sprintf("password (argon2id t=%d m=%dMiB p=%d)", a.Time, a.MemoryKiB>>10, a.Threads)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cur, k.ID[:8], k.Created.Local().Format(time.DateTime), k.Username, k.Hostname, kind)
			}
			return tw.Flush()
		},
	}
}

func newKeyAddCmd(g *globals) *cobra.Command {
	var n newKeyFlags
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a password or key file that opens the repository",
		Args:  argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			repo, nk, err := openForNewKey(cmd, g, &n)
			if err != nil {
				return err
			}
			defer repo.Close()
			id, err := repo.AddKey(cmd.Context(), nk.creds, nk.params)
			if err != nil {
				return err
			}
			return printKeyResult(cmd, g, "added", id)
		},
	}
	n.register(cmd)
	return cmd
}

func newKeyRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a key (not the one in use, never the last)",
		Args:  argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			lock, err := repo.Lock(cmd.Context(), "key remove", true)
			if err != nil {
				return err
			}
			defer lock.Unlock(cmd.Context())
			id, err := repo.RemoveKey(cmd.Context(), lock, args[0])
			if err != nil {
				return notEncrypted(err)
			}
			return printKeyResult(cmd, g, "removed", id)
		},
	}
}

func newKeyPasswdCmd(g *globals) *cobra.Command {
	var n newKeyFlags
	cmd := &cobra.Command{
		Use:   "passwd",
		Short: "Change the password in use: add the new one, then remove the old",
		Args:  argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			repo, nk, err := openForNewKey(cmd, g, &n)
			if err != nil {
				return err
			}
			defer repo.Close()
			lock, err := repo.Lock(cmd.Context(), "key passwd", true)
			if err != nil {
				return err
			}
			defer lock.Unlock(cmd.Context())
			id, err := repo.ChangePassword(cmd.Context(), lock, nk.creds, nk.params)
			if err != nil {
				return err
			}
			return printKeyResult(cmd, g, "changed: new key", id)
		},
	}
	n.register(cmd)
	return cmd
}

// newKey is what key add and key passwd store: the new credentials and
// the parameters of the key derived from them.
type newKey struct {
	creds  *repository.Credentials
	params *repository.Argon2Params
}

// openForNewKey opens the repository, refuses an unencrypted one, and reads
// the new key's credentials and parameters. The caller closes the
// repository.
func openForNewKey(cmd *cobra.Command, g *globals, n *newKeyFlags) (*engine.Repo, newKey, error) {
	repo, err := g.openRepo(cmd.Context())
	if err != nil {
		return nil, newKey{}, err
	}
	nk, err := readNewKey(repo, n)
	if err != nil {
		repo.Close()
		return nil, newKey{}, err
	}
	return repo, nk, nil
}

func readNewKey(repo *engine.Repo, n *newKeyFlags) (newKey, error) {
	if !repo.Config().Encrypted() {
		return newKey{}, notEncrypted(repository.ErrNotEncrypted)
	}
	creds, err := n.credentials()
	if err != nil {
		return newKey{}, err
	}
	params, err := n.kdf.params()
	if err != nil {
		return newKey{}, err
	}
	return newKey{creds: creds, params: params}, nil
}

func printKeyResult(cmd *cobra.Command, g *globals, what, id string) error {
	if g.json {
		return printJSON(cmd.OutOrStdout(), map[string]string{"result": what, "id": id})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", what, id[:8])
	return nil
}

// notEncrypted words ErrNotEncrypted for the key commands.
func notEncrypted(err error) error {
	if errors.Is(err, repository.ErrNotEncrypted) {
		return usagef("%v: key commands manage the passwords of encrypted repositories (init --encrypt)", err)
	}
	return err
}
