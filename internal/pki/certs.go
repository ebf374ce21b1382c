package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

// ServingCertSpec is what a TLS serving certificate must cover.
type ServingCertSpec struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
}

// normalized returns the spec with DNS names lowercased, IPv4 addresses in
// 4-byte form, empty and nil entries dropped and duplicates removed, order
// kept.
func (s ServingCertSpec) normalized() ServingCertSpec {
	out := ServingCertSpec{CommonName: s.CommonName}
	for _, d := range s.DNSNames {
		d = strings.ToLower(strings.TrimSpace(d))
		if d != "" && !slices.Contains(out.DNSNames, d) {
			out.DNSNames = append(out.DNSNames, d)
		}
	}
	for _, ip := range s.IPs {
		if ip == nil {
			continue
		}
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		if !slices.ContainsFunc(out.IPs, ip.Equal) {
			out.IPs = append(out.IPs, ip)
		}
	}
	return out
}

// ServerSANs is the spec of the API server's serving certificate: CN
// "kube-apiserver", the DNS names hostname, kubernetes, kubernetes.default,
// kubernetes.default.svc, kubernetes.default.svc.cluster.local and
// localhost, and the IPs advertise, 127.0.0.1 and serviceIP (the first
// address of the service network, 10.96.0.1 by default). Each extra entry
// is added as an IP when it parses as one and as a DNS name otherwise.
// Nil IPs and empty names are skipped; duplicates are removed.
func ServerSANs(advertise net.IP, hostname string, serviceIP net.IP, extra ...string) ServingCertSpec {
	s := ServingCertSpec{
		CommonName: "kube-apiserver",
		DNSNames: []string{
			hostname,
			"kubernetes",
			"kubernetes.default",
			"kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local",
			"localhost",
		},
		IPs: []net.IP{advertise, net.IPv4(127, 0, 0, 1), serviceIP},
	}
	for _, e := range extra {
		if ip := net.ParseIP(strings.TrimSpace(e)); ip != nil {
			s.IPs = append(s.IPs, ip)
		} else {
			s.DNSNames = append(s.DNSNames, e)
		}
	}
	return s.normalized()
}

// coveredBy reports whether c has spec's common name and every one of its SANs.
func (s ServingCertSpec) coveredBy(c *x509.Certificate) bool {
	if c.Subject.CommonName != s.CommonName {
		return false
	}
	for _, d := range s.DNSNames {
		if !slices.ContainsFunc(c.DNSNames, func(have string) bool { return strings.EqualFold(have, d) }) {
			return false
		}
	}
	for _, ip := range s.IPs {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// EnsureServingCert returns DIR/<name>.crt and DIR/<name>.key, a TLS
// serving certificate (ServerAuth) for spec. Existing files are reused when
// the certificate matches its key, is signed by this CA, does not expire
// within 30 days of now, and covers spec's common name and every requested
// SAN (it may cover more). Otherwise a new key and a one-year certificate
// are issued and written over them.
func (ca *CA) EnsureServingCert(dir, name string, spec ServingCertSpec, now time.Time) (certFile, keyFile string, err error) {
	certFile, keyFile, err = pairPaths(dir, name)
	if err != nil {
		return "", "", err
	}
	spec = spec.normalized()
	if len(spec.DNSNames) == 0 && len(spec.IPs) == 0 {
		return "", "", fmt.Errorf("issuing serving certificate %s: no DNS names or IPs", name)
	}
	if ca.servingCertUsable(certFile, keyFile, spec, now) {
		return certFile, keyFile, nil
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return "", "", fmt.Errorf("creating directory %s: %w", dir, err)
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return "", "", err
	}
	_, certPEM, err := ca.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: spec.CommonName},
		DNSNames:    spec.DNSNames,
		IPAddresses: spec.IPs,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, key.Public(), leafValidity, now)
	if err != nil {
		return "", "", fmt.Errorf("issuing serving certificate %s: %w", name, err)
	}
	if err := writePair(certFile, keyFile, certPEM, keyPEM); err != nil {
		return "", "", fmt.Errorf("writing serving certificate %s: %w", name, err)
	}
	return certFile, keyFile, nil
}

// servingCertUsable reports whether the files hold a certificate that
// EnsureServingCert may keep. Any problem, including unreadable files,
// means "reissue".
func (ca *CA) servingCertUsable(certFile, keyFile string, spec ServingCertSpec, now time.Time) bool {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return false
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return false
	}
	c, err := ca.verifyLeaf(certPEM, keyPEM, x509.ExtKeyUsageServerAuth, now)
	if err != nil {
		return false
	}
	return spec.coveredBy(c)
}

// IssueClientCert issues a TLS client certificate (ClientAuth) with a new
// ECDSA P-256 key. The API server reads commonName as the user name and orgs
// as the groups. Validity is clamped to the CA's own expiry.
func (ca *CA) IssueClientCert(commonName string, orgs []string, validity time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	if commonName == "" {
		return nil, nil, errors.New("issuing client certificate: empty common name")
	}
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	_, certPEM, err = ca.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: slices.Clone(orgs)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, key.Public(), validity, now)
	if err != nil {
		return nil, nil, fmt.Errorf("issuing client certificate: %w", err)
	}
	return certPEM, keyPEM, nil
}

// SignCSR signs a PEM certificate signing request after checking its
// self-signature. The certificate carries the request's subject and SANs
// (DNS, IP, email, URI), the given extended key usages (at least one) and
// never CA rights; other requested extensions are ignored. Deciding whether
// the request may be signed at all (approval, allowed subjects) is the
// caller's job. Validity is clamped to the CA's own expiry.
func (ca *CA) SignCSR(csrPEM []byte, usages []x509.ExtKeyUsage, validity time.Duration, now time.Time) ([]byte, error) {
	if len(usages) == 0 {
		return nil, errors.New("signing certificate request: no key usages")
	}
	block, _ := pem.Decode(csrPEM)
	if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
		return nil, errors.New("signing certificate request: no PEM CERTIFICATE REQUEST block")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("checking certificate request signature: %w", err)
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("signing certificate request: %w", err)
	}
	_, certPEM, err := ca.sign(&x509.Certificate{
		Subject:        csr.Subject,
		DNSNames:       csr.DNSNames,
		IPAddresses:    csr.IPAddresses,
		EmailAddresses: csr.EmailAddresses,
		URIs:           csr.URIs,
		ExtKeyUsage:    slices.Clone(usages),
	}, csr.PublicKey, validity, now)
	if err != nil {
		return nil, fmt.Errorf("signing certificate request: %w", err)
	}
	return certPEM, nil
}

// checkPublicKey rejects key types and sizes the cluster does not accept.
func checkPublicKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits is too small", k.N.BitLen())
		}
		return nil
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
}
