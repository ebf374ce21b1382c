package cronjob_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/cronjob"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const timeout = 30 * time.Second

type env struct {
	client kubernetes.Interface
	clock  *clocktesting.FakeClock
	ns     string
}

// setup starts a control plane of its own (the fake clock moves forward
// only, so tests do not share one) and the controller on a fake clock.
func setup(t *testing.T) *env {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	e := &env{client: c.Client, clock: clocktesting.NewFakeClock(time.Now())}
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := cronjob.New(cronjob.Config{Client: c.Client, Informers: factory, Clock: e.clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	ns, err := c.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cron-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.ns = ns.Name
	return e
}

func jobTemplate() batchv1.JobTemplateSpec {
	return batchv1.JobTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "cron"}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
		}}},
	}
}

func (e *env) createCronJob(t *testing.T, name string, mutate func(*batchv1.CronJob)) *batchv1.CronJob {
	t.Helper()
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: jobTemplate()},
	}
	if mutate != nil {
		mutate(cj)
	}
	cj, err := e.client.BatchV1().CronJobs(e.ns).Create(t.Context(), cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cj
}

// firstMinute is the first every-minute schedule time after cj's creation.
func firstMinute(cj *batchv1.CronJob) time.Time {
	return cj.CreationTimestamp.Time.Truncate(time.Minute).Add(time.Minute)
}

func jobName(cj *batchv1.CronJob, at time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, at.Unix()/60)
}

// setTime moves the fake clock just past at.
func (e *env) setTime(at time.Time) { e.clock.SetTime(at.Add(time.Second)) }

func (e *env) waitJob(t *testing.T, name string) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		j, err = e.client.BatchV1().Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("job %s not created: %v", name, err)
	}
	return j
}

func (e *env) waitJobGone(t *testing.T, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := e.client.BatchV1().Jobs(e.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("job %s not deleted: %v", name, err)
	}
}

func (e *env) jobNames(t *testing.T) map[string]bool {
	t.Helper()
	l, err := e.client.BatchV1().Jobs(e.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, j := range l.Items {
		if j.DeletionTimestamp == nil {
			out[j.Name] = true
		}
	}
	return out
}

func (e *env) waitCronJob(t *testing.T, name, what string, cond func(*batchv1.CronJob) bool) *batchv1.CronJob {
	t.Helper()
	var cj *batchv1.CronJob
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		cj, err = e.client.BatchV1().CronJobs(e.ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && cond(cj), err
	})
	if err != nil {
		t.Fatalf("cronjob %s: %s: %v; status %+v", name, what, err, cj.Status)
	}
	return cj
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

// finishJob plays the job controller: the job gets a terminal condition.
func (e *env) finishJob(t *testing.T, name string, ct batchv1.JobConditionType, started time.Time) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		j, err := e.client.BatchV1().Jobs(e.ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.NewTime(e.clock.Now())
		j.Status.StartTime = ptr.To(metav1.NewTime(started))
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: ct, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now})
		if ct == batchv1.JobComplete {
			j.Status.CompletionTime = &now
		}
		_, err = e.client.BatchV1().Jobs(e.ns).UpdateStatus(t.Context(), j, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func activeNames(cj *batchv1.CronJob) map[string]bool {
	out := map[string]bool{}
	for _, r := range cj.Status.Active {
		out[r.Name] = true
	}
	return out
}

func TestCreatesJobsOnSchedule(t *testing.T) {
	e := setup(t)
	cj := e.createCronJob(t, "every", nil)
	first := firstMinute(cj)
	e.setTime(first)
	j1 := e.waitJob(t, jobName(cj, first))
	if got, want := j1.Annotations[batchv1.CronJobScheduledTimestampAnnotation], first.UTC().Format(time.RFC3339); got != want {
		t.Errorf("scheduled timestamp %q, want %q", got, want)
	}
	if ref := metav1.GetControllerOf(j1); ref == nil || ref.UID != cj.UID || ref.Kind != "CronJob" {
		t.Errorf("job controller ref %+v", ref)
	}
	if j1.Labels["app"] != "cron" {
		t.Errorf("job labels %v", j1.Labels)
	}
	e.waitCronJob(t, cj.Name, "first job active", func(cj *batchv1.CronJob) bool {
		return activeNames(cj)[j1.Name] && cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Time.Equal(first)
	})
	// Allow: the next run starts while the first is still active.
	second := first.Add(time.Minute)
	e.setTime(second)
	j2 := e.waitJob(t, jobName(cj, second))
	e.waitCronJob(t, cj.Name, "two jobs active", func(cj *batchv1.CronJob) bool {
		return len(cj.Status.Active) == 2 && cj.Status.LastScheduleTime.Time.Equal(second)
	})
	e.finishJob(t, j1.Name, batchv1.JobComplete, first)
	e.finishJob(t, j2.Name, batchv1.JobFailed, second)
	got := e.waitCronJob(t, cj.Name, "no job active", func(cj *batchv1.CronJob) bool { return len(cj.Status.Active) == 0 })
	if got.Status.LastSuccessfulTime == nil {
		t.Error("no lastSuccessfulTime after a completed job")
	}
	e.waitEvent(t, "SuccessfulCreate")
	e.waitEvent(t, "SawCompletedJob")
	if n := len(e.jobNames(t)); n != 2 {
		t.Errorf("%d jobs, want 2", n)
	}
}

func TestForbid(t *testing.T) {
	e := setup(t)
	cj := e.createCronJob(t, "forbid", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent })
	first := firstMinute(cj)
	e.setTime(first)
	j1 := e.waitJob(t, jobName(cj, first))
	second := first.Add(time.Minute)
	e.setTime(second)
	e.waitEvent(t, "JobAlreadyActive")
	if names := e.jobNames(t); len(names) != 1 {
		t.Fatalf("jobs %v, want only %s", names, j1.Name)
	}
	// Once the first is done, the missed run starts late.
	e.finishJob(t, j1.Name, batchv1.JobComplete, first)
	e.waitJob(t, jobName(cj, second))
}

