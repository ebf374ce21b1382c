package endpointslice

import (
	"fmt"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func testService(mut ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": "web"},
			ClusterIP:  "10.96.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

func testPod(i int, mut ...func(*corev1.Pod)) *corev1.Pod {
	ip := fmt.Sprintf("10.244.%d.%d", i/250, i%250+1)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: "ns", UID: types.UID(fmt.Sprintf("pod-%d", i)),
			Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, m := range mut {
		m(pod)
	}
	return pod
}

func pods(n int, mut ...func(*corev1.Pod)) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range n {
		out = append(out, testPod(i, mut...))
	}
	return out
}

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }

func nodesWithZones(zones map[string]string) nodeZone {
	return func(name string) (string, bool) {
		z, ok := zones[name]
		return z, ok
	}
}

var defaultNodes = nodesWithZones(map[string]string{"node-a": "zone-1", "node-b": ""})

// materialize turns the plan into the slices the server would hold after
// it, naming created slices.
func materialize(existing []*discoveryv1.EndpointSlice, p plan) []*discoveryv1.EndpointSlice {
	byName := map[string]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		byName[s.Name] = s
	}
	for _, s := range p.delete {
		delete(byName, s.Name)
	}
	for _, s := range p.update {
		byName[s.Name] = s
	}
	for i, s := range p.create {
		cp := s.DeepCopy()
		cp.Name = fmt.Sprintf("%snew%d-%d", s.GenerateName, len(byName), i)
		cp.UID = types.UID(cp.Name)
		byName[cp.Name] = cp
	}
	out := make([]*discoveryv1.EndpointSlice, 0, len(byName))
	for _, s := range byName {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sliceSizes(slices []*discoveryv1.EndpointSlice) []int {
	var out []int
	for _, s := range slices {
		out = append(out, len(s.Endpoints))
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

func counts(p plan) [3]int { return [3]int{len(p.create), len(p.update), len(p.delete)} }

func TestReconcileWrites(t *testing.T) {
	svc := testService()
	current := func(ps []*corev1.Pod) []*discoveryv1.EndpointSlice {
		return materialize(nil, reconcile(svc, ps, nil, defaultNodes, 100))
	}
	three := current(pods(3))
	full := current(pods(250))
	tests := []struct {
		name      string
		svc       *corev1.Service
		pods      []*corev1.Pod
		existing  []*discoveryv1.EndpointSlice
		wantCUD   [3]int
		wantSizes []int
	}{
		{name: "new service", svc: svc, pods: pods(3), wantCUD: [3]int{1, 0, 0}, wantSizes: []int{3}},
		{name: "up to date", svc: svc, pods: pods(3), existing: three, wantCUD: [3]int{0, 0, 0}, wantSizes: []int{3}},
		{name: "readiness flips", svc: svc, pods: append(pods(2), testPod(2, notReady)), existing: three, wantCUD: [3]int{0, 1, 0}, wantSizes: []int{3}},
		{name: "pod gone", svc: svc, pods: pods(2), existing: three, wantCUD: [3]int{0, 1, 0}, wantSizes: []int{2}},
		{name: "250 pods", svc: svc, pods: pods(250), wantCUD: [3]int{3, 0, 0}, wantSizes: []int{100, 100, 50}},
		{name: "251st pod fills the slice with room", svc: svc, pods: pods(251), existing: full, wantCUD: [3]int{0, 1, 0}, wantSizes: []int{100, 100, 51}},
		{name: "60 more pods still fit the slice with room", svc: svc, pods: pods(300), existing: full, wantCUD: [3]int{0, 1, 0}, wantSizes: []int{100, 100, 100}},
		{name: "no pods: placeholder", svc: svc, wantCUD: [3]int{1, 0, 0}, wantSizes: []int{0}},
		{name: "placeholder kept", svc: svc, existing: current(nil), wantCUD: [3]int{0, 0, 0}, wantSizes: []int{0}},
		{name: "all pods gone: a slice becomes the placeholder", svc: svc, existing: full, wantCUD: [3]int{0, 1, 2}, wantSizes: []int{0}},
		{name: "service labels change", svc: testService(func(s *corev1.Service) { s.Labels["team"] = "b" }), pods: pods(3), existing: three,
			wantCUD: [3]int{0, 1, 0}, wantSizes: []int{3}},
		{name: "slice of an earlier service of the same name", svc: testService(func(s *corev1.Service) { s.UID = "other" }), pods: pods(3), existing: three,
			wantCUD: [3]int{1, 0, 1}, wantSizes: []int{3}},
		{name: "ports change", svc: testService(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(9090) }), pods: pods(3), existing: three,
			wantCUD: [3]int{0, 1, 0}, wantSizes: []int{3}},
		{name: "family changes", svc: testService(func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }), pods: pods(3), existing: three,
			wantCUD: [3]int{1, 0, 1}, wantSizes: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := reconcile(tt.svc, tt.pods, tt.existing, defaultNodes, 100)
			if got := counts(p); got != tt.wantCUD {
				t.Errorf("create/update/delete = %v, want %v", got, tt.wantCUD)
			}
			after := materialize(tt.existing, p)
			if got := sliceSizes(after); fmt.Sprint(got) != fmt.Sprint(tt.wantSizes) {
				t.Errorf("slice sizes = %v, want %v", got, tt.wantSizes)
			}
			// Whatever the path, a second pass over the result is a no-op.
			if again := reconcile(tt.svc, tt.pods, after, defaultNodes, 100); !again.empty() {
				t.Errorf("second pass not empty: %v", counts(again))
			}
			for _, s := range after {
				if s.Labels[discoveryv1.LabelServiceName] != "web" || s.Labels[discoveryv1.LabelManagedBy] != ControllerName || s.Labels["team"] != tt.svc.Labels["team"] {
					t.Errorf("slice %s labels = %v", s.Name, s.Labels)
				}
				if !ownedBy(s, tt.svc) || !*s.OwnerReferences[0].Controller {
					t.Errorf("slice %s owners = %v", s.Name, s.OwnerReferences)
				}
			}
		})
	}
}

