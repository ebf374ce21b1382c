package cronjob_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/cronjob"
	"github.com/sampan-dev/sampan/internal/controllers/job"
	"github.com/sampan-dev/sampan/internal/controllers/ttlafterfinished"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// The three batch controllers together on one clock: a CronJob starts a
// Job, the Job runs its pod to completion, the CronJob notes the success,
// and the finished Job is deleted after its TTL.
func TestCronJobJobTTL(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	clk := clocktesting.NewFakeClock(time.Now())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	var runners []interface{ Run(context.Context) error }
	cj, err := cronjob.New(cronjob.Config{Client: c.Client, Informers: factory, Clock: clk, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	jc, err := job.New(job.Config{Client: c.Client, Informers: factory, Clock: clk, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ttl, err := ttlafterfinished.New(ttlafterfinished.Config{Client: c.Client, Informers: factory, Clock: clk, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	runners = append(runners, cj, jc, ttl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, len(runners))
	factory.Start(ctx.Done())
	for _, r := range runners {
		go func() { done <- r.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range runners {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
		factory.Shutdown()
	})
	ns, err := c.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cron-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{client: c.Client, clock: clk, ns: ns.Name}

	cronJob := e.createCronJob(t, "pipeline", func(cj *batchv1.CronJob) {
		cj.Spec.JobTemplate.Spec.TTLSecondsAfterFinished = ptr.To[int32](600)
	})
	first := firstMinute(cronJob)
	e.setTime(first)
	j := e.waitJob(t, jobName(cronJob, first))

	// Play kubelet for the Job's pod.
	var pod corev1.Pod
	err = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		l, err := c.Client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + j.Name})
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		pod = l.Items[0]
		return true, nil
	})
	if err != nil {
		t.Fatalf("no pod for job %s: %v", j.Name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := c.Client.CoreV1().Pods(ns.Name).Get(t.Context(), pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Status.Phase = corev1.PodSucceeded
		_, err = c.Client.CoreV1().Pods(ns.Name).UpdateStatus(t.Context(), p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitCronJob(t, cronJob.Name, "job seen complete", func(cj *batchv1.CronJob) bool {
		return len(cj.Status.Active) == 0 && cj.Status.LastSuccessfulTime != nil
	})
	if !got.Status.LastScheduleTime.Time.Equal(first) {
		t.Errorf("lastScheduleTime %v, want %v", got.Status.LastScheduleTime, first)
	}
	// Ten minutes later the Job is gone; its TTL outlives the schedule, so
	// newer Jobs exist by then.
	e.setTime(first.Add(11 * time.Minute))
	e.waitJobGone(t, j.Name)
}
