//go:build unix

package input

import "syscall"

// nonBlock keeps open from waiting for a writer should the path have become a named pipe.
const nonBlock = syscall.O_NONBLOCK