func TestReconcileUnchangedSlicesUntouched(t *testing.T) {
	svc := testService()
	existing := materialize(nil, reconcile(svc, pods(250), nil, defaultNodes, 100))
	// Pod 0 goes not ready: exactly the slice holding it is rewritten.
	ps := pods(250)
	notReady(ps[0])
	p := reconcile(svc, ps, existing, defaultNodes, 100)
	if counts(p) != [3]int{0, 1, 0} {
		t.Fatalf("plan = %v, want one update", counts(p))
	}
	var holder string
	for _, s := range existing {
		for _, e := range s.Endpoints {
			if e.TargetRef.Name == "web-0" {
				holder = s.Name
			}
		}
	}
	if p.update[0].Name != holder {
		t.Errorf("updated %s, want %s", p.update[0].Name, holder)
	}
	for _, e := range p.update[0].Endpoints {
		if e.TargetRef.Name == "web-0" && (*e.Conditions.Ready || *e.Conditions.Serving) {
			t.Errorf("web-0 conditions = %+v", e.Conditions)
		}
	}
}

func TestEndpointOfPod(t *testing.T) {
	now := metav1.Now()
	tests := []struct {
		name string
		svc  *corev1.Service
		pod  *corev1.Pod
		want *discoveryv1.Endpoint // nil: no endpoint
	}{
		{name: "ready", svc: testService(), pod: testPod(0), want: &discoveryv1.Endpoint{
			Addresses: []string{"10.244.0.1"}, NodeName: ptr.To("node-a"), Zone: ptr.To("zone-1"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)}}},
		{name: "not ready", svc: testService(), pod: testPod(0, notReady), want: &discoveryv1.Endpoint{
			Addresses: []string{"10.244.0.1"}, NodeName: ptr.To("node-a"), Zone: ptr.To("zone-1"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(false), Terminating: ptr.To(false)}}},
		{name: "terminating", svc: testService(), pod: testPod(0, func(p *corev1.Pod) { p.DeletionTimestamp = &now }), want: &discoveryv1.Endpoint{
			Addresses: []string{"10.244.0.1"}, NodeName: ptr.To("node-a"), Zone: ptr.To("zone-1"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)}}},
		{name: "publishNotReadyAddresses", svc: testService(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pod: testPod(0, notReady, func(p *corev1.Pod) { p.DeletionTimestamp = &now }), want: &discoveryv1.Endpoint{
				Addresses: []string{"10.244.0.1"}, NodeName: ptr.To("node-a"), Zone: ptr.To("zone-1"),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(false), Terminating: ptr.To(true)}}},
		{name: "no zone label", svc: testService(), pod: testPod(0, func(p *corev1.Pod) { p.Spec.NodeName = "node-b" }), want: &discoveryv1.Endpoint{
			Addresses: []string{"10.244.0.1"}, NodeName: ptr.To("node-b"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)}}},
		{name: "hostname in subdomain", svc: testService(), pod: testPod(0, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "h0", "web" }),
			want: &discoveryv1.Endpoint{
				Addresses: []string{"10.244.0.1"}, NodeName: ptr.To("node-a"), Zone: ptr.To("zone-1"), Hostname: ptr.To("h0"),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)}}},
		{name: "hostname in another subdomain", svc: testService(), pod: testPod(0, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "h0", "other" }),
			want: &discoveryv1.Endpoint{
				Addresses: []string{"10.244.0.1"}, NodeName: ptr.To("node-a"), Zone: ptr.To("zone-1"),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)}}},
		{name: "no IP", svc: testService(), pod: testPod(0, func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "", nil })},
		{name: "succeeded", svc: testService(), pod: testPod(0, func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded })},
		{name: "failed", svc: testService(), pod: testPod(0, func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed })},
		{name: "unknown node", svc: testService(), pod: testPod(0, func(p *corev1.Pod) { p.Spec.NodeName = "gone" })},
		{name: "unknown node, publishing not ready", svc: testService(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pod: testPod(0, func(p *corev1.Pod) { p.Spec.NodeName = "gone" }), want: &discoveryv1.Endpoint{
				Addresses: []string{"10.244.0.1"}, NodeName: ptr.To("gone"),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)}}},
		{name: "IPv4 pod, IPv6 service", svc: testService(func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }), pod: testPod(0)},
		{name: "dual-stack pod, IPv6 service", svc: testService(func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }),
			pod: testPod(0, func(p *corev1.Pod) { p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "fd00::5"}) }), want: &discoveryv1.Endpoint{
				Addresses: []string{"fd00::5"}, NodeName: ptr.To("node-a"), Zone: ptr.To("zone-1"),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := reconcile(tt.svc, []*corev1.Pod{tt.pod}, nil, defaultNodes, 100)
			var eps []discoveryv1.Endpoint
			for _, s := range p.create {
				eps = append(eps, s.Endpoints...)
			}
			if tt.want == nil {
				if len(eps) != 0 {
					t.Fatalf("endpoints = %+v, want none", eps)
				}
				return
			}
			if len(eps) != 1 {
				t.Fatalf("endpoints = %+v, want one", eps)
			}
			want := tt.want.DeepCopy()
			want.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: tt.pod.Name, UID: tt.pod.UID}
			if got := &eps[0]; endpointKey(got) != endpointKey(want) || !endpointEqual(got, want) {
				t.Errorf("endpoint =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
	t.Run("unknown node is reported", func(t *testing.T) {
		p := reconcile(testService(), []*corev1.Pod{testPod(0, func(p *corev1.Pod) { p.Spec.NodeName = "gone" })}, nil, defaultNodes, 100)
		if len(p.missingNodes) != 1 || p.missingNodes[0] != "ns/web-0" {
			t.Errorf("missingNodes = %v", p.missingNodes)
		}
	})
}

func TestReconcileSliceShape(t *testing.T) {
	tests := []struct {
		name      string
		svc       *corev1.Service
		pods      []*corev1.Pod
		wantTypes []discoveryv1.AddressType
		wantPorts []string // portsKey per created slice, sorted
		headless  bool
	}{
		{name: "numeric target port", svc: testService(), pods: pods(2),
			wantTypes: []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}, wantPorts: []string{"http/TCP/8080/"}},
		{name: "named target port resolved per pod", svc: testService(func(s *corev1.Service) {
			s.Spec.Ports[0].TargetPort = intstr.FromString("http")
			s.Spec.Ports[0].AppProtocol = ptr.To("kubernetes.io/h2c")
		}), pods: append(pods(1), testPod(1, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 })),
			wantTypes: []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv4},
			wantPorts: []string{"http/TCP/8080/=kubernetes.io/h2c", "http/TCP/9090/=kubernetes.io/h2c"}},
		{name: "named port missing on a pod", svc: testService(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("grpc") }), pods: pods(1),
			wantTypes: []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}, wantPorts: []string{""}},
		{name: "headless", svc: testService(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }), pods: pods(1),
			wantTypes: []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}, wantPorts: []string{"http/TCP/8080/"}, headless: true},
		{name: "headless without ports", svc: testService(func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.Ports = corev1.ClusterIPNone, nil }), pods: pods(1),
			wantTypes: []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}, wantPorts: []string{""}, headless: true},
		{name: "headless without families: both types", svc: testService(func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.IPFamilies = corev1.ClusterIPNone, nil }), pods: pods(1),
			wantTypes: []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}, wantPorts: []string{"", "http/TCP/8080/"}, headless: true},
		{name: "dual stack", svc: testService(func(s *corev1.Service) {
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
		}),
			pods:      pods(1, func(p *corev1.Pod) { p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "fd00::1"}) }),
			wantTypes: []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}, wantPorts: []string{"http/TCP/8080/", "http/TCP/8080/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := reconcile(tt.svc, tt.pods, nil, defaultNodes, 100)
			var types []discoveryv1.AddressType
			var ports []string
			for _, s := range p.create {
				types = append(types, s.AddressType)
				ports = append(ports, portsKey(s.Ports))
				if _, ok := s.Labels[corev1.IsHeadlessService]; ok != tt.headless {
					t.Errorf("headless label on %v = %v, want %v", s.AddressType, ok, tt.headless)
				}
				if s.GenerateName != "web-" || s.Namespace != "ns" {
					t.Errorf("slice meta = %+v", s.ObjectMeta)
				}
			}
			sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
			sort.Strings(ports)
			if fmt.Sprint(types) != fmt.Sprint(tt.wantTypes) || fmt.Sprint(ports) != fmt.Sprint(tt.wantPorts) {
				t.Errorf("slices = %v %q, want %v %q", types, ports, tt.wantTypes, tt.wantPorts)
			}
		})
	}
}

