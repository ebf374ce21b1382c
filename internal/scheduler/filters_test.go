package scheduler

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func hostPortPod(port int32, proto corev1.Protocol, ip string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: 80, HostPort: port, Protocol: proto, HostIP: ip})
	}
}

func antiAffinity(key, value, topologyKey string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &corev1.Affinity{}
		}
		p.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: value}}, TopologyKey: topologyKey,
		}}}
	}
}

func podAffinity(key, value, topologyKey string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &corev1.Affinity{}
		}
		p.Spec.Affinity.PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: value}}, TopologyKey: topologyKey,
		}}}
	}
}

func requiredNodeAffinity(terms ...corev1.NodeSelectorTerm) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
		}}
	}
}

func spreadConstraintOn(key string, maxSkew int32, when corev1.UnsatisfiableConstraintAction, app string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: when,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
		})
	}
}

func TestFilters(t *testing.T) {
	const zone = "topology.kubernetes.io/zone"
	type placed struct {
		pod  *corev1.Pod
		node string
	}
	tests := []struct {
		name   string
		nodes  []*corev1.Node
		placed []placed
		pod    *corev1.Pod
		node   string
		want   []string // nil: fits
	}{
		{name: "plain pod fits", nodes: []*corev1.Node{testNode("n")}, pod: mkPod("p"), node: "n"},
		{name: "cordoned", nodes: []*corev1.Node{testNode("n", unschedulableNode)}, pod: mkPod("p"), node: "n",
			want: []string{ReasonUnschedulable}},
		{name: "cordoned, unschedulable taint tolerated", nodes: []*corev1.Node{testNode("n", unschedulableNode)},
			pod: mkPod("p", tolerate(taintUnschedulable, corev1.TaintEffectNoSchedule)), node: "n"},
		{name: "not ready", nodes: []*corev1.Node{testNode("n", notReady)}, pod: mkPod("p"), node: "n",
			want: []string{ReasonNotReady}},
		{name: "not ready, tolerated", nodes: []*corev1.Node{testNode("n", notReady)},
			pod: mkPod("p", tolerate(taintNotReady, corev1.TaintEffectNoSchedule)), node: "n"},
		{name: "control-plane taint", nodes: []*corev1.Node{testNode("n", withTaint("node-role.kubernetes.io/control-plane", "", corev1.TaintEffectNoSchedule))},
			pod: mkPod("p"), node: "n", want: []string{"node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"}},
		{name: "NoExecute taint with value", nodes: []*corev1.Node{testNode("n", withTaint("dedicated", "gpu", corev1.TaintEffectNoExecute))},
			pod: mkPod("p"), node: "n", want: []string{"node(s) had untolerated taint {dedicated: gpu}"}},
		{name: "taint tolerated", nodes: []*corev1.Node{testNode("n", withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule))},
			pod: mkPod("p", tolerate("dedicated", "")), node: "n"},
		{name: "PreferNoSchedule does not filter", nodes: []*corev1.Node{testNode("n", withTaint("soft", "", corev1.TaintEffectPreferNoSchedule))},
			pod: mkPod("p"), node: "n"},
		{name: "nodeSelector mismatch", nodes: []*corev1.Node{testNode("n", nodeLabels("disk", "hdd"))},
			pod: mkPod("p", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), node: "n",
			want: []string{ReasonNodeAffinity}},
		{name: "nodeSelector match", nodes: []*corev1.Node{testNode("n", nodeLabels("disk", "ssd"))},
			pod: mkPod("p", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), node: "n"},
		{name: "required node affinity In", nodes: []*corev1.Node{testNode("n", nodeLabels(zone, "a"))},
			pod:  mkPod("p", requiredNodeAffinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: zone, Operator: corev1.NodeSelectorOpIn, Values: []string{"b", "c"}}}})),
			node: "n", want: []string{ReasonNodeAffinity}},
		{name: "DaemonSet metadata.name field affinity, this node", nodes: []*corev1.Node{testNode("n")},
			pod:  mkPod("p", requiredNodeAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n"}}}})),
			node: "n"},
		{name: "DaemonSet metadata.name field affinity, other node", nodes: []*corev1.Node{testNode("n")},
			pod:  mkPod("p", requiredNodeAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"m"}}}})),
			node: "n", want: []string{ReasonNodeAffinity}},
		{name: "insufficient cpu", nodes: []*corev1.Node{testNode("n")}, placed: []placed{{mkPod("a", requests("3", "")), "n"}},
			pod: mkPod("p", requests("2", "")), node: "n", want: []string{"Insufficient cpu"}},
		{name: "insufficient cpu and memory", nodes: []*corev1.Node{testNode("n")},
			pod: mkPod("p", requests("5", "20Gi")), node: "n", want: []string{"Insufficient cpu", "Insufficient memory"}},
		{name: "exactly fits", nodes: []*corev1.Node{testNode("n")}, placed: []placed{{mkPod("a", requests("3", "8Gi")), "n"}},
			pod: mkPod("p", requests("1", "8Gi")), node: "n"},
		{name: "too many pods", nodes: []*corev1.Node{testNode("n", allocatable(corev1.ResourcePods, "1"))}, placed: []placed{{mkPod("a"), "n"}},
			pod: mkPod("p"), node: "n", want: []string{ReasonTooManyPods}},
		{name: "init container larger than containers", nodes: []*corev1.Node{testNode("n")},
			pod: mkPod("p", requests("1", ""), func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("5")}}}}
			}), node: "n", want: []string{"Insufficient cpu"}},
		{name: "overhead counts", nodes: []*corev1.Node{testNode("n")},
			pod: mkPod("p", requests("3500m", ""), func(p *corev1.Pod) {
				p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("600m")}
			}), node: "n", want: []string{"Insufficient cpu"}},
		{name: "ephemeral storage", nodes: []*corev1.Node{testNode("n", allocatable(corev1.ResourceEphemeralStorage, "10Gi"))},
			pod: mkPod("p", func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("11Gi")}
			}), node: "n", want: []string{"Insufficient ephemeral-storage"}},
		{name: "extended resource missing", nodes: []*corev1.Node{testNode("n")},
			pod: mkPod("p", func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
			}), node: "n", want: []string{"Insufficient nvidia.com/gpu"}},
		{name: "host port taken", nodes: []*corev1.Node{testNode("n")}, placed: []placed{{mkPod("a", hostPortPod(8080, "", "")), "n"}},
			pod: mkPod("p", hostPortPod(8080, corev1.ProtocolTCP, "")), node: "n", want: []string{ReasonHostPorts}},
		{name: "host port other protocol", nodes: []*corev1.Node{testNode("n")}, placed: []placed{{mkPod("a", hostPortPod(8080, "", "")), "n"}},
			pod: mkPod("p", hostPortPod(8080, corev1.ProtocolUDP, "")), node: "n"},
		{name: "host port on distinct addresses", nodes: []*corev1.Node{testNode("n")}, placed: []placed{{mkPod("a", hostPortPod(8080, "", "10.0.0.1")), "n"}},
			pod: mkPod("p", hostPortPod(8080, "", "10.0.0.2")), node: "n"},
		{name: "host port against all addresses", nodes: []*corev1.Node{testNode("n")}, placed: []placed{{mkPod("a", hostPortPod(8080, "", "10.0.0.1")), "n"}},
			pod: mkPod("p", hostPortPod(8080, "", "0.0.0.0")), node: "n", want: []string{ReasonHostPorts}},
		{name: "anti-affinity: a matching pod on the node", nodes: []*corev1.Node{testNode("n"), testNode("m")},
			placed: []placed{{mkPod("a", podLabels("app", "web")), "n"}},
			pod:    mkPod("p", podLabels("app", "web"), antiAffinity("app", "web", corev1.LabelHostname)), node: "n",
			want: []string{ReasonPodAntiAffinity}},
		{name: "anti-affinity: matching pod elsewhere", nodes: []*corev1.Node{testNode("n"), testNode("m")},
			placed: []placed{{mkPod("a", podLabels("app", "web")), "n"}},
			pod:    mkPod("p", podLabels("app", "web"), antiAffinity("app", "web", corev1.LabelHostname)), node: "m"},
		{name: "anti-affinity by zone", nodes: []*corev1.Node{testNode("n", nodeLabels(zone, "a")), testNode("m", nodeLabels(zone, "a"))},
			placed: []placed{{mkPod("a", podLabels("app", "web")), "n"}},
			pod:    mkPod("p", antiAffinity("app", "web", zone)), node: "m", want: []string{ReasonPodAntiAffinity}},
		{name: "anti-affinity of a placed pod", nodes: []*corev1.Node{testNode("n")},
			placed: []placed{{mkPod("a", antiAffinity("app", "web", corev1.LabelHostname)), "n"}},
			pod:    mkPod("p", podLabels("app", "web")), node: "n", want: []string{ReasonExistingAntiAffinity}},
		{name: "anti-affinity of a placed pod in another namespace does not apply", nodes: []*corev1.Node{testNode("n")},
			placed: []placed{{mkPod("a", antiAffinity("app", "web", corev1.LabelHostname), func(p *corev1.Pod) { p.Namespace = "other" }), "n"}},
			pod:    mkPod("p", podLabels("app", "web")), node: "n"},
		{name: "affinity: with the db", nodes: []*corev1.Node{testNode("n"), testNode("m")},
			placed: []placed{{mkPod("db", podLabels("app", "db")), "n"}},
			pod:    mkPod("p", podAffinity("app", "db", corev1.LabelHostname)), node: "n"},
		{name: "affinity: away from the db", nodes: []*corev1.Node{testNode("n"), testNode("m")},
			placed: []placed{{mkPod("db", podLabels("app", "db")), "n"}},
			pod:    mkPod("p", podAffinity("app", "db", corev1.LabelHostname)), node: "m", want: []string{ReasonPodAffinity}},
		{name: "affinity: no db anywhere", nodes: []*corev1.Node{testNode("n")},
			pod: mkPod("p", podAffinity("app", "db", corev1.LabelHostname)), node: "n", want: []string{ReasonPodAffinity}},
		{name: "affinity: first of a group matching itself", nodes: []*corev1.Node{testNode("n")},
			pod: mkPod("p", podLabels("app", "db"), podAffinity("app", "db", corev1.LabelHostname)), node: "n"},
		{name: "spread DoNotSchedule: skew exceeded", nodes: []*corev1.Node{testNode("n", nodeLabels(zone, "a")), testNode("m", nodeLabels(zone, "b"))},
			placed: []placed{{mkPod("a", podLabels("app", "web")), "n"}},
			pod:    mkPod("p", podLabels("app", "web"), spreadConstraintOn(zone, 1, corev1.DoNotSchedule, "web")), node: "n",
			want: []string{ReasonSpread}},
		{name: "spread DoNotSchedule: emptier zone", nodes: []*corev1.Node{testNode("n", nodeLabels(zone, "a")), testNode("m", nodeLabels(zone, "b"))},
			placed: []placed{{mkPod("a", podLabels("app", "web")), "n"}},
			pod:    mkPod("p", podLabels("app", "web"), spreadConstraintOn(zone, 1, corev1.DoNotSchedule, "web")), node: "m"},
		{name: "spread DoNotSchedule: missing label", nodes: []*corev1.Node{testNode("n", nodeLabels(zone, "a")), testNode("m")},
			pod:  mkPod("p", podLabels("app", "web"), spreadConstraintOn(zone, 1, corev1.DoNotSchedule, "web")),
			node: "m", want: []string{ReasonSpreadMissingLabel}},
		{name: "spread ScheduleAnyway never filters", nodes: []*corev1.Node{testNode("n", nodeLabels(zone, "a")), testNode("m", nodeLabels(zone, "b"))},
			placed: []placed{{mkPod("a", podLabels("app", "web")), "n"}, {mkPod("b", podLabels("app", "web")), "n"}},
			pod:    mkPod("p", podLabels("app", "web"), spreadConstraintOn(zone, 1, corev1.ScheduleAnyway, "web")), node: "n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeCluster(t, tt.nodes...)
			for _, p := range tt.placed {
				c.place(p.pod, p.node)
			}
			got := c.filterNode(tt.pod, tt.node)
			if !slices.Equal(got, tt.want) {
				t.Errorf("reasons %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPodRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	cpu := func(q string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}}
	}
	tests := []struct {
		name      string
		spec      corev1.PodSpec
		wantCPU   int64
		nonZeroCP int64
	}{
		{"no requests", corev1.PodSpec{Containers: []corev1.Container{{}, {}}}, 0, 200},
		{"sum of containers", corev1.PodSpec{Containers: []corev1.Container{{Resources: cpu("1")}, {Resources: cpu("500m")}}}, 1500, 1500},
		{"init max", corev1.PodSpec{Containers: []corev1.Container{{Resources: cpu("1")}}, InitContainers: []corev1.Container{{Resources: cpu("2")}, {Resources: cpu("1500m")}}}, 2000, 2000},
		{"sidecar adds", corev1.PodSpec{Containers: []corev1.Container{{Resources: cpu("1")}}, InitContainers: []corev1.Container{{Resources: cpu("300m"), RestartPolicy: &always}}}, 1300, 1300},
		{"overhead", corev1.PodSpec{Containers: []corev1.Container{{Resources: cpu("1")}}, Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}, 1250, 1250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, nz, _ := podRequests(&corev1.Pod{Spec: tt.spec})
			if req.MilliCPU != tt.wantCPU || nz != tt.nonZeroCP {
				t.Errorf("cpu %dm (non-zero %dm), want %dm (%dm)", req.MilliCPU, nz, tt.wantCPU, tt.nonZeroCP)
			}
		})
	}
}

