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
	cmd := &cobra.Command{
		Use:   "temporal",
		Short: "Run the embedded Temporal server alone (SQLite in --data-dir), e.g. in a container",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger(cmd)
			if err != nil {
				return err
			}
			o.Logger, o.SearchAttributes = log, temporalclient.SearchAttributes
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
	f.StringVar(&o.FrontendAddr, "addr", env("MMS_TEMPORAL_ADDR", "0.0.0.0:7233"), "gRPC frontend address (MMS_TEMPORAL_ADDR)")
	f.StringVar(&o.UIAddr, "ui-addr", env("MMS_UI_ADDR", ""), `Web UI address, "" or "-" for none (MMS_UI_ADDR)`)
	bindUI(cmd, &o.UIWriteActions, &o.UIHosts)
	f.StringVar(&o.Namespace, "namespace", env("TEMPORAL_NAMESPACE", devstack.Namespace), "namespace created on first start (TEMPORAL_NAMESPACE)")
	return cmd
}