func TestTracker(t *testing.T) {
	slice := func(uid, rv string, deleting bool) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: uid, UID: types.UID(uid), ResourceVersion: rv,
			Labels: map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: ControllerName}}}
		if deleting {
			now := metav1.Now()
			s.DeletionTimestamp = &now
		}
		return s
	}
	tr := newTracker()
	tr.written("ns/web", slice("a", "10", false))
	tr.deleted("ns/web", slice("b", "5", false))
	tests := []struct {
		name   string
		cached []*discoveryv1.EndpointSlice
		stale  bool
	}{
		{name: "caught up", cached: []*discoveryv1.EndpointSlice{slice("a", "10", false)}},
		{name: "newer", cached: []*discoveryv1.EndpointSlice{slice("a", "12", false)}},
		{name: "older write", cached: []*discoveryv1.EndpointSlice{slice("a", "9", false)}, stale: true},
		{name: "create not seen", stale: true},
		{name: "deleted still there", cached: []*discoveryv1.EndpointSlice{slice("a", "10", false), slice("b", "5", false)}, stale: true},
		{name: "deleted, held by finalizers", cached: []*discoveryv1.EndpointSlice{slice("a", "10", false), slice("b", "6", true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tr.stale("ns/web", tt.cached); got != tt.stale {
				t.Errorf("stale = %v, want %v", got, tt.stale)
			}
		})
	}
	if tr.changedByOthers(slice("a", "10", false)) {
		t.Error("own write seen as a change by others")
	}
	if !tr.changedByOthers(slice("a", "11", false)) || !tr.changedByOthers(slice("c", "1", false)) {
		t.Error("change by others not seen")
	}
	if !tr.removed(slice("b", "5", false)) {
		t.Error("expected deletion not recognised")
	}
	if tr.removed(slice("a", "10", false)) {
		t.Error("unexpected deletion taken as expected")
	}
	if tr.stale("ns/web", nil) {
		t.Error("stale after both slices are gone")
	}
}

// BenchmarkReconcile30k measures one sync of a Service with 30,000 pods
// (300 slices) where one pod changed: the steady state of a big rollout.
func BenchmarkReconcile30k(b *testing.B) {
	svc := testService()
	ps := make([]*corev1.Pod, 30000)
	for i := range ps {
		ps[i] = testPod(i)
		ip := fmt.Sprintf("10.%d.%d.%d", 100+i/62500, i/250%250, i%250+1)
		ps[i].Status.PodIP, ps[i].Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	}
	existing := materialize(nil, reconcile(svc, ps, nil, defaultNodes, 100))
	if len(existing) != 300 {
		b.Fatalf("%d slices", len(existing))
	}
	notReady(ps[12345])
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p := reconcile(svc, ps, existing, defaultNodes, 100)
		if counts(p) != [3]int{0, 1, 0} {
			b.Fatalf("plan %v", counts(p))
		}
	}
}
