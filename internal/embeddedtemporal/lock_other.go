//go:build !unix

package embeddedtemporal

import (
	"fmt"
	"os"
)

// lockDataDir only checks that the directory is writable on platforms without flock.
func lockDataDir(dir, path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("temporal data directory %s is not writable: %w", dir, pathCause(err))
	}
	return func() { _ = f.Close() }, nil
}
