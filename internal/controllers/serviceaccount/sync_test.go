package serviceaccount

import (
	"io"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestSyncByNamespaceState checks which namespaces get a service account,
// against a fake clientset (the integration test covers the live paths).
func TestSyncByNamespaceState(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name       string
		ns         *corev1.Namespace
		existing   bool
		wantCreate bool
	}{
		{name: "active", ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}, wantCreate: true},
		{name: "active with the account", ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}, existing: true},
		{name: "terminating", ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x", DeletionTimestamp: &now}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}},
		{name: "gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset()
			factory := informers.NewSharedInformerFactory(client, 0)
			c, err := New(Config{Client: client, Informers: factory, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if tc.ns != nil {
				if err := factory.Core().V1().Namespaces().Informer().GetIndexer().Add(tc.ns); err != nil {
					t.Fatal(err)
				}
			}
			if tc.existing {
				sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: DefaultName}}
				if err := factory.Core().V1().ServiceAccounts().Informer().GetIndexer().Add(sa); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.sync(t.Context(), "x"); err != nil {
				t.Fatal(err)
			}
			created := false
			for _, a := range client.Actions() {
				if a.GetVerb() == "create" && a.GetResource().Resource == "serviceaccounts" {
					created = true
				}
			}
			if created != tc.wantCreate {
				t.Errorf("created %v, want %v (actions %v)", created, tc.wantCreate, client.Actions())
			}
		})
	}
}
