package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Names kubeadm uses for the administrator's kubeconfig.
const (
	adminConfName    = "admin.conf"
	adminClusterName = "kubernetes"
	adminUserName    = "kubernetes-admin"
	adminGroup       = "system:masters"
)

// Kubeconfig is a single-cluster, single-user kubeconfig. CAData, CertData
// and KeyData are PEM. A user authenticates with CertData+KeyData, with
// Token, or not at all (a discovery-only kubeconfig).
type Kubeconfig struct {
	ClusterName, Server, UserName string
	CAData, CertData, KeyData     []byte
	Token                         string
}

// contextName is the context kubeadm writes: "<user>@<cluster>".
func (kc Kubeconfig) contextName() string {
	return kc.UserName + "@" + kc.ClusterName
}

// WriteKubeconfig writes kc to path (mode 0600, atomically: readers see the
// old or the new file, never a partial one) with one cluster, one user and
// a current context named "<user>@<cluster>".
func WriteKubeconfig(path string, kc Kubeconfig) error {
	if kc.ClusterName == "" || kc.UserName == "" || kc.Server == "" {
		return fmt.Errorf("writing kubeconfig %s: cluster name, user name and server are required", path)
	}
	if (len(kc.CertData) == 0) != (len(kc.KeyData) == 0) {
		return fmt.Errorf("writing kubeconfig %s: client certificate and key must be given together", path)
	}
	cluster := clientcmdapi.NewCluster()
	cluster.Server = kc.Server
	cluster.CertificateAuthorityData = kc.CAData
	user := clientcmdapi.NewAuthInfo()
	user.ClientCertificateData = kc.CertData
	user.ClientKeyData = kc.KeyData
	user.Token = kc.Token
	ctx := clientcmdapi.NewContext()
	ctx.Cluster = kc.ClusterName
	ctx.AuthInfo = kc.UserName

	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[kc.ClusterName] = cluster
	cfg.AuthInfos[kc.UserName] = user
	cfg.Contexts[kc.contextName()] = ctx
	cfg.CurrentContext = kc.contextName()
	if err := clientcmd.Validate(*cfg); err != nil {
		return fmt.Errorf("validating kubeconfig %s: %w", path, err)
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encoding kubeconfig %s: %w", path, err)
	}
	if err := writeFileAtomic(path, data, keyMode); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// readKubeconfig reads the current context of the kubeconfig at path.
func readKubeconfig(path string) (Kubeconfig, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return Kubeconfig{}, fmt.Errorf("loading kubeconfig: %w", err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		return Kubeconfig{}, fmt.Errorf("loading kubeconfig %s: no current context", path)
	}
	cluster, user := cfg.Clusters[ctx.Cluster], cfg.AuthInfos[ctx.AuthInfo]
	if cluster == nil || user == nil {
		return Kubeconfig{}, fmt.Errorf("loading kubeconfig %s: context %q lacks its cluster or user", path, cfg.CurrentContext)
	}
	return Kubeconfig{
		ClusterName: ctx.Cluster,
		Server:      cluster.Server,
		UserName:    ctx.AuthInfo,
		CAData:      cluster.CertificateAuthorityData,
		CertData:    user.ClientCertificateData,
		KeyData:     user.ClientKeyData,
		Token:       user.Token,
	}, nil
}

// EnsureAdminKubeconfig makes DATA/admin.conf a kubeconfig for server,
// trusting ca, as user kubernetes-admin (group system:masters) with a
// one-year client certificate, in context kubernetes-admin@kubernetes. An
// existing file is kept when it points at the same server and CA and its
// certificate is that user's, signed by ca and not expiring within 30 days
// of now.
func EnsureAdminKubeconfig(dataDir string, ca *CA, server string, now time.Time) (path string, err error) {
	path = filepath.Join(dataDir, adminConfName)
	if ca.adminKubeconfigUsable(path, server, now) == nil {
		return path, nil
	}
	if err := os.MkdirAll(dataDir, dirMode); err != nil {
		return "", fmt.Errorf("creating directory %s: %w", dataDir, err)
	}
	certPEM, keyPEM, err := ca.IssueClientCert(adminUserName, []string{adminGroup}, leafValidity, now)
	if err != nil {
		return "", fmt.Errorf("issuing admin certificate: %w", err)
	}
	if err := WriteKubeconfig(path, Kubeconfig{
		ClusterName: adminClusterName,
		Server:      server,
		UserName:    adminUserName,
		CAData:      ca.CertPEM,
		CertData:    certPEM,
		KeyData:     keyPEM,
	}); err != nil {
		return "", err
	}
	return path, nil
}

// adminKubeconfigUsable returns nil when the admin kubeconfig at path may be
// kept, or why not.
func (ca *CA) adminKubeconfigUsable(path, server string, now time.Time) error {
	kc, err := readKubeconfig(path)
	if err != nil {
		return err
	}
	if kc.Server != server {
		return fmt.Errorf("server is %q, want %q", kc.Server, server)
	}
	caCert, err := parseCertPEM(kc.CAData)
	if err != nil || !caCert.Equal(ca.Cert) {
		return errors.New("trusts a different CA")
	}
	c, err := ca.verifyLeaf(kc.CertData, kc.KeyData, x509.ExtKeyUsageClientAuth, now)
	if err != nil {
		return err
	}
	if c.Subject.CommonName != adminUserName || !slices.Contains(c.Subject.Organization, adminGroup) {
		return errors.New("certificate is not the administrator's")
	}
	return nil
}

// CAHash is the hash kubeadm's "--discovery-token-ca-cert-hash" pins:
// "sha256:" and the hex SHA-256 of the certificate's DER
// SubjectPublicKeyInfo.
func CAHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}
