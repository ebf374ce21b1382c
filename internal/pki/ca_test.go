package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testNow is a fixed clock for tests that do not hand certificates to
// crypto/tls (which verifies against the real clock).
var testNow = time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)

func newTestCA(t *testing.T, now time.Time) *CA {
	t.Helper()
	ca, err := LoadOrCreateCA(t.TempDir(), "ca", now)
	if err != nil {
		t.Fatalf("LoadOrCreateCA: %v", err)
	}
	return ca
}

func mustReadCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCertPEM(data)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	return c
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %#o, want %#o", filepath.Base(path), got, want)
	}
}

func TestLoadOrCreateCACreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "pki")
	ca, err := LoadOrCreateCA(dir, "ca", testNow)
	if err != nil {
		t.Fatalf("LoadOrCreateCA: %v", err)
	}
	wantMode(t, dir, 0o700)
	wantMode(t, filepath.Join(dir, "ca.crt"), 0o644)
	wantMode(t, filepath.Join(dir, "ca.key"), 0o600)

	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("not a CA: IsCA=%v KeyUsage=%b", c.IsCA, c.KeyUsage)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if want := testNow.AddDate(10, 0, 0); c.NotAfter.Before(want.Add(-72*time.Hour)) || c.NotAfter.After(want) {
		t.Errorf("NotAfter = %s, want about ten years after %s", c.NotAfter, testNow)
	}
	if c.NotBefore.After(testNow) {
		t.Errorf("NotBefore = %s is after now", c.NotBefore)
	}
	if len(c.SubjectKeyId) == 0 {
		t.Error("no subject key id")
	}
	if got := mustReadCert(t, filepath.Join(dir, "ca.crt")); !got.Equal(c) {
		t.Error("certificate on disk differs from the returned one")
	}

	again, err := LoadOrCreateCA(dir, "ca", testNow.Add(time.Hour))
	if err != nil {
		t.Fatalf("reloading: %v", err)
	}
	if !again.Cert.Equal(c) || string(again.CertPEM) != string(ca.CertPEM) {
		t.Error("reload returned a different certificate")
	}
	if !again.Key.Public().(*ecdsa.PublicKey).Equal(ca.Key.Public()) {
		t.Error("reload returned a different key")
	}
}

func TestLoadOrCreateCAErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		at    time.Time
		file  string
	}{
		{
			name:  "key missing",
			setup: func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "ca.key"))) },
			at:    testNow,
		},
		{
			name: "key of another CA",
			setup: func(t *testing.T, dir string) {
				other := t.TempDir()
				if _, err := LoadOrCreateCA(other, "ca", testNow); err != nil {
					t.Fatal(err)
				}
				copyFile(t, filepath.Join(other, "ca.key"), filepath.Join(dir, "ca.key"))
			},
			at: testNow,
		},
		{
			name: "corrupt certificate",
			setup: func(t *testing.T, dir string) {
				must(t, os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("junk"), 0o644))
			},
			at: testNow,
		},
		{
			name:  "expired",
			setup: func(t *testing.T, dir string) {},
			at:    testNow.AddDate(11, 0, 0),
		},
		{
			name: "not a CA",
			setup: func(t *testing.T, dir string) {
				ca, err := LoadOrCreateCA(dir, "ca", testNow)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := ca.EnsureServingCert(dir, "leaf", ServerSANs(nil, "h", nil), testNow); err != nil {
					t.Fatal(err)
				}
			},
			at:   testNow,
			file: "leaf",
		},
		{
			name:  "invalid name",
			setup: func(t *testing.T, dir string) {},
			at:    testNow,
			file:  "../ca",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreateCA(dir, "ca", testNow); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir)
			name := tt.file
			if name == "" {
				name = "ca"
			}
			if _, err := LoadOrCreateCA(dir, name, tt.at); err == nil {
				t.Fatal("LoadOrCreateCA succeeded, want error")
			}
		})
	}
}

// A key without its certificate is a CA creation that never completed:
// nothing can have been signed with it, so a new CA replaces it.
func TestLoadOrCreateCAReplacesOrphanKey(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateCA(dir, "ca", testNow)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.Remove(filepath.Join(dir, "ca.crt")))
	second, err := LoadOrCreateCA(dir, "ca", testNow)
	if err != nil {
		t.Fatalf("LoadOrCreateCA: %v", err)
	}
	if second.Cert.Equal(first.Cert) {
		t.Error("got the old certificate back")
	}
	if _, err := LoadOrCreateCA(dir, "ca", testNow); err != nil {
		t.Errorf("reloading the new CA: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, data, 0o600))
}
