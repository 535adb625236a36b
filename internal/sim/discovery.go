package sim

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// DiscoveryNode is one entry of a node discovery file in BanyanDB's format
// (--node-discovery-mode=file): data nodes by their gRPC address, liaisons
// by their internal address. Entries are keyed by address; the name only
// appears in logs.
type DiscoveryNode struct {
	Name        string `yaml:"name"`
	GRPCAddress string `yaml:"grpc_address"`
	TLSEnabled  bool   `yaml:"tls_enabled"`
	CACertPath  string `yaml:"ca_cert_path,omitempty"`
}

// DiscoveryFile is a whole node discovery file.
type DiscoveryFile struct {
	Nodes []DiscoveryNode `yaml:"nodes"`
}

// ReadDiscoveryFile reads a node discovery file.
func ReadDiscoveryFile(path string) (*DiscoveryFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read node discovery file: %w", err)
	}
	var f DiscoveryFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("cannot parse node discovery file %s: %w", path, err)
	}
	for i, n := range f.Nodes {
		if n.GRPCAddress == "" {
			return nil, fmt.Errorf("cannot parse node discovery file %s: node %d (%q) has no grpc_address", path, i, n.Name)
		}
	}
	return &f, nil
}

// WriteDiscoveryFile writes a node discovery file, atomically.
func WriteDiscoveryFile(path string, f *DiscoveryFile) error {
	b, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("cannot write node discovery file: %w", err)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("cannot write node discovery file: %w", err)
	}
	return nil
}
