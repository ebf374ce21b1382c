package job_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/job"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const timeout = 30 * time.Second

type env struct {
	client kubernetes.Interface
	clock  *clocktesting.FakeClock
	ns     string
}

// run starts this package's controller against client on a fake clock
// until the test ends, and makes a namespace for the test.
func run(t *testing.T, client kubernetes.Interface) *env {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "job-"}}
	ns, err := client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{client: client, clock: clocktesting.NewFakeClock(time.Now()), ns: ns.Name}
	e.runController(t)
	return e
}

// runController runs the job controller until the test ends.
func (e *env) runController(t *testing.T) {
	t.Helper()
	client, clk := e.client, e.clock
	factory := informers.NewSharedInformerFactory(client, 0)
	ctrl, err := job.New(job.Config{
		Client:    client,
		Informers: factory,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:     clk,
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
			t.Errorf("Run: %v", err)
		}
		factory.Shutdown()
	})
}

func newJob(name string, mutate func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "work", Image: "busybox"}},
				},
			},
		},
	}
	if mutate != nil {
		mutate(j)
	}
	return j
}

func (e *env) create(t *testing.T, j *batchv1.Job) *batchv1.Job {
	t.Helper()
	out, err := e.client.BatchV1().Jobs(e.ns).Create(t.Context(), j, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pods lists the job's pods.
func (e *env) pods(t *testing.T, j *batchv1.Job) []corev1.Pod {
	t.Helper()
	sel := metav1.FormatLabelSelector(j.Spec.Selector)
	l, err := e.client.CoreV1().Pods(e.ns).List(t.Context(), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func isActive(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func (e *env) activePods(t *testing.T, j *batchv1.Job) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range e.pods(t, j) {
		if isActive(&p) {
			out = append(out, p)
		}
	}
	return out
}

// finish plays kubelet: pod's phase becomes phase.
func (e *env) finish(t *testing.T, pod corev1.Pod, phase corev1.PodPhase) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := e.client.CoreV1().Pods(e.ns).Get(t.Context(), pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Status.Phase = phase
		_, err = e.client.CoreV1().Pods(e.ns).UpdateStatus(t.Context(), p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("setting pod %s %s: %v", pod.Name, phase, err)
	}
}

func (e *env) getJob(t *testing.T, name string) *batchv1.Job {
	t.Helper()
	j, err := e.client.BatchV1().Jobs(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func condition(j *batchv1.Job, ct batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == ct && j.Status.Conditions[i].Status == corev1.ConditionTrue {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

// waitJob polls until cond holds for the job, stepping the fake clock by
// step (if non-zero) on every poll.
func (e *env) waitJob(t *testing.T, name string, step time.Duration, what string, cond func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var last *batchv1.Job
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if step > 0 {
			e.clock.Step(step)
		}
		j, err := e.client.BatchV1().Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = j
		return cond(j), nil
	})
	if err != nil {
		t.Fatalf("waiting for job %s: %s: %v; status: %+v", name, what, err, last.Status)
	}
	return last
}

func (e *env) waitEvent(t *testing.T, reason string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		l, err := e.client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, ev := range l.Items {
			if ev.Reason == reason {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event: %v", reason, err)
	}
}

func TestJob(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	e := run(t, c.Client)
	// Each subtest uses its own job in the shared namespace.
	t.Run("CompletionsWithParallelism", func(t *testing.T) { testCompletions(t, e) })
	t.Run("Indexed", func(t *testing.T) { testIndexed(t, e) })
	t.Run("BackoffLimit", func(t *testing.T) { testBackoffLimit(t, e) })
	t.Run("ActiveDeadline", func(t *testing.T) { testActiveDeadline(t, e) })
	t.Run("Suspend", func(t *testing.T) { testSuspend(t, e) })
	t.Run("OnFailureRestarts", func(t *testing.T) { testOnFailureRestarts(t, e) })
	t.Run("ManualSelector", func(t *testing.T) { testManualSelector(t, e) })
	t.Run("Deleted", func(t *testing.T) { testDeleted(t, e) })
	t.Run("PodFailurePolicy", func(t *testing.T) { testPodFailurePolicy(t, e) })
}

// A Job of 5 completions with parallelism 2 never runs more than 2 pods
// and completes with succeeded=5.
func testCompletions(t *testing.T, e *env) {
	j := e.create(t, newJob("five", func(j *batchv1.Job) {
		j.Spec.Completions = ptr.To[int32](5)
		j.Spec.Parallelism = ptr.To[int32](2)
	}))
	finished := 0
	for finished < 5 {
		var active []corev1.Pod
		err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			active = e.activePods(t, j)
			if len(active) > 2 {
				return false, fmt.Errorf("%d active pods, parallelism is 2", len(active))
			}
			return len(active) == min(2, 5-finished), nil
		})
		if err != nil {
			t.Fatalf("after %d completions: %v", finished, err)
		}
		for _, p := range active {
			if !hasFinalizer(&p) {
				t.Errorf("pod %s lacks the tracking finalizer: %v", p.Name, p.Finalizers)
			}
			if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != j.UID {
				t.Errorf("pod %s is not controlled by the job: %v", p.Name, p.OwnerReferences)
			}
		}
		e.finish(t, active[0], corev1.PodSucceeded)
		finished++
	}
	got := e.waitJob(t, j.Name, 0, "Complete", func(j *batchv1.Job) bool { return condition(j, batchv1.JobComplete) != nil })
	if got.Status.Succeeded != 5 || got.Status.Failed != 0 || got.Status.Active != 0 {
		t.Errorf("status: succeeded %d failed %d active %d, want 5 0 0", got.Status.Succeeded, got.Status.Failed, got.Status.Active)
	}
	if c := condition(got, batchv1.JobSuccessCriteriaMet); c == nil || c.Reason != batchv1.JobReasonCompletionsReached {
		t.Errorf("SuccessCriteriaMet condition: %+v", got.Status.Conditions)
	}
	if got.Status.CompletionTime == nil || got.Status.StartTime == nil {
		t.Errorf("startTime %v completionTime %v", got.Status.StartTime, got.Status.CompletionTime)
	}
	if u := got.Status.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		t.Errorf("uncounted pods left: %+v", u)
	}
	pods := e.pods(t, j)
	if len(pods) != 5 {
		t.Errorf("%d pods, want 5", len(pods))
	}
	for _, p := range pods {
		if hasFinalizer(&p) {
			t.Errorf("pod %s kept its tracking finalizer", p.Name)
		}
	}
	e.waitEvent(t, "Completed")
}

func testIndexed(t *testing.T, e *env) {
	j := e.create(t, newJob("indexed", func(j *batchv1.Job) {
		j.Spec.Completions = ptr.To[int32](4)
		j.Spec.Parallelism = ptr.To[int32](2)
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	}))
	done := map[string]bool{}
	for len(done) < 4 {
		var active []corev1.Pod
		err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			active = e.activePods(t, j)
			return len(active) == min(2, 4-len(done)), nil
		})
		if err != nil {
			t.Fatalf("after %d completions: %v", len(done), err)
		}
		seen := map[string]bool{}
		for _, p := range active {
			ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
			if ix == "" || p.Labels[batchv1.JobCompletionIndexAnnotation] != ix {
				t.Fatalf("pod %s: index annotation %q label %q", p.Name, ix, p.Labels[batchv1.JobCompletionIndexAnnotation])
			}
			if done[ix] || seen[ix] {
				t.Fatalf("index %s run twice", ix)
			}
			seen[ix] = true
			if p.Spec.Hostname != "indexed-"+ix || !strings.HasPrefix(p.Name, "indexed-"+ix+"-") {
				t.Errorf("pod %s hostname %q", p.Name, p.Spec.Hostname)
			}
			var env *corev1.EnvVar
			for i := range p.Spec.Containers[0].Env {
				if p.Spec.Containers[0].Env[i].Name == "JOB_COMPLETION_INDEX" {
					env = &p.Spec.Containers[0].Env[i]
				}
			}
			if env == nil || env.ValueFrom == nil || env.ValueFrom.FieldRef == nil ||
				env.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
				t.Errorf("pod %s JOB_COMPLETION_INDEX: %+v", p.Name, env)
			}
		}
		// Finish the highest index first: completedIndexes must come out sorted.
		last := active[0]
		for _, p := range active {
			if p.Annotations[batchv1.JobCompletionIndexAnnotation] > last.Annotations[batchv1.JobCompletionIndexAnnotation] {
				last = p
			}
		}
		e.finish(t, last, corev1.PodSucceeded)
		done[last.Annotations[batchv1.JobCompletionIndexAnnotation]] = true
	}
	got := e.waitJob(t, j.Name, 0, "Complete", func(j *batchv1.Job) bool { return condition(j, batchv1.JobComplete) != nil })
	if got.Status.CompletedIndexes != "0-3" || got.Status.Succeeded != 4 {
		t.Errorf("completedIndexes %q succeeded %d, want 0-3 and 4", got.Status.CompletedIndexes, got.Status.Succeeded)
	}
}

func testBackoffLimit(t *testing.T, e *env) {
	j := e.create(t, newJob("backoff", func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](1) }))
	var first corev1.Pod
	waitPods(t, func() bool {
		a := e.activePods(t, j)
		if len(a) == 1 {
			first = a[0]
		}
		return len(a) == 1
	})
	e.finish(t, first, corev1.PodFailed)
	// The replacement waits for the 10s backoff on the fake clock.
	e.waitJob(t, j.Name, 0, "first failure counted", func(j *batchv1.Job) bool { return j.Status.Failed == 1 })
	if a := e.activePods(t, j); len(a) != 0 {
		t.Fatalf("replacement %s created before the backoff delay", a[0].Name)
	}
	var second corev1.Pod
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		e.clock.Step(2 * time.Second)
		a := e.activePods(t, j)
		if len(a) == 1 {
			second = a[0]
		}
		return len(a) == 1, nil
	})
	if err != nil {
		t.Fatalf("no replacement pod: %v", err)
	}
	e.finish(t, second, corev1.PodFailed)
	got := e.waitJob(t, j.Name, 0, "Failed", func(j *batchv1.Job) bool { return condition(j, batchv1.JobFailed) != nil })
	c := condition(got, batchv1.JobFailed)
	if c.Reason != "BackoffLimitExceeded" || c.Message != "Job has reached the specified backoff limit" {
		t.Errorf("Failed condition %+v", c)
	}
	if condition(got, batchv1.JobFailureTarget) == nil {
		t.Errorf("no FailureTarget condition: %+v", got.Status.Conditions)
	}
	if got.Status.Failed != 2 || got.Status.CompletionTime != nil {
		t.Errorf("failed %d completionTime %v, want 2 and none", got.Status.Failed, got.Status.CompletionTime)
	}
	e.waitEvent(t, "BackoffLimitExceeded")
}

