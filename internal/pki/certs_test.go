package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// newMTLSServer starts an HTTPS server on loopback with the given serving
// certificate that requires client certificates signed by ca and answers
// with the client's "CN/O1,O2" (organizations sorted).
func newMTLSServer(t *testing.T, ca *CA, certFile, keyFile string) *httptest.Server {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("loading serving pair: %v", err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := r.TLS.PeerCertificates[0].Subject
		// DER encodes several O values as a sorted SET: order is not kept.
		fmt.Fprintf(w, "%s/%s", peer.CommonName, strings.Join(slices.Sorted(slices.Values(peer.Organization)), ","))
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.CertPool(),
		MinVersion:   tls.VersionTLS12,
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// get performs one request with a fresh transport so every call is a new
// handshake.
func get(client *http.Client, rawURL string) (string, error) {
	defer client.CloseIdleConnections()
	resp, err := client.Get(rawURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(body), nil
}

func TestServingCertTLSHandshake(t *testing.T) {
	now := time.Now() // crypto/tls verifies against the real clock.
	ca := newTestCA(t, now)
	dir := filepath.Join(t.TempDir(), "pki")
	spec := ServerSANs(net.ParseIP("192.168.1.10"), "node-a", net.ParseIP("10.96.0.1"), "api.example.com", "fd00::10")
	certFile, keyFile, err := ca.EnsureServingCert(dir, "apiserver", spec, now)
	if err != nil {
		t.Fatalf("EnsureServingCert: %v", err)
	}
	wantMode(t, dir, 0o700)
	wantMode(t, certFile, 0o644)
	wantMode(t, keyFile, 0o600)

	srv := newMTLSServer(t, ca, certFile, keyFile)

	clientPair := func(ca *CA) tls.Certificate {
		certPEM, keyPEM, err := ca.IssueClientCert("alice", []string{"devs", "ops"}, time.Hour, now)
		if err != nil {
			t.Fatalf("IssueClientCert: %v", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair
	}
	good := clientPair(ca)
	foreign := clientPair(newTestCA(t, now))

	tests := []struct {
		serverName string
		client     []tls.Certificate
		foreign    bool
		wantErr    bool
	}{
		{serverName: "node-a", client: []tls.Certificate{good}},
		{serverName: "kubernetes", client: []tls.Certificate{good}},
		{serverName: "kubernetes.default", client: []tls.Certificate{good}},
		{serverName: "kubernetes.default.svc", client: []tls.Certificate{good}},
		{serverName: "kubernetes.default.svc.cluster.local", client: []tls.Certificate{good}},
		{serverName: "localhost", client: []tls.Certificate{good}},
		{serverName: "api.example.com", client: []tls.Certificate{good}},
		{serverName: "192.168.1.10", client: []tls.Certificate{good}},
		{serverName: "127.0.0.1", client: []tls.Certificate{good}},
		{serverName: "10.96.0.1", client: []tls.Certificate{good}},
		{serverName: "fd00::10", client: []tls.Certificate{good}},
		{serverName: "other.example.com", client: []tls.Certificate{good}, wantErr: true},
		{serverName: "10.96.0.2", client: []tls.Certificate{good}, wantErr: true},
		{serverName: "localhost", client: nil, wantErr: true},
		{serverName: "localhost", client: []tls.Certificate{foreign}, foreign: true, wantErr: true},
	}
	for _, tt := range tests {
		name := tt.serverName
		if tt.client == nil {
			name += "/no client cert"
		}
		if tt.foreign {
			name += "/foreign client cert"
		}
		t.Run(name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
				RootCAs:      ca.CertPool(),
				ServerName:   tt.serverName,
				Certificates: tt.client,
			}}}
			body, err := get(client, srv.URL)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("request succeeded (%q), want error", body)
				}
				return
			}
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			if body != "alice/devs,ops" {
				t.Errorf("server saw client %q, want alice/devs,ops", body)
			}
		})
	}
}

