package embeddedtemporal

import (
	"os"
	"path/filepath"
	"testing"
)

// Issue 18, finding 7: temporal.db was created 0644, world-readable. A
// database that setupSchema creates is made 0600 with its WAL.
func TestNewDatabaseIsPrivate(t *testing.T) {
	cfg := sqliteConfig(filepath.Join(t.TempDir(), dbFileName))
	created, err := setupSchema(cfg)
	if err != nil || !created {
		t.Fatalf("setupSchema: %v, %v", created, err)
	}
	if err := makePrivate(cfg.DatabaseName); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cfg.DatabaseName, cfg.DatabaseName + "-wal"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		} else if err != nil && p == cfg.DatabaseName {
			t.Fatal(err)
		}
	}
}
