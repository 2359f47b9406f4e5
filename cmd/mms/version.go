package main

import (
	"crypto/x509"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	// The binary carries Mozilla's trusted roots (issue 19): the container
	// image is FROM scratch, with no /etc/ssl, and every call to Microsoft
	// Graph, its token endpoint, a TLS CalDAV or SMTP server or Temporal
	// Cloud needs them. Go uses them only when the host has no roots of
	// its own; keep the module current (govulncheck flags stale bundles).
	_ "golang.org/x/crypto/x509roots/fallback"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

func versionCommand() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version; --verbose adds the build and the TLS trust roots this process would use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, "mms", version)
			if !verbose {
				return nil
			}
			fmt.Fprintf(out, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(out, "embedded temporal server: %t\n", len(extraServiceCommands) > 0)
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "-tags" || s.Key == "vcs.revision" {
						fmt.Fprintf(out, "build %s: %s\n", s.Key, s.Value)
					}
				}
			}
			n, source, err := trustRoots()
			if err != nil {
				return fmt.Errorf("tls trust roots: %w", err)
			}
			fmt.Fprintf(out, "tls trust roots: %d (%s)\n", n, source)
			if n == 0 {
				return fmt.Errorf("no TLS trust roots: HTTPS to Microsoft Graph would fail")
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print the build and the TLS trust roots")
	return cmd
}

// trustRoots counts the roots the process verifies servers against, and
// says whether they are the host's or the embedded bundle (Go falls back
// on it when the host has none, e.g. in a FROM scratch image, or when
// GODEBUG=x509usefallbackroots=1).
func trustRoots() (int, string, error) {
	sys, err := x509.SystemCertPool()
	if err != nil {
		return 0, "", err
	}
	embedded := x509.NewCertPool()
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			return 0, "", err
		}
		embedded.AddCertWithConstraint(c, r.Constraint)
	}
	// Subjects is deprecated only because it cannot list the roots of the
	// macOS and Windows verifiers; on Linux it counts the pool.
	n := len(sys.Subjects()) //lint:ignore SA1019 see above
	if sys.Equal(embedded) {
		return n, "embedded: golang.org/x/crypto/x509roots/fallback", nil
	}
	return n, "host: SSL_CERT_FILE, SSL_CERT_DIR or the system bundle", nil
}
