package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// serverRootFlags are the BanyanDB server's own flags for where a node
// keeps its data (docs/banyandb.md, Catalogs and roots), accepted by the
// commands that read a node's roots, so that a sidecar can be given the
// node's own flags or, as BYDB_* variables, its environment.
type serverRootFlags struct {
	roots map[banyandb.Catalog]*string // --<catalog>-root-path, --schema-server-root-path
	data  map[banyandb.Catalog]*string // --<catalog>-data-path (measure, stream, trace)
}

// serverRootFlag names catalog c's root flag on the server.
func serverRootFlag(c banyandb.Catalog) string { return serverFlag(c) + "-path" }

// serverDataFlag names catalog c's data directory flag on the server ("" if
// it has none).
func serverDataFlag(c banyandb.Catalog) string {
	if c == banyandb.Measure || c == banyandb.Stream || c == banyandb.Trace {
		return string(c) + "-data-path"
	}
	return ""
}

func (s *serverRootFlags) register(f *pflag.FlagSet) {
	s.roots, s.data = map[banyandb.Catalog]*string{}, map[banyandb.Catalog]*string{}
	for _, c := range banyandb.AllCatalogs() {
		s.roots[c] = f.String(serverRootFlag(c), "", "the server's flag for the "+string(c)+" root, accepted as it is")
		_ = f.MarkHidden(serverRootFlag(c))
		if name := serverDataFlag(c); name != "" {
			s.data[c] = f.String(name, "", "the "+string(c)+" catalog's data directory, when the server was given --"+name+" (BYDB_ variables are read too)")
		}
	}
}

// apply fills roots from the server's flags and then its BYDB_*
// environment, for every catalog the command line left unset.
func (s *serverRootFlags) apply(roots *banyandb.Roots) {
	for _, c := range banyandb.AllCatalogs() {
		if roots.Override[c] == "" {
			roots.Override[c] = firstSet(*s.roots[c], bydbEnv(serverRootFlag(c)))
		}
		if name := serverDataFlag(c); name != "" {
			if d := firstSet(*s.data[c], bydbEnv(name)); d != "" {
				if roots.Data == nil {
					roots.Data = map[banyandb.Catalog]string{}
				}
				roots.Data[c] = d
			}
		}
		if roots.Override[c] == "" {
			delete(roots.Override, c)
		}
	}
}

// bydbEnv reads the server's environment variable for a flag: BYDB_ and
// the flag in upper snake case (--measure-root-path: BYDB_MEASURE_ROOT_PATH).
func bydbEnv(flag string) string { return os.Getenv(envName("BYDB_", flag)) }

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