func testActiveDeadline(t *testing.T, e *env) {
	j := e.create(t, newJob("deadline", func(j *batchv1.Job) {
		j.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
		j.Spec.Parallelism = ptr.To[int32](2)
		j.Spec.Completions = ptr.To[int32](4)
	}))
	waitPods(t, func() bool { return len(e.activePods(t, j)) == 2 })
	if got := e.getJob(t, j.Name); isFinishedJob(got) {
		t.Fatalf("finished before the deadline: %+v", got.Status.Conditions)
	}
	got := e.waitJob(t, j.Name, 5*time.Second, "Failed", func(j *batchv1.Job) bool { return condition(j, batchv1.JobFailed) != nil })
	if c := condition(got, batchv1.JobFailed); c.Reason != "DeadlineExceeded" || c.Message != "Job was active longer than specified deadline" {
		t.Errorf("Failed condition %+v", c)
	}
	// The running pods were deleted and count as failed.
	if got.Status.Failed != 2 || got.Status.Active != 0 {
		t.Errorf("failed %d active %d, want 2 and 0", got.Status.Failed, got.Status.Active)
	}
	waitPods(t, func() bool { return len(e.pods(t, j)) == 0 })
	e.waitEvent(t, "DeadlineExceeded")
}

func testSuspend(t *testing.T, e *env) {
	j := e.create(t, newJob("suspended", func(j *batchv1.Job) {
		j.Spec.Suspend = ptr.To(true)
		j.Spec.Parallelism = ptr.To[int32](2)
		j.Spec.Completions = ptr.To[int32](2)
	}))
	got := e.waitJob(t, j.Name, 0, "Suspended", func(j *batchv1.Job) bool { return condition(j, batchv1.JobSuspended) != nil })
	if c := condition(got, batchv1.JobSuspended); c.Reason != "JobSuspended" || got.Status.StartTime != nil {
		t.Errorf("suspended: %+v startTime %v", c, got.Status.StartTime)
	}
	if n := len(e.pods(t, j)); n != 0 {
		t.Fatalf("suspended job has %d pods", n)
	}
	setSuspend(t, e, j.Name, false)
	waitPods(t, func() bool { return len(e.activePods(t, j)) == 2 })
	got = e.waitJob(t, j.Name, 0, "resumed", func(j *batchv1.Job) bool {
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobSuspended && c.Status == corev1.ConditionFalse && c.Reason == "JobResumed" {
				return true
			}
		}
		return false
	})
	if got.Status.StartTime == nil {
		t.Error("resumed job has no startTime")
	}
	// Suspending again deletes the running pods without counting them as failed.
	setSuspend(t, e, j.Name, true)
	waitPods(t, func() bool { return len(e.pods(t, j)) == 0 })
	got = e.waitJob(t, j.Name, 0, "suspended again", func(j *batchv1.Job) bool {
		return condition(j, batchv1.JobSuspended) != nil && j.Status.Active == 0
	})
	if got.Status.Failed != 0 {
		t.Errorf("suspension counted %d failures", got.Status.Failed)
	}
}

