package replicaset

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func mkPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(t0), Labels: map[string]string{"app": "web"}}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func onNode(n string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}
func readyAt(t time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t)})
	}
}
func restartCount(n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{RestartCount: n})
	}
}
func created(t time.Time) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t) }
}
func cost(v string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{PodDeletionCostAnnotation: v} }
}

func TestDeleteFirst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first *corev1.Pod // deleted first
		then  *corev1.Pod
	}{
		{"unassigned before assigned", mkPod("a"), mkPod("b", onNode("n1"))},
		{"pending before unknown", mkPod("a", onNode("n"), phase(corev1.PodPending)), mkPod("b", onNode("n2"), phase(corev1.PodUnknown))},
		{"unknown before running", mkPod("a", onNode("n"), phase(corev1.PodUnknown)), mkPod("b", onNode("n2"), phase(corev1.PodRunning))},
		{"not ready before ready", mkPod("a", onNode("n"), phase(corev1.PodRunning)), mkPod("b", onNode("n2"), phase(corev1.PodRunning), readyAt(t0))},
		{"lower deletion cost first", mkPod("a", onNode("n"), phase(corev1.PodRunning), readyAt(t0), cost("-5")), mkPod("b", onNode("n2"), phase(corev1.PodRunning), readyAt(t0.Add(time.Hour)))},
		{"ready for shorter time first", mkPod("a", onNode("n"), phase(corev1.PodRunning), readyAt(t0.Add(time.Minute))), mkPod("b", onNode("n2"), phase(corev1.PodRunning), readyAt(t0))},
		{"more restarts first", mkPod("a", onNode("n"), phase(corev1.PodRunning), readyAt(t0), restartCount(3)), mkPod("b", onNode("n2"), phase(corev1.PodRunning), readyAt(t0), restartCount(1))},
		{"newer first", mkPod("a", onNode("n"), created(t0.Add(time.Second))), mkPod("b", onNode("n2"), created(t0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := rankedPod{pod: tc.first, colocated: 1}, rankedPod{pod: tc.then, colocated: 1}
			if !deleteFirst(a, b) {
				t.Errorf("%s should be deleted before %s", tc.first.Name, tc.then.Name)
			}
			if deleteFirst(b, a) {
				t.Errorf("%s should not be deleted before %s", tc.then.Name, tc.first.Name)
			}
		})
	}
}

func TestPodsToDelete(t *testing.T) {
	pods := []*corev1.Pod{
		mkPod("running-ready", onNode("n1"), phase(corev1.PodRunning), readyAt(t0)),
		mkPod("pending", onNode("n2"), phase(corev1.PodPending)),
		mkPod("unassigned"),
		mkPod("running", onNode("n3"), phase(corev1.PodRunning)),
		// Two on n4: one of them goes before the lone ready pod on n1.
		mkPod("doubled-1", onNode("n4"), phase(corev1.PodRunning), readyAt(t0.Add(-time.Hour))),
		mkPod("doubled-2", onNode("n4"), phase(corev1.PodRunning), readyAt(t0.Add(-2*time.Hour))),
	}
	got := podsToDelete(pods, 5)
	want := []string{"unassigned", "pending", "running", "doubled-1", "doubled-2"}
	for i, p := range got {
		if p.Name != want[i] {
			t.Fatalf("deletion order: got %v, want %v", names(got), want)
		}
	}
	if n := len(podsToDelete(pods, 10)); n != len(pods) {
		t.Errorf("asking for more than there are: got %d pods", n)
	}
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestCalculateStatus(t *testing.T) {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Generation: 4},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To[int32](4),
			MinReadySeconds: 10,
			Template:        corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "fe"}}},
		},
	}
	now := t0.Add(time.Minute)
	full := func(p *corev1.Pod) { p.Labels["tier"] = "fe" }
	pods := []*corev1.Pod{
		mkPod("available", full, readyAt(now.Add(-time.Minute))),
		mkPod("ready-4s", full, readyAt(now.Add(-4*time.Second))),
		mkPod("ready-7s", readyAt(now.Add(-7*time.Second))),
		mkPod("not-ready", full),
	}
	for _, tc := range []struct {
		name       string
		pods       []*corev1.Pod
		err        error
		prior      []appsv1.ReplicaSetCondition
		want       appsv1.ReplicaSetStatus
		wantNext   time.Duration
		wantReason string
	}{
		{
			name:     "counts",
			pods:     pods,
			want:     appsv1.ReplicaSetStatus{Replicas: 4, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 1, ObservedGeneration: 4, TerminatingReplicas: ptr.To[int32](2)},
			wantNext: 3 * time.Second,
		},
		{
			name:       "create failure",
			pods:       pods[:1],
			err:        errors.New("quota exceeded"),
			want:       appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 4, TerminatingReplicas: ptr.To[int32](2)},
			wantReason: "FailedCreate",
		},
		{
			name:  "failure cleared",
			pods:  pods[:1],
			prior: []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate"}},
			want:  appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 4, TerminatingReplicas: ptr.To[int32](2)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := rs.DeepCopy()
			rs.Status.Conditions = tc.prior
			got, next := calculateStatus(rs, tc.pods, 2, tc.err, now)
			conds := got.Conditions
			got.Conditions = nil
			if !statusEqual(&got, &tc.want) {
				t.Errorf("status: got %+v, want %+v", got, tc.want)
			}
			if next != tc.wantNext {
				t.Errorf("next available in %v, want %v", next, tc.wantNext)
			}
			switch {
			case tc.wantReason == "" && len(conds) != 0:
				t.Errorf("conditions: got %+v, want none", conds)
			case tc.wantReason != "" && (len(conds) != 1 || conds[0].Type != appsv1.ReplicaSetReplicaFailure || conds[0].Reason != tc.wantReason || conds[0].Message != tc.err.Error()):
				t.Errorf("conditions: got %+v, want ReplicaFailure %s", conds, tc.wantReason)
			}
		})
	}
}

func TestCountsChanged(t *testing.T) {
	base := mkPod("p", phase(corev1.PodPending))
	for _, tc := range []struct {
		name string
		cur  *corev1.Pod
		want bool
	}{
		{"bound", mkPod("p", phase(corev1.PodPending), onNode("n1")), false},
		{"running, not ready", mkPod("p", phase(corev1.PodRunning), onNode("n1")), false},
		{"ready", mkPod("p", phase(corev1.PodRunning), readyAt(t0)), true},
		{"failed", mkPod("p", phase(corev1.PodFailed)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := countsChanged(base, tc.cur); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	ready := mkPod("p", readyAt(t0))
	if !countsChanged(ready, mkPod("p", readyAt(t0.Add(time.Minute)))) {
		t.Error("ready again since a later time should count (availability restarts)")
	}
	if countsChanged(ready, mkPod("p", readyAt(t0), restartCount(1))) {
		t.Error("a restart count alone should not count")
	}
}
