// Package tlstest writes a throwaway certificate authority with a server
// and a client certificate, for tests of TLS and mutual TLS against the
// embedded Temporal frontend. Test support only: nothing in a binary uses it.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WriteFiles writes to dir: ca.pem (a CA), server.pem and server-key.pem
// (for localhost and 127.0.0.1), client.pem and client-key.pem (client
// authentication), the server and client certificates signed by the CA.
// They are valid for an hour either side of now.
func WriteFiles(t testing.TB, dir string) {
	t.Helper()
	now := time.Now()
	ca, caKey := write(t, dir, "ca", &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject: pkix.Name{CommonName: "mms test CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	write(t, dir, "server", &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: "temporal"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, caKey)
	write(t, dir, "client", &x509.Certificate{SerialNumber: big.NewInt(3),
		Subject: pkix.Name{CommonName: "mms-worker"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, caKey)
}

// write writes a certificate (and its key) signed by parent/parentKey, or
// self-signed when parent is nil, to dir/name.pem and dir/name-key.pem.
func write(t testing.TB, dir, name string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, b := range map[string]*pem.Block{name + ".pem": {Type: "CERTIFICATE", Bytes: der},
		name + "-key.pem": {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
