package endpointslice_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/sampan-dev/sampan/internal/controllers/endpointslice"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const timeout = 30 * time.Second

type env struct {
	client kubernetes.Interface
}

// start runs a control plane and this controller until the test ends. The
// controller batches pod events over 50ms on the real clock: batching only
// spaces syncs, no test waits for time to pass.
func start(t *testing.T) *env {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := endpointslice.New(endpointslice.Config{
		Client: c.Client, Informers: factory, BatchPeriod: 50 * time.Millisecond,
		// A frozen clock: batching must not depend on it.
		Clock:  clocktesting.NewFakeClock(time.Now()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	factory.Start(ctx.Done())
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
		factory.Shutdown()
	})
	e := &env{client: c.Client}
	for _, n := range []struct{ name, zone string }{{"node-a", "zone-1"}, {"node-b", ""}} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name}}
		if n.zone != "" {
			node.Labels = map[string]string{corev1.LabelTopologyZone: n.zone}
		}
		if _, err := c.Client.CoreV1().Nodes().Create(t.Context(), node, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) namespace(t *testing.T) string {
	t.Helper()
	ns, err := e.client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "eps-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func service(name string, mut ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

func (e *env) createService(t *testing.T, ns string, svc *corev1.Service) *corev1.Service {
	t.Helper()
	out, err := e.client.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type podSpec struct {
	name, app, ip, node string
	port                int32 // the container port named "http"
	ready               bool
	hostname, subdom    string
}

// runPod creates a pod bound to its node and writes the status a kubelet
// would: Running, an IP, Ready as asked.
func (e *env) runPod(ctx context.Context, ns string, ps podSpec) error {
	if ps.node == "" {
		ps.node = "node-a"
	}
	if ps.port == 0 {
		ps.port = 8080
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: ps.name, Labels: map[string]string{"app": ps.app}},
		Spec: corev1.PodSpec{
			NodeName: ps.node, Hostname: ps.hostname, Subdomain: ps.subdom,
			Containers: []corev1.Container{{Name: "c", Image: "nginx",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: ps.port}}}},
		},
	}
	created, err := e.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating pod %s: %w", ps.name, err)
	}
	created.Status.Phase = corev1.PodRunning
	created.Status.PodIP = ps.ip
	created.Status.PodIPs = []corev1.PodIP{{IP: ps.ip}}
	created.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: readyStatus(ps.ready)}}
	if _, err := e.client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing status of pod %s: %w", ps.name, err)
	}
	return nil
}

func readyStatus(ready bool) corev1.ConditionStatus {
	if ready {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

func (e *env) setReady(t *testing.T, ns, name string, ready bool) {
	t.Helper()
	pod, err := e.client.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: readyStatus(ready)}}
	if _, err := e.client.CoreV1().Pods(ns).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) slices(ctx context.Context, ns, svc string) ([]discoveryv1.EndpointSlice, error) {
	l, err := e.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// waitFor polls cond until it holds, failing the test with its last message.
func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, msg := cond(ctx)
		last = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last: %s)", what, err, last)
	}
}

