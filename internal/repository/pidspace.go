package repository

// pidSpace names the pid space a process lives in: the kernel boot and the
// PID namespace. Two processes of one host name, boot id and PID namespace
// see the same pids, so there a pid that does not exist proves its holder
// dead; across containers (other PID namespaces), boots or machines it
// proves nothing (docs/repository-format.md, Locks).
type pidSpace struct {
	// bootID is the kernel's boot id; "" when unknown.
	bootID string
	// namespace is the inode of the PID namespace; 0 when unknown.
	namespace uint64
	// start is when this process started (clock ticks since boot); 0 when
	// unknown.
	start uint64
}

// known reports whether the pid space could be read in full.
func (s pidSpace) known() bool { return s.bootID != "" && s.namespace != 0 }
