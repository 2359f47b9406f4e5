// Command mms is the Meeting Migration Service: `mms dev` runs everything on
// one machine; `mms worker` and `mms api` run against a Temporal cluster;
// the admin verbs (start, status) talk to the HTTP API.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set by the linker (-X main.version=...).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		if !errors.Is(err, errSilent) {
			fmt.Fprintln(os.Stderr, "mms: "+err.Error())
		}
		os.Exit(exitCode(err))
	}
}

// newRoot returns the mms command with every verb.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "mms",
		Short:         "Meeting Migration Service: keeps meeting invitations right when conferencing details change",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		// The service knobs' MMS_* variables (flags.go), for whichever
		// command runs.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return applyEnv(cmd) },
	}
	root.PersistentFlags().String("log-level", env("MMS_LOG_LEVEL", "info"), "log level: debug, info, warn, error (MMS_LOG_LEVEL)")
	root.PersistentFlags().String("log-format", env("MMS_LOG_FORMAT", "text"), "log format: text or json (MMS_LOG_FORMAT)")
	root.AddCommand(serviceCommands()...)
	root.AddCommand(adminCommands()...)
	root.AddCommand(sandboxCommand(), previewCommand(), versionCommand(), profileCommand())
	// The cmdlets' parameter names are flag aliases on every command.
	root.SetGlobalNormalizationFunc(cmdletNames)
	groupCommands(root)
	addExamples(root)
	return root
}

// env returns the environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// logger builds the process logger from the persistent flags.
func logger(cmd *cobra.Command) (*slog.Logger, error) {
	lvlName, _ := cmd.Flags().GetString("log-level")
	format, _ := cmd.Flags().GetString("log-format")
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(lvlName)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", lvlName)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

// errSilent ends a command that has already said why.
var errSilent = errors.New("")

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e, ok := err.(exitError); ok {
		return e.code
	}
	return 1
}