func setSuspend(t *testing.T, e *env, name string, v bool) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		j := e.getJob(t, name)
		j.Spec.Suspend = ptr.To(v)
		_, err := e.client.BatchV1().Jobs(e.ns).Update(t.Context(), j, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// With restartPolicy OnFailure, container restarts count toward the limit.
func testOnFailureRestarts(t *testing.T, e *env) {
	j := e.create(t, newJob("restarts", func(j *batchv1.Job) {
		j.Spec.BackoffLimit = ptr.To[int32](2)
		j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	}))
	var pod corev1.Pod
	waitPods(t, func() bool {
		a := e.activePods(t, j)
		if len(a) == 1 {
			pod = a[0]
		}
		return len(a) == 1
	})
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := e.client.CoreV1().Pods(e.ns).Get(t.Context(), pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "work", Image: "busybox", RestartCount: 2,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		_, err = e.client.CoreV1().Pods(e.ns).UpdateStatus(t.Context(), p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitJob(t, j.Name, 0, "Failed", func(j *batchv1.Job) bool { return condition(j, batchv1.JobFailed) != nil })
	if c := condition(got, batchv1.JobFailed); c.Reason != "BackoffLimitExceeded" {
		t.Errorf("Failed condition %+v", c)
	}
}

// A job with its own selector adopts a matching orphan pod.
func testManualSelector(t *testing.T, e *env) {
	labels := map[string]string{"app": "manual"}
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "manual-orphan", Labels: labels},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "work", Image: "busybox"}}},
	}
	if _, err := e.client.CoreV1().Pods(e.ns).Create(t.Context(), orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := e.create(t, newJob("manual", func(j *batchv1.Job) {
		j.Spec.ManualSelector = ptr.To(true)
		j.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
		j.Spec.Template.Labels = labels
	}))
	var adopted corev1.Pod
	waitPods(t, func() bool {
		p, err := e.client.CoreV1().Pods(e.ns).Get(t.Context(), orphan.Name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		adopted = *p
		ref := metav1.GetControllerOf(p)
		return ref != nil && ref.UID == j.UID && hasFinalizer(p)
	})
	if n := len(e.activePods(t, j)); n != 1 {
		t.Errorf("%d active pods, want only the adopted one", n)
	}
	e.finish(t, adopted, corev1.PodSucceeded)
	got := e.waitJob(t, j.Name, 0, "Complete", func(j *batchv1.Job) bool { return condition(j, batchv1.JobComplete) != nil })
	if got.Status.Succeeded != 1 {
		t.Errorf("succeeded %d, want 1", got.Status.Succeeded)
	}
}

// Deleting a job removes its pods, whatever the propagation: the
// controller drops the finalizers of pods whose Job is going or gone.
func testDeleted(t *testing.T, e *env) {
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationForeground, metav1.DeletePropagationBackground} {
		t.Run(string(policy), func(t *testing.T) {
			j := e.create(t, newJob("deleted-"+strings.ToLower(string(policy)), func(j *batchv1.Job) {
				j.Spec.Parallelism = ptr.To[int32](2)
				j.Spec.Completions = ptr.To[int32](3)
			}))
			waitPods(t, func() bool { return len(e.activePods(t, j)) == 2 })
			// One pod finished: its finalizer is gone already.
			e.finish(t, e.activePods(t, j)[0], corev1.PodSucceeded)
			waitPods(t, func() bool { return len(e.activePods(t, j)) == 2 })
			if err := e.client.BatchV1().Jobs(e.ns).Delete(t.Context(), j.Name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatal(err)
			}
			waitPods(t, func() bool {
				_, err := e.client.BatchV1().Jobs(e.ns).Get(t.Context(), j.Name, metav1.GetOptions{})
				return err != nil && len(e.pods(t, j)) == 0
			})
		})
	}
}