func TestEnsureServingCertReuse(t *testing.T) {
	base := ServerSANs(net.ParseIP("192.168.1.10"), "node-a", net.ParseIP("10.96.0.1"))
	withExtra := func(extra ...string) ServingCertSpec {
		return ServerSANs(net.ParseIP("192.168.1.10"), "node-a", net.ParseIP("10.96.0.1"), extra...)
	}
	tests := []struct {
		name    string
		spec    ServingCertSpec
		later   time.Duration
		otherCA bool
		tamper  func(t *testing.T, certFile, keyFile string)
		reissue bool
	}{
		{name: "same spec", spec: base},
		{name: "subset of SANs", spec: ServingCertSpec{CommonName: "kube-apiserver", DNSNames: []string{"KUBERNETES"}, IPs: []net.IP{net.ParseIP("::ffff:10.96.0.1")}}},
		{name: "eleven months later", spec: base, later: 300 * 24 * time.Hour},
		{name: "DNS name added", spec: withExtra("api.example.com"), reissue: true},
		{name: "IP added", spec: withExtra("10.0.0.5"), reissue: true},
		{name: "common name changed", spec: ServingCertSpec{CommonName: "other", DNSNames: base.DNSNames, IPs: base.IPs}, reissue: true},
		{name: "different CA", spec: base, otherCA: true, reissue: true},
		{name: "expires within 30 days", spec: base, later: 340 * 24 * time.Hour, reissue: true},
		{name: "expired", spec: base, later: 400 * 24 * time.Hour, reissue: true},
		{
			name: "key does not match", spec: base, reissue: true,
			tamper: func(t *testing.T, _, keyFile string) {
				_, keyPEM, err := newKey()
				must(t, err)
				must(t, os.WriteFile(keyFile, keyPEM, 0o600))
			},
		},
		{
			name: "key missing", spec: base, reissue: true,
			tamper: func(t *testing.T, _, keyFile string) { must(t, os.Remove(keyFile)) },
		},
		{
			name: "corrupt certificate", spec: base, reissue: true,
			tamper: func(t *testing.T, certFile, _ string) { must(t, os.WriteFile(certFile, []byte("junk"), 0o644)) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := newTestCA(t, testNow)
			dir := t.TempDir()
			certFile, keyFile, err := ca.EnsureServingCert(dir, "apiserver", base, testNow)
			if err != nil {
				t.Fatalf("first EnsureServingCert: %v", err)
			}
			before, err := os.ReadFile(certFile)
			must(t, err)
			if tt.tamper != nil {
				tt.tamper(t, certFile, keyFile)
			}
			if tt.otherCA {
				ca = newTestCA(t, testNow)
			}
			now := testNow.Add(tt.later)
			certFile2, keyFile2, err := ca.EnsureServingCert(dir, "apiserver", tt.spec, now)
			if err != nil {
				t.Fatalf("second EnsureServingCert: %v", err)
			}
			if certFile2 != certFile || keyFile2 != keyFile {
				t.Errorf("paths changed: %s %s, want %s %s", certFile2, keyFile2, certFile, keyFile)
			}
			after, err := os.ReadFile(certFile)
			must(t, err)
			if reissued := !bytes.Equal(before, after); reissued != tt.reissue {
				t.Fatalf("reissued = %v, want %v", reissued, tt.reissue)
			}
			if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
				t.Errorf("certificate and key do not match: %v", err)
			}
			c, err := ca.verifyLeaf(after, mustRead(t, keyFile), x509.ExtKeyUsageServerAuth, now)
			if err != nil {
				t.Fatalf("resulting certificate: %v", err)
			}
			if !tt.spec.normalized().coveredBy(c) {
				t.Errorf("resulting certificate (CN %q, DNS %v, IPs %v) does not cover %+v", c.Subject.CommonName, c.DNSNames, c.IPAddresses, tt.spec)
			}
			if tt.reissue {
				if want := now.Add(leafValidity); !c.NotAfter.Equal(want.Truncate(time.Second)) {
					t.Errorf("NotAfter = %s, want %s", c.NotAfter, want)
				}
				if !reflect.DeepEqual(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
					t.Errorf("ExtKeyUsage = %v, want ServerAuth", c.ExtKeyUsage)
				}
			}
		})
	}
}

