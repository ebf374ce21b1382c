// Package pki holds the cluster's certificate authorities, the certificates
// they issue and the kubeconfig files that carry them.
//
// Everything is file based under one directory (DATA/pki) with kubeadm's
// layout and permissions: certificates 0644, keys 0600, directories 0700.
// Every function that decides validity takes the current time, so callers and
// tests control the clock.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"strconv"
	"time"

	"k8s.io/client-go/util/keyutil"
)

const (
	// caValidity is how long a new CA certificate is valid.
	caValidity = 10 * 365 * 24 * time.Hour
	// leafValidity is how long serving and admin certificates are valid.
	leafValidity = 365 * 24 * time.Hour
	// renewBefore is how close to expiry a certificate is replaced.
	renewBefore = 30 * 24 * time.Hour
	// backdate moves NotBefore into the past to tolerate clock skew
	// between the machine that issues and the machines that verify.
	backdate = 5 * time.Minute
)

// CA is a certificate authority whose key is at hand.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
}

// LoadOrCreateCA loads the CA in DIR/<name>.crt and DIR/<name>.key, or, when
// the certificate does not exist, creates a self-signed ECDSA P-256 CA valid
// for ten years (DIR is created 0700, the key written 0600, the certificate
// 0644). A certificate without its key, a key that does not match, or a CA
// that has expired at now is an error: silently replacing a CA would
// invalidate every certificate and kubeconfig it signed.
func LoadOrCreateCA(dir, name string, now time.Time) (*CA, error) {
	certPath, keyPath, err := pairPaths(dir, name)
	if err != nil {
		return nil, err
	}
	_, err = os.Stat(certPath)
	switch {
	case err == nil:
		return loadCA(certPath, keyPath, now)
	case errors.Is(err, fs.ErrNotExist):
		return createCA(dir, certPath, keyPath, name, now)
	default:
		return nil, fmt.Errorf("checking CA certificate %s: %w", certPath, err)
	}
}

func loadCA(certPath, keyPath string, now time.Time) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("reading CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("reading CA key: %w", err)
	}
	c, k, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading CA %s: %w", certPath, err)
	}
	if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("loading CA %s: certificate is not a CA", certPath)
	}
	if now.After(c.NotAfter) {
		return nil, fmt.Errorf("loading CA %s: certificate expired at %s", certPath, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return &CA{Cert: c, Key: k, CertPEM: certPEM}, nil
}

func createCA(dir, certPath, keyPath, name string, now time.Time) (*CA, error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("creating directory %s: %w", dir, err)
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// A unique subject per CA keeps chain building unambiguous when a
		// CA is ever recreated.
		Subject:               pkix.Name{CommonName: "sampan-" + name + "@" + strconv.FormatInt(now.Unix(), 10)},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing CA certificate: %w", err)
	}
	certPEM := encodeCertPEM(der)
	if err := writePair(certPath, keyPath, certPEM, keyPEM); err != nil {
		return nil, fmt.Errorf("writing CA %s: %w", name, err)
	}
	return &CA{Cert: c, Key: key, CertPEM: certPEM}, nil
}

// CertPool returns a pool holding only this CA, for tls.Config RootCAs or
// ClientCAs.
func (ca *CA) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// sign issues a leaf certificate for pub from tmpl, filling in serial,
// validity (clamped to the CA's own expiry), key usage and basic
// constraints. It returns the parsed certificate and its PEM.
func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey, validity time.Duration, now time.Time) (*x509.Certificate, []byte, error) {
	if validity <= 0 {
		return nil, nil, fmt.Errorf("invalid certificate validity %s", validity)
	}
	if !now.Before(ca.Cert.NotAfter) {
		return nil, nil, fmt.Errorf("CA %q expired at %s", ca.Cert.Subject.CommonName, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	t := *tmpl
	t.SerialNumber = serial
	t.NotBefore = now.Add(-backdate)
	t.NotAfter = now.Add(validity)
	if t.NotAfter.After(ca.Cert.NotAfter) {
		t.NotAfter = ca.Cert.NotAfter
	}
	t.KeyUsage = x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		t.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	t.BasicConstraintsValid = true
	t.IsCA = false
	der, err := x509.CreateCertificate(rand.Reader, &t, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing certificate for %q: %w", t.Subject.CommonName, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing certificate for %q: %w", t.Subject.CommonName, err)
	}
	return c, encodeCertPEM(der), nil
}

// verifyLeaf parses a certificate and key issued by this CA and checks that
// they belong together, chain to this CA for usage at now, and stay valid
// for longer than the renewal window.
func (ca *CA) verifyLeaf(certPEM, keyPEM []byte, usage x509.ExtKeyUsage, now time.Time) (*x509.Certificate, error) {
	c, _, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if _, err := c.Verify(x509.VerifyOptions{
		Roots:       ca.CertPool(),
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{usage},
	}); err != nil {
		return nil, fmt.Errorf("verifying certificate: %w", err)
	}
	if c.NotAfter.Sub(now) < renewBefore {
		return nil, fmt.Errorf("certificate expires at %s, within the renewal window", c.NotAfter.UTC().Format(time.RFC3339))
	}
	return c, nil
}

// newKey generates an ECDSA P-256 key and its PEM encoding.
func newKey() (crypto.Signer, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	p, err := keyutil.MarshalPrivateKeyToPEM(k)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	return k, p, nil
}

// newSerial returns a random positive 127-bit serial number.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
