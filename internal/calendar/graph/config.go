package graph

import (
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as the SHA-1 thumbprint of the certificate
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by TenantConfig.withDefaults.
const (
	DefaultBaseURL               = "https://graph.microsoft.com/v1.0"
	DefaultTokenURLTemplate      = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
	DefaultScope                 = "https://graph.microsoft.com/.default"
	DefaultHorizon               = 2 * 365 * 24 * time.Hour
	DefaultMaxInFlightPerMailbox = 4
	DefaultRequestsPer10Min      = 10000
)

// TenantConfig is how one mms tenant reaches its Microsoft 365 tenant:
// an app registration with application permissions (Calendars.ReadWrite,
// User.Read.All, OnlineMeetings.ReadWrite.All) and either a client secret or
// a certificate.
type TenantConfig struct {
	// AzureTenantID is the Entra ID tenant (GUID or verified domain).
	AzureTenantID string
	// ClientID is the app registration's application (client) ID.
	ClientID string
	// ClientSecret authenticates the app; leave empty when a certificate is used.
	ClientSecret string
	// CertificatePEM and PrivateKeyPEM (PKCS#1 or PKCS#8 RSA) authenticate the
	// app with a signed client assertion instead of a secret.
	CertificatePEM string
	PrivateKeyPEM  string

	// BaseURL of Graph (national clouds, tests); default DefaultBaseURL.
	BaseURL string
	// TokenURL of the identity platform; default DefaultTokenURLTemplate for
	// AzureTenantID.
	TokenURL string
	// Scope requested; default DefaultScope.
	Scope string
	// Horizon clips listings to now+Horizon; default two years.
	Horizon time.Duration
	// MaxInFlightPerMailbox bounds concurrent requests per mailbox; default 4,
	// Outlook's documented limit.
	MaxInFlightPerMailbox int
	// RequestsPer10Min bounds requests per mailbox in any 10-minute window;
	// default 10,000, Outlook's documented limit.
	RequestsPer10Min int
}

// Validate reports missing or malformed settings, naming the field. It never
// repeats a secret or a key.
func (c TenantConfig) Validate() error {
	var errs []error
	if strings.TrimSpace(c.AzureTenantID) == "" {
		errs = append(errs, errors.New("graph config: AzureTenantID is required"))
	}
	if strings.TrimSpace(c.ClientID) == "" {
		errs = append(errs, errors.New("graph config: ClientID is required"))
	}
	hasCert := c.CertificatePEM != "" || c.PrivateKeyPEM != ""
	switch {
	case c.ClientSecret == "" && !hasCert:
		errs = append(errs, errors.New("graph config: ClientSecret or CertificatePEM+PrivateKeyPEM is required"))
	case c.ClientSecret != "" && hasCert:
		errs = append(errs, errors.New("graph config: set either ClientSecret or CertificatePEM+PrivateKeyPEM, not both"))
	case hasCert:
		if c.CertificatePEM == "" {
			errs = append(errs, errors.New("graph config: CertificatePEM is required with PrivateKeyPEM"))
		}
		if c.PrivateKeyPEM == "" {
			errs = append(errs, errors.New("graph config: PrivateKeyPEM is required with CertificatePEM"))
		}
		if c.CertificatePEM != "" && c.PrivateKeyPEM != "" {
			if _, err := parseCertificate(c.CertificatePEM, c.PrivateKeyPEM); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, u := range []struct{ field, value string }{{"BaseURL", c.BaseURL}, {"TokenURL", c.TokenURL}} {
		if u.value == "" {
			continue
		}
		p, err := url.Parse(u.value)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, fmt.Errorf("graph config: %s must be an absolute http(s) URL", u.field))
		}
	}
	if c.Horizon < 0 {
		errs = append(errs, errors.New("graph config: Horizon must not be negative"))
	}
	if c.MaxInFlightPerMailbox < 0 {
		errs = append(errs, errors.New("graph config: MaxInFlightPerMailbox must not be negative"))
	}
	if c.RequestsPer10Min < 0 {
		errs = append(errs, errors.New("graph config: RequestsPer10Min must not be negative"))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields.
func (c TenantConfig) withDefaults() TenantConfig {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.TokenURL == "" {
		c.TokenURL = strings.ReplaceAll(DefaultTokenURLTemplate, "{tenant}", url.PathEscape(c.AzureTenantID))
	}
	if c.Scope == "" {
		c.Scope = DefaultScope
	}
	if c.Horizon == 0 {
		c.Horizon = DefaultHorizon
	}
	if c.MaxInFlightPerMailbox == 0 {
		c.MaxInFlightPerMailbox = DefaultMaxInFlightPerMailbox
	}
	if c.RequestsPer10Min == 0 {
		c.RequestsPer10Min = DefaultRequestsPer10Min
	}
	return c
}

// certCredential is a parsed certificate and its key.
type certCredential struct {
	key     *rsa.PrivateKey
	x5t     string // base64url SHA-1 thumbprint of the DER certificate
	x5tS256 string // base64url SHA-256 thumbprint of the DER certificate
}

func parseCertificate(certPEM, keyPEM string) (*certCredential, error) {
	var der []byte
	for rest := []byte(certPEM); ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			der = b.Bytes
			break
		}
	}
	if der == nil {
		return nil, errors.New("graph config: CertificatePEM holds no CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errors.New("graph config: CertificatePEM: cannot parse the certificate")
	}
	var key *rsa.PrivateKey
	for rest := []byte(keyPEM); key == nil; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "RSA PRIVATE KEY":
			key, _ = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "PRIVATE KEY":
			if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
				key, _ = k.(*rsa.PrivateKey)
			}
		}
	}
	if key == nil {
		// Never echo the key material.
		return nil, errors.New("graph config: PrivateKeyPEM holds no usable RSA private key")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.Cmp(key.N) != 0 || pub.E != key.E {
		return nil, errors.New("graph config: PrivateKeyPEM does not match CertificatePEM")
	}
	sum := sha1.Sum(cert.Raw) //nolint:gosec // thumbprint, not a security hash here
	sum256 := sha256.Sum256(cert.Raw)
	return &certCredential{key: key, x5t: base64.RawURLEncoding.EncodeToString(sum[:]),
		x5tS256: base64.RawURLEncoding.EncodeToString(sum256[:])}, nil
}
