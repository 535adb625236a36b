package storage

import "errors"

// Errors of remote object stores. ErrPermission and ErrBucketNotFound are
// permanent: retrying cannot help, and the user must act. ErrTransient marks
// an error that a retry may cure (a dropped connection, a server busy or
// failing for a moment); backends wrap it, and only it is retried.
var (
	// ErrPermission is wrapped by errors about credentials the store
	// rejects or access it denies.
	ErrPermission = errors.New("access denied")
	// ErrBucketNotFound is wrapped by errors about a bucket or container
	// that does not exist.
	ErrBucketNotFound = errors.New("bucket not found")
	// ErrTransient is wrapped by errors that a retry may cure.
	ErrTransient = errors.New("temporary failure")
)
