package disruption_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/disruption"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const timeout = 30 * time.Second

func start(t *testing.T) (kubernetes.Interface, *clocktesting.FakeClock) {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	clk := clocktesting.NewFakeClock(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := disruption.New(disruption.Config{
		Client:    c.Client,
		Informers: factory,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:     clk,
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

// readyPod creates a pod, binds it to a node and reports it Running and Ready.
func readyPod(t *testing.T, client kubernetes.Interface, name string, lbls map[string]string, owner *metav1.OwnerReference) {
	t.Helper()
	ctx := t.Context()
	pods := client.CoreV1().Pods("default")
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = "10.244.0.10"
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createPDB(t *testing.T, client kubernetes.Interface, name string, app string, minAvailable, maxUnavailable *intstr.IntOrString) {
	t.Helper()
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			MinAvailable:   minAvailable,
			MaxUnavailable: maxUnavailable,
		},
	}
	if _, err := client.PolicyV1().PodDisruptionBudgets("default").Create(t.Context(), pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

type want struct {
	expected, healthy, desired, allowed int32
	reason                              string
}

// waitStatus waits for the budget's status to match w, stepping clk (if
// any) by step between looks, and returns it.
func waitStatus(t *testing.T, client kubernetes.Interface, name string, w want, clk *clocktesting.FakeClock, step time.Duration) *policyv1.PodDisruptionBudget {
	t.Helper()
	var last *policyv1.PodDisruptionBudget
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pdb, err := client.PolicyV1().PodDisruptionBudgets("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = pdb
		st := pdb.Status
		c := apimeta.FindStatusCondition(st.Conditions, policyv1.DisruptionAllowedCondition)
		if c != nil && st.ObservedGeneration == pdb.Generation && c.Reason == w.reason &&
			st.ExpectedPods == w.expected && st.CurrentHealthy == w.healthy && st.DesiredHealthy == w.desired && st.DisruptionsAllowed == w.allowed {
			wantStatus := metav1.ConditionFalse
			if w.allowed > 0 {
				wantStatus = metav1.ConditionTrue
			}
			if c.Status != wantStatus {
				return false, fmt.Errorf("condition %+v with %d disruptions allowed", c, w.allowed)
			}
			return true, nil
		}
		if clk != nil {
			clk.Step(step)
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("status of %s: want %+v; last %+v: %v", name, w, last, err)
	}
	return last
}

func evict(ctx context.Context, client kubernetes.Interface, name string) error {
	return client.PolicyV1().Evictions("default").Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}})
}

func TestBudgetAndEviction(t *testing.T) {
	client, _ := start(t)
	ctx := t.Context()
	web := map[string]string{"app": "web"}
	for i := 1; i <= 3; i++ {
		readyPod(t, client, fmt.Sprintf("web-%d", i), web, nil)
	}
	createPDB(t, client, "web", "web", ptr.To(intstr.FromInt32(2)), nil)
	waitStatus(t, client, "web", want{expected: 3, healthy: 3, desired: 2, allowed: 1, reason: policyv1.SufficientPodsReason}, nil, 0)

	if err := evict(ctx, client, "web-1"); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	// web-1 is terminating (bound pods delete gracefully): no longer healthy.
	waitStatus(t, client, "web", want{expected: 3, healthy: 2, desired: 2, allowed: 0, reason: policyv1.InsufficientPodsReason}, nil, 0)
	err := evict(ctx, client, "web-2")
	if !apierrors.IsTooManyRequests(err) {
		t.Fatalf("second eviction: got %v, want 429", err)
	}
	if !apierrors.HasStatusCause(err, policyv1.DisruptionBudgetCause) {
		t.Errorf("second eviction refused without a DisruptionBudget cause: %v", err)
	}

	// The kubelet finishes web-1 and a replacement becomes ready: the
	// controller allows a disruption again.
	if err := client.CoreV1().Pods("default").Delete(ctx, "web-1", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	readyPod(t, client, "web-4", web, nil)
	waitStatus(t, client, "web", want{expected: 3, healthy: 3, desired: 2, allowed: 1, reason: policyv1.SufficientPodsReason}, nil, 0)
	if err := evict(ctx, client, "web-2"); err != nil {
		t.Fatalf("eviction after the budget recovered: %v", err)
	}

	// A spec change is observed.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pdb, err := client.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		pdb.Spec.MinAvailable = ptr.To(intstr.FromInt32(1))
		_, err = client.PolicyV1().PodDisruptionBudgets("default").Update(ctx, pdb, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, client, "web", want{expected: 3, healthy: 2, desired: 1, allowed: 1, reason: policyv1.SufficientPodsReason}, nil, 0)
}

// TestDisruptedPods plays the eviction handler's part: it records a pod as
// disrupted, which the controller keeps out of the healthy count until the
// pod is deleted or the record expires.
func TestDisruptedPods(t *testing.T) {
	client, clk := start(t)
	ctx := t.Context()
	for i := 1; i <= 3; i++ {
		readyPod(t, client, fmt.Sprintf("db-%d", i), map[string]string{"app": "db"}, nil)
	}
	createPDB(t, client, "db", "db", ptr.To(intstr.FromInt32(2)), nil)
	waitStatus(t, client, "db", want{expected: 3, healthy: 3, desired: 2, allowed: 1, reason: policyv1.SufficientPodsReason}, nil, 0)

	pdbs := client.PolicyV1().PodDisruptionBudgets("default")
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pdb, err := pdbs.Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return err
		}
		pdb.Status.DisruptionsAllowed--
		pdb.Status.DisruptedPods = map[string]metav1.Time{"db-2": metav1.NewTime(clk.Now())}
		_, err = pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	pdb := waitStatus(t, client, "db", want{expected: 3, healthy: 2, desired: 2, allowed: 0, reason: policyv1.InsufficientPodsReason}, nil, 0)
	if _, ok := pdb.Status.DisruptedPods["db-2"]; !ok {
		t.Fatalf("disruptedPods lost db-2: %v", pdb.Status.DisruptedPods)
	}

	// db-2 was never deleted: after the deletion timeout it counts again.
	pdb = waitStatus(t, client, "db", want{expected: 3, healthy: 3, desired: 2, allowed: 1, reason: policyv1.SufficientPodsReason}, clk, 30*time.Second)
	if len(pdb.Status.DisruptedPods) != 0 {
		t.Errorf("disruptedPods %v, want empty", pdb.Status.DisruptedPods)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		evs, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=db-2,reason=NotDeleted"})
		return err == nil && len(evs.Items) > 0, err
	})
	if err != nil {
		t.Errorf("no NotDeleted event on db-2: %v", err)
	}
}

func TestPercentagesUseControllerScale(t *testing.T) {
	client, _ := start(t)
	ctx := t.Context()
	lbls := map[string]string{"app": "front"}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: lbls},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	sel := &metav1.LabelSelector{MatchLabels: lbls}
	// No Deployment or ReplicaSet controller runs here: the objects only
	// carry the scale.
	d, err := client.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "front"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](6), Selector: sel, Template: tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := client.AppsV1().ReplicaSets("default").Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "front-abc", OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](4), Selector: sel, Template: tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		readyPod(t, client, fmt.Sprintf("front-%d", i), lbls, metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet")))
	}
	// The Deployment's 6 replicas count, not the ReplicaSet's 4.
	createPDB(t, client, "front-min", "front", ptr.To(intstr.FromString("50%")), nil)
	waitStatus(t, client, "front-min", want{expected: 6, healthy: 4, desired: 3, allowed: 1, reason: policyv1.SufficientPodsReason}, nil, 0)
	createPDB(t, client, "front-max", "front", nil, ptr.To(intstr.FromString("50%")))
	waitStatus(t, client, "front-max", want{expected: 6, healthy: 4, desired: 3, allowed: 1, reason: policyv1.SufficientPodsReason}, nil, 0)

	// A pod whose controller is of a kind without a known scale: the
	// budget fails closed.
	cm, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "odd-owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	readyPod(t, client, "odd", map[string]string{"app": "odd"}, metav1.NewControllerRef(cm, corev1.SchemeGroupVersion.WithKind("ConfigMap")))
	createPDB(t, client, "odd", "odd", nil, ptr.To(intstr.FromInt32(1)))
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pdb, err := client.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "odd", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == policyv1.SyncFailedReason &&
			c.Message == `found no controllers for pod "odd"` && pdb.Status.DisruptionsAllowed == 0, nil
	})
	if err != nil {
		t.Fatalf("no SyncFailed condition: %v", err)
	}
}

