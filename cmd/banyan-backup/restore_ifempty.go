package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// targetHoldsData returns the first target root of the restore's catalogs
// that holds data, as the restore counts it ("" when none does: missing,
// empty, or any root holding a restore in progress, which a rerun resumes).
func targetHoldsData(roots banyandb.Roots, cats []banyandb.Catalog) (string, error) {
	if len(cats) == 0 {
		cats = banyandb.AllCatalogs()
	}
	seen := map[string]bool{}
	first := ""
	for _, c := range cats {
		dir := roots.CatalogRoot(c)
		if dir == "" || seen[dir] {
			continue
		}
		seen[dir] = true
		st, err := restore.InspectRoot(dir)
		if err != nil {
			return "", err
		}
		if st.InProgress {
			return "", nil
		}
		if st.HasData && first == "" {
			first = dir
		}
	}
	return first, nil
}

// skipRestore reports a restore --if-empty left alone, and succeeds.
func skipRestore(cmd *cobra.Command, g *globals, reason string) error {
	if g.json {
		return printJSON(cmd.OutOrStdout(), map[string]any{"restored": false, "reason": reason})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "nothing restored (--if-empty): %s\n", reason)
	return nil
}
