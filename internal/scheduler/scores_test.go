package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		fn   func([]int64)
		in   []int64
		want []int64
	}{
		{"fewer is better", normalizeFewerIsBetter, []int64{10, 9, 9}, []int64{0, 100, 100}},
		{"fewer is better, equal", normalizeFewerIsBetter, []int64{3, 3}, []int64{100, 100}},
		{"more is better", normalizeMoreIsBetter, []int64{0, 5, 10}, []int64{0, 50, 100}},
		{"more is better, all zero", normalizeMoreIsBetter, []int64{0, 0}, []int64{0, 0}},
		{"reverse", normalizeReverse, []int64{0, 1, 2}, []int64{100, 50, 0}},
		{"reverse, no taints", normalizeReverse, []int64{0, 0}, []int64{100, 100}},
		{"min-max with negatives", normalizeMinMax, []int64{-10, 0, 10}, []int64{0, 50, 100}},
		{"spread ignores unlabeled", normalizeSpread, []int64{-1, 2, 4}, []int64{0, 100, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Clone(tt.in)
			tt.fn(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%v → %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestScorers(t *testing.T) {
	tests := []struct {
		name  string
		score func(*cycleState, *NodeInfo) int64
		node  *corev1.Node
		on    []*corev1.Pod // already on the node
		pod   *corev1.Pod
		want  int64
	}{
		{"least allocated, empty node", scoreLeastAllocated, testNode("n"), nil, mkPod("p", requests("1", "4Gi")), (75 + 75) / 2},
		{"least allocated, zero requests count as defaults", scoreLeastAllocated, testNode("n"), nil, mkPod("p"), (97 + 98) / 2},
		{"least allocated, half used", scoreLeastAllocated, testNode("n"), []*corev1.Pod{mkPod("a", requests("1", "4Gi"))}, mkPod("p", requests("1", "4Gi")), 50},
		{"balanced, equal fractions", scoreBalanced, testNode("n"), nil, mkPod("p", requests("1", "4Gi")), 100},
		{"balanced, cpu only", scoreBalanced, testNode("n"), nil, mkPod("p", requests("2", "1")), 75},
		{"group spread counts the owner's pods", scoreGroupSpread, testNode("n"),
			[]*corev1.Pod{mkPod("a", ownedBy("rs1")), mkPod("b", ownedBy("rs1")), mkPod("c", ownedBy("rs2"))}, mkPod("p", ownedBy("rs1")), 2},
		{"untolerated PreferNoSchedule", scorePreferNoSchedule, testNode("n", withTaint("a", "", corev1.TaintEffectPreferNoSchedule), withTaint("b", "", corev1.TaintEffectPreferNoSchedule)),
			nil, mkPod("p", tolerate("a", "")), 1},
		{"preferred node affinity", scoreNodeAffinity, testNode("n", nodeLabels("disk", "ssd")), nil, mkPod("p", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
				{Weight: 30, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}},
				{Weight: 5, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "gpu", Operator: corev1.NodeSelectorOpExists}}}},
			}}}
		}), 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeCluster(t, tt.node)
			for _, p := range tt.on {
				c.place(p, tt.node.Name)
			}
			c.cache.mu.Lock()
			defer c.cache.mu.Unlock()
			st := c.state(tt.pod)
			if got := tt.score(st, c.cache.nodes[tt.node.Name]); got != tt.want {
				t.Errorf("score %d, want %d", got, tt.want)
			}
		})
	}
}

