package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Issue 18, finding 7: mms.db was created 0644, world-readable. It and its
// WAL are now the owner's only.
func TestDatabaseFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mms.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CreateToken(context.Background(), "x", "", RoleReader); err != nil { // a write: the WAL exists
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want no access for group and others", filepath.Base(p), fi.Mode().Perm())
		}
	}
}
