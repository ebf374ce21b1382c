package garbagecollector_test

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// These tests run against a real in-process control plane, which runs the
// controller manager and so this garbage collector.

const timeout = 30 * time.Second

func TestGarbageCollector(t *testing.T) {
	c := testcluster.Start(t)
	t.Run("Foreground", func(t *testing.T) { testForeground(t, c.Client) })
	t.Run("ForegroundCascade", func(t *testing.T) { testForegroundCascade(t, c.Client) })
	t.Run("Orphan", func(t *testing.T) { testOrphan(t, c.Client) })
	t.Run("Background", func(t *testing.T) { testBackground(t, c.Client) })
	t.Run("AbsentOwner", func(t *testing.T) { testAbsentOwner(t, c.Client) })
	t.Run("ClusterScopedOwner", func(t *testing.T) { testClusterScopedOwner(t, c.Client) })
}

func testForeground(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	ns := newNamespace(t, client)
	owner := createConfigMap(t, client, ns, "owner")
	var deps []string
	for _, name := range []string{"dep-a", "dep-b", "dep-c"} {
		createConfigMap(t, client, ns, name, ownedBy(owner.ObjectMeta, "ConfigMap", true))
		deps = append(deps, name)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "dep-secret", OwnerReferences: []metav1.OwnerReference{ownedBy(owner.ObjectMeta, "ConfigMap", true)}}}
	if _, err := client.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	order := watchDeletions(t, client, ns)
	if err := client.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
		t.Fatal(err)
	}
	deleted := order(append(deps, "owner"))
	if deleted[len(deleted)-1] != "owner" {
		t.Fatalf("deletion order %v: the owner must go last", deleted)
	}
	waitGone(t, func(ctx context.Context) error {
		_, err := client.CoreV1().Secrets(ns).Get(ctx, "dep-secret", metav1.GetOptions{})
		return err
	})
}

func testForegroundCascade(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	ns := newNamespace(t, client)
	owner := createConfigMap(t, client, ns, "owner")
	child := createConfigMap(t, client, ns, "child", ownedBy(owner.ObjectMeta, "ConfigMap", true))
	createConfigMap(t, client, ns, "grandchild", ownedBy(child.ObjectMeta, "ConfigMap", true))

	order := watchDeletions(t, client, ns)
	if err := client.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
		t.Fatal(err)
	}
	if got := order([]string{"owner", "child", "grandchild"}); !slices.Equal(got, []string{"grandchild", "child", "owner"}) {
		t.Fatalf("deletion order %v, want grandchild, child, owner", got)
	}
}

func testOrphan(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	ns := newNamespace(t, client)
	owner := createConfigMap(t, client, ns, "owner")
	other := createConfigMap(t, client, ns, "other")
	createConfigMap(t, client, ns, "dep-blocking", ownedBy(owner.ObjectMeta, "ConfigMap", true))
	createConfigMap(t, client, ns, "dep-plain", ownedBy(owner.ObjectMeta, "ConfigMap", false))
	createConfigMap(t, client, ns, "dep-two-owners", ownedBy(owner.ObjectMeta, "ConfigMap", false), ownedBy(other.ObjectMeta, "ConfigMap", false))

	if err := client.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, func(ctx context.Context) error {
		_, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "owner", metav1.GetOptions{})
		return err
	})
	// The references are removed before the finalizer, so they are gone now.
	for name, want := range map[string][]types.UID{"dep-blocking": nil, "dep-plain": nil, "dep-two-owners": {other.UID}} {
		cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("orphaned dependent %s: %v", name, err)
		}
		var got []types.UID
		for _, r := range cm.OwnerReferences {
			got = append(got, r.UID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s owner UIDs = %v, want %v", name, got, want)
		}
	}
}

func testBackground(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	ns := newNamespace(t, client)
	owner := createConfigMap(t, client, ns, "owner")
	createConfigMap(t, client, ns, "dep-blocking", ownedBy(owner.ObjectMeta, "ConfigMap", true))
	createConfigMap(t, client, ns, "dep-plain", ownedBy(owner.ObjectMeta, "ConfigMap", false))
	grand := createConfigMap(t, client, ns, "dep-owner", ownedBy(owner.ObjectMeta, "ConfigMap", false))
	createConfigMap(t, client, ns, "grandchild", ownedBy(grand.ObjectMeta, "ConfigMap", true))

	if err := client.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "owner", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("background deletion must delete the owner at once; get: %v", err)
	}
	for _, name := range []string{"dep-blocking", "dep-plain", "dep-owner", "grandchild"} {
		waitGone(t, func(ctx context.Context) error {
			_, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		})
	}
}

func testAbsentOwner(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	ns := newNamespace(t, client)
	real := createConfigMap(t, client, ns, "real")
	ghost := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "ghost", UID: uuid.NewUUID()}
	impostor := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "real", UID: uuid.NewUUID()}
	createConfigMap(t, client, ns, "never-owned", ghost)
	createConfigMap(t, client, ns, "wrong-uid", impostor)
	createConfigMap(t, client, ns, "half-owned", ownedBy(real.ObjectMeta, "ConfigMap", false), ghost)

	for _, name := range []string{"never-owned", "wrong-uid"} {
		waitGone(t, func(ctx context.Context) error {
			_, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		})
	}
	// An object with one owner left is kept, without the dangling reference.
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "half-owned", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == real.UID, nil
	})
	if err != nil {
		t.Fatalf("half-owned keeps only its existing owner: %v", err)
	}
}

func testClusterScopedOwner(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	ns := newNamespace(t, client)
	cr, err := client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{GenerateName: "gc-owner-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := metav1.OwnerReference{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: cr.Name, UID: cr.UID}
	createConfigMap(t, client, ns, "dep", ref)
	if err := client.RbacV1().ClusterRoles().Delete(ctx, cr.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, func(ctx context.Context) error {
		_, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "dep", metav1.GetOptions{})
		return err
	})
}

func newNamespace(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	ns, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "gc-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func createConfigMap(t *testing.T, client kubernetes.Interface, ns, name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := client.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating configmap %s: %v", name, err)
	}
	return cm
}

func ownedBy(owner metav1.ObjectMeta, kind string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: kind, Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(block)}
}

// waitGone polls get until it reports NotFound.
func waitGone(t *testing.T, get func(context.Context) error) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		err := get(ctx)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("waiting for deletion: %v", err)
	}
}

// watchDeletions starts watching the configmaps of ns and returns a function
// that waits until all the named ones are deleted and returns them in the
// order the server deleted them.
func watchDeletions(t *testing.T, client kubernetes.Interface, ns string) func(names []string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	list, err := client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	w, err := client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return func(names []string) []string {
		t.Helper()
		defer cancel()
		defer w.Stop()
		var order []string
		for len(order) < len(names) {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Fatalf("watch ended after deletions %v, waiting for %v", order, names)
				}
				if ev.Type != watch.Deleted {
					continue
				}
				if cm, ok := ev.Object.(*corev1.ConfigMap); ok && slices.Contains(names, cm.Name) {
					order = append(order, cm.Name)
				}
			case <-ctx.Done():
				t.Fatalf("deleted so far %v, waiting for %v", order, names)
			}
		}
		return order
	}
}
