package daemonset

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/history"
)

func TestShouldRun(t *testing.T) {
	node := func(labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	taint := func(key string, effect corev1.TaintEffect) corev1.Taint {
		return corev1.Taint{Key: key, Value: "v", Effect: effect}
	}
	tests := []struct {
		name      string
		node      *corev1.Node
		spec      corev1.PodSpec
		run, keep bool
	}{
		{name: "plain node", node: node(nil), run: true, keep: true},
		{name: "node selector matches", node: node(map[string]string{"disk": "ssd"}), spec: corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}}, run: true, keep: true},
		{name: "node selector misses", node: node(nil), spec: corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}}},
		{name: "required affinity misses", node: node(map[string]string{"zone": "a"}), spec: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"b"}}},
			}}},
		}}}},
		{name: "other nodeName", node: node(nil), spec: corev1.PodSpec{NodeName: "n2"}},
		{name: "NoSchedule taint: not placed, may stay", node: node(nil, taint("dedicated", corev1.TaintEffectNoSchedule)), keep: true},
		{name: "NoExecute taint: must go", node: node(nil, taint("dedicated", corev1.TaintEffectNoExecute))},
		{name: "PreferNoSchedule ignored", node: node(nil, taint("dedicated", corev1.TaintEffectPreferNoSchedule)), run: true, keep: true},
		{name: "tolerated taint", node: node(nil, taint("dedicated", corev1.TaintEffectNoSchedule)),
			spec: corev1.PodSpec{Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}}, run: true, keep: true},
		{name: "cordoned node tolerated", node: node(nil, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}), run: true, keep: true},
		{name: "not-ready node tolerated", node: node(nil, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}), run: true, keep: true},
		{name: "network unavailable, pod network", node: node(nil, corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}), keep: true},
		{name: "network unavailable, host network", node: node(nil, corev1.Taint{Key: corev1.TaintNodeNetworkUnavailable, Effect: corev1.TaintEffectNoSchedule}),
			spec: corev1.PodSpec{HostNetwork: true}, run: true, keep: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: tc.spec}}}
			run, keep := shouldRun(tc.node, ds)
			if run != tc.run || keep != tc.keep {
				t.Errorf("shouldRun = %v, %v; want %v, %v", run, keep, tc.run, tc.keep)
			}
		})
	}
}

func TestPinToNode(t *testing.T) {
	zoneA := corev1.NodeSelectorRequirement{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}
	pinned := func(node string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}
	}
	tests := []struct {
		name string
		in   *corev1.Affinity
		want []corev1.NodeSelectorTerm
	}{
		{name: "no affinity", want: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{pinned("n1")}}}},
		{name: "label terms kept", in: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{zoneA}}}}}},
			want: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{zoneA}, MatchFields: []corev1.NodeSelectorRequirement{pinned("n1")}}}},
		{name: "existing node-name term replaced", in: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{pinned("old")}}}}}},
			want: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{pinned("n1")}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := pinToNode(tc.in, "n1").NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
			if len(got) != len(tc.want) {
				t.Fatalf("terms = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if len(got[i].MatchFields) != len(tc.want[i].MatchFields) || len(got[i].MatchExpressions) != len(tc.want[i].MatchExpressions) ||
					got[i].MatchFields[len(got[i].MatchFields)-1].Values[0] != "n1" {
					t.Errorf("term %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			pod := &corev1.Pod{Spec: corev1.PodSpec{Affinity: pinToNode(tc.in, "n1")}}
			if n, err := targetNode(pod); err != nil || n != "n1" {
				t.Errorf("targetNode = %q, %v", n, err)
			}
		})
	}
}

func TestAddDaemonTolerations(t *testing.T) {
	spec := corev1.PodSpec{Tolerations: []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		{Key: "mine", Operator: corev1.TolerationOpExists},
	}}
	addDaemonTolerations(&spec)
	addDaemonTolerations(&spec) // idempotent
	if len(spec.Tolerations) != 7 {
		t.Fatalf("%d tolerations, want 7: %+v", len(spec.Tolerations), spec.Tolerations)
	}
	if spec.Tolerations[0].TolerationSeconds != nil {
		t.Errorf("not-ready toleration keeps tolerationSeconds %d", *spec.Tolerations[0].TolerationSeconds)
	}
}

// TestPodsForNode covers the per-node decisions of manage.
func TestPodsForNode(t *testing.T) {
	now := time.Now()
	clk := clocktesting.NewFakeClock(now)
	c := &Controller{cfg: Config{Clock: clk}, backoff: flowcontrol.NewFakeBackOff(time.Second, time.Minute, clk), queue: nil}
	ready := func(name, hash string, age time.Duration, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{history.HashLabel: hash}, CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Spec:       corev1.PodSpec{NodeName: "n1"},
			Status: corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-age))}}},
		}
	}
	notReady := func(p *corev1.Pod) *corev1.Pod { p.Status.Conditions[0].Status = corev1.ConditionFalse; return p }
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	tainted := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute}}}}
	surge := &appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxSurge: ptr.To(intstr.FromInt32(1))}}
	tests := []struct {
		name     string
		node     *corev1.Node
		strategy *appsv1.DaemonSetUpdateStrategy
		pods     []*corev1.Pod
		create   bool
		del      []string
	}{
		{name: "no pod", node: node, create: true},
		{name: "one pod", node: node, pods: []*corev1.Pod{ready("a", "h2", time.Minute, corev1.PodRunning)}},
		{name: "duplicates: keep oldest", node: node, pods: []*corev1.Pod{ready("young", "h2", time.Second, corev1.PodRunning), ready("old", "h2", time.Hour, corev1.PodRunning)}, del: []string{"young"}},
		{name: "failed pod deleted", node: node, pods: []*corev1.Pod{ready("a", "h2", time.Minute, corev1.PodFailed)}, del: []string{"a"}},
		{name: "succeeded pod deleted", node: node, pods: []*corev1.Pod{ready("a", "h2", time.Minute, corev1.PodSucceeded)}, del: []string{"a"}},
		{name: "untolerated NoExecute", node: tainted, pods: []*corev1.Pod{ready("a", "h2", time.Minute, corev1.PodRunning)}, del: []string{"a"}},
		{name: "surge: new available, old goes", node: node, strategy: surge,
			pods: []*corev1.Pod{ready("old", "h1", time.Hour, corev1.PodRunning), ready("new", "h2", time.Minute, corev1.PodRunning)}, del: []string{"old"}},
		{name: "surge: new not ready, both stay", node: node, strategy: surge,
			pods: []*corev1.Pod{ready("old", "h1", time.Hour, corev1.PodRunning), notReady(ready("new", "h2", time.Minute, corev1.PodRunning))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: "ns"}}
			if tc.strategy != nil {
				ds.Spec.UpdateStrategy = *tc.strategy
			}
			c.recorder = record.NewFakeRecorder(10)
			create, del := c.podsForNode(tc.node, tc.pods, ds, "h2")
			if create != tc.create || len(del) != len(tc.del) {
				t.Fatalf("podsForNode = %v, %v; want %v, %v", create, del, tc.create, tc.del)
			}
			for i := range del {
				if del[i] != tc.del[i] {
					t.Errorf("delete %v, want %v", del, tc.del)
				}
			}
		})
	}
}
