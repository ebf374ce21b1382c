package disruption

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStaleDisruption(t *testing.T) {
	cond := func(status corev1.ConditionStatus, reason string, age time.Duration) podOpt {
		return func(p *corev1.Pod) {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
				Type: corev1.DisruptionTarget, Status: status, Reason: reason, LastTransitionTime: metav1.NewTime(now.Add(-age)),
			})
		}
	}
	failed := func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }
	for _, tc := range []struct {
		name      string
		pod       *corev1.Pod
		wantStale bool
		wantAfter time.Duration
	}{
		{name: "no condition", pod: mkPod("a", ready)},
		{name: "fresh eviction", pod: mkPod("a", cond(corev1.ConditionTrue, "EvictionByEvictionAPI", 30*time.Second)), wantStale: true, wantAfter: StalePodDisruptionTimeout - 30*time.Second},
		{name: "old eviction", pod: mkPod("a", cond(corev1.ConditionTrue, "EvictionByEvictionAPI", time.Hour)), wantStale: true},
		{name: "already false", pod: mkPod("a", cond(corev1.ConditionFalse, "", time.Hour))},
		{name: "set by the kubelet", pod: mkPod("a", cond(corev1.ConditionTrue, corev1.PodReasonTerminationByKubelet, time.Hour))},
		{name: "being deleted", pod: mkPod("a", deleting, cond(corev1.ConditionTrue, "DeletionByTaintManager", time.Hour))},
		{name: "finished", pod: mkPod("a", failed, cond(corev1.ConditionTrue, "DeletionByPodGC", time.Hour))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stale, after := staleDisruption(tc.pod, now)
			if stale != tc.wantStale || after != tc.wantAfter {
				t.Errorf("got %v after %v, want %v after %v", stale, after, tc.wantStale, tc.wantAfter)
			}
		})
	}
}
