package embeddedtemporal

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"go.temporal.io/server/common/config"
)

// apply turns on TLS for the frontend in cfg and returns the client TLS configuration of the
// server's own readiness check. Internode traffic stays plain: it never leaves 127.0.0.1.
func (t *FrontendTLS) apply(cfg *config.Config) (*tls.Config, error) {
	if t.CertFile == "" || t.KeyFile == "" || t.CAFile == "" {
		return nil, fmt.Errorf("temporal frontend tls: CertFile, KeyFile and CAFile are required")
	}
	mutual := t.ClientCAFile != ""
	if mutual && (t.ClientCertFile == "" || t.ClientKeyFile == "") {
		return nil, fmt.Errorf("temporal frontend tls: with ClientCAFile, ClientCertFile and ClientKeyFile are required " +
			"(the server's own system worker and UI dial the frontend)")
	}
	client := config.ClientTLS{ServerName: t.ServerName, RootCAFiles: []string{t.CAFile}, ForceTLS: true}
	cfg.Global.TLS.Frontend = config.GroupTLS{
		Server: config.ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, RequireClientAuth: mutual},
		Client: client,
	}
	if mutual {
		cfg.Global.TLS.Frontend.Server.ClientCAFiles = []string{t.ClientCAFile}
	}
	// The system worker (schedules, batch operations, ...) is an SDK client of the frontend.
	cfg.Global.TLS.SystemWorker = config.WorkerTLS{CertFile: t.ClientCertFile, KeyFile: t.ClientKeyFile, Client: client}

	caPEM, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, fmt.Errorf("temporal frontend tls: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("temporal frontend tls: no PEM certificate in %s", t.CAFile)
	}
	tc := &tls.Config{RootCAs: roots, ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if mutual {
		kp, err := tls.LoadX509KeyPair(t.ClientCertFile, t.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal frontend tls: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	return tc, nil
}
