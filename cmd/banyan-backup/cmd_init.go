package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

func newInitCmd(g *globals) *cobra.Command {
	var (
		packMiB   int
		ifMissing bool
		encrypt   bool
		kdf       kdfFlags
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a new repository",
		Long: `Create a new repository at --repo.

--encrypt (recommended) encrypts everything in it with a random master key,
itself stored wrapped by a password (--password-file FILE,
BANYAN_BACKUP_PASSWORD, or asked twice on a terminal) or a key file
(--key-file). Every later command needs one of them; more passwords can be
added with 'key add'. Lose them all and the backups cannot be read.`,
		Example: `  banyan-backup init --repo /srv/banyan-backups --encrypt --password-file /etc/banyan-backup/password
  banyan-backup init --repo /srv/banyan-backups
  BANYAN_BACKUP_REPO=file:///srv/banyan-backups banyan-backup init
  banyan-backup init --repo s3://bucket/banyandb --if-missing      # in an init container: exit 0 when it exists`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if packMiB < 1 || packMiB > 1024 {
				return usagef("invalid --pack-size %d: want 1 to 1024 (MiB)", packMiB)
			}
			u, err := g.repoURL()
			if err != nil {
				return err
			}
			creds, err := g.creds.credentials()
			if err != nil {
				return err
			}
			params, err := kdf.params()
			if err != nil {
				return err
			}
			encrypt = encrypt || creds != nil
			if encrypt && creds == nil {
				pw, err := promptPassword("password of the new repository", true)
				if errors.Is(err, errNoTerminal) {
					return usagef("--encrypt needs a password: --password-file FILE, %s, or --key-file FILE", passwordEnv)
				}
				if err != nil {
					return err
				}
				g.creds.prompted = pw
				creds = &repository.Credentials{Password: pw}
			}
			o := g.storeOptions(nil)
			o.Repository.Credentials = creds
			created := true
			repo, err := badURLIsUsage(engine.Init(cmd.Context(), u, repository.InitOptions{PackSize: packMiB << 20, Encrypt: encrypt, KDF: params}, o))
			if errors.Is(err, repository.ErrAlreadyInitialized) && ifMissing {
				created = false
				repo, err = g.openWithCredentials(cmd.Context(), u, g.storeOptions(nil))
			}
			if err != nil {
				return err
			}
			defer repo.Close()
			be := repo.Backend()
			cfg := repo.Config()
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"location": be.Location(), "config": cfg, "created": created})
			}
			verb := "created"
			if !created {
				verb = "found existing"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s repository %s at %s (format %d, %s, %d MiB packs, encryption %s)\n",
				verb, cfg.ID[:8], be.Location(), cfg.Version, cfg.Hash, cfg.PackSize>>20, cfg.Encryption)
			return nil
		},
	}
	kdf.register(cmd)
	cmd.Flags().BoolVar(&encrypt, "encrypt", false, "encrypt the repository (implied by a password or key file)")
	cmd.Flags().BoolVar(&ifMissing, "if-missing", false, "succeed without changing anything when the repository exists (for init containers and provisioning scripts)")
	cmd.Flags().IntVar(&packMiB, "pack-size", repository.DefaultPackSize>>20, "target size of packs in MiB: smaller packs waste less on an interrupted upload, larger ones mean fewer objects")
	return cmd
}
