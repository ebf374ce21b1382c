package apiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

func TestAggregatedDiscoveryAndTables(t *testing.T) {
	c := testcluster.Start(t)
	hc := rawClient(t, c)

	code, body := do(t, hc, "GET", c.URL+"/apis", "", "", "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	if code != 200 {
		t.Fatalf("aggregated /apis: %d %s", code, body)
	}
	var list apidiscoveryv2.APIGroupDiscoveryList
	if err := json.Unmarshal([]byte(body), &list); err != nil || list.Kind != "APIGroupDiscoveryList" {
		t.Fatalf("decoding: %v %s", err, body[:200])
	}
	found := false
	for _, g := range list.Items {
		if g.Name != "apps" {
			continue
		}
		for _, r := range g.Versions[0].Resources {
			if r.Resource == "deployments" && strings.Join(r.ShortNames, ",") == "deploy" && len(r.Subresources) == 2 {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("apps/v1 deployments with shortName deploy and status/scale not in aggregated discovery")
	}

	// Legacy discovery of a group version lists verbs and subresources.
	code, body = do(t, hc, "GET", c.URL+"/api/v1", "", "")
	if code != 200 || !strings.Contains(body, `"name":"pods/status"`) || !strings.Contains(body, `"shortNames":["po"]`) || !strings.Contains(body, `"categories":["all"]`) {
		t.Fatalf("/api/v1: %d %s", code, body)
	}

	// Server-side printing.
	if _, err := c.Client.CoreV1().Pods("default").Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, body = do(t, hc, "GET", c.URL+"/api/v1/namespaces/default/pods", "", "", "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	var table metav1.Table
	if code != 200 || json.Unmarshal([]byte(body), &table) != nil {
		t.Fatalf("table: %d %s", code, body)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			cols = append(cols, c.Name)
		}
	}
	if strings.Join(cols, " ") != "Name Ready Status Restarts Age" || len(table.Rows) != 1 || table.Rows[0].Cells[0] != "web" || table.Rows[0].Cells[2] != "Pending" {
		t.Fatalf("pod table: %v %+v", cols, table.Rows)
	}
}

func TestCSRApproval(t *testing.T) {
	c := testcluster.Start(t)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrs := c.Client.CertificatesV1().CertificateSigningRequests()
	csr, err := csrs.Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-csr"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			Username:   "someone-else",
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The requester is who sent it, not what the body claims.
	if csr.Spec.Username != "kubernetes-admin" {
		t.Fatalf("spec.username %q", csr.Spec.Username)
	}
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test", Message: "approved by test",
	})
	approved, err := csrs.UpdateApproval(ctx, "node-csr", csr, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(approved.Status.Conditions) != 1 || approved.Status.Conditions[0].Type != certificatesv1.CertificateApproved {
		t.Fatalf("conditions: %+v", approved.Status.Conditions)
	}
	// The status endpoint cannot drop the approval.
	approved.Status.Conditions = nil
	approved.Status.Certificate = nil
	st, err := csrs.UpdateStatus(ctx, approved, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Status.Conditions) != 1 {
		t.Fatalf("status update dropped the approval: %+v", st.Status.Conditions)
	}
}
