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

// OpError is a failed operation on an object store: one line naming the
// operation, the object and the store, the sentinel's advice and the
// store's own words. errors.Is sees both the sentinel and the cause.
type OpError struct {
	msg      string
	sentinel error
	cause    error
}

// NewOpError builds the error of verb on name ("" for the store itself) in
// location, classified by sentinel (nil, ErrPermission, ErrBucketNotFound,
// ErrTransient, ErrNotFound, ErrExists…), with cause, the store's message
// reduced to one line, and err, the original error.
func NewOpError(verb, name, location string, sentinel error, cause string, err error) *OpError {
	what := location
	if name != "" {
		what = name + " in " + location
	}
	var advice string
	switch {
	case sentinel == nil, errors.Is(sentinel, ErrTransient):
	case errors.Is(sentinel, ErrPermission):
		advice = "access denied (check the credentials and their permissions)"
	case errors.Is(sentinel, ErrBucketNotFound):
		advice = "the bucket does not exist (create it first, or check its name and the endpoint)"
	default:
		advice = sentinel.Error()
	}
	msg := "cannot " + verb + " " + what + ": " + advice
	if advice != "" && cause != "" {
		msg += ": "
	}
	return &OpError{msg: msg + cause, sentinel: sentinel, cause: err}
}

func (e *OpError) Error() string { return e.msg }

// Unwrap returns the sentinel and the cause.
func (e *OpError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.sentinel, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
