package embeddedtemporal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/serialization"
	"go.temporal.io/server/common/persistence/sql"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/common/searchattribute/sadefs"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	dbFileName   = "temporal.db"
	lockFileName = "temporal.lock"
	// clusterName is persisted in the namespace's replication config: never change it.
	clusterName = "active"
)

// prepareDataDir creates dir if needed and returns its absolute path.
func prepareDataDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("temporal data directory is not set (Options.DataDir)")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("temporal data directory %s: %w", dir, err)
	}
	// The SQLite DSN is "file:<path>?<params>": these characters would end the path early.
	if strings.ContainsAny(abs, "?#") {
		return "", fmt.Errorf("temporal data directory %s: the path must not contain '?' or '#'", abs)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("temporal data directory %s cannot be created: %w", abs, pathCause(err))
	}
	return abs, nil
}

// pathCause strips the "mkdir /a/b:" / "open /a/b:" prefix of a *PathError: the caller names
// the directory itself.
func pathCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// makePrivate makes a database file that setupSchema has just created,
// and its -wal and -shm files, readable by their owner only: SQLite
// creates them 0644, world-readable, and they hold every tenant's workflow
// histories (issue 18, finding 7). The schema tool creates the file
// itself (and an existing file means "schema present"), so the mode is
// set right after; SQLite gives later -wal and -shm files the main
// file's mode. A file that existed keeps the mode its operator gave it.
func makePrivate(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("temporal database %s: %w", p, err)
		}
	}
	return nil
}

// sqliteConfig is the persistence config for <dataDir>/temporal.db.
//
// journal_mode=wal and synchronous=normal, and exactly one connection: with more connections
// the server hits SQLITE_BUSY, loses its shard and calls time out; with the default rollback
// journal it is ~3x slower. (The sqlite plugin turns non-URI attributes into _pragma=k=v.)
func sqliteConfig(dbPath string) *config.SQL {
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbPath,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
			// Only matters if something outside this process (sqlite3 CLI) holds a lock.
			"busy_timeout": "5000",
		},
		MaxConns:     1,
		MaxIdleConns: 1,
	}
}

// setupSchema creates the schema when the database file does not exist yet.
func setupSchema(cfg *config.SQL) (created bool, err error) {
	if _, err := os.Stat(cfg.DatabaseName); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("temporal database %s: %w", cfg.DatabaseName, pathCause(err))
	}
	if err := sqliteschema.SetupSchema(cfg); err != nil {
		return false, fmt.Errorf("temporal database %s: creating the schema: %w (delete the file to start over)", cfg.DatabaseName, err)
	}
	return true, nil
}

// validateSearchAttributes rejects names and types the SQLite visibility store cannot hold.
func validateSearchAttributes(sas map[string]enumspb.IndexedValueType) error {
	fields := sadefs.GetDBIndexSearchAttributes(nil).CustomSearchAttributes
	perType := map[enumspb.IndexedValueType]int{}
	for _, t := range fields {
		perType[t]++
	}
	wanted := map[enumspb.IndexedValueType][]string{}
	for _, name := range sortedKeys(sas) {
		t := sas[name]
		if name == "" {
			return errors.New("search attribute with an empty name")
		}
		if sadefs.IsReserved(name) {
			return fmt.Errorf("search attribute %q: the name is reserved by Temporal", name)
		}
		if perType[t] == 0 {
			return fmt.Errorf("search attribute %q: type %v is not supported", name, t)
		}
		wanted[t] = append(wanted[t], name)
	}
	for t, names := range wanted {
		if len(names) > perType[t] {
			return fmt.Errorf("search attributes %s: the SQLite store holds at most %d custom search attributes of type %v",
				strings.Join(names, ", "), perType[t], t)
		}
	}
	return nil
}

// createNamespace registers the namespace with its search attributes if it does not exist.
func createNamespace(cfg *config.SQL, name string, retention time.Duration, sas map[string]enumspb.IndexedValueType) error {
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, name, false, sas)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	ns.Detail.Config.Retention = durationpb.New(retention)
	if err := sqliteschema.CreateNamespaces(cfg, ns); err != nil { // no-op if it exists
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	return nil
}

// addMissingSearchAttributes maps the search attributes the namespace does not have yet onto
// free pre-allocated columns, directly in the database, before the server starts (so that every
// service loads them at start: no waiting for namespace-cache refreshes). It fails if an
// existing attribute has another type. It returns the names it added.
func addMissingSearchAttributes(ctx context.Context, cfg *config.SQL, name string, sas map[string]enumspb.IndexedValueType, logger log.Logger) ([]string, error) {
	if len(sas) == 0 {
		return nil, nil
	}
	serializer := serialization.NewSerializer()
	factory := sql.NewFactory(*cfg, resolver.NewNoopResolver(), clusterName, logger, metrics.NoopMetricsHandler, serializer)
	defer factory.Close()
	store, err := factory.NewMetadataStore()
	if err != nil {
		return nil, fmt.Errorf("namespace %s: opening metadata store: %w", name, err)
	}
	mgr := persistence.NewMetadataManagerImpl(store, serializer, logger, clusterName)
	defer mgr.Close()

	meta, err := mgr.GetMetadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: reading metadata: %w", name, err)
	}
	resp, err := mgr.GetNamespace(ctx, &persistence.GetNamespaceRequest{Name: name})
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	detail := resp.Namespace
	aliases := detail.GetConfig().GetCustomSearchAttributeAliases() // field -> alias
	if aliases == nil {
		aliases = map[string]string{}
	}
	fields := sadefs.GetDBIndexSearchAttributes(nil).CustomSearchAttributes // field -> type
	aliasToField := make(map[string]string, len(aliases))
	for f, a := range aliases {
		aliasToField[a] = f
	}

	var added []string
	for _, sa := range sortedKeys(sas) {
		want := sas[sa]
		if f, ok := aliasToField[sa]; ok {
			if have := fields[f]; have != want {
				return nil, fmt.Errorf("search attribute %s is registered in namespace %s as %v, not %v (the type cannot be changed; use a new name)", sa, name, have, want)
			}
			continue
		}
		free := ""
		for _, f := range sortedKeys(fields) {
			if fields[f] != want || !sadefs.IsPreallocatedCSAFieldName(f, want) {
				continue
			}
			if _, used := aliases[f]; !used {
				free = f
				break
			}
		}
		if free == "" {
			return nil, fmt.Errorf("search attribute %s: namespace %s has no free %v column left", sa, name, want)
		}
		aliases[free] = sa
		aliasToField[sa] = free
		added = append(added, sa)
	}
	if len(added) == 0 {
		return nil, nil
	}
	detail.Config.CustomSearchAttributeAliases = aliases
	detail.ConfigVersion++
	if err := mgr.UpdateNamespace(ctx, &persistence.UpdateNamespaceRequest{
		Namespace:           detail,
		IsGlobalNamespace:   resp.IsGlobalNamespace,
		NotificationVersion: meta.NotificationVersion,
	}); err != nil {
		return nil, fmt.Errorf("namespace %s: adding search attributes %s: %w", name, strings.Join(added, ", "), err)
	}
	return added, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
