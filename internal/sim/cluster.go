package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// Role is what a simulated server is: a standalone server (the zero
// value), or a data node or a liaison of a cluster (docs/banyandb.md,
// Clusters; docs/cluster.md, "The simulator's cluster mode").
type Role string

// Roles.
const (
	RoleStandalone Role = ""
	RoleData       Role = "data"
	RoleLiaison    Role = "liaison"
)

// ParseRole reads a role name; "standalone" and "" are the standalone role.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "standalone":
		return RoleStandalone, nil
	case "data":
		return RoleData, nil
	case "liaison":
		return RoleLiaison, nil
	}
	return "", fmt.Errorf("unknown role %q: use standalone, data or liaison", s)
}

// String names the role.
func (r Role) String() string {
	if r == RoleStandalone {
		return "standalone"
	}
	return string(r)
}

// Defaults of Cluster.
const (
	DefaultDiscoveryInterval = time.Second
	DefaultSyncAttempts      = 3
	DefaultFailedPartsMax    = 16 << 20
	DefaultCallTimeout       = 5 * time.Second
)

// Cluster says how a data node or a liaison takes part in a cluster.
type Cluster struct {
	// Role is the server's role; the zero value runs a standalone server
	// and ignores the rest.
	Role Role
	// Schema lists every group of the cluster: what a real cluster keeps
	// in schema-property. Required for data nodes and liaisons.
	Schema *Schema
	// NodeHost is the host part of the node's name, <host>:<gRPC port>;
	// "" uses the hostname, as BanyanDB's default host provider does.
	NodeHost string
	// DiscoveryFile (liaison) is a node discovery file in BanyanDB's YAML
	// format, read again every DiscoveryInterval.
	DiscoveryFile string
	// DiscoveryInterval is how often a liaison reads the discovery file and
	// asks every node listed whether it is up; 0 means
	// DefaultDiscoveryInterval.
	DiscoveryInterval time.Duration
	// SyncInterval is how often a liaison's sender delivers its queued
	// parts; 0 runs no background sender (Server.Deliver still works).
	SyncInterval time.Duration
	// SyncAttempts is the number of delivery rounds in which a part may
	// fail before it is moved to failed-parts/; 0 means
	// DefaultSyncAttempts.
	SyncAttempts int
	// FailedPartsMax caps the bytes of a queue shard's failed-parts/; the
	// oldest parts are deleted beyond it. 0 means DefaultFailedPartsMax.
	FailedPartsMax int64
	// CallTimeout bounds each call to another node; 0 means
	// DefaultCallTimeout.
	CallTimeout time.Duration
}

