package nodeipam_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"

	"github.com/sampan-dev/sampan/internal/controllers/nodeipam"
	"github.com/sampan-dev/sampan/internal/sim"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

func createNode(t *testing.T, c *testcluster.Cluster, name, podCIDR string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if podCIDR != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = podCIDR, []string{podCIDR}
	}
	if _, err := c.Client.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func podCIDROf(t *testing.T, c *testcluster.Cluster, name string) string {
	t.Helper()
	var cidr string
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if n.Spec.PodCIDR != "" && (len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR) {
			t.Fatalf("node %s: podCIDR %q, podCIDRs %v", name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
		}
		cidr = n.Spec.PodCIDR
		return cidr != "", nil
	})
	if err != nil {
		t.Fatalf("waiting for the podCIDR of %s: %v", name, err)
	}
	return cidr
}

// Nodes get distinct /24s of the cluster CIDR, subnets held before the
// controller starts are respected, exhaustion is reported with an event,
// and a deleted node's subnet goes to a node that waited for one.
func TestAllocation(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A node that already has a subnet before the controller starts.
	createNode(t, c, "old", "10.10.0.0/24")

	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := nodeipam.New(nodeipam.Config{
		Client:           c.Client,
		Informers:        factory,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		ClusterCIDR:      parseCIDR(t, "10.10.0.0/22"), // 4 subnets
		NodeCIDRMaskSize: 24,
	})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	got := map[string]string{"10.10.0.0/24": "old"}
	cluster := parseCIDR(t, "10.10.0.0/22")
	for _, name := range []string{"a", "b", "c"} {
		createNode(t, c, name, "")
		cidr := podCIDROf(t, c, name)
		if other, dup := got[cidr]; dup {
			t.Fatalf("nodes %s and %s both got %s", other, name, cidr)
		}
		if !cluster.Contains(parseCIDR(t, cidr).IP) || parseCIDR(t, cidr).String() != cidr {
			t.Fatalf("node %s got %s, not a /24 of %s", name, cidr, cluster)
		}
		got[cidr] = name
	}
	if podCIDROf(t, c, "old") != "10.10.0.0/24" {
		t.Error("the podCIDR of old changed")
	}

	// The range is full: d waits, with an event.
	createNode(t, c, "d", "")
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := c.Client.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=d,reason=CIDRNotAvailable"})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "Node" && e.Message == "Node d status is now: CIDRNotAvailable" && e.Source.Component == "cidrAllocator" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("waiting for the CIDRNotAvailable event: %v", err)
	}
	if n, err := c.Client.CoreV1().Nodes().Get(ctx, "d", metav1.GetOptions{}); err != nil || n.Spec.PodCIDR != "" {
		t.Fatalf("node d: %v, podCIDR %q", err, n.Spec.PodCIDR)
	}

	// Deleting b releases its subnet, which d gets.
	bCIDR := podCIDROf(t, c, "b")
	if err := c.Client.CoreV1().Nodes().Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if dCIDR := podCIDROf(t, c, "d"); dCIDR != bCIDR {
		t.Errorf("node d got %s, want the released %s", dCIDR, bCIDR)
	}
}

// A controller started over nodes that all hold subnets hands out the
// remaining ones only.
func TestRebuildsFromExistingNodes(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	createNode(t, c, "x", "10.20.1.0/24")
	createNode(t, c, "y", "10.20.0.0/24")
	createNode(t, c, "z", "")
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := nodeipam.New(nodeipam.Config{Client: c.Client, Informers: factory, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ClusterCIDR: parseCIDR(t, "10.20.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	go func() { _ = ctrl.Run(ctx) }()
	if got := podCIDROf(t, c, "z"); got != "10.20.2.0/24" {
		t.Errorf("node z got %s, want 10.20.2.0/24", got)
	}
}

// Simulated nodes get subnets, and their pods addresses inside them.
func TestSimulatedNodesPodsInTheirCIDR(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := nodeipam.New(nodeipam.Config{Client: c.Client, Informers: factory, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	go func() { _ = ctrl.Run(ctx) }()
	s, err := sim.New(sim.Config{Client: c.Client, Nodes: 3, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- s.Run(ctx) }()
	defer func() { cancel(); <-simDone }()
	select {
	case <-s.Registered():
	case err := <-simDone:
		t.Fatalf("sim: %v", err)
	}
	cidrs := map[string]*net.IPNet{}
	for _, name := range s.NodeNames() {
		cidrs[name] = parseCIDR(t, podCIDROf(t, c, name))
	}
	if len(cidrs) != 3 || cidrs["sim-node-0"].String() == cidrs["sim-node-1"].String() {
		t.Fatalf("podCIDRs: %v", cidrs)
	}
	run := func(name, node string) string {
		t.Helper()
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
		}
		if _, err := c.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var ip string
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
			p, err := c.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			ip = p.Status.PodIP
			return p.Status.Phase == corev1.PodRunning, nil
		})
		if err != nil {
			t.Fatalf("pod %s: %v", name, err)
		}
		return ip
	}
	for i, node := range s.NodeNames() {
		// A pod that starts before the simulator sees its node's podCIDR
		// gets a fake address (as a kubelet without a pod network would);
		// by the time it runs, the next one must get an address inside.
		run(fmt.Sprintf("first%d", i), node)
		if ip := run(fmt.Sprintf("second%d", i), node); !cidrs[node].Contains(net.ParseIP(ip)) {
			t.Errorf("pod on %s got %s, outside its podCIDR %s", node, ip, cidrs[node])
		}
	}
}

func parseCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, c, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
