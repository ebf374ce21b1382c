package pki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// File modes of everything this package writes.
const (
	dirMode  os.FileMode = 0o700
	certMode os.FileMode = 0o644
	keyMode  os.FileMode = 0o600
)

// pairPaths returns DIR/<name>.crt and DIR/<name>.key.
func pairPaths(dir, name string) (certPath, keyPath string, err error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, filepath.Separator) || strings.ContainsRune(name, '/') {
		return "", "", fmt.Errorf("invalid certificate name %q", name)
	}
	return filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"), nil
}

// writePair writes the key, then the certificate. The certificate is the
// commit point: a crash in between leaves a new key next to an old (or no)
// certificate, which the loaders treat as "not usable" and reissue.
func writePair(certPath, keyPath string, certPEM, keyPEM []byte) error {
	if err := writeFileAtomic(keyPath, keyPEM, keyMode); err != nil {
		return err
	}
	return writeFileAtomic(certPath, certPEM, certMode)
}

// writeFileAtomic replaces path with data: it writes a temporary file in the
// same directory with the final mode, syncs it, renames it over path and
// syncs the directory, so readers see the old or the new content, never a
// torn file, and a crash after return does not lose the write.
func writeFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	// Chmod explicitly: the mode must not depend on the process umask.
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("setting mode of %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", tmp, path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// parseCertPEM returns the first certificate in data.
func parseCertPEM(data []byte) (*x509.Certificate, error) {
	certs, err := cert.ParseCertsPEM(data)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// parseKeyPEM parses a PEM private key (SEC1, PKCS#1 or PKCS#8) into a signer.
func parseKeyPEM(data []byte) (crypto.Signer, error) {
	k, err := keyutil.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T cannot sign", k)
	}
	return s, nil
}

// parsePair parses a certificate and its private key and checks that they
// belong together.
func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	c, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing certificate: %w", err)
	}
	k, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing private key: %w", err)
	}
	pub, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(c.PublicKey) {
		return nil, nil, errors.New("private key does not match certificate")
	}
	return c, k, nil
}

func encodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: cert.CertificateBlockType, Bytes: der})
}
