//go:build !nodevserver

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/internal/devstack"
	"github.com/openmms/mms/internal/embeddedtemporal"
	"github.com/openmms/mms/internal/temporalclient"
)

// The temporal command runs the embedded Temporal server alone: a
// single-node cluster for `mms worker` and `mms api` in containers (the
// fault suite's Temporal container).
func init() { extraServiceCommands = append(extraServiceCommands, temporalCommand) }

func temporalCommand() *cobra.Command {
	var o embeddedtemporal.Options
	var tlsFlags frontendTLS
	cmd := &cobra.Command{
		Use:   "temporal",
		Short: "Run the embedded Temporal server alone (SQLite in --data-dir), e.g. in a container",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger(cmd)
			if err != nil {
				return err
			}
			o.Logger, o.SearchAttributes, o.FrontendTLS = log, temporalclient.SearchAttributes, tlsFlags.tls()
			if o.UIAddr == "-" {
				o.UIAddr = ""
			}
			srv, err := embeddedtemporal.Start(cmd.Context(), o)
			if err != nil {
				return err
			}
			defer srv.Stop()
			fmt.Fprintf(cmd.OutOrStdout(), "temporal ready on %s (namespace %s)\n", srv.FrontendAddr(), srv.Namespace())
			if u := srv.UIURL(); u != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "temporal ui on %s\n", u)
			}
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", env("MMS_DATA_DIR", "/data"), "directory of temporal.db (MMS_DATA_DIR)")
	// One spelling of the Temporal address on every command, the Temporal
	// CLI's (issue 19); --addr and MMS_TEMPORAL_ADDR still work.
	f.StringVar(&o.FrontendAddr, "temporal-address", env("TEMPORAL_ADDRESS", env("MMS_TEMPORAL_ADDR", "0.0.0.0:7233")),
		"address the gRPC frontend listens on (TEMPORAL_ADDRESS)")
	deprecatedAlias(cmd, "addr", "temporal-address", &o.FrontendAddr)
	f.StringVar(&o.UIAddr, "ui-addr", env("MMS_UI_ADDR", ""), `Web UI address, "" or "-" for none (MMS_UI_ADDR)`)
	bindUI(cmd, &o.UIWriteActions, &o.UIHosts)
	bindFrontendTLS(cmd, &tlsFlags)
	f.StringVar(&o.Namespace, "namespace", env("TEMPORAL_NAMESPACE", devstack.Namespace), "namespace created on first start (TEMPORAL_NAMESPACE)")
	return cmd
}

// frontendTLS are the flags of a TLS frontend for the embedded Temporal
// server (`mms dev`, `mms temporal`); tls() is nil when none is given.
type frontendTLS struct{ embeddedtemporal.FrontendTLS }

func bindFrontendTLS(cmd *cobra.Command, t *frontendTLS) {
	f := cmd.Flags()
	for _, b := range []struct {
		flag, variable, usage string
		v                     *string
	}{
		{"temporal-tls-cert", "MMS_TEMPORAL_TLS_CERT", "serve the Temporal frontend over TLS with this certificate (PEM)", &t.CertFile},
		{"temporal-tls-key", "MMS_TEMPORAL_TLS_KEY", "the key of --temporal-tls-cert (PEM)", &t.KeyFile},
		{"temporal-tls-ca", "MMS_TEMPORAL_TLS_CA", "the CA that signed --temporal-tls-cert; clients verify the frontend with it", &t.CAFile},
		{"temporal-tls-server-name", "MMS_TEMPORAL_TLS_SERVER_NAME", "name in --temporal-tls-cert that clients expect (default: the frontend's host)", &t.ServerName},
		{"temporal-tls-client-ca", "MMS_TEMPORAL_TLS_CLIENT_CA", "require client certificates signed by this CA (mutual TLS)", &t.ClientCAFile},
		{"temporal-tls-client-cert", "MMS_TEMPORAL_TLS_CLIENT_CERT", "with --temporal-tls-client-ca: the certificate the server's own clients present", &t.ClientCertFile},
		{"temporal-tls-client-key", "MMS_TEMPORAL_TLS_CLIENT_KEY", "the key of --temporal-tls-client-cert", &t.ClientKeyFile},
	} {
		f.StringVar(b.v, b.flag, "", b.usage)
		withEnv(cmd, b.flag, b.variable)
	}
}

// tls is the frontend's TLS, or nil for plain gRPC (no certificate given);
// embeddedtemporal checks that the files given make a whole.
func (t *frontendTLS) tls() *embeddedtemporal.FrontendTLS {
	if t.FrontendTLS == (embeddedtemporal.FrontendTLS{}) {
		return nil
	}
	c := t.FrontendTLS
	return &c
}
