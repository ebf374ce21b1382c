package rootcacert_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"

	"github.com/sampan-dev/sampan/internal/controllers/rootcacert"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const (
	timeout = 30 * time.Second
	bundle  = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"
)

func TestRootCAConfigMap(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	ctx, cancel := context.WithCancel(t.Context())
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := rootcacert.New(rootcacert.Config{
		Client:    c.Client,
		Informers: factory,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		RootCA:    []byte(bundle),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	factory.Start(ctx.Done())
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		factory.Shutdown()
	})

	// published waits for a ConfigMap holding the bundle and returns it.
	published := func(t *testing.T, ns string, differentFrom *corev1.ConfigMap) *corev1.ConfigMap {
		t.Helper()
		var got *corev1.ConfigMap
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, rootcacert.ConfigMapName, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if differentFrom != nil && cm.ResourceVersion == differentFrom.ResourceVersion {
				return false, nil
			}
			got = cm
			return len(cm.Data) == 1 && cm.Data[rootcacert.DataKey] == bundle &&
				cm.Annotations[rootcacert.DescriptionAnnotation] == rootcacert.Description, nil
		})
		if err != nil {
			t.Fatalf("%s/%s not published: %v (last seen %+v)", ns, rootcacert.ConfigMapName, err, got)
		}
		return got
	}

	published(t, "default", nil)
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ca-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm := published(t, ns.Name, nil)

	// Edited: reset.
	edit := cm.DeepCopy()
	edit.Data = map[string]string{rootcacert.DataKey: "garbage", "extra": "x"}
	delete(edit.Annotations, rootcacert.DescriptionAnnotation)
	edited, err := c.Client.CoreV1().ConfigMaps(ns.Name).Update(ctx, edit, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm = published(t, ns.Name, edited)

	// Deleted: recreated.
	if err := c.Client.CoreV1().ConfigMaps(ns.Name).Delete(ctx, rootcacert.ConfigMapName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again := published(t, ns.Name, cm)
	if again.UID == cm.UID {
		t.Fatalf("ConfigMap not recreated: same uid %s", cm.UID)
	}
}