func TestEnsureServingCertErrors(t *testing.T) {
	ca := newTestCA(t, testNow)
	tests := []struct {
		name     string
		certName string
		spec     ServingCertSpec
		now      time.Time
	}{
		{name: "no SANs", certName: "x", spec: ServingCertSpec{CommonName: "x"}, now: testNow},
		{name: "bad name", certName: "a/b", spec: ServerSANs(nil, "h", nil), now: testNow},
		{name: "CA expired", certName: "x", spec: ServerSANs(nil, "h", nil), now: ca.Cert.NotAfter.Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ca.EnsureServingCert(t.TempDir(), tt.certName, tt.spec, tt.now); err == nil {
				t.Fatal("EnsureServingCert succeeded, want error")
			}
		})
	}
}

func TestServerSANs(t *testing.T) {
	defaultDNS := []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"}
	tests := []struct {
		name      string
		advertise net.IP
		hostname  string
		serviceIP net.IP
		extra     []string
		wantDNS   []string
		wantIPs   []string
	}{
		{
			name:      "typical",
			advertise: net.ParseIP("192.168.1.10"), hostname: "node-a", serviceIP: net.ParseIP("10.96.0.1"),
			wantDNS: append([]string{"node-a"}, defaultDNS...),
			wantIPs: []string{"192.168.1.10", "127.0.0.1", "10.96.0.1"},
		},
		{
			name:      "duplicates removed",
			advertise: net.ParseIP("127.0.0.1"), hostname: "LocalHost", serviceIP: net.ParseIP("10.96.0.1"),
			extra:   []string{"kubernetes", "10.96.0.1", "api.example.com", "API.Example.com", " 10.0.0.5 ", "::ffff:127.0.0.1", "fd00::1", "FD00::1"},
			wantDNS: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "api.example.com"},
			wantIPs: []string{"127.0.0.1", "10.96.0.1", "10.0.0.5", "fd00::1"},
		},
		{
			name:    "nothing given",
			wantDNS: defaultDNS,
			wantIPs: []string{"127.0.0.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ServerSANs(tt.advertise, tt.hostname, tt.serviceIP, tt.extra...)
			if got.CommonName != "kube-apiserver" {
				t.Errorf("CommonName = %q", got.CommonName)
			}
			if !reflect.DeepEqual(got.DNSNames, tt.wantDNS) {
				t.Errorf("DNSNames = %q, want %q", got.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range got.IPs {
				ips = append(ips, ip.String())
			}
			if !reflect.DeepEqual(ips, tt.wantIPs) {
				t.Errorf("IPs = %q, want %q", ips, tt.wantIPs)
			}
		})
	}
}

func TestIssueClientCert(t *testing.T) {
	ca := newTestCA(t, testNow)
	tests := []struct {
		name         string
		cn           string
		orgs         []string
		validity     time.Duration
		wantNotAfter time.Time
		wantErr      bool
	}{
		{name: "admin", cn: "kubernetes-admin", orgs: []string{"system:masters"}, validity: 24 * time.Hour, wantNotAfter: testNow.Add(24 * time.Hour)},
		{name: "node", cn: "system:node:n1", orgs: []string{"system:nodes"}, validity: leafValidity, wantNotAfter: testNow.Add(leafValidity)},
		{name: "several orgs", cn: "carol", orgs: []string{"system:nodes", "devs", "ops"}, validity: time.Hour, wantNotAfter: testNow.Add(time.Hour)},
		{name: "no orgs", cn: "bob", validity: time.Hour, wantNotAfter: testNow.Add(time.Hour)},
		{name: "clamped to CA", cn: "bob", validity: 20 * 365 * 24 * time.Hour, wantNotAfter: ca.Cert.NotAfter},
		{name: "empty CN", cn: "", validity: time.Hour, wantErr: true},
		{name: "zero validity", cn: "bob", validity: 0, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, keyPEM, err := ca.IssueClientCert(tt.cn, tt.orgs, tt.validity, testNow)
			if tt.wantErr {
				if err == nil {
					t.Fatal("IssueClientCert succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("IssueClientCert: %v", err)
			}
			c, _, err := parsePair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: ca.CertPool(), CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("verifying as client certificate: %v", err)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: ca.CertPool(), CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
				t.Error("client certificate also verifies for ServerAuth")
			}
			if c.Subject.CommonName != tt.cn || !reflect.DeepEqual(slices.Sorted(slices.Values(c.Subject.Organization)), slices.Sorted(slices.Values(tt.orgs))) {
				t.Errorf("subject = %q %q, want %q %q", c.Subject.CommonName, c.Subject.Organization, tt.cn, tt.orgs)
			}
			if c.IsCA {
				t.Error("client certificate is a CA")
			}
			if !c.NotAfter.Equal(tt.wantNotAfter.Truncate(time.Second)) {
				t.Errorf("NotAfter = %s, want %s", c.NotAfter, tt.wantNotAfter)
			}
		})
	}
}

func TestSignCSR(t *testing.T) {
	ca := newTestCA(t, testNow)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	must(t, err)
	spiffe, _ := url.Parse("spiffe://cluster.local/ns/default/sa/x")
	req := &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}},
		DNSNames:    []string{"n1", "n1.example.com"},
		IPAddresses: []net.IP{net.ParseIP("192.168.1.11")},
		URIs:        []*url.URL{spiffe},
	}
	csrPEM := func(key crypto.Signer) []byte {
		der, err := x509.CreateCertificateRequest(rand.Reader, req, key)
		must(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}
	tampered := func() []byte {
		b, _ := pem.Decode(csrPEM(ecKey))
		b.Bytes[len(b.Bytes)-1] ^= 0xff
		return pem.EncodeToMemory(b)
	}()

	serving := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	tests := []struct {
		name         string
		csr          []byte
		usages       []x509.ExtKeyUsage
		wantKeyUsage x509.KeyUsage
		wantErr      bool
	}{
		{name: "ecdsa serving", csr: csrPEM(ecKey), usages: serving, wantKeyUsage: x509.KeyUsageDigitalSignature},
		{name: "rsa client and server", csr: csrPEM(rsaKey), usages: both, wantKeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{name: "no usages", csr: csrPEM(ecKey), wantErr: true},
		{name: "not PEM", csr: []byte("junk"), usages: serving, wantErr: true},
		{name: "wrong PEM type", csr: ca.CertPEM, usages: serving, wantErr: true},
		{name: "bad signature", csr: tampered, usages: serving, wantErr: true},
		{name: "weak RSA key", csr: csrPEM(weakKey), usages: serving, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, err := ca.SignCSR(tt.csr, tt.usages, time.Hour, testNow)
			if tt.wantErr {
				if err == nil {
					t.Fatal("SignCSR succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("SignCSR: %v", err)
			}
			c, err := parseCertPEM(certPEM)
			must(t, err)
			if _, err := c.Verify(x509.VerifyOptions{Roots: ca.CertPool(), CurrentTime: testNow, KeyUsages: tt.usages}); err != nil {
				t.Errorf("verifying: %v", err)
			}
			if c.Subject.CommonName != "system:node:n1" || !reflect.DeepEqual(c.Subject.Organization, []string{"system:nodes"}) {
				t.Errorf("subject = %v", c.Subject)
			}
			if !reflect.DeepEqual(c.DNSNames, req.DNSNames) || len(c.IPAddresses) != 1 || !c.IPAddresses[0].Equal(req.IPAddresses[0]) ||
				len(c.URIs) != 1 || c.URIs[0].String() != spiffe.String() {
				t.Errorf("SANs = %v %v %v, want %v %v %v", c.DNSNames, c.IPAddresses, c.URIs, req.DNSNames, req.IPAddresses, req.URIs)
			}
			if !reflect.DeepEqual(c.ExtKeyUsage, tt.usages) {
				t.Errorf("ExtKeyUsage = %v, want %v", c.ExtKeyUsage, tt.usages)
			}
			if c.KeyUsage != tt.wantKeyUsage {
				t.Errorf("KeyUsage = %b, want %b", c.KeyUsage, tt.wantKeyUsage)
			}
			if c.IsCA {
				t.Error("signed certificate is a CA")
			}
			if !c.NotAfter.Equal(testNow.Add(time.Hour)) {
				t.Errorf("NotAfter = %s, want %s", c.NotAfter, testNow.Add(time.Hour))
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	return data
}