// TestStaleDisruptionTarget: a pod marked for disruption that nobody
// deleted loses its DisruptionTarget condition after two minutes, unless
// the kubelet set it.
func TestStaleDisruptionTarget(t *testing.T) {
	client, clk := start(t)
	ctx := t.Context()
	pods := client.CoreV1().Pods("default")
	for name, reason := range map[string]string{"evicted": "EvictionByEvictionAPI", "kubelet": corev1.PodReasonTerminationByKubelet} {
		readyPod(t, client, name, map[string]string{"app": name}, nil)
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: reason, Message: "test", LastTransitionTime: metav1.NewTime(clk.Now()),
		})
		if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	target := func(name string) (*corev1.PodCondition, error) {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == corev1.DisruptionTarget {
				return &p.Status.Conditions[i], nil
			}
		}
		return nil, fmt.Errorf("%s has no DisruptionTarget condition", name)
	}
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		c, err := target("evicted")
		if err != nil {
			return false, err
		}
		if c.Status == corev1.ConditionFalse {
			return true, nil
		}
		clk.Step(30 * time.Second)
		return false, nil
	})
	if err != nil {
		t.Fatalf("stale DisruptionTarget not reset: %v", err)
	}
	if c, err := target("kubelet"); err != nil || c.Status != corev1.ConditionTrue {
		t.Errorf("kubelet's DisruptionTarget condition changed: %+v %v", c, err)
	}
}