func waitPods(t *testing.T, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func hasFinalizer(p *corev1.Pod) bool {
	for _, f := range p.Finalizers {
		if f == batchv1.JobTrackingFinalizer {
			return true
		}
	}
	return false
}

func isFinishedJob(j *batchv1.Job) bool {
	return condition(j, batchv1.JobComplete) != nil || condition(j, batchv1.JobFailed) != nil
}

// A controller (re)starting on a Job whose status lists uncounted pods
// counts each exactly once, whether or not their finalizers were removed
// before it stopped.
func TestRecoversUncountedPods(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "job-"}}
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{client: c.Client, clock: clocktesting.NewFakeClock(time.Now()), ns: ns.Name}
	labels := map[string]string{"app": "recover"}
	j := e.create(t, newJob("recover", func(j *batchv1.Job) {
		j.Spec.ManualSelector = ptr.To(true)
		j.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
		j.Spec.Template.Labels = labels
		j.Spec.Completions = ptr.To[int32](3)
		j.Spec.Parallelism = ptr.To[int32](3)
	}))
	// Three succeeded pods the previous controller made: a was recorded
	// as uncounted but kept its finalizer, b was recorded and lost it, c
	// was not recorded yet.
	uids := map[string]types.UID{}
	for _, name := range []string{"a", "b", "c"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))}},
			Spec: j.Spec.Template.Spec,
		}
		if name != "b" {
			pod.Finalizers = []string{batchv1.JobTrackingFinalizer}
		}
		pod, err := c.Client.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids[name] = pod.UID
		e.finish(t, *pod, corev1.PodSucceeded)
	}
	j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{uids["a"], uids["b"]}}
	if _, err := c.Client.BatchV1().Jobs(e.ns).UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	e.runController(t)
	got := e.waitJob(t, j.Name, 0, "Complete", func(j *batchv1.Job) bool { return condition(j, batchv1.JobComplete) != nil })
	if got.Status.Succeeded != 3 {
		t.Errorf("succeeded %d, want 3", got.Status.Succeeded)
	}
	for _, p := range e.pods(t, j) {
		if hasFinalizer(&p) {
			t.Errorf("pod %s kept its finalizer", p.Name)
		}
	}
}

