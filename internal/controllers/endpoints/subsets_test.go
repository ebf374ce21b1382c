package endpoints

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func testService(mut ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": "web"},
			ClusterIP:  "10.96.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromString("http")}},
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
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: "ns", UID: types.UID(fmt.Sprintf("uid-%d", i)),
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

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }

func terminating(p *corev1.Pod) {
	now := metav1.Now()
	p.DeletionTimestamp = &now
}

func port(n int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = n }
}

// render writes subsets as "[ready|notready|ports]" for comparisons.
func render(subsets []corev1.EndpointSubset) string {
	var parts []string
	for _, ss := range subsets {
		var r, n, p []string
		for _, a := range ss.Addresses {
			r = append(r, a.TargetRef.Name+extra(a))
		}
		for _, a := range ss.NotReadyAddresses {
			n = append(n, a.TargetRef.Name+extra(a))
		}
		for _, pt := range ss.Ports {
			p = append(p, fmt.Sprintf("%s:%d", pt.Name, pt.Port))
		}
		parts = append(parts, "["+strings.Join(r, ",")+"|"+strings.Join(n, ",")+"|"+strings.Join(p, ",")+"]")
	}
	return strings.Join(parts, "")
}

func extra(a corev1.EndpointAddress) string {
	if a.Hostname != "" {
		return "(" + a.Hostname + ")"
	}
	return ""
}

