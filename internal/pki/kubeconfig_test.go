package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// getWithKubeconfig builds a client from the kubeconfig at path the way
// kubectl and client-go programs do and performs one request.
func getWithKubeconfig(t *testing.T, path string) (string, error) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("BuildConfigFromFlags: %v", err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("HTTPClientFor: %v", err)
	}
	return get(client, cfg.Host+"/")
}

func TestWriteKubeconfigHandshake(t *testing.T) {
	now := time.Now() // crypto/tls verifies against the real clock.
	ca := newTestCA(t, now)
	dir := t.TempDir()
	certFile, keyFile, err := ca.EnsureServingCert(dir, "apiserver", ServerSANs(nil, "node-a", net.ParseIP("10.96.0.1")), now)
	must(t, err)
	srv := newMTLSServer(t, ca, certFile, keyFile)

	certPEM, keyPEM, err := ca.IssueClientCert("system:node:n1", []string{"system:nodes"}, time.Hour, now)
	must(t, err)
	path := filepath.Join(dir, "node.conf")
	must(t, os.WriteFile(path, []byte("stale content"), 0o644))
	kc := Kubeconfig{
		ClusterName: "kubernetes", Server: srv.URL, UserName: "system:node:n1",
		CAData: ca.CertPEM, CertData: certPEM, KeyData: keyPEM,
	}
	if err := WriteKubeconfig(path, kc); err != nil {
		t.Fatalf("WriteKubeconfig: %v", err)
	}
	wantMode(t, path, 0o600)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	raw, err := clientcmd.LoadFromFile(path)
	must(t, err)
	if raw.CurrentContext != "system:node:n1@kubernetes" {
		t.Errorf("current context = %q, want system:node:n1@kubernetes", raw.CurrentContext)
	}
	got, err := readKubeconfig(path)
	must(t, err)
	if got.Server != kc.Server || got.ClusterName != kc.ClusterName || got.UserName != kc.UserName ||
		!bytes.Equal(got.CAData, kc.CAData) || !bytes.Equal(got.CertData, kc.CertData) || !bytes.Equal(got.KeyData, kc.KeyData) {
		t.Errorf("read back %+v, want %+v", got, kc)
	}

	body, err := getWithKubeconfig(t, path)
	if err != nil {
		t.Fatalf("request with kubeconfig: %v", err)
	}
	if body != "system:node:n1/system:nodes" {
		t.Errorf("server saw client %q", body)
	}
}

