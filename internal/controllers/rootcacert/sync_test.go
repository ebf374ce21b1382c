package rootcacert

import (
	"io"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func TestUpToDate(t *testing.T) {
	want := map[string]string{DataKey: "pem"}
	described := map[string]string{DescriptionAnnotation: Description}
	for _, tc := range []struct {
		name string
		cm   corev1.ConfigMap
		ok   bool
	}{
		{name: "as published", cm: corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Annotations: described}, Data: map[string]string{DataKey: "pem"}}, ok: true},
		{name: "other bundle", cm: corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Annotations: described}, Data: map[string]string{DataKey: "other"}}},
		{name: "extra key", cm: corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Annotations: described}, Data: map[string]string{DataKey: "pem", "x": "y"}}},
		{name: "binary data", cm: corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Annotations: described}, Data: map[string]string{DataKey: "pem"}, BinaryData: map[string][]byte{"b": nil}}},
		{name: "no key", cm: corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Annotations: described}, Data: map[string]string{"x": "pem"}}},
		{name: "no description", cm: corev1.ConfigMap{Data: map[string]string{DataKey: "pem"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := upToDate(&tc.cm, want); got != tc.ok {
				t.Errorf("upToDate = %v, want %v", got, tc.ok)
			}
		})
	}
}

func TestSyncSkipsTerminatingNamespaces(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name       string
		ns         *corev1.Namespace
		wantCreate bool
	}{
		{name: "active", ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}, wantCreate: true},
		{name: "terminating", ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x", DeletionTimestamp: &now}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}},
		{name: "gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset()
			factory := informers.NewSharedInformerFactory(client, 0)
			c, err := New(Config{Client: client, Informers: factory, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RootCA: []byte("pem")})
			if err != nil {
				t.Fatal(err)
			}
			if tc.ns != nil {
				if err := factory.Core().V1().Namespaces().Informer().GetIndexer().Add(tc.ns); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.sync(t.Context(), "x"); err != nil {
				t.Fatal(err)
			}
			created := false
			for _, a := range client.Actions() {
				if a.GetVerb() == "create" && a.GetResource().Resource == "configmaps" {
					created = true
				}
			}
			if created != tc.wantCreate {
				t.Errorf("created %v, want %v (actions %v)", created, tc.wantCreate, client.Actions())
			}
		})
	}
}
