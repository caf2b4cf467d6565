package models

import "syscall"

// lowerThreadPriority gives the calling OS thread the nice value
// hashNice. On Linux the nice value belongs to the thread, not to the
// process (setpriority(2) with a thread id), so only the thread a hash
// runs on yields to the rest.
func lowerThreadPriority() {
	// Raising one's own nice value needs no privilege; should it fail, the
	// hash runs at the normal priority, as it would elsewhere.
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), hashNice)
}
