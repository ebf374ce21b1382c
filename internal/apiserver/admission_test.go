package apiserver_test

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

func TestDefaultTolerationSeconds(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx := context.Background()
	mk := func(name string, tols ...corev1.Toleration) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			Containers:  []corev1.Container{{Name: "c", Image: "busybox"}},
			Tolerations: tols,
		}}
		got, err := c.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	find := func(p *corev1.Pod, key string) []corev1.Toleration {
		var out []corev1.Toleration
		for _, tol := range p.Spec.Tolerations {
			if tol.Key == key {
				out = append(out, tol)
			}
		}
		return out
	}

	plain := mk("plain")
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		got := find(plain, key)
		if len(got) != 1 || got[0].Operator != corev1.TolerationOpExists || got[0].Effect != corev1.TaintEffectNoExecute ||
			got[0].TolerationSeconds == nil || *got[0].TolerationSeconds != 300 {
			t.Errorf("%s tolerations = %+v, want one Exists/NoExecute for 300s", key, got)
		}
	}

	own := mk("own", corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](5)})
	if got := find(own, corev1.TaintNodeUnreachable); len(got) != 1 || *got[0].TolerationSeconds != 5 {
		t.Errorf("the pod's own unreachable toleration was changed: %+v", got)
	}
	if got := find(own, corev1.TaintNodeNotReady); len(got) != 1 {
		t.Errorf("not-ready toleration missing: %+v", own.Spec.Tolerations)
	}

	all := mk("all", corev1.Toleration{Operator: corev1.TolerationOpExists})
	if len(all.Spec.Tolerations) != 1 {
		t.Errorf("a pod tolerating everything got extra tolerations: %+v", all.Spec.Tolerations)
	}
}

func TestJobSelectorGenerated(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi"}, Spec: batchv1.JobSpec{
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "pi", Image: "perl"}},
		}},
	}}
	got, err := c.Client.BatchV1().Jobs("default").Create(context.Background(), job, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := string(got.UID)
	if got.Spec.Selector == nil || got.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"] != uid {
		t.Fatalf("selector = %+v, want controller-uid %s", got.Spec.Selector, uid)
	}
	want := map[string]string{"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid, "batch.kubernetes.io/job-name": "pi", "job-name": "pi"}
	for k, v := range want {
		if got.Spec.Template.Labels[k] != v {
			t.Errorf("template label %s = %q, want %q", k, got.Spec.Template.Labels[k], v)
		}
	}

	// A selector given without manualSelector gets the generated key added,
	// as upstream, so the Job still selects only its own pods.
	own := job.DeepCopy()
	own.Name = "own"
	own.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
	own.Spec.Template.Labels = map[string]string{"app": "x"}
	got, err = c.Client.BatchV1().Jobs("default").Create(context.Background(), own, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := got.Spec.Selector.MatchLabels; m["app"] != "x" || m["batch.kubernetes.io/controller-uid"] != string(got.UID) {
		t.Errorf("selector = %v, want app=x and the controller-uid", m)
	}
}

func TestDaemonSetTemplateGeneration(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx := context.Background()
	labels := map[string]string{"app": "agent"}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"}, Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "busybox"}}}},
	}}
	got, err := c.Client.AppsV1().DaemonSets("default").Create(ctx, ds, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const key = "deprecated.daemonset.template.generation"
	if got.Annotations[key] != "1" {
		t.Fatalf("created: %s = %q, want 1", key, got.Annotations[key])
	}
	got.Spec.MinReadySeconds = 5 // not the template
	if got, err = c.Client.AppsV1().DaemonSets("default").Update(ctx, got, metav1.UpdateOptions{}); err != nil || got.Annotations[key] != "1" {
		t.Fatalf("non-template change: %v %q", err, got.Annotations[key])
	}
	got.Spec.Template.Spec.Containers[0].Image = "busybox:2"
	if got, err = c.Client.AppsV1().DaemonSets("default").Update(ctx, got, metav1.UpdateOptions{}); err != nil || got.Annotations[key] != "2" {
		t.Fatalf("template change: %v %q", err, got.Annotations[key])
	}
}