// Placement tests: the weighted sum picks what upstream would.
func TestPlacement(t *testing.T) {
	const zone = "topology.kubernetes.io/zone"
	tests := []struct {
		name   string
		nodes  []*corev1.Node
		on     map[string][]*corev1.Pod
		pod    *corev1.Pod
		want   string
		repeat int // times to schedule a fresh copy (default 1); each must land on want
	}{
		{name: "least allocated", nodes: []*corev1.Node{testNode("busy"), testNode("idle")},
			on: map[string][]*corev1.Pod{"busy": {mkPod("a", requests("3", "12Gi"))}}, pod: mkPod("p", requests("100m", "100Mi")), want: "idle", repeat: 5},
		{name: "PreferNoSchedule avoided", nodes: []*corev1.Node{testNode("soft", withTaint("x", "", corev1.TaintEffectPreferNoSchedule)), testNode("plain")},
			pod: mkPod("p"), want: "plain", repeat: 5},
		{name: "preferred node affinity", nodes: []*corev1.Node{testNode("a"), testNode("b", nodeLabels("disk", "ssd")), testNode("c")},
			pod: mkPod("p", func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
					{Weight: 50, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}},
				}}}
			}), want: "b", repeat: 5},
		{name: "preferred pod affinity", nodes: []*corev1.Node{testNode("a"), testNode("b"), testNode("c")},
			on: map[string][]*corev1.Pod{"c": {mkPod("cache", podLabels("app", "cache"))}},
			pod: mkPod("p", func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
					Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}}, TopologyKey: corev1.LabelHostname},
				}}}}
			}), want: "c", repeat: 3},
		{name: "preferred pod anti-affinity", nodes: []*corev1.Node{testNode("a"), testNode("b")},
			on: map[string][]*corev1.Pod{"a": {mkPod("noisy", podLabels("app", "noisy"))}},
			pod: mkPod("p", func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
					Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "noisy"}}, TopologyKey: corev1.LabelHostname},
				}}}}
			}), want: "b", repeat: 3},
		{name: "topology spread ScheduleAnyway", nodes: []*corev1.Node{testNode("a1", nodeLabels(zone, "a")), testNode("a2", nodeLabels(zone, "a")), testNode("b1", nodeLabels(zone, "b"))},
			on:  map[string][]*corev1.Pod{"a1": {mkPod("w1", podLabels("app", "web"))}, "a2": {mkPod("w2", podLabels("app", "web"))}},
			pod: mkPod("p", podLabels("app", "web"), spreadConstraintOn(zone, 1, corev1.ScheduleAnyway, "web")), want: "b1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeCluster(t, tt.nodes...)
			for n, pods := range tt.on {
				for _, p := range pods {
					c.place(p, n)
				}
			}
			for i := range max(tt.repeat, 1) {
				p := tt.pod.DeepCopy()
				p.Name = fmt.Sprintf("%s-%d", p.Name, i)
				got, err := c.schedule(p)
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Fatalf("attempt %d: placed on %s, want %s", i, got, tt.want)
				}
			}
		})
	}
}

func countPerNode(t *testing.T, c *fakeCluster, pods int, mods ...func(*corev1.Pod)) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range pods {
		n, err := c.schedule(mkPod(fmt.Sprintf("r-%d", i), mods...))
		if err != nil {
			t.Fatal(err)
		}
		got[n]++
	}
	return got
}

// The seeds' 3 nginx replicas land on 3 different nodes, even when the
// nodes carry different loads.
func TestReplicasSpreadOverNodes(t *testing.T) {
	for seed := range uint64(20) {
		c := newFakeCluster(t, testNode("w1"), testNode("w2"), testNode("w3"))
		c.alg.rnd = rand.New(rand.NewPCG(seed, seed))
		c.place(mkPod("other1", requests("1500m", "6Gi")), "w1")
		c.place(mkPod("other2", requests("500m", "1Gi")), "w2")
		got := countPerNode(t, c, 3, ownedBy("nginx-rs"), podLabels("app", "nginx"), requests("100m", "64Mi"))
		if len(got) != 3 {
			t.Fatalf("seed %d: 3 replicas on %v", seed, got)
		}
	}
}

func TestThirtyReplicasEvenly(t *testing.T) {
	c := newFakeCluster(t, testNode("w1"), testNode("w2"), testNode("w3"))
	got := countPerNode(t, c, 30, ownedBy("rs"), requests("10m", "10Mi"))
	for _, n := range []string{"w1", "w2", "w3"} {
		if got[n] != 10 {
			t.Fatalf("30 replicas: %v, want 10 on each", got)
		}
	}
}

// Pods with no controller spread by the Service that selects them.
func TestServiceSpreading(t *testing.T) {
	c := newFakeCluster(t, testNode("w1"), testNode("w2"), testNode("w3"))
	c.cache.setService("default", "web", labels.SelectorFromSet(map[string]string{"app": "web"}))
	got := countPerNode(t, c, 6, podLabels("app", "web"))
	for _, n := range []string{"w1", "w2", "w3"} {
		if got[n] != 2 {
			t.Fatalf("6 pods of one Service: %v, want 2 on each", got)
		}
	}
	// The Service's pods are recounted when it goes away.
	c.cache.setService("default", "web", nil)
	for _, n := range c.cache.nodeList {
		if len(n.groups) != 0 {
			t.Errorf("node %s still counts groups %v", n.name, n.groups)
		}
	}
}

func TestTiesBrokenAtRandom(t *testing.T) {
	c := newFakeCluster(t, testNode("a"), testNode("b"), testNode("c"), testNode("d"))
	seen := map[string]bool{}
	for i := range 40 {
		c.cache.mu.Lock()
		st := c.state(mkPod(fmt.Sprintf("p%d", i)))
		n, err := c.alg.schedule(st, c.cache.nodeList)
		c.cache.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		seen[n.name] = true // not assumed: every node stays equal
	}
	if len(seen) < 3 {
		t.Errorf("40 ties went to %v only", seen)
	}
}