// withDefaults fills in the zero fields.
func (c Cluster) withDefaults() Cluster {
	if c.DiscoveryInterval <= 0 {
		c.DiscoveryInterval = DefaultDiscoveryInterval
	}
	if c.SyncAttempts <= 0 {
		c.SyncAttempts = DefaultSyncAttempts
	}
	if c.FailedPartsMax <= 0 {
		c.FailedPartsMax = DefaultFailedPartsMax
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	return c
}

// check refuses a cluster role without what it needs.
func (c Cluster) check() error {
	switch c.Role {
	case RoleStandalone:
		return nil
	case RoleData, RoleLiaison:
	default:
		return fmt.Errorf("unknown role %q", c.Role)
	}
	if c.Schema == nil {
		return fmt.Errorf("a %s needs the cluster's schema", c.Role)
	}
	if err := c.Schema.Check(); err != nil {
		return err
	}
	if c.Role == RoleLiaison && c.DiscoveryFile == "" {
		return errors.New("a liaison needs a node discovery file")
	}
	return nil
}

// Schema is the cluster's group list, which every node of a simulated
// cluster is given: the stand-in for the schemas a real cluster keeps in
// schema-property (the simulator does not read those).
type Schema struct {
	Groups []GroupDef `json:"groups"`
}

// GroupDef is one group of the schema.
type GroupDef struct {
	// Catalog is measure, stream, trace or property.
	Catalog string `json:"catalog"`
	Name    string `json:"name"`
	Shards  int    `json:"shards"`
	// SegmentInterval is "day" or "hour" (measure, stream, trace).
	SegmentInterval string `json:"segment_interval,omitempty"`
	// Replicas is the number of copies beyond the first.
	Replicas int `json:"replicas,omitempty"`
	// IndexRules are a trace group's ordered index rules
	// (shard-N/sidx/<rule>).
	IndexRules []string `json:"index_rules,omitempty"`
}

// catalog returns the group's catalog.
func (g GroupDef) catalog() banyandb.Catalog { return banyandb.Catalog(g.Catalog) }

// unit is the group's segment naming unit.
func (g GroupDef) unit() time.Duration {
	if g.SegmentInterval == "hour" {
		return time.Hour
	}
	return 24 * time.Hour
}

// Check refuses a schema with an unknown catalog, a group without shards,
// a name used twice (BanyanDB's groups are one namespace) or a bad
// interval.
func (s *Schema) Check() error {
	seen := map[string]bool{}
	for _, g := range s.Groups {
		c, err := banyandb.ParseCatalog(g.Catalog)
		switch {
		case err != nil || c == banyandb.SchemaProperty:
			return fmt.Errorf("cannot use schema: group %q has catalog %q: use measure, stream, trace or property", g.Name, g.Catalog)
		case g.Name == "" || strings.ContainsAny(g.Name, `/\`) || g.Name == "." || g.Name == "..":
			return fmt.Errorf("cannot use schema: group name %q is not a directory name", g.Name)
		case seen[g.Name]:
			return fmt.Errorf("cannot use schema: group %q is named twice", g.Name)
		case g.Shards < 1:
			return fmt.Errorf("cannot use schema: group %q has %d shards", g.Name, g.Shards)
		case g.Replicas < 0:
			return fmt.Errorf("cannot use schema: group %q has %d replicas", g.Name, g.Replicas)
		case g.SegmentInterval != "" && g.SegmentInterval != "day" && g.SegmentInterval != "hour":
			return fmt.Errorf("cannot use schema: group %q has segment interval %q: use day or hour", g.Name, g.SegmentInterval)
		}
		seen[g.Name] = true
	}
	return nil
}

// Group returns the group of the given name.
func (s *Schema) Group(name string) (GroupDef, bool) {
	for _, g := range s.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return GroupDef{}, false
}

// LoadSchema reads a schema file (JSON).
func LoadSchema(path string) (*Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read schema: %w", err)
	}
	var s Schema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("cannot parse schema %s: %w", path, err)
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// SchemaFromRoot derives a schema from a data root (a fixture): every
// measure, stream and trace group with the shard count and segment unit
// its segments show, and a trace group's index rules; every property
// group with its shard count. Every group gets replicas.
func SchemaFromRoot(root string, loc *time.Location, replicas int) (*Schema, error) {
	roots := banyandb.Roots{Root: root}
	s := &Schema{}
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace, banyandb.Property} {
		entries, err := os.ReadDir(roots.DataDir(c))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot derive schema: %w", err)
		}
		for _, e := range entries {
			if _, isShard := shardNumber(e.Name()); !e.IsDir() || isShard {
				continue
			}
			g := GroupDef{Catalog: string(c), Name: e.Name(), Shards: 1, Replicas: replicas}
			if c.HasSegments() {
				g.SegmentInterval = "day"
			}
			scanGroupDir(filepath.Join(roots.DataDir(c), e.Name()), c, loc, &g)
			s.Groups = append(s.Groups, g)
		}
	}
	sort.Slice(s.Groups, func(i, j int) bool { return s.Groups[i].Name < s.Groups[j].Name })
	if len(s.Groups) == 0 {
		return nil, fmt.Errorf("cannot derive schema: %w: no group under %s", banyandb.ErrNotRoot, root)
	}
	return s, s.Check()
}

// scanGroupDir notes in g the shards, segment unit and index rules found
// in a group directory.
func scanGroupDir(dir string, c banyandb.Catalog, loc *time.Location, g *GroupDef) {
	entries, _ := os.ReadDir(dir)
	shardDirs := []string{}
	for _, e := range entries {
		if n, ok := shardNumber(e.Name()); ok && e.IsDir() {
			g.Shards = max(g.Shards, n+1)
			shardDirs = append(shardDirs, filepath.Join(dir, e.Name()))
			continue
		}
		if _, unit, err := banyandb.ParseSegmentName(e.Name(), loc); err == nil && e.IsDir() {
			if unit == time.Hour {
				g.SegmentInterval = "hour"
			}
			shards, _ := os.ReadDir(filepath.Join(dir, e.Name()))
			for _, sh := range shards {
				if n, ok := shardNumber(sh.Name()); ok && sh.IsDir() {
					g.Shards = max(g.Shards, n+1)
					shardDirs = append(shardDirs, filepath.Join(dir, e.Name(), sh.Name()))
				}
			}
		}
	}
	if c != banyandb.Trace {
		return
	}
	for _, sh := range shardDirs {
		rules, _ := os.ReadDir(filepath.Join(sh, sidxName))
		for _, r := range rules {
			if r.IsDir() && !slices.Contains(g.IndexRules, r.Name()) {
				g.IndexRules = append(g.IndexRules, r.Name())
			}
		}
	}
	sort.Strings(g.IndexRules)
}

// loadRole reads the data root as the server's role does.
func (s *Server) loadRole() error {
	switch s.cfg.Cluster.Role {
	case RoleData:
		return s.loadData()
	case RoleLiaison:
		return s.loadLiaison()
	}
	return s.load()
}

// setName names the node <host>:<gRPC port>, the host from
// Cluster.NodeHost or the hostname.
func (s *Server) setName() error {
	host := s.cfg.Cluster.NodeHost
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("cannot name the node: %w", err)
		}
		host = h
	}
	_, port, err := net.SplitHostPort(s.GRPCAddr())
	if err != nil {
		return fmt.Errorf("cannot name the node: %w", err)
	}
	s.name = net.JoinHostPort(host, port)
	return nil
}

// Name returns the node's name, <host>:<gRPC port>; "" before Start.
func (s *Server) Name() string { return s.name }

// Role returns the server's role.
func (s *Server) Role() Role { return s.cfg.Cluster.Role }
