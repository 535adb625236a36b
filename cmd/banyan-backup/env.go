package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envPrefix starts the environment variable of every flag: --limit-upload
// is BANYAN_BACKUP_LIMIT_UPLOAD.
const envPrefix = "BANYAN_BACKUP_"

// envName is the environment variable of a flag.
func envName(prefix, flag string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// flagsFromEnv gives every flag of cmd that the command line did not set
// the value of its BANYAN_BACKUP_* variable, when that is set and not
// empty. The command line wins over the environment.
func flagsFromEnv(cmd *cobra.Command) error {
	var err error
	set := func(f *pflag.Flag) {
		// Hidden flags have variables of their own (serverflags.go),
		// but a deprecated one's old variable still works.
		hidden := f.Hidden && f.Deprecated == ""
		if err != nil || f.Changed || hidden || f.Name == "help" || f.Name == "version" {
			return
		}
		name := envName(envPrefix, f.Name)
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return
		}
		if e := cmd.Flags().Set(f.Name, v); e != nil {
			err = usagef("invalid %s=%q (for --%s): %v", name, v, f.Name, e)
		}
	}
	cmd.Flags().VisitAll(set)
	return err
}

// envHelp is the root command's note on the environment.
func envHelp() string {
	return fmt.Sprintf(`Every flag can also be set in the environment as %sFLAG_NAME (--limit-upload
is %sLIMIT_UPLOAD); the command line wins. backup and check also take the
BanyanDB server's own root flags (--measure-root-path, --schema-server-root-path,
--measure-data-path …) and its BYDB_* variables (BYDB_MEASURE_ROOT_PATH …), so a
sidecar given the node's environment finds its roots.`, envPrefix, envPrefix)
}
