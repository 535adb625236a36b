// Package osfile opens the regular files a backup reads and a restore
// writes, tens of thousands per run, for the fewest system calls.
//
// os.OpenFile registers every descriptor with the runtime's network poller:
// on Linux that costs four fcntl calls and an epoll_ctl that fails for a
// regular file, twice the calls of the open, read and close themselves. A
// regular file never waits in the poller, so these functions open it with
// the system call and wrap the descriptor with os.NewFile, which only asks
// for its flags. Elsewhere they are os.Open and os.OpenFile.
package osfile