// describe renders endpoints as "name:ip:r/s/t" sorted, for comparisons.
func describe(slices []discoveryv1.EndpointSlice) string {
	var parts []string
	for _, s := range slices {
		for _, ep := range s.Endpoints {
			name := ""
			if ep.TargetRef != nil {
				name = ep.TargetRef.Name
			}
			c := ep.Conditions
			parts = append(parts, fmt.Sprintf("%s:%s:%s/%s/%s", name, strings.Join(ep.Addresses, ","), flag(c.Ready, "R"), flag(c.Serving, "S"), flag(c.Terminating, "T")))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func flag(b *bool, name string) string {
	switch {
	case b == nil:
		return "?"
	case *b:
		return name
	default:
		return "-"
	}
}

// waitEndpoints waits until svc's slices show exactly want (see describe).
func (e *env) waitEndpoints(t *testing.T, ns, svc, want string) []discoveryv1.EndpointSlice {
	t.Helper()
	var got []discoveryv1.EndpointSlice
	waitFor(t, "endpoints "+want, func(ctx context.Context) (bool, string) {
		s, err := e.slices(ctx, ns, svc)
		if err != nil {
			return false, err.Error()
		}
		got = s
		d := describe(s)
		return d == want, d
	})
	return got
}

func TestEndpointSlices(t *testing.T) {
	e := start(t)

	t.Run("ready pods, readiness, termination", func(t *testing.T) {
		ns := e.namespace(t)
		svc := e.createService(t, ns, service("web", func(s *corev1.Service) { s.Labels = map[string]string{"team": "a"} }))
		for i, ready := range []bool{true, true, false} {
			if err := e.runPod(t.Context(), ns, podSpec{name: fmt.Sprintf("web-%d", i), app: "web", ip: fmt.Sprintf("10.244.1.%d", i+1), ready: ready}); err != nil {
				t.Fatal(err)
			}
		}
		// A pod of another app is not an endpoint.
		if err := e.runPod(t.Context(), ns, podSpec{name: "other", app: "other", ip: "10.244.1.99", ready: true}); err != nil {
			t.Fatal(err)
		}
		got := e.waitEndpoints(t, ns, "web", "web-0:10.244.1.1:R/S/- web-1:10.244.1.2:R/S/- web-2:10.244.1.3:-/-/-")
		if len(got) != 1 {
			t.Fatalf("%d slices, want 1", len(got))
		}
		s := got[0]
		if !strings.HasPrefix(s.Name, "web-") || s.AddressType != discoveryv1.AddressTypeIPv4 {
			t.Errorf("slice %s addressType %s", s.Name, s.AddressType)
		}
		if s.Labels[discoveryv1.LabelManagedBy] != endpointslice.ControllerName || s.Labels["team"] != "a" {
			t.Errorf("labels = %v", s.Labels)
		}
		if _, ok := s.Labels[corev1.IsHeadlessService]; ok {
			t.Errorf("headless label on a ClusterIP service's slice")
		}
		if ref := metav1.GetControllerOf(&s); ref == nil || ref.UID != svc.UID || ref.Kind != "Service" {
			t.Errorf("owner = %v", s.OwnerReferences)
		}
		if len(s.Ports) != 1 || *s.Ports[0].Name != "http" || *s.Ports[0].Port != 8080 || *s.Ports[0].Protocol != corev1.ProtocolTCP {
			t.Errorf("ports = %+v", s.Ports)
		}
		for _, ep := range s.Endpoints {
			if ep.NodeName == nil || *ep.NodeName != "node-a" || ep.Zone == nil || *ep.Zone != "zone-1" || ep.TargetRef.Kind != "Pod" || ep.TargetRef.UID == "" {
				t.Errorf("endpoint %+v", ep)
			}
		}

		e.setReady(t, ns, "web-0", false)
		e.setReady(t, ns, "web-2", true)
		e.waitEndpoints(t, ns, "web", "web-0:10.244.1.1:-/-/- web-1:10.244.1.2:R/S/- web-2:10.244.1.3:R/S/-")

		// web-1 is bound to a node: deleting it only marks it terminating.
		if err := e.client.CoreV1().Pods(ns).Delete(t.Context(), "web-1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitEndpoints(t, ns, "web", "web-0:10.244.1.1:-/-/- web-1:10.244.1.2:-/S/T web-2:10.244.1.3:R/S/-")

		// Gone for good: no longer an endpoint.
		if err := e.client.CoreV1().Pods(ns).Delete(t.Context(), "web-1", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
			t.Fatal(err)
		}
		e.waitEndpoints(t, ns, "web", "web-0:10.244.1.1:-/-/- web-2:10.244.1.3:R/S/-")

		// A finished pod is no endpoint either.
		pod, err := e.client.CoreV1().Pods(ns).Get(t.Context(), "web-2", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Status.Phase = corev1.PodSucceeded
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		if _, err := e.client.CoreV1().Pods(ns).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitEndpoints(t, ns, "web", "web-0:10.244.1.1:-/-/-")

		// Relabelling a pod moves it out.
		pod, err = e.client.CoreV1().Pods(ns).Get(t.Context(), "web-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Labels["app"] = "gone"
		if _, err := e.client.CoreV1().Pods(ns).Update(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got = e.waitEndpoints(t, ns, "web", "")
		if len(got) != 1 || len(got[0].Ports) != 0 {
			t.Errorf("want one empty placeholder slice, got %+v", got)
		}
	})

	t.Run("publishNotReadyAddresses", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("pub", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }))
		if err := e.runPod(t.Context(), ns, podSpec{name: "pub-0", app: "pub", ip: "10.244.2.1", ready: false}); err != nil {
			t.Fatal(err)
		}
		e.waitEndpoints(t, ns, "pub", "pub-0:10.244.2.1:R/-/-")
	})

	t.Run("named target port resolved per pod", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("named", func(s *corev1.Service) {
			s.Spec.Ports[0].TargetPort = intstr.FromString("http")
			s.Spec.Ports[0].AppProtocol = new(string)
			*s.Spec.Ports[0].AppProtocol = "http"
		}))
		for i, port := range []int32{8080, 9090, 8080} {
			if err := e.runPod(t.Context(), ns, podSpec{name: fmt.Sprintf("named-%d", i), app: "named", ip: fmt.Sprintf("10.244.3.%d", i+1), port: port, ready: true}); err != nil {
				t.Fatal(err)
			}
		}
		got := e.waitEndpoints(t, ns, "named", "named-0:10.244.3.1:R/S/- named-1:10.244.3.2:R/S/- named-2:10.244.3.3:R/S/-")
		byPort := map[int32][]string{}
		for _, s := range got {
			if len(s.Ports) != 1 || s.Ports[0].AppProtocol == nil || *s.Ports[0].AppProtocol != "http" {
				t.Fatalf("ports = %+v", s.Ports)
			}
			for _, ep := range s.Endpoints {
				byPort[*s.Ports[0].Port] = append(byPort[*s.Ports[0].Port], ep.TargetRef.Name)
			}
		}
		for _, names := range byPort {
			sort.Strings(names)
		}
		if fmt.Sprint(byPort) != "map[8080:[named-0 named-2] 9090:[named-1]]" {
			t.Errorf("endpoints by port = %v", byPort)
		}
	})

	t.Run("headless service with hostnames", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("db", func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }))
		if err := e.runPod(t.Context(), ns, podSpec{name: "db-0", app: "db", ip: "10.244.4.1", ready: true, hostname: "db-0", subdom: "db", node: "node-b"}); err != nil {
			t.Fatal(err)
		}
		got := e.waitEndpoints(t, ns, "db", "db-0:10.244.4.1:R/S/-")
		for _, s := range got {
			if _, ok := s.Labels[corev1.IsHeadlessService]; !ok {
				t.Errorf("slice %s of a headless service lacks %s: %v", s.Name, corev1.IsHeadlessService, s.Labels)
			}
			for _, ep := range s.Endpoints {
				if ep.Hostname == nil || *ep.Hostname != "db-0" || ep.Zone != nil {
					t.Errorf("endpoint %+v: want hostname db-0 and no zone", ep)
				}
			}
		}
	})

	t.Run("services without selector are left alone", func(t *testing.T) {
		ns := e.namespace(t)
		manual := service("manual", func(s *corev1.Service) { s.Spec.Selector = nil })
		e.createService(t, ns, manual)
		e.createService(t, ns, service("auto"))
		e.waitEndpoints(t, ns, "auto", "") // placeholder written: the controller has looked at the namespace
		got, err := e.slices(t.Context(), ns, "manual")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("slices for a service without selector: %+v", got)
		}
		// The API server's own slice of the kubernetes Service is untouched.
		k, err := e.client.DiscoveryV1().EndpointSlices("default").Get(t.Context(), "kubernetes", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if k.Labels[discoveryv1.LabelManagedBy] == endpointslice.ControllerName {
			t.Errorf("kubernetes slice taken over: %v", k.Labels)
		}
	})

	t.Run("deleted slice comes back, deleted service takes its slices", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("gc"))
		if err := e.runPod(t.Context(), ns, podSpec{name: "gc-0", app: "gc", ip: "10.244.5.1", ready: true}); err != nil {
			t.Fatal(err)
		}
		got := e.waitEndpoints(t, ns, "gc", "gc-0:10.244.5.1:R/S/-")
		if err := e.client.DiscoveryV1().EndpointSlices(ns).Delete(t.Context(), got[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a new slice", func(ctx context.Context) (bool, string) {
			s, err := e.slices(ctx, ns, "gc")
			if err != nil {
				return false, err.Error()
			}
			return len(s) == 1 && s[0].Name != got[0].Name && describe(s) == "gc-0:10.244.5.1:R/S/-", describe(s)
		})
		if err := e.client.CoreV1().Services(ns).Delete(t.Context(), "gc", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "slices garbage collected", func(ctx context.Context) (bool, string) {
			s, err := e.slices(ctx, ns, "gc")
			if err != nil {
				return false, err.Error()
			}
			return len(s) == 0, fmt.Sprintf("%d slices", len(s))
		})
	})

	t.Run("250 pods make 3 slices, one change rewrites one slice", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("big"))
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		sem := make(chan struct{}, 16)
		for i := range 250 {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				err := e.runPod(t.Context(), ns, podSpec{name: fmt.Sprintf("big-%d", i), app: "big", ip: fmt.Sprintf("10.245.%d.%d", i/200, i%200+1), ready: true})
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		var before []discoveryv1.EndpointSlice
		waitFor(t, "250 ready endpoints in 3 slices", func(ctx context.Context) (bool, string) {
			s, err := e.slices(ctx, ns, "big")
			if err != nil {
				return false, err.Error()
			}
			before = s
			n, ready := 0, 0
			for _, sl := range s {
				n += len(sl.Endpoints)
				for _, ep := range sl.Endpoints {
					if *ep.Conditions.Ready {
						ready++
					}
				}
			}
			return len(s) == 3 && n == 250 && ready == 250, fmt.Sprintf("%d slices, %d endpoints, %d ready", len(s), n, ready)
		})
		for _, s := range before {
			if len(s.Endpoints) > 100 {
				t.Errorf("slice %s has %d endpoints", s.Name, len(s.Endpoints))
			}
		}
		e.setReady(t, ns, "big-7", false)
		var after []discoveryv1.EndpointSlice
		waitFor(t, "big-7 not ready", func(ctx context.Context) (bool, string) {
			s, err := e.slices(ctx, ns, "big")
			if err != nil {
				return false, err.Error()
			}
			after = s
			for _, sl := range s {
				for _, ep := range sl.Endpoints {
					if ep.TargetRef.Name == "big-7" {
						return !*ep.Conditions.Ready, "big-7 still ready"
					}
				}
			}
			return false, "big-7 missing"
		})
		rv := map[string]string{}
		for _, s := range before {
			rv[s.Name] = s.ResourceVersion
		}
		changed := 0
		for _, s := range after {
			if rv[s.Name] != s.ResourceVersion {
				changed++
			}
		}
		if len(after) != 3 || changed != 1 {
			t.Errorf("%d slices, %d rewritten; want 3 and 1", len(after), changed)
		}
	})
}

func TestNewRequiresClientAndInformers(t *testing.T) {
	if _, err := endpointslice.New(endpointslice.Config{}); err == nil {
		t.Error("New without client and informers succeeded")
	}
}