func TestReplace(t *testing.T) {
	e := setup(t)
	cj := e.createCronJob(t, "replace", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent })
	first := firstMinute(cj)
	e.setTime(first)
	j1 := e.waitJob(t, jobName(cj, first))
	second := first.Add(time.Minute)
	e.setTime(second)
	j2 := e.waitJob(t, jobName(cj, second))
	e.waitJobGone(t, j1.Name)
	e.waitCronJob(t, cj.Name, "only the new job active", func(cj *batchv1.CronJob) bool {
		a := activeNames(cj)
		return len(a) == 1 && a[j2.Name]
	})
	e.waitEvent(t, "SuccessfulDelete")
}

// History limits apply even to a suspended CronJob, which starts nothing.
func TestHistoryLimitsAndSuspend(t *testing.T) {
	e := setup(t)
	cj := e.createCronJob(t, "history", func(cj *batchv1.CronJob) {
		cj.Spec.Suspend = ptr.To(true)
		cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](2)
		cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](1)
	})
	first := firstMinute(cj)
	e.setTime(first)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	finished := map[string]batchv1.JobConditionType{
		"ok-1": batchv1.JobComplete, "ok-2": batchv1.JobComplete, "ok-3": batchv1.JobComplete,
		"bad-1": batchv1.JobFailed, "bad-2": batchv1.JobFailed,
	}
	for _, name := range []string{"ok-1", "bad-1", "ok-2", "bad-2", "ok-3"} {
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))}},
			Spec: jobTemplate().Spec,
		}
		if _, err := e.client.BatchV1().Jobs(e.ns).Create(t.Context(), j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		base = base.Add(time.Minute)
		e.finishJob(t, name, finished[name], base)
	}
	e.waitJobGone(t, "ok-1")
	e.waitJobGone(t, "bad-1")
	names := e.jobNames(t)
	for _, keep := range []string{"ok-2", "ok-3", "bad-2"} {
		if !names[keep] {
			t.Errorf("job %s deleted; jobs left %v", keep, names)
		}
	}
	if len(names) != 3 {
		t.Errorf("jobs left %v, want ok-2, ok-3, bad-2 (suspended: nothing new)", names)
	}
}

func TestTooManyMissed(t *testing.T) {
	e := setup(t)
	cj := e.createCronJob(t, "missed", nil)
	// Three hours pass at once: 180 missed runs, only the latest starts.
	last := firstMinute(cj).Add(3 * time.Hour)
	e.setTime(last)
	e.waitJob(t, jobName(cj, last))
	e.waitEvent(t, "TooManyMissedTimes")
	if names := e.jobNames(t); len(names) != 1 {
		t.Errorf("jobs %v, want only the latest", names)
	}
}