// An Ignore rule keeps a disrupted pod from counting toward a backoffLimit
// of 0; a FailJob rule fails the Job at once.
func testPodFailurePolicy(t *testing.T, e *env) {
	j := e.create(t, newJob("policy", func(j *batchv1.Job) {
		j.Spec.BackoffLimit = ptr.To[int32](0)
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
			{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		}}
	}))
	failWith := func(pod corev1.Pod, mutate func(*corev1.Pod)) {
		t.Helper()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			p, err := e.client.CoreV1().Pods(e.ns).Get(t.Context(), pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			p.Status.Phase = corev1.PodFailed
			mutate(p)
			_, err = e.client.CoreV1().Pods(e.ns).UpdateStatus(t.Context(), p, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	activePod := func() corev1.Pod {
		t.Helper()
		var pod corev1.Pod
		err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			e.clock.Step(2 * time.Second) // past the pod failure backoff
			a := e.activePods(t, j)
			if len(a) == 1 {
				pod = a[0]
			}
			return len(a) == 1, nil
		})
		if err != nil {
			t.Fatalf("no active pod: %v", err)
		}
		return pod
	}
	first := activePod()
	failWith(first, func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "PreemptionByScheduler"})
	})
	second := activePod()
	if second.Name == first.Name {
		t.Fatalf("no replacement for %s", first.Name)
	}
	if got := e.getJob(t, j.Name); got.Status.Failed != 0 || isFinishedJob(got) {
		t.Fatalf("ignored failure counted: failed %d, conditions %+v", got.Status.Failed, got.Status.Conditions)
	}
	failWith(second, func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "work", Image: "busybox",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 42}}}}
	})
	got := e.waitJob(t, j.Name, 0, "Failed", func(j *batchv1.Job) bool { return condition(j, batchv1.JobFailed) != nil })
	c := condition(got, batchv1.JobFailed)
	want := fmt.Sprintf("Container work for pod %s/%s failed with exit code 42 matching FailJob rule at index 1", e.ns, second.Name)
	if c.Reason != "PodFailurePolicy" || c.Message != want {
		t.Errorf("Failed condition %+v, want reason PodFailurePolicy message %q", c, want)
	}
	if got.Status.Failed != 1 {
		t.Errorf("failed %d, want 1", got.Status.Failed)
	}
}

