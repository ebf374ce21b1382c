package endpointutil

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

func TestFindPort(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			{Name: "dns", ContainerPort: 5353, Protocol: corev1.ProtocolUDP},
		}}},
		InitContainers: []corev1.Container{
			{Ports: []corev1.ContainerPort{{Name: "init", ContainerPort: 1}}},
			{RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Ports: []corev1.ContainerPort{{Name: "sidecar", ContainerPort: 9000}}},
		},
	}}
	tests := []struct {
		name   string
		port   corev1.ServicePort
		want   int32
		wantOK bool
	}{
		{name: "number", port: corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(8080)}, want: 8080, wantOK: true},
		{name: "not defaulted", port: corev1.ServicePort{Port: 80}, want: 80, wantOK: true},
		{name: "name", port: corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}, want: 8080, wantOK: true},
		{name: "name, protocol defaulted", port: corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("http")}, want: 8080, wantOK: true},
		{name: "name of another protocol", port: corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("dns")}},
		{name: "udp name", port: corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}, want: 5353, wantOK: true},
		{name: "sidecar", port: corev1.ServicePort{Port: 90, TargetPort: intstr.FromString("sidecar")}, want: 9000, wantOK: true},
		{name: "plain init container", port: corev1.ServicePort{Port: 1, TargetPort: intstr.FromString("init")}},
		{name: "unknown", port: corev1.ServicePort{Port: 1, TargetPort: intstr.FromString("nope")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FindPort(pod, &tt.port)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("FindPort = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func serviceLister(t *testing.T, svcs ...*corev1.Service) corelisters.ServiceLister {
	t.Helper()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, s := range svcs {
		if err := idx.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	return corelisters.NewServiceLister(idx)
}

func svc(ns, name string, selector map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Selector: selector}}
}

func TestServicesForPodUpdate(t *testing.T) {
	lister := serviceLister(t,
		svc("ns", "web", map[string]string{"app": "web"}),
		svc("ns", "all", map[string]string{"tier": "fe"}),
		svc("ns", "canary", map[string]string{"app": "web", "track": "canary"}),
		svc("ns", "manual", nil),
		svc("other", "web", map[string]string{"app": "web"}),
		func() *corev1.Service {
			s := svc("ns", "ext", map[string]string{"app": "web"})
			s.Spec.Type = corev1.ServiceTypeExternalName
			return s
		}(),
	)
	base := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", ResourceVersion: "1", Labels: map[string]string{"app": "web", "tier": "fe"}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}},
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
	}
	now := metav1.Now()
	tests := []struct {
		name string
		mut  func(p *corev1.Pod)
		want []string
	}{
		{name: "same resourceVersion", mut: func(p *corev1.Pod) { p.Status.Conditions = nil; p.ResourceVersion = "1" }},
		{name: "irrelevant change", mut: func(p *corev1.Pod) { p.Annotations = map[string]string{"a": "b"} }},
		{name: "readiness", mut: func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }, want: []string{"ns/all", "ns/web"}},
		{name: "deletion", mut: func(p *corev1.Pod) { p.DeletionTimestamp = &now }, want: []string{"ns/all", "ns/web"}},
		{name: "phase", mut: func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }, want: []string{"ns/all", "ns/web"}},
		{name: "IP", mut: func(p *corev1.Pod) { p.Status.PodIPs[0].IP = "10.0.0.2" }, want: []string{"ns/all", "ns/web"}},
		{name: "label joins canary only", mut: func(p *corev1.Pod) { p.Labels["track"] = "canary" }, want: []string{"ns/canary"}},
		{name: "label leaves web", mut: func(p *corev1.Pod) { p.Labels["app"] = "db" }, want: []string{"ns/web"}},
		{name: "label change and readiness", mut: func(p *corev1.Pod) {
			p.Labels["app"] = "db"
			p.Status.Conditions[0].Status = corev1.ConditionFalse
		}, want: []string{"ns/all", "ns/web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, cur := base(), base()
			cur.ResourceVersion = "2"
			tt.mut(cur)
			got := ServicesForPodUpdate(lister, old, cur)
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("services = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestShouldPodBeInEndpoints(t *testing.T) {
	now := metav1.Now()
	tests := []struct {
		name                 string
		pod                  corev1.Pod
		terminating, without bool // with and without includeTerminating
	}{
		{name: "running", pod: corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.1"}}, terminating: true, without: true},
		{name: "no IP", pod: corev1.Pod{}},
		{name: "succeeded", pod: corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.1", Phase: corev1.PodSucceeded}}},
		{name: "failed", pod: corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.1", Phase: corev1.PodFailed}}},
		{name: "deleting", pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: corev1.PodStatus{PodIP: "10.0.0.1"}}, terminating: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldPodBeInEndpoints(&tt.pod, true); got != tt.terminating {
				t.Errorf("including terminating = %v, want %v", got, tt.terminating)
			}
			if got := ShouldPodBeInEndpoints(&tt.pod, false); got != tt.without {
				t.Errorf("excluding terminating = %v, want %v", got, tt.without)
			}
		})
	}
}

func TestBatcher(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	q := controllerutil.NewQueue("test", clk)
	defer q.ShutDown()
	b := NewBatcher(q, clk, time.Second)

	b.Add("a") // never synced: at once
	if q.Len() != 1 {
		t.Fatalf("queue length %d, want 1", q.Len())
	}
	key, _ := q.Get()
	b.Started(key)
	q.Done(key)

	clk.Step(300 * time.Millisecond)
	b.Add("a") // synced 300ms ago: waits for the rest of the period
	b.Add("a")
	if q.Len() != 0 {
		t.Fatalf("queued before the period ended")
	}
	clk.Step(699 * time.Millisecond)
	if q.Len() != 0 {
		t.Fatalf("queued before the period ended")
	}
	clk.Step(time.Millisecond)
	if err := waitLen(q, 1); err != nil {
		t.Fatal(err)
	}
	key, _ = q.Get()
	b.Started(key)
	q.Done(key)

	clk.Step(2 * time.Second)
	b.Add("a") // quiet for longer than the period: at once
	if q.Len() != 1 {
		t.Fatalf("queue length %d, want 1", q.Len())
	}
}

// waitLen waits for the delaying queue's goroutine to move an item.
func waitLen(q controllerutil.Queue, n int) error {
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return q.Len() == n, nil
	})
	if err != nil {
		return fmt.Errorf("queue length %d, want %d", q.Len(), n)
	}
	return nil
}
