package replicaset_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/replicaset"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const timeout = 30 * time.Second

type env struct {
	client kubernetes.Interface
	clock  *clocktesting.FakeClock
}

// start runs a control plane and this controller (with a fake clock) until the test ends.
func start(t *testing.T) *env {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	clk := clocktesting.NewFakeClock(time.Now())
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := replicaset.New(replicaset.Config{
		Client: c.Client, Informers: factory, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	factory.Start(ctx.Done())
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
		factory.Shutdown()
	})
	return &env{client: c.Client, clock: clk}
}

func (e *env) namespace(t *testing.T) string {
	t.Helper()
	ns, err := e.client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rs-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func newRS(name string, replicas int32) *appsv1.ReplicaSet {
	labels := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
}

func (e *env) createRS(t *testing.T, ns string, rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	t.Helper()
	out, err := e.client.AppsV1().ReplicaSets(ns).Create(t.Context(), rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) pods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	l, err := e.client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func ownedBy(pods []corev1.Pod, uid string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if ref := metav1.GetControllerOf(&p); ref != nil && string(ref.UID) == uid {
			out = append(out, p)
		}
	}
	return out
}

// waitFor polls cond until it holds, failing the test with its last message.
func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, msg := cond(ctx)
		last = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last: %s)", what, err, last)
	}
}

func (e *env) waitStatus(t *testing.T, ns, name string, check func(*appsv1.ReplicaSet) bool) *appsv1.ReplicaSet {
	t.Helper()
	var rs *appsv1.ReplicaSet
	waitFor(t, "replicaset "+name+" status", func(ctx context.Context) (bool, string) {
		var err error
		rs, err = e.client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return check(rs), fmt.Sprintf("%+v", rs.Status)
	})
	return rs
}

func (e *env) waitPods(t *testing.T, ns, uid string, n int) []corev1.Pod {
	t.Helper()
	var owned []corev1.Pod
	waitFor(t, fmt.Sprintf("%d pods", n), func(ctx context.Context) (bool, string) {
		l, err := e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		owned = ownedBy(l.Items, uid)
		return len(owned) == n, fmt.Sprintf("%d pods", len(owned))
	})
	return owned
}

