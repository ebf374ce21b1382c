package endpoints_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/sampan-dev/sampan/internal/controllers/endpoints"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const timeout = 30 * time.Second

type env struct {
	client kubernetes.Interface
	start  func()
}

// setup runs a control plane; start runs this controller until the test ends.
func setup(t *testing.T) *env {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	e := &env{client: c.Client}
	e.start = func() {
		factory := informers.NewSharedInformerFactory(c.Client, 0)
		ctrl, err := endpoints.New(endpoints.Config{
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
	}
	return e
}

func (e *env) namespace(t *testing.T) string {
	t.Helper()
	ns, err := e.client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ep-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func (e *env) createService(t *testing.T, ns string, svc *corev1.Service) {
	t.Helper()
	if _, err := e.client.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func service(name string, mut ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
				{Name: "metrics", Port: 9100, TargetPort: intstr.FromInt32(9100)},
			},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

// runPod creates a pod bound to node-a and writes the status a kubelet would.
func (e *env) runPod(t *testing.T, ns, name, app, ip string, ready bool, mut ...func(*corev1.Pod)) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c", Image: "nginx",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
	}
	for _, m := range mut {
		m(pod)
	}
	created, err := e.client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	created.Status.Phase = corev1.PodRunning
	created.Status.PodIP, created.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	created.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	if _, err := e.client.CoreV1().Pods(ns).UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// render writes subsets as "[ready|notready|ports]".
func render(subsets []corev1.EndpointSubset) string {
	out := ""
	for _, ss := range subsets {
		out += "["
		for i, a := range ss.Addresses {
			out += sep(i) + a.IP
		}
		out += "|"
		for i, a := range ss.NotReadyAddresses {
			out += sep(i) + a.IP
		}
		out += "|"
		for i, p := range ss.Ports {
			out += sep(i) + fmt.Sprintf("%s:%d", p.Name, p.Port)
		}
		out += "]"
	}
	return out
}

func sep(i int) string {
	if i > 0 {
		return ","
	}
	return ""
}

// waitSubsets waits until the Endpoints ns/name render as want.
func (e *env) waitSubsets(t *testing.T, ns, name, want string) *corev1.Endpoints {
	t.Helper()
	var got *corev1.Endpoints
	last := ""
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ep, err := e.client.CoreV1().Endpoints(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		got, last = ep, render(ep.Subsets)
		return last == want, nil
	})
	if err != nil {
		t.Fatalf("waiting for endpoints %s: %v (last: %s)", want, err, last)
	}
	return got
}

func (e *env) waitGone(t *testing.T, ns, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := e.client.CoreV1().Endpoints(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("endpoints %s/%s not deleted: %v", ns, name, err)
	}
}

func TestEndpoints(t *testing.T) {
	e := setup(t)
	// An Endpoints object whose Service went away while the controller was down.
	ns := e.namespace(t)
	orphan := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "orphan"}}
	if _, err := e.client.CoreV1().Endpoints(ns).Create(t.Context(), orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.start()

	t.Run("leftover deleted at start", func(t *testing.T) {
		e.waitGone(t, ns, "orphan")
	})

	t.Run("addresses, readiness, termination, deletion", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("web"))
		e.runPod(t, ns, "web-0", "web", "10.244.1.1", true, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "w0", "web" })
		e.runPod(t, ns, "web-1", "web", "10.244.1.2", false)
		e.runPod(t, ns, "web-2", "web", "10.244.1.3", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })
		e.runPod(t, ns, "other", "other", "10.244.1.9", true)
		ep := e.waitSubsets(t, ns, "web", "[10.244.1.1|10.244.1.2|http:8080][10.244.1.1,10.244.1.3|10.244.1.2|metrics:9100]")
		if ep.Labels["team"] != "a" {
			t.Errorf("labels = %v", ep.Labels)
		}
		if _, ok := ep.Labels[corev1.IsHeadlessService]; ok {
			t.Errorf("headless label on a ClusterIP service's endpoints")
		}
		a := ep.Subsets[0].Addresses[0]
		if a.Hostname != "w0" || a.NodeName == nil || *a.NodeName != "node-a" || a.TargetRef == nil || a.TargetRef.Kind != "Pod" || a.TargetRef.Name != "web-0" || a.TargetRef.UID == "" {
			t.Errorf("address = %+v", a)
		}
		if p := ep.Subsets[0].Ports[0]; p.Protocol != corev1.ProtocolTCP {
			t.Errorf("port = %+v", p)
		}

		// Terminating pods leave (publishNotReadyAddresses is off).
		if err := e.client.CoreV1().Pods(ns).Delete(t.Context(), "web-1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitSubsets(t, ns, "web", "[10.244.1.1||http:8080][10.244.1.1,10.244.1.3||metrics:9100]")

		if err := e.client.CoreV1().Services(ns).Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitGone(t, ns, "web")
	})

	t.Run("publishNotReadyAddresses keeps terminating pods", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("pub", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true; s.Spec.Ports = s.Spec.Ports[:1] }))
		e.runPod(t, ns, "pub-0", "pub", "10.244.2.1", false)
		e.waitSubsets(t, ns, "pub", "[10.244.2.1||http:8080]")
		if err := e.client.CoreV1().Pods(ns).Delete(t.Context(), "pub-0", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Once pub-1 shows, the terminating pub-0 has been seen too.
		e.runPod(t, ns, "pub-1", "pub", "10.244.2.2", true)
		e.waitSubsets(t, ns, "pub", "[10.244.2.1,10.244.2.2||http:8080]")
	})

	t.Run("headless without ports", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("db", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.Ports = corev1.ClusterIPNone, nil }))
		e.runPod(t, ns, "db-0", "db", "10.244.3.1", true)
		ep := e.waitSubsets(t, ns, "db", "[10.244.3.1||]")
		if _, ok := ep.Labels[corev1.IsHeadlessService]; !ok {
			t.Errorf("no headless label: %v", ep.Labels)
		}
	})

	t.Run("service without selector left alone", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("manual", func(s *corev1.Service) { s.Spec.Selector = nil }))
		manual := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "manual"},
			Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.10"}}, Ports: []corev1.EndpointPort{{Name: "http", Port: 80}}}}}
		if _, err := e.client.CoreV1().Endpoints(ns).Create(t.Context(), manual, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// A second service shows when the controller has been through the namespace.
		e.createService(t, ns, service("auto"))
		e.waitSubsets(t, ns, "auto", "")
		e.waitSubsets(t, ns, "manual", "[192.0.2.10||http:80]")
		// The API server's own Endpoints of the kubernetes Service too.
		k, err := e.client.CoreV1().Endpoints("default").Get(t.Context(), "kubernetes", metav1.GetOptions{})
		if err != nil || len(k.Subsets) != 1 || len(k.Subsets[0].Addresses) != 1 {
			t.Errorf("kubernetes endpoints = %+v, %v", k, err)
		}
	})

	t.Run("deleted endpoints come back", func(t *testing.T) {
		ns := e.namespace(t)
		e.createService(t, ns, service("back", func(s *corev1.Service) { s.Spec.Ports = s.Spec.Ports[:1] }))
		e.runPod(t, ns, "back-0", "back", "10.244.4.1", true)
		before := e.waitSubsets(t, ns, "back", "[10.244.4.1||http:8080]")
		if err := e.client.CoreV1().Endpoints(ns).Delete(t.Context(), "back", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		after := e.waitSubsets(t, ns, "back", "[10.244.4.1||http:8080]")
		if after.UID == before.UID {
			t.Errorf("endpoints not recreated")
		}
	})
}
