//go:build !linux

package restore

// syncFS makes everything under dir durable. Without syncfs(2) outside
// Linux, that is an fsync of each file and directory.
func syncFS(dir string) error { return syncTree(dir) }