func TestFitErrorMessage(t *testing.T) {
	tests := []struct {
		err  FitError
		want string
	}{
		{FitError{NumAllNodes: 3, Reasons: map[string]int{"node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }": 1, "Insufficient cpu": 2}},
			"0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."},
		{FitError{NumAllNodes: 5, Reasons: map[string]int{"Insufficient memory": 2, "Insufficient cpu": 3, ReasonUnschedulable: 1}},
			"0/5 nodes are available: 1 node(s) were unschedulable, 2 Insufficient memory, 3 Insufficient cpu."},
		{FitError{NumAllNodes: 2, PreFilterMsg: ReasonUnboundPVC},
			"0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims."},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

// The message of a pod that fits nowhere counts every node once per
// reason, and a node failing several resources counts for each.
func TestScheduleFitError(t *testing.T) {
	c := newFakeCluster(t,
		testNode("cp", withTaint("node-role.kubernetes.io/control-plane", "", corev1.TaintEffectNoSchedule)),
		testNode("w1"), testNode("w2"))
	_, err := c.schedule(mkPod("p", requests("8", "32Gi")))
	want := "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu, 2 Insufficient memory."
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct{ nodes, pct, want int }{
		{50, 0, 50}, {100, 0, 100}, {1000, 0, 420}, {5000, 0, 500}, {6000, 0, 300}, {10000, 0, 500}, {1000, 10, 100}, {1000, 100, 1000},
	}
	for _, tt := range tests {
		if got := numFeasibleNodesToFind(tt.nodes, tt.pct); got != tt.want {
			t.Errorf("%d nodes at %d%%: %d, want %d", tt.nodes, tt.pct, got, tt.want)
		}
	}
}
