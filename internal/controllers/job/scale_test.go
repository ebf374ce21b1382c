package job_test

import (
	"context"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// Many pods finishing at once, a third of them failing: every pod is
// counted once, and the Job never runs more than its parallelism.
func TestManyPods(t *testing.T) {
	if testing.Short() {
		t.Skip("many pods")
	}
	t.Parallel()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	e := run(t, c.Client)
	const completions, parallelism = 150, 30
	j := e.create(t, newJob("many", func(j *batchv1.Job) {
		j.Spec.Completions = ptr.To[int32](completions)
		j.Spec.Parallelism = ptr.To[int32](parallelism)
		j.Spec.BackoffLimit = ptr.To[int32](1000)
	}))
	finished := map[string]bool{}
	failed := 0
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got := e.getJob(t, j.Name)
		if condition(got, batchv1.JobComplete) != nil {
			return true, nil
		}
		active := e.activePods(t, j)
		if len(active) > parallelism {
			t.Fatalf("%d active pods, parallelism %d", len(active), parallelism)
		}
		e.clock.Step(10 * time.Minute) // past any failure backoff
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, p := range active {
			if finished[p.Name] {
				continue
			}
			finished[p.Name] = true
			phase := corev1.PodSucceeded
			if i%3 == 2 {
				phase = corev1.PodFailed
				failed++
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.Status.Phase = phase
				if _, err := c.Client.CoreV1().Pods(e.ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{}); err != nil {
					mu.Lock()
					defer mu.Unlock()
					t.Errorf("finishing %s: %v", p.Name, err)
				}
			}()
		}
		wg.Wait()
		return false, nil
	})
	if err != nil {
		got := e.getJob(t, j.Name)
		t.Fatalf("job not complete: %v; status %+v", err, got.Status)
	}
	got := e.getJob(t, j.Name)
	if got.Status.Succeeded != completions || int(got.Status.Failed) != failed {
		t.Errorf("succeeded %d failed %d, want %d and %d", got.Status.Succeeded, got.Status.Failed, completions, failed)
	}
}