func TestDesiredSubsets(t *testing.T) {
	tests := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want string
	}{
		{name: "none", svc: testService(), want: ""},
		{name: "ready and not ready", svc: testService(), pods: []*corev1.Pod{testPod(0), testPod(1, notReady), testPod(2)},
			want: "[web-0,web-2|web-1|http:8080]"},
		{name: "terminating left out", svc: testService(), pods: []*corev1.Pod{testPod(0), testPod(1, terminating)},
			want: "[web-0||http:8080]"},
		{name: "publishNotReadyAddresses keeps terminating and not ready as ready",
			svc:  testService(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pods: []*corev1.Pod{testPod(0, notReady), testPod(1, terminating)}, want: "[web-0,web-1||http:8080]"},
		{name: "no IP, finished", svc: testService(), pods: []*corev1.Pod{
			testPod(0, func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "", nil }),
			testPod(1, func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }),
		}, want: ""},
		{name: "named port per pod", svc: testService(), pods: []*corev1.Pod{testPod(0), testPod(1, port(9090)), testPod(2)},
			want: "[web-0,web-2||http:8080][web-1||http:9090]"},
		{name: "two ports share a subset", svc: testService(func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9100, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9100)})
		}), pods: []*corev1.Pod{testPod(0), testPod(1, notReady)}, want: "[web-0|web-1|http:8080,metrics:9100]"},
		{name: "pod without the named port", svc: testService(func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9100, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9100)})
		}), pods: []*corev1.Pod{testPod(0), testPod(1, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })},
			want: "[web-0||http:8080][web-0,web-1||metrics:9100]"},
		{name: "headless without ports", svc: testService(func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.Ports = corev1.ClusterIPNone, nil }),
			pods: []*corev1.Pod{testPod(0, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "h0", "web" }), testPod(1, notReady)},
			want: "[web-0(h0)|web-1|]"},
		{name: "IPv6 service, IPv4 pod", svc: testService(func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }),
			pods: []*corev1.Pod{testPod(0)}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := subsets(tt.svc, desiredSubsets(tt.svc, tt.pods))
			if r := render(got); r != tt.want {
				t.Errorf("subsets = %s, want %s", r, tt.want)
			}
			// The layout is canonical: the order of pods does not matter.
			rev := make([]*corev1.Pod, len(tt.pods))
			for i, p := range tt.pods {
				rev[len(tt.pods)-1-i] = p
			}
			if r := render(subsets(tt.svc, desiredSubsets(tt.svc, rev))); r != tt.want {
				t.Errorf("reversed pods: subsets = %s, want %s", r, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	addrs := func(prefix string, n int) []address {
		var out []address
		for i := range n {
			out = append(out, address{ip: fmt.Sprintf("%s.%d", prefix, i)})
		}
		return out
	}
	count := func(ds []draft) string {
		var parts []string
		for _, d := range ds {
			parts = append(parts, fmt.Sprintf("%d/%d", len(d.ready), len(d.notReady)))
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		name    string
		subsets []draft
		want    string
		cut     bool
	}{
		{name: "under", subsets: []draft{{ready: addrs("a", 600), notReady: addrs("b", 400)}}, want: "600/400"},
		{name: "not ready cut first", subsets: []draft{{ready: addrs("a", 900), notReady: addrs("b", 300)}}, want: "900/100", cut: true},
		{name: "ready cut in proportion", subsets: []draft{
			{ready: addrs("a", 1500), notReady: addrs("b", 10)},
			{ready: addrs("c", 500)},
		}, want: "750/0 250/0", cut: true},
		{name: "not ready cut in proportion", subsets: []draft{
			{ready: addrs("a", 800), notReady: addrs("b", 300)},
			{notReady: addrs("c", 100)},
		}, want: "800/150 0/50", cut: true},
		{name: "empty subsets dropped", subsets: []draft{
			{ready: addrs("a", 1200)},
			{notReady: addrs("c", 100)},
		}, want: "1000/0", cut: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := truncate(tt.subsets)
			if count(got) != tt.want || cut != tt.cut {
				t.Errorf("truncate = %s, %v; want %s, %v", count(got), cut, tt.want, tt.cut)
			}
		})
	}
}

func TestDesiredEndpoints(t *testing.T) {
	svc := testService()
	ep, changed := desiredEndpoints(svc, nil, desiredSubsets(svc, []*corev1.Pod{testPod(0)}))
	if !changed || ep.Name != "web" || ep.Namespace != "ns" || ep.Labels["team"] != "a" {
		t.Fatalf("new endpoints = %+v, changed %v", ep.ObjectMeta, changed)
	}
	if _, ok := ep.Labels[corev1.IsHeadlessService]; ok {
		t.Errorf("headless label on a ClusterIP service's endpoints")
	}
	current := ep.DeepCopy()
	current.ResourceVersion = "5"
	current.Annotations = map[string]string{"keep": "me"}
	if _, changed := desiredEndpoints(svc, current, desiredSubsets(svc, []*corev1.Pod{testPod(0)})); changed {
		t.Error("unchanged endpoints rewritten")
	}
	next, changed := desiredEndpoints(svc, current, desiredSubsets(svc, []*corev1.Pod{testPod(0, notReady)}))
	if !changed || next.ResourceVersion != "5" || next.Annotations["keep"] != "me" {
		t.Errorf("update = %+v, changed %v", next.ObjectMeta, changed)
	}

	headless := testService(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone })
	ep, _ = desiredEndpoints(headless, nil, nil)
	if _, ok := ep.Labels[corev1.IsHeadlessService]; !ok {
		t.Errorf("no headless label: %v", ep.Labels)
	}

	var many []*corev1.Pod
	for i := range 1200 {
		many = append(many, testPod(i))
	}
	ep, _ = desiredEndpoints(svc, nil, desiredSubsets(svc, many))
	if ep.Annotations[corev1.EndpointsOverCapacity] != TruncatedValue || len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != MaxCapacity {
		t.Errorf("over capacity: annotations %v, %d subsets", ep.Annotations, len(ep.Subsets))
	}
	current = ep.DeepCopy()
	if _, changed := desiredEndpoints(svc, current, desiredSubsets(svc, many)); changed {
		t.Error("truncated endpoints rewritten though nothing changed")
	}
	ep, changed = desiredEndpoints(svc, current, desiredSubsets(svc, many[:10]))
	if _, ok := ep.Annotations[corev1.EndpointsOverCapacity]; ok || !changed {
		t.Errorf("back under capacity: annotations %v", ep.Annotations)
	}
}

// BenchmarkDesired30k measures computing the Endpoints of a Service with
// 30,000 pods.
func BenchmarkDesired30k(b *testing.B) {
	svc := testService()
	ps := make([]*corev1.Pod, 30000)
	for i := range ps {
		ps[i] = testPod(i)
		ip := fmt.Sprintf("10.%d.%d.%d", 100+i/62500, i/250%250, i%250+1)
		ps[i].Status.PodIP, ps[i].Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	}
	current, _ := desiredEndpoints(svc, nil, desiredSubsets(svc, ps))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, changed := desiredEndpoints(svc, current, desiredSubsets(svc, ps)); changed {
			b.Fatal("changed")
		}
	}
}