// Pods left with the tracking finalizer by a Job deleted while no
// controller ran lose it when the controller starts.
func TestRemovesFinalizersOfOrphansAtStart(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	ctx := t.Context()
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "job-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{client: c.Client, clock: clocktesting.NewFakeClock(time.Now()), ns: ns.Name}
	j := e.create(t, newJob("gone", nil))
	pods := c.Client.CoreV1().Pods(e.ns)
	for _, name := range []string{"gone-running", "gone-succeeded"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: j.Spec.Template.Labels, Finalizers: []string{batchv1.JobTrackingFinalizer},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))}},
			Spec: j.Spec.Template.Spec,
		}
		pod, err := pods.Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if name == "gone-succeeded" {
			e.finish(t, *pod, corev1.PodSucceeded)
		}
	}
	bg := metav1.DeletePropagationBackground
	if err := c.Client.BatchV1().Jobs(e.ns).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatal(err)
	}
	// The garbage collector deletes the pods; the finalizer holds them.
	waitPods(t, func() bool {
		l, err := pods.List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) != 2 {
			return false
		}
		for _, p := range l.Items {
			if p.DeletionTimestamp == nil {
				return false
			}
		}
		return true
	})
	e.runController(t)
	waitPods(t, func() bool {
		l, err := pods.List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 0
	})
}
