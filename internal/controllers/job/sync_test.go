package job

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// One sync takes a finished pod all the way: recorded as uncounted,
// finalizer removed, counted, with the replacement created in the same
// pass. The caches are filled by hand; the fake clientset takes the writes.
func TestSyncCountsInOnePass(t *testing.T) {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "j", UID: "job-uid", ResourceVersion: "1"},
		Spec: batchv1.JobSpec{
			Completions:  ptr.To[int32](2),
			Parallelism:  ptr.To[int32](1),
			BackoffLimit: ptr.To[int32](6),
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"job": "j"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"job": "j"}},
				Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "i"}}},
			},
		},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "j-done", UID: "pod-uid", Labels: map[string]string{"job": "j"},
			Finalizers:      []string{batchv1.JobTrackingFinalizer},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, controllerKind)}},
		Status: corev1.PodStatus{Phase: corev1.PodSucceeded},
	}
	client := fake.NewClientset(job, pod)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Informers: factory, Clock: clocktesting.NewFakeClock(time.Now()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c.recorder = record.NewFakeRecorder(100)
	c.podControl = controllerutil.PodControl{Client: client, Recorder: c.recorder}
	if err := factory.Batch().V1().Jobs().Informer().GetIndexer().Add(job); err != nil {
		t.Fatal(err)
	}
	if err := factory.Core().V1().Pods().Informer().GetIndexer().Add(pod); err != nil {
		t.Fatal(err)
	}

	if err := c.syncJob(context.Background(), "ns/j"); err != nil {
		t.Fatal(err)
	}
	got, err := client.BatchV1().Jobs("ns").Get(context.Background(), "j", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u := got.Status.UncountedTerminatedPods
	if got.Status.Succeeded != 1 || u == nil || len(u.Succeeded)+len(u.Failed) != 0 {
		t.Errorf("status after one sync: succeeded %d, uncounted %+v; want 1 and none", got.Status.Succeeded, u)
	}
	if got.Status.Active != 1 || got.Status.StartTime == nil {
		t.Errorf("active %d startTime %v, want 1 and set", got.Status.Active, got.Status.StartTime)
	}
	p, err := client.CoreV1().Pods("ns").Get(context.Background(), "j-done", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Finalizers) != 0 {
		t.Errorf("finalizers left: %v", p.Finalizers)
	}
	pods, err := client.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Errorf("%d pods, want the finished one and its successor", len(pods.Items))
	}
}
