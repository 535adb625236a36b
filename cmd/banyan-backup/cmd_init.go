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
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a new repository",
		Example: `  banyan-backup init --repo /srv/banyan-backups
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
			created := true
			repo, err := badURLIsUsage(engine.Init(cmd.Context(), u, repository.InitOptions{PackSize: packMiB << 20}, g.storeOptions(nil)))
			if errors.Is(err, repository.ErrAlreadyInitialized) && ifMissing {
				created = false
				repo, err = engine.Open(cmd.Context(), u, g.storeOptions(nil))
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
			fmt.Fprintf(cmd.OutOrStdout(), "%s repository %s at %s (format %d, %s, %d MiB packs)\n",
				verb, cfg.ID[:8], be.Location(), cfg.Version, cfg.Hash, cfg.PackSize>>20)
			return nil
		},
	}
	cmd.Flags().BoolVar(&ifMissing, "if-missing", false, "succeed without changing anything when the repository exists (for init containers and provisioning scripts)")
	cmd.Flags().IntVar(&packMiB, "pack-size", repository.DefaultPackSize>>20, "target size of packs in MiB: smaller packs waste less on an interrupted upload, larger ones mean fewer objects")
	return cmd
}
