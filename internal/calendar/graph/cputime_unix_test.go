//go:build unix

package graph_test

import (
	"syscall"
	"time"
)

// cpuTime is the process's user + system CPU time (getrusage): what a
// benchmark costs whatever else the machine runs, unlike its wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
