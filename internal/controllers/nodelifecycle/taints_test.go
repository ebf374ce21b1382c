package nodelifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func nodeWith(ready corev1.ConditionStatus, unschedulable bool, taints ...corev1.Taint) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{Unschedulable: unschedulable, Taints: taints}}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}
	}
	return n
}

func taintString(ts []corev1.Taint) []string {
	var out []string
	for _, t := range ts {
		s := t.ToString()
		if t.TimeAdded != nil {
			s += "@" + t.TimeAdded.UTC().Format(time.TimeOnly)
		}
		out = append(out, s)
	}
	return out
}

func TestReconcileTaints(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	custom := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name        string
		node        *corev1.Node
		want        []string
		wantChanged bool
	}{
		{"ready node: nothing", nodeWith(corev1.ConditionTrue, false), nil, false},
		{"no Ready condition yet: nothing", nodeWith("", false), nil, false},
		{"unknown: unreachable NoSchedule and NoExecute with timeAdded", nodeWith(corev1.ConditionUnknown, false),
			[]string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute@10:00:00"}, true},
		{"not ready: not-ready taints", nodeWith(corev1.ConditionFalse, false),
			[]string{"node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute@10:00:00"}, true},
		{"unknown to not ready swaps the taints", nodeWith(corev1.ConditionFalse, false,
			corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule},
			corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &earlier}),
			[]string{"node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute@10:00:00"}, true},
		{"existing taints keep their timeAdded", nodeWith(corev1.ConditionUnknown, false,
			corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &earlier},
			corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule}),
			[]string{"node.kubernetes.io/unreachable:NoExecute@09:00:00", "node.kubernetes.io/unreachable:NoSchedule"}, false},
		{"ready again: removed, other taints kept", nodeWith(corev1.ConditionTrue, false, custom,
			corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &earlier},
			corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule},
			corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectPreferNoSchedule}),
			[]string{"dedicated=gpu:NoSchedule", "node.kubernetes.io/unreachable:PreferNoSchedule"}, true},
		{"cordoned", nodeWith(corev1.ConditionTrue, true), []string{"node.kubernetes.io/unschedulable:NoSchedule"}, true},
		{"uncordoned", nodeWith(corev1.ConditionTrue, false, corev1.Taint{Key: TaintUnschedulable, Effect: corev1.TaintEffectNoSchedule}), nil, true},
		{"pressure", func() *corev1.Node {
			n := nodeWith(corev1.ConditionTrue, false)
			n.Status.Conditions = append(n.Status.Conditions,
				corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue},
				corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse},
				corev1.NodeCondition{Type: corev1.NodePIDPressure, Status: corev1.ConditionTrue},
				corev1.NodeCondition{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue})
			return n
		}(), []string{"node.kubernetes.io/memory-pressure:NoSchedule", "node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/network-unavailable:NoSchedule"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := reconcileTaints(tt.node, now)
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if g := taintString(got); len(g) != len(tt.want) || (len(g) > 0 && !equalStrings(g, tt.want)) {
				t.Errorf("taints = %v, want %v", g, tt.want)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEvictionTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	added := metav1.NewTime(now.Add(-100 * time.Second))
	unreachable := corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	notReady := corev1.Taint{Key: TaintNotReady, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	noTime := corev1.Taint{Key: "example.com/drain", Effect: corev1.TaintEffectNoExecute}
	tol := func(key string, secs *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs}
	}
	firstSeen := now.Add(-10 * time.Second)
	tests := []struct {
		name   string
		tols   []corev1.Toleration
		taints []corev1.Taint
		want   time.Duration // from now
		evict  bool
	}{
		{"no tolerations: now", nil, []corev1.Taint{unreachable}, 0, true},
		{"other taint tolerated only: now", []corev1.Toleration{tol(TaintNotReady, nil)}, []corev1.Taint{unreachable}, 0, true},
		{"tolerated for ever", []corev1.Toleration{tol(TaintUnreachable, nil)}, []corev1.Taint{unreachable}, 0, false},
		{"300s from timeAdded", []corev1.Toleration{tol(TaintUnreachable, ptr.To[int64](300))}, []corev1.Taint{unreachable}, 200 * time.Second, true},
		{"already past", []corev1.Toleration{tol(TaintUnreachable, ptr.To[int64](60))}, []corev1.Taint{unreachable}, -40 * time.Second, true},
		{"zero seconds: now", []corev1.Toleration{tol(TaintUnreachable, ptr.To[int64](0))}, []corev1.Taint{unreachable}, 0, true},
		{"smallest of the used tolerations", []corev1.Toleration{tol(TaintUnreachable, nil), tol(TaintUnreachable, ptr.To[int64](500)), tol(TaintNotReady, ptr.To[int64](150))},
			[]corev1.Taint{unreachable, notReady}, 50 * time.Second, true},
		{"unused tolerations do not count", []corev1.Toleration{tol(TaintUnreachable, ptr.To[int64](300)), tol(TaintNotReady, ptr.To[int64](1))},
			[]corev1.Taint{unreachable}, 200 * time.Second, true},
		{"wildcard toleration", []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, []corev1.Taint{unreachable, notReady}, 0, false},
		{"NoSchedule toleration does not tolerate NoExecute", []corev1.Toleration{{Key: TaintUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			[]corev1.Taint{unreachable}, 0, true},
		{"taint without timeAdded counts from first seen", []corev1.Toleration{tol("example.com/drain", ptr.To[int64](30))}, []corev1.Taint{noTime}, 20 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, evict := evictionTime(tt.tols, tt.taints, now, func(t corev1.Taint) time.Time {
				if t.TimeAdded != nil {
					return t.TimeAdded.Time
				}
				return firstSeen
			})
			if evict != tt.evict {
				t.Fatalf("evict = %v, want %v", evict, tt.evict)
			}
			if evict && at.Sub(now) != tt.want {
				t.Errorf("eviction in %v, want %v", at.Sub(now), tt.want)
			}
		})
	}
}

func TestSetUnknown(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-time.Hour))
	before := metav1.NewTime(now.Add(-time.Minute))
	st := corev1.NodeStatus{Conditions: []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: before, LastTransitionTime: before},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionUnknown, Reason: "Other", LastTransitionTime: before},
	}}
	if !setUnknown(&st, created, now) {
		t.Fatal("nothing changed")
	}
	want := map[corev1.NodeConditionType]struct {
		reason, message string
		transition      time.Time
		heartbeat       time.Time
	}{
		corev1.NodeReady:          {reasonUnknown, messageUnknown, now, before.Time},
		corev1.NodeMemoryPressure: {"Other", "", before.Time, time.Time{}},
		corev1.NodeDiskPressure:   {reasonNeverUpdated, messageNeverUpdated, now, created.Time},
		corev1.NodePIDPressure:    {reasonNeverUpdated, messageNeverUpdated, now, created.Time},
	}
	if len(st.Conditions) != 4 {
		t.Fatalf("conditions: %+v", st.Conditions)
	}
	for _, c := range st.Conditions {
		w := want[c.Type]
		if c.Status != corev1.ConditionUnknown || c.Reason != w.reason || c.Message != w.message ||
			!c.LastTransitionTime.Time.Equal(w.transition) || !c.LastHeartbeatTime.Time.Equal(w.heartbeat) {
			t.Errorf("%s: %+v", c.Type, c)
		}
	}
	if setUnknown(&st, created, now) {
		t.Error("second call changed something")
	}
}