func TestWriteKubeconfigToken(t *testing.T) {
	ca := newTestCA(t, testNow)
	path := filepath.Join(t.TempDir(), "bootstrap.conf")
	err := WriteKubeconfig(path, Kubeconfig{
		ClusterName: "kubernetes", Server: "https://10.0.0.1:6443", UserName: "tls-bootstrap-token-user",
		CAData: ca.CertPEM, Token: "abcdef.0123456789abcdef",
	})
	if err != nil {
		t.Fatalf("WriteKubeconfig: %v", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	must(t, err)
	if cfg.Host != "https://10.0.0.1:6443" || cfg.BearerToken != "abcdef.0123456789abcdef" || !bytes.Equal(cfg.CAData, ca.CertPEM) {
		t.Errorf("rest config = host %q token %q", cfg.Host, cfg.BearerToken)
	}
}

func TestWriteKubeconfigErrors(t *testing.T) {
	ok := Kubeconfig{ClusterName: "kubernetes", Server: "https://127.0.0.1:6443", UserName: "u"}
	tests := []struct {
		name   string
		mutate func(*Kubeconfig)
	}{
		{name: "no server", mutate: func(kc *Kubeconfig) { kc.Server = "" }},
		{name: "no cluster name", mutate: func(kc *Kubeconfig) { kc.ClusterName = "" }},
		{name: "no user name", mutate: func(kc *Kubeconfig) { kc.UserName = "" }},
		{name: "cert without key", mutate: func(kc *Kubeconfig) { kc.CertData = []byte("x") }},
		{name: "key without cert", mutate: func(kc *Kubeconfig) { kc.KeyData = []byte("x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc := ok
			tt.mutate(&kc)
			path := filepath.Join(t.TempDir(), "x.conf")
			if err := WriteKubeconfig(path, kc); err == nil {
				t.Fatal("WriteKubeconfig succeeded, want error")
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("file written despite the error")
			}
		})
	}
}

func TestEnsureAdminKubeconfigHandshake(t *testing.T) {
	now := time.Now() // crypto/tls verifies against the real clock.
	dataDir := filepath.Join(t.TempDir(), "data")
	ca, err := LoadOrCreateCA(filepath.Join(dataDir, "pki"), "ca", now)
	must(t, err)
	certFile, keyFile, err := ca.EnsureServingCert(filepath.Join(dataDir, "pki"), "apiserver", ServerSANs(nil, "node-a", nil), now)
	must(t, err)
	srv := newMTLSServer(t, ca, certFile, keyFile)

	path, err := EnsureAdminKubeconfig(dataDir, ca, srv.URL, now)
	if err != nil {
		t.Fatalf("EnsureAdminKubeconfig: %v", err)
	}
	if path != filepath.Join(dataDir, "admin.conf") {
		t.Errorf("path = %s", path)
	}
	wantMode(t, path, 0o600)
	raw, err := clientcmd.LoadFromFile(path)
	must(t, err)
	if raw.CurrentContext != "kubernetes-admin@kubernetes" {
		t.Errorf("current context = %q, want kubernetes-admin@kubernetes", raw.CurrentContext)
	}
	body, err := getWithKubeconfig(t, path)
	if err != nil {
		t.Fatalf("request with admin.conf: %v", err)
	}
	if body != "kubernetes-admin/system:masters" {
		t.Errorf("server saw client %q, want kubernetes-admin/system:masters", body)
	}
}

func TestEnsureAdminKubeconfigReuse(t *testing.T) {
	const server = "https://192.168.1.10:6443"
	tests := []struct {
		name    string
		server  string
		later   time.Duration
		otherCA bool
		tamper  func(t *testing.T, path string)
		rewrite bool
	}{
		{name: "unchanged", server: server},
		{name: "eleven months later", server: server, later: 300 * 24 * time.Hour},
		{name: "server changed", server: "https://10.0.0.1:6443", rewrite: true},
		{name: "CA changed", server: server, otherCA: true, rewrite: true},
		{name: "certificate expires within 30 days", server: server, later: 340 * 24 * time.Hour, rewrite: true},
		{
			name: "corrupt file", server: server, rewrite: true,
			tamper: func(t *testing.T, path string) { must(t, os.WriteFile(path, []byte("{"), 0o600)) },
		},
		{
			name: "someone else's certificate", server: server, rewrite: true,
			tamper: func(t *testing.T, path string) {
				kc, err := readKubeconfig(path)
				must(t, err)
				must(t, WriteKubeconfig(path, Kubeconfig{
					ClusterName: kc.ClusterName, Server: kc.Server, UserName: kc.UserName, CAData: kc.CAData,
					CertData: mustRead(t, filepath.Join(filepath.Dir(path), "pki", "other.crt")),
					KeyData:  mustRead(t, filepath.Join(filepath.Dir(path), "pki", "other.key")),
				}))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			ca, err := LoadOrCreateCA(filepath.Join(dataDir, "pki"), "ca", testNow)
			must(t, err)
			// A valid certificate from the same CA for a user who is not the admin.
			certPEM, keyPEM, err := ca.IssueClientCert("bob", []string{"devs"}, leafValidity, testNow)
			must(t, err)
			must(t, writePair(filepath.Join(dataDir, "pki", "other.crt"), filepath.Join(dataDir, "pki", "other.key"), certPEM, keyPEM))

			path, err := EnsureAdminKubeconfig(dataDir, ca, server, testNow)
			must(t, err)
			before := mustRead(t, path)
			if tt.tamper != nil {
				tt.tamper(t, path)
			}
			if tt.otherCA {
				ca = newTestCA(t, testNow)
			}
			now := testNow.Add(tt.later)
			if _, err := EnsureAdminKubeconfig(dataDir, ca, tt.server, now); err != nil {
				t.Fatalf("second EnsureAdminKubeconfig: %v", err)
			}
			after := mustRead(t, path)
			if rewritten := !bytes.Equal(before, after); rewritten != tt.rewrite {
				t.Fatalf("rewritten = %v, want %v", rewritten, tt.rewrite)
			}
			if err := ca.adminKubeconfigUsable(path, tt.server, now); err != nil {
				t.Errorf("resulting admin.conf: %v", err)
			}
		})
	}
}

func TestCAHash(t *testing.T) {
	// Expected values computed with
	//   openssl x509 -in F -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256
	tests := []struct {
		file string
		want string
	}{
		{file: "openssl-ca.crt", want: "sha256:c9727cd84609021228184c16998f309e211453fc06a5ebbc038916de4406dc33"},
		{file: "openssl-rsa-ca.crt", want: "sha256:5eb9e531221f498352502182ab7c63349f01e3d58aa4bc59bba4e45eb08ee7bf"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := mustReadCert(t, filepath.Join("testdata", tt.file))
			if got := CAHash(c); got != tt.want {
				t.Errorf("CAHash = %s, want %s", got, tt.want)
			}
		})
	}

	t.Run("generated CA", func(t *testing.T) {
		ca := newTestCA(t, testNow)
		// Re-encode the public key rather than reuse the parsed raw bytes.
		der, err := x509.MarshalPKIXPublicKey(ca.Key.Public())
		must(t, err)
		sum := sha256.Sum256(der)
		if got, want := CAHash(ca.Cert), "sha256:"+hex.EncodeToString(sum[:]); got != want {
			t.Errorf("CAHash = %s, want %s", got, want)
		}
	})
}
