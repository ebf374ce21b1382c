package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// runningPod creates a bound pod and reports it Running, Ready as given.
func runningPod(t *testing.T, client kubernetes.Interface, name string, ready bool) {
	t.Helper()
	ctx := context.Background()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	p, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	if _, err := client.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// budget creates a PDB over app=web and writes the status the disruption
// controller would (no controller runs here).
func budget(t *testing.T, client kubernetes.Interface, name string, minAvailable int, st policyv1.PodDisruptionBudgetStatus) {
	t.Helper()
	ctx := context.Background()
	min := intstr.FromInt(minAvailable)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: policyv1.PodDisruptionBudgetSpec{
		MinAvailable: &min, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
	}}
	pdb, err := client.PolicyV1().PodDisruptionBudgets("default").Create(ctx, pdb, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st.ObservedGeneration = pdb.Generation
	pdb.Status = st
	if _, err := client.PolicyV1().PodDisruptionBudgets("default").UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func evict(client kubernetes.Interface, name string) error {
	return client.PolicyV1().Evictions("default").Evict(context.Background(), &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}})
}

// Concurrent evictions use the budget up one by one: of two evictions
// against a budget allowing one disruption, exactly one succeeds.
func TestEvictionsConsumeTheBudget(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	for i := range 3 {
		runningPod(t, c.Client, fmt.Sprintf("web-%d", i), true)
	}
	budget(t, c.Client, "web", 2, policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, CurrentHealthy: 3, DesiredHealthy: 2, ExpectedPods: 3})

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = evict(c.Client, fmt.Sprintf("web-%d", i+1))
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case apierrors.IsTooManyRequests(err):
			refused++
		default:
			t.Errorf("eviction: %v", err)
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("%d evictions succeeded and %d were refused; want 1 and 1 (%v)", ok, refused, errs)
	}
	pdb, err := c.Client.PolicyV1().PodDisruptionBudgets("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pdb.Status.DisruptionsAllowed != 0 || len(pdb.Status.DisruptedPods) != 1 {
		t.Fatalf("budget after one eviction: allowed %d, disrupted %v", pdb.Status.DisruptionsAllowed, pdb.Status.DisruptedPods)
	}

	// A not-ready pod may go while the budget is healthy enough, without using it.
	runningPod(t, c.Client, "web-sick", false)
	pdb.Status.CurrentHealthy, pdb.Status.DesiredHealthy = 2, 2
	if _, err := c.Client.PolicyV1().PodDisruptionBudgets("default").UpdateStatus(context.Background(), pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := evict(c.Client, "web-sick"); err != nil {
		t.Fatalf("evicting a not-ready pod: %v", err)
	}

	// Two budgets over one pod: upstream answers 500.
	budget(t, c.Client, "web-too", 1, policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 5})
	err = evict(c.Client, "web-0")
	var se *apierrors.StatusError
	if !apierrors.IsInternalError(err) || !asStatus(err, &se) || se.ErrStatus.Code != http.StatusInternalServerError {
		t.Fatalf("two budgets: %v", err)
	}
}

func asStatus(err error, se **apierrors.StatusError) bool {
	s, ok := err.(*apierrors.StatusError)
	*se = s
	return ok
}

// A budget the controller has not processed since its last change refuses evictions.
func TestEvictionWaitsForAProcessedBudget(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	runningPod(t, c.Client, "web-0", true)
	budget(t, c.Client, "web", 0, policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, CurrentHealthy: 1, ExpectedPods: 1})
	pdb, _ := c.Client.PolicyV1().PodDisruptionBudgets("default").Get(context.Background(), "web", metav1.GetOptions{})
	one := intstr.FromInt(1)
	pdb.Spec.MinAvailable = &one
	if _, err := c.Client.PolicyV1().PodDisruptionBudgets("default").Update(context.Background(), pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := evict(c.Client, "web-0"); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("eviction against a stale budget: %v", err)
	}
}
