//go:build !unix

package restore

// noFollow: outside Unix, opening a file has no flag for it; the
// restore's Lstat checks stand alone.
const noFollow = 0
