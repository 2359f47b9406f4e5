//go:build unix

// Package cputime reads the CPU time the process has used, for benchmarks
// on a shared machine: unlike wall time, it does not count the time spent
// waiting for a core that another process holds.
package cputime

import (
	"syscall"
	"time"
)

// Process is the process's user + system CPU time (getrusage).
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
