//go:build unix

package embeddedtemporal

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDataDir takes an exclusive, non-blocking flock on <dir>/temporal.lock so that two
// servers (in this process or another) never share one SQLite file: both would own the single
// history shard and steal it from each other.
func lockDataDir(dir, path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("temporal data directory %s is not writable: %w", dir, pathCause(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("temporal data directory %s is in use by another temporal server (lock %s is held)", dir, path)
		}
		return nil, fmt.Errorf("temporal data directory %s: locking %s: %w", dir, path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
