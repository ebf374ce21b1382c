package ttlafterfinished_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/ttlafterfinished"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const timeout = 30 * time.Second

func TestDeletesFinishedJobsAfterTTL(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	ctx := t.Context()
	client := c.Client
	clk := clocktesting.NewFakeClock(time.Now())

	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ttl-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobs := client.BatchV1().Jobs(ns.Name)
	// finishedJob creates a job and marks it finished (as the job
	// controller would) at the fake clock's now.
	finishedJob := func(name string, ttl *int32, condType batchv1.JobConditionType) *batchv1.Job {
		t.Helper()
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.JobSpec{
				TTLSecondsAfterFinished: ttl,
				Suspend:                 ptr.To(true),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
				}},
			},
		}
		j, err := jobs.Create(ctx, j, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := metav1.NewTime(clk.Now())
		j.Status.StartTime = &now
		j.Status.Conditions = []batchv1.JobCondition{{Type: condType, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now}}
		if condType == batchv1.JobComplete {
			j.Status.CompletionTime = &now
		}
		j, err = jobs.UpdateStatus(ctx, j, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	later := finishedJob("later", ptr.To[int32](100), batchv1.JobComplete)
	// A pod of "later" with a finalizer of its own keeps the foreground
	// deletion visible.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "later-pod", Finalizers: []string{"test/hold"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: later.Name, UID: later.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := client.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	finishedJob("now", ptr.To[int32](0), batchv1.JobFailed)
	finishedJob("forever", nil, batchv1.JobComplete)

	factory := informers.NewSharedInformerFactory(client, 0)
	ctrl, err := ttlafterfinished.New(ttlafterfinished.Config{Client: client, Informers: factory, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	factory.Start(runCtx.Done())
	go func() { done <- ctrl.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		factory.Shutdown()
	})

	gone := func(name string) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			_, err := jobs.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		}
	}
	// A TTL of 0 is due at once.
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, gone("now")); err != nil {
		t.Fatalf("job with ttl 0 not deleted: %v", err)
	}
	clk.Step(99 * time.Second)
	for _, name := range []string{"later", "forever"} {
		if j, err := jobs.Get(ctx, name, metav1.GetOptions{}); err != nil || j.DeletionTimestamp != nil {
			t.Fatalf("job %s deleted before its TTL: %v", name, err)
		}
	}
	// Past the TTL: deleted in the foreground, so it waits for its pod.
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		clk.Step(time.Second)
		j, err := jobs.Get(ctx, later.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return j.DeletionTimestamp != nil, nil
	})
	if err != nil {
		t.Fatalf("job not deleted after its TTL: %v", err)
	}
	j, err := jobs.Get(ctx, later.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(j.Finalizers, metav1.FinalizerDeleteDependents) {
		t.Errorf("job deleted without foreground propagation: finalizers %v", j.Finalizers)
	}
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := client.CoreV1().Pods(ns.Name).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, gone(later.Name)); err != nil {
		t.Fatalf("job not gone after its pod: %v", err)
	}
	if _, err := jobs.Get(ctx, "forever", metav1.GetOptions{}); err != nil {
		t.Errorf("job without TTL: %v", err)
	}
}