// markReady plays the kubelet: pod Running and Ready since the fake clock's now.
func (e *env) markReady(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	now := metav1.NewTime(e.clock.Now())
	pod = pod.DeepCopy()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = "10.244.0.10"
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	if _, err := e.client.CoreV1().Pods(pod.Namespace).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// scale sets replicas through the scale subresource, as kubectl scale does.
func (e *env) scale(t *testing.T, ns, name string, n int32) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := e.client.AppsV1().ReplicaSets(ns).GetScale(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		sc.Spec.Replicas = n
		_, err = e.client.AppsV1().ReplicaSets(ns).UpdateScale(t.Context(), name, sc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReplicaSet(t *testing.T) {
	e := start(t)

	t.Run("CreatesReplacesAndScales", func(t *testing.T) {
		ns := e.namespace(t)
		rs := e.createRS(t, ns, newRS("web", 3))
		pods := e.waitPods(t, ns, string(rs.UID), 3)
		for _, p := range pods {
			if p.Labels["app"] != "web" || p.GenerateName != "web-" {
				t.Errorf("pod %s: labels %v, generateName %q", p.Name, p.Labels, p.GenerateName)
			}
		}
		e.waitStatus(t, ns, "web", func(rs *appsv1.ReplicaSet) bool {
			return rs.Status.Replicas == 3 && rs.Status.FullyLabeledReplicas == 3 && rs.Status.ObservedGeneration == rs.Generation
		})

		// A deleted pod is replaced.
		if err := e.client.CoreV1().Pods(ns).Delete(t.Context(), pods[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a replacement", func(ctx context.Context) (bool, string) {
			owned := ownedBy(e.pods(t, ns), string(rs.UID))
			for _, p := range owned {
				if p.Name == pods[0].Name {
					return false, "deleted pod still there"
				}
			}
			return len(owned) == 3, fmt.Sprintf("%d pods", len(owned))
		})

		// Scale down through the scale subresource: the ready pod stays.
		pods = ownedBy(e.pods(t, ns), string(rs.UID))
		e.markReady(t, &pods[1])
		e.scale(t, ns, "web", 1)
		left := e.waitPods(t, ns, string(rs.UID), 1)
		if left[0].Name != pods[1].Name {
			t.Errorf("scale down kept %s, want the ready pod %s", left[0].Name, pods[1].Name)
		}
		e.waitStatus(t, ns, "web", func(rs *appsv1.ReplicaSet) bool {
			return rs.Status.Replicas == 1 && rs.Status.ReadyReplicas == 1 && rs.Status.AvailableReplicas == 1
		})
	})

	t.Run("MinReadySeconds", func(t *testing.T) {
		ns := e.namespace(t)
		spec := newRS("slow", 2)
		spec.Spec.MinReadySeconds = 30
		rs := e.createRS(t, ns, spec)
		pods := e.waitPods(t, ns, string(rs.UID), 2)
		for i := range pods {
			e.markReady(t, &pods[i])
		}
		e.waitStatus(t, ns, "slow", func(rs *appsv1.ReplicaSet) bool {
			return rs.Status.ReadyReplicas == 2 && rs.Status.AvailableReplicas == 0
		})
		e.clock.Step(20 * time.Second)
		// Still not available: the controller must not count it early.
		rs = e.waitStatus(t, ns, "slow", func(rs *appsv1.ReplicaSet) bool { return rs.Status.ReadyReplicas == 2 })
		if rs.Status.AvailableReplicas != 0 {
			t.Fatalf("available after 20s of 30: %+v", rs.Status)
		}
		// The controller requeued itself for the remaining time.
		e.clock.Step(11 * time.Second)
		e.waitStatus(t, ns, "slow", func(rs *appsv1.ReplicaSet) bool { return rs.Status.AvailableReplicas == 2 })
	})

	t.Run("AdoptsAndReleases", func(t *testing.T) {
		ns := e.namespace(t)
		orphan := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: map[string]string{"app": "adopt"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
		}
		if _, err := e.client.CoreV1().Pods(ns).Create(t.Context(), orphan, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		other := orphan.DeepCopy()
		other.Name, other.Labels = "other", map[string]string{"app": "other"}
		if _, err := e.client.CoreV1().Pods(ns).Create(t.Context(), other, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rs := e.createRS(t, ns, newRS("adopt", 2))
		pods := e.waitPods(t, ns, string(rs.UID), 2)
		var adopted bool
		for _, p := range pods {
			adopted = adopted || p.Name == "orphan"
		}
		if !adopted {
			t.Fatalf("orphan not adopted: %v", pods)
		}
		if p, err := e.client.CoreV1().Pods(ns).Get(t.Context(), "other", metav1.GetOptions{}); err != nil || metav1.GetControllerOf(p) != nil {
			t.Fatalf("non-matching pod adopted or gone: %v %v", p, err)
		}

		// Relabel the adopted pod: it is released and replaced.
		patch := []byte(`{"metadata":{"labels":{"app":"gone"}}}`)
		if _, err := e.client.CoreV1().Pods(ns).Patch(t.Context(), "orphan", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "release", func(ctx context.Context) (bool, string) {
			p, err := e.client.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return metav1.GetControllerOf(p) == nil, fmt.Sprintf("owners %v", p.OwnerReferences)
		})
		pods = e.waitPods(t, ns, string(rs.UID), 2)
		for _, p := range pods {
			if p.Name == "orphan" {
				t.Errorf("released pod still counted")
			}
		}
	})

	t.Run("ThousandReplicas", func(t *testing.T) {
		ns := e.namespace(t)
		rs := e.createRS(t, ns, newRS("big", 1000))
		e.waitStatus(t, ns, "big", func(rs *appsv1.ReplicaSet) bool { return rs.Status.Replicas == 1000 })
		if n := len(ownedBy(e.pods(t, ns), string(rs.UID))); n != 1000 {
			t.Errorf("got %d pods, want 1000", n)
		}
		// And back down.
		e.scale(t, ns, "big", 10)
		e.waitPods(t, ns, string(rs.UID), 10)
	})
}
