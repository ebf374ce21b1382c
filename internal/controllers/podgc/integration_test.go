package podgc_test

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
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/sampan-dev/sampan/internal/controllers/podgc"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const (
	timeout = 30 * time.Second
	hold    = "test.sampan.dev/hold"
)

// start runs a pod GC with a fake clock against a fresh control plane.
func start(t *testing.T, threshold int) (kubernetes.Interface, *clocktesting.FakeClock) {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	clk := clocktesting.NewFakeClock(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := podgc.New(podgc.Config{
		Client:                 c.Client,
		Informers:              factory,
		Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:                  clk,
		TerminatedPodThreshold: threshold,
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
	return c.Client, clk
}

// passUntil advances the clock one period at a time until cond holds.
func passUntil(t *testing.T, clk *clocktesting.FakeClock, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if ok || err != nil {
			return ok, err
		}
		clk.Step(podgc.DefaultPeriod)
		return false, nil
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func createNode(t *testing.T, client kubernetes.Interface, name string, ready corev1.ConditionStatus, taints ...corev1.Taint) {
	t.Helper()
	ctx := t.Context()
	n, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: "Test", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createPod creates pod name in default, binds it to node (if any) and
// sets its phase (if any).
func createPod(t *testing.T, client kubernetes.Interface, name, node string, phase corev1.PodPhase, finalizers ...string) *corev1.Pod {
	t.Helper()
	ctx := t.Context()
	pods := client.CoreV1().Pods("default")
	p, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(finalizers) > 0 {
		t.Cleanup(func() {
			// Let the control plane stop with no pod stuck on a finalizer.
			_, _ = pods.Patch(context.Background(), name, "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		})
	}
	if node != "" {
		if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if phase != "" {
		p, err = pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = phase
		if phase == corev1.PodFailed && name == "evicted" {
			p.Status.Reason = "Evicted"
		}
		if p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func gone(client kubernetes.Interface, name string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
}

func TestOrphanedAndTerminatingPods(t *testing.T) {
	client, clk := start(t, -1)
	ctx := t.Context()
	pods := client.CoreV1().Pods("default")
	createNode(t, client, "doomed", corev1.ConditionTrue)
	createNode(t, client, "alive", corev1.ConditionTrue)
	createNode(t, client, "shut-down", corev1.ConditionFalse, corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute})

	createPod(t, client, "on-doomed", "doomed", corev1.PodRunning)
	createPod(t, client, "on-doomed-held", "doomed", corev1.PodRunning, hold)
	createPod(t, client, "on-alive", "alive", corev1.PodRunning)
	createPod(t, client, "on-alive-terminating", "alive", corev1.PodRunning)
	createPod(t, client, "on-shut-down", "shut-down", corev1.PodRunning)
	createPod(t, client, "on-shut-down-terminating", "shut-down", corev1.PodRunning)
	createPod(t, client, "unbound-terminating", "", "", hold)
	// Graceful deletions nobody finishes: no kubelet here.
	for _, name := range []string{"on-alive-terminating", "on-shut-down-terminating", "unbound-terminating"} {
		if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.CoreV1().Nodes().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	passUntil(t, clk, "pod of a deleted node not deleted", gone(client, "on-doomed"))
	passUntil(t, clk, "terminating pod on an out-of-service node not deleted", gone(client, "on-shut-down-terminating"))

	// The held pods show what PodGC did before deleting.
	passUntil(t, clk, "held pods not marked failed and force-deleted", func(ctx context.Context) (bool, error) {
		held, err := pods.Get(ctx, "on-doomed-held", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		unbound, err := pods.Get(ctx, "unbound-terminating", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return held.DeletionTimestamp != nil && held.Status.Phase == corev1.PodFailed && unbound.Status.Phase == corev1.PodFailed, nil
	})
	held, err := pods.Get(ctx, "on-doomed-held", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g := held.DeletionGracePeriodSeconds; g == nil || *g != 0 {
		t.Errorf("pod of deleted node deleted with grace period %v, want 0", g)
	}
	var cond *corev1.PodCondition
	for i := range held.Status.Conditions {
		if held.Status.Conditions[i].Type == corev1.DisruptionTarget {
			cond = &held.Status.Conditions[i]
		}
	}
	if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != "DeletionByPodGC" || cond.Message != "PodGC: node no longer exists" {
		t.Errorf("DisruptionTarget condition %+v, want True/DeletionByPodGC", cond)
	}

	// Left alone: pods of live nodes, terminating or not, and a running pod
	// of an out-of-service node (the node lifecycle evicts it, not PodGC).
	for _, name := range []string{"on-alive", "on-alive-terminating", "on-shut-down"} {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("%s: phase %s, want Running", name, p.Status.Phase)
		}
	}
}

func TestTerminatedPodThreshold(t *testing.T) {
	client, clk := start(t, 3)
	createNode(t, client, "n", corev1.ConditionTrue)
	// Created in this order: creation time, then name, says which are oldest.
	createPod(t, client, "a-oldest", "n", corev1.PodSucceeded)
	createPod(t, client, "b", "n", corev1.PodFailed)
	createPod(t, client, "c", "", corev1.PodSucceeded)
	createPod(t, client, "d-running", "n", corev1.PodRunning)
	createPod(t, client, "e", "n", corev1.PodSucceeded)
	createPod(t, client, "evicted", "n", corev1.PodFailed)

	// Five terminated, threshold three: the evicted one and the oldest go.
	passUntil(t, clk, "evicted pod not collected", gone(client, "evicted"))
	passUntil(t, clk, "oldest terminated pod not collected", gone(client, "a-oldest"))
	for _, name := range []string{"b", "c", "d-running", "e"} {
		if _, err := client.CoreV1().Pods("default").Get(t.Context(), name, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
