package repository

import "errors"

// Sentinel errors, classified by callers with errors.Is and mapped to exit
// codes by the CLI.
var (
	// ErrNoRepository: nothing exists at the repository location.
	ErrNoRepository = errors.New("repository not found")
	// ErrNotInitialized: the location exists but holds no config.
	ErrNotInitialized = errors.New("repository not initialised")
	// ErrAlreadyInitialized: init on a location that has a config.
	ErrAlreadyInitialized = errors.New("repository already initialised")
	// ErrUnsupportedFormat: the repository was written by a newer release.
	ErrUnsupportedFormat = errors.New("unsupported repository format")
	// ErrIntegrity: stored bytes do not match their hash, or a needed object is missing.
	ErrIntegrity = errors.New("repository integrity check failed")
	// ErrLocked: another process holds a conflicting lock.
	ErrLocked = errors.New("repository is locked")
	// ErrLockLost: the lock a process held was removed by another that
	// judged it stale; nothing may be committed under it.
	ErrLockLost = errors.New("repository lock lost")
	// ErrNeedCredentials: the repository is encrypted and no password or
	// key file was given.
	ErrNeedCredentials = errors.New("password needed")
	// ErrWrongPassword: no key of the repository opens with what was given.
	ErrWrongPassword = errors.New("wrong password or key file")
	// ErrNotEncrypted: a password or key file was given for a repository
	// that is not encrypted, or a key command run on one.
	ErrNotEncrypted = errors.New("repository is not encrypted")
	// ErrKeyNotFound: no key matches the given id.
	ErrKeyNotFound = errors.New("key not found")
	// ErrBackupNotFound: no backup matches the given id.
	ErrBackupNotFound = errors.New("backup not found")
	// ErrSetNotFound: no backup set matches the given id.
	ErrSetNotFound = errors.New("backup set not found")
)
