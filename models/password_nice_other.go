//go:build !linux

package models

// lowerThreadPriority does nothing where one thread's priority cannot be
// set apart from its process's.
func lowerThreadPriority() {}
