package namespace_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// These tests run against a real in-process control plane, which runs the
// controller manager and so this controller. There is no node agent: pods
// stay unscheduled and are deleted at once.

const timeout = 30 * time.Second

func TestNamespaceDeletion(t *testing.T) {
	c := testcluster.Start(t)
	t.Run("DeletesContent", func(t *testing.T) { testDeletesContent(t, c.Client) })
	t.Run("WaitsForFinalizers", func(t *testing.T) { testWaitsForFinalizers(t, c.Client) })
	// kubectl delete ns --cascade=foreground|orphan: the garbage collector
	// removes the metadata finalizer, this controller the spec one.
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan} {
		t.Run(string(policy), func(t *testing.T) {
			ns := createNamespace(t, c.Client)
			fill(t, c.Client, ns)
			if err := c.Client.CoreV1().Namespaces().Delete(t.Context(), ns, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatal(err)
			}
			waitNamespaceGone(t, c.Client, ns)
		})
	}
}

func testDeletesContent(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	ns := createNamespace(t, client)
	fill(t, client, ns)

	if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNamespaceGone(t, client, ns)
	// Its content went with it (a namespace of the same name would start empty).
	for what, list := range map[string]func(context.Context) (int, error){
		"configmaps": func(ctx context.Context) (int, error) {
			l, err := client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"secrets": func(ctx context.Context) (int, error) {
			l, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"services": func(ctx context.Context) (int, error) {
			l, err := client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"pods": func(ctx context.Context) (int, error) {
			l, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"deployments": func(ctx context.Context) (int, error) {
			l, err := client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
	} {
		if n, err := list(ctx); err != nil || n != 0 {
			t.Errorf("%s left in deleted namespace: %d (%v)", what, n, err)
		}
	}
}

// testWaitsForFinalizers holds a namespace in Terminating with a finalizer
// on one of its objects, checks what a user sees meanwhile, then lets go.
func testWaitsForFinalizers(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	ns := createNamespace(t, client)
	fill(t, client, ns)
	const hold = "example.com/hold"
	if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{hold}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// New content is refused while the namespace terminates.
	_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "because it is being terminated") {
		t.Fatalf("creating in a terminating namespace: got %v, want 403 ... because it is being terminated", err)
	}

	// Everything else goes; the held configmap stays, and the conditions say so.
	var got *corev1.Namespace
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		got, err = client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		remaining := condition(got, corev1.NamespaceContentRemaining)
		return remaining != nil && remaining.Status == corev1.ConditionTrue, nil
	})
	if err != nil {
		t.Fatalf("waiting for the NamespaceContentRemaining condition: %v", err)
	}
	if got.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("phase = %q, want Terminating", got.Status.Phase)
	}
	want := map[corev1.NamespaceConditionType]struct {
		status  corev1.ConditionStatus
		reason  string
		message string
	}{
		corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionFalse, "ResourcesDiscovered", ""},
		corev1.NamespaceDeletionGVParsingFailure: {corev1.ConditionFalse, "ParsedGroupVersions", ""},
		corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, "ContentDeleted", ""},
		corev1.NamespaceContentRemaining:         {corev1.ConditionTrue, "SomeResourcesRemain", "Some resources are remaining: configmaps. has 1 resource instances"},
		corev1.NamespaceFinalizersRemaining:      {corev1.ConditionTrue, "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"},
	}
	for typ, w := range want {
		c := condition(got, typ)
		if c == nil {
			t.Errorf("condition %s missing", typ)
			continue
		}
		if c.Status != w.status || c.Reason != w.reason || (w.message != "" && c.Message != w.message) {
			t.Errorf("condition %s = %s/%s/%q, want %s/%s/%q", typ, c.Status, c.Reason, c.Message, w.status, w.reason, w.message)
		}
		if c.LastTransitionTime.IsZero() {
			t.Errorf("condition %s has no lastTransitionTime", typ)
		}
	}
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("pods left while a configmap holds the namespace: %d (%v)", len(pods.Items), err)
	}
	if !hasFinalizer(got, corev1.FinalizerKubernetes) {
		t.Errorf("spec.finalizers = %v: the kubernetes finalizer must stay while content remains", got.Spec.Finalizers)
	}

	// Releasing the held object lets the namespace go.
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := client.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNamespaceGone(t, client, ns)
}

func createNamespace(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	ns, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ns-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// fill creates configmaps, secrets, a service, unscheduled pods and a
// deployment in ns.
func fill(t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	ctx := t.Context()
	labels := map[string]string{"app": "web"}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-" + name}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "secret-" + name}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-" + name, Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
		}
		if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitNamespaceGone(t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		got, _ := client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		t.Fatalf("namespace %s not deleted: %v; status %+v", ns, err, got.Status)
	}
}

func condition(ns *corev1.Namespace, typ corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range ns.Status.Conditions {
		if ns.Status.Conditions[i].Type == typ {
			return &ns.Status.Conditions[i]
		}
	}
	return nil
}

func hasFinalizer(ns *corev1.Namespace, f corev1.FinalizerName) bool {
	for _, x := range ns.Spec.Finalizers {
		if x == f {
			return true
		}
	}
	return false
}
