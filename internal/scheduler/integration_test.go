package scheduler_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/sampan-dev/sampan/internal/scheduler"
	"github.com/sampan-dev/sampan/internal/scheduler/schedtest"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// startScheduler runs a control plane without control loops and this
// scheduler against it until the test ends.
func startScheduler(t *testing.T) kubernetes.Interface {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	s, err := scheduler.New(scheduler.Config{Client: c.Client, Informers: factory, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	factory.Start(ctx.Done())
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scheduler: %v", err)
		}
		factory.Shutdown()
	})
	return c.Client
}

// createNode creates a Ready node through the API, as a kubelet registers.
func createNode(t *testing.T, client kubernetes.Interface, n *corev1.Node) {
	t.Helper()
	ctx := context.Background()
	created, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating node %s: %v", n.Name, err)
	}
	if len(created.Status.Conditions) == 0 {
		created.Status = n.Status
		if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("updating node %s status: %v", n.Name, err)
		}
	}
}

func createPod(t *testing.T, client kubernetes.Interface, p *corev1.Pod) {
	t.Helper()
	if _, err := client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s: %v", p.Name, err)
	}
}

// waitBound waits for the pods to be bound and returns their nodes.
func waitBound(t *testing.T, client kubernetes.Interface, names ...string) map[string]string {
	t.Helper()
	nodes := map[string]string{}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, n := range names {
			p, err := client.CoreV1().Pods("default").Get(ctx, n, metav1.GetOptions{})
			if err != nil || p.Spec.NodeName == "" {
				return false, nil
			}
			nodes[n] = p.Spec.NodeName
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("pods %v not all bound (bound: %v): %v", names, nodes, err)
	}
	return nodes
}

func TestIntegrationBindsPods(t *testing.T) {
	client := startScheduler(t)
	createNode(t, client, schedtest.Node("n1"))
	createNode(t, client, schedtest.Node("n2"))
	var names []string
	for i := range 5 {
		names = append(names, fmt.Sprintf("p%d", i))
		createPod(t, client, schedtest.Pod(names[i], "100m"))
	}
	nodes := waitBound(t, client, names...)
	for _, n := range nodes {
		if n != "n1" && n != "n2" {
			t.Errorf("pod bound to unknown node %q", n)
		}
	}
	// The Scheduled event says where.
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=p0"})
		if err != nil {
			return false, nil
		}
		for _, e := range evs.Items {
			if e.Reason == "Scheduled" && e.Message == "Successfully assigned default/p0 to "+nodes["p0"] && e.Source.Component == "default-scheduler" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("no Scheduled event for p0: %v", err)
	}
}

func TestIntegrationReplicaSetSpreads(t *testing.T) {
	client := startScheduler(t)
	for i := range 3 {
		createNode(t, client, schedtest.Node(fmt.Sprintf("n%d", i)))
	}
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: types.UID("rs-uid-1"), Controller: new(bool)}
	*owner.Controller = true
	var names []string
	for i := range 3 {
		p := schedtest.Pod(fmt.Sprintf("web-%d", i), "100m")
		p.OwnerReferences = []metav1.OwnerReference{owner}
		createPod(t, client, p)
		names = append(names, p.Name)
	}
	nodes := waitBound(t, client, names...)
	seen := map[string]bool{}
	for _, n := range nodes {
		seen[n] = true
	}
	if len(seen) != 3 {
		t.Errorf("3 replicas on %d nodes: %v", len(seen), nodes)
	}
}

func TestIntegrationAvoidsControlPlaneTaint(t *testing.T) {
	client := startScheduler(t)
	createNode(t, client, schedtest.Node("cp", schedtest.WithTaint("node-role.kubernetes.io/control-plane", "", corev1.TaintEffectNoSchedule)))
	createNode(t, client, schedtest.Node("worker"))
	var names []string
	for i := range 6 {
		names = append(names, fmt.Sprintf("p%d", i))
		createPod(t, client, schedtest.Pod(names[i], ""))
	}
	for p, n := range waitBound(t, client, names...) {
		if n != "worker" {
			t.Errorf("pod %s on %s, want worker", p, n)
		}
	}
}

func TestIntegrationUnschedulableThenNodeAdded(t *testing.T) {
	client := startScheduler(t)
	createNode(t, client, schedtest.Node("cp", schedtest.WithTaint("node-role.kubernetes.io/control-plane", "", corev1.TaintEffectNoSchedule)))
	createNode(t, client, schedtest.Node("small1", schedtest.WithCPU("1")))
	createNode(t, client, schedtest.Node("small2", schedtest.WithCPU("1")))
	createPod(t, client, schedtest.Pod("big", "2"))

	want := "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."
	ctx := context.Background()
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, "big", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == "Unschedulable" && c.Message == want {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		p, _ := client.CoreV1().Pods("default").Get(ctx, "big", metav1.GetOptions{})
		t.Fatalf("no PodScheduled=False condition %q: %v (conditions %+v)", want, err, p.Status.Conditions)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=big"})
		if err != nil {
			return false, nil
		}
		for _, e := range evs.Items {
			if e.Reason == "FailedScheduling" && e.Type == corev1.EventTypeWarning && e.Message == want {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("no FailedScheduling event %q: %v", want, err)
	}

	createNode(t, client, schedtest.Node("big-node", schedtest.WithCPU("8")))
	if n := waitBound(t, client, "big")["big"]; n != "big-node" {
		t.Errorf("big pod on %s, want big-node", n)
	}
}
