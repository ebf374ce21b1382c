package sim

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
	"github.com/sampan-dev/sampan/internal/version"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startSim runs a simulator of n nodes against c until the test ends and
// waits until its nodes are registered.
func startSim(t *testing.T, client kubernetes.Interface, cfg Config) *Sim {
	t.Helper()
	cfg.Client = client
	if cfg.Logger == nil {
		cfg.Logger = discard()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim stopped with: %v", err)
		}
	})
	select {
	case <-s.Registered():
	case err := <-done:
		t.Fatalf("sim stopped early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("nodes not registered")
	}
	return s
}

func poll(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func testPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
		},
	}
}

func TestNodesRegister(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	clk := clocktesting.NewFakeClock(time.Now())
	s := startSim(t, c.Client, Config{Nodes: 3, Clock: clk, Labels: map[string]string{"zone": "a"}})
	ctx := context.Background()
	if got := s.NodeNames(); len(got) != 3 || got[0] != "sim-node-0" || got[2] != "sim-node-2" {
		t.Fatalf("NodeNames() = %v", got)
	}
	ips := map[string]bool{}
	for _, name := range s.NodeNames() {
		node, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{LabelHostname: name, LabelOS: "linux", LabelType: "sim", "zone": "a"} {
			if node.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", name, k, node.Labels[k], v)
			}
		}
		if node.Labels[LabelArch] == "" {
			t.Errorf("%s: no arch label", name)
		}
		ready := nodeCondition(node, corev1.NodeReady)
		if ready == nil || ready.Status != corev1.ConditionTrue || ready.Reason != "KubeletReady" {
			t.Errorf("%s: Ready condition = %+v", name, ready)
		}
		for _, ct := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
			if cond := nodeCondition(node, ct); cond == nil || cond.Status != corev1.ConditionFalse {
				t.Errorf("%s: %s condition = %+v", name, ct, cond)
			}
		}
		if q := node.Status.Allocatable[corev1.ResourcePods]; q.Value() != 110 {
			t.Errorf("%s: allocatable pods = %v", name, q.String())
		}
		if q := node.Status.Capacity[corev1.ResourceCPU]; q.Value() != 32 {
			t.Errorf("%s: cpu capacity = %v", name, q.String())
		}
		if q := node.Status.Capacity[corev1.ResourceMemory]; q.String() != "256Gi" {
			t.Errorf("%s: memory capacity = %v", name, q.String())
		}
		if node.Status.NodeInfo.KubeletVersion != version.Agent() {
			t.Errorf("%s: kubeletVersion = %q", name, node.Status.NodeInfo.KubeletVersion)
		}
		if len(node.Status.Addresses) == 0 || node.Status.Addresses[0].Type != corev1.NodeInternalIP || net.ParseIP(node.Status.Addresses[0].Address) == nil {
			t.Errorf("%s: addresses = %v", name, node.Status.Addresses)
		} else {
			ips[node.Status.Addresses[0].Address] = true
		}
		lease, err := c.Client.CoordinationV1().Leases(NodeLeaseNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: lease: %v", name, err)
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != name || lease.Spec.RenewTime == nil ||
			lease.Spec.LeaseDurationSeconds == nil || *lease.Spec.LeaseDurationSeconds != 40 {
			t.Errorf("%s: lease spec = %+v", name, lease.Spec)
		}
		if len(lease.OwnerReferences) != 1 || lease.OwnerReferences[0].UID != node.UID {
			t.Errorf("%s: lease owners = %v", name, lease.OwnerReferences)
		}
	}
	if len(ips) != 3 {
		t.Errorf("internal IPs not distinct: %v", ips)
	}

	// The Lease is renewed every 10s of the (fake) clock.
	before, err := c.Client.CoordinationV1().Leases(NodeLeaseNamespace).Get(ctx, "sim-node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	poll(t, "lease renewal", func(ctx context.Context) (bool, error) {
		clk.Step(2 * time.Second)
		l, err := c.Client.CoordinationV1().Leases(NodeLeaseNamespace).Get(ctx, "sim-node-1", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return l.Spec.RenewTime.After(before.Spec.RenewTime.Time), nil
	})
}

func nodeCondition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

func TestPodsRunInPodCIDR(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx := context.Background()
	s := startSim(t, c.Client, Config{Nodes: 2})
	// Give sim-node-0 a podCIDR, as node IPAM does.
	_, err := c.Client.CoreV1().Nodes().Patch(ctx, "sim-node-0", types.MergePatchType,
		[]byte(`{"spec":{"podCIDR":"10.244.7.0/24","podCIDRs":["10.244.7.0/24"]}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	poll(t, "the sim to see the podCIDR", func(context.Context) (bool, error) {
		n, err := s.nodeLister.Get("sim-node-0")
		return err == nil && n.Spec.PodCIDR != "", nil
	})
	_, cidr, _ := net.ParseCIDR("10.244.7.0/24")

	// One pod created bound, one bound through the binding subresource, one on the node without a podCIDR.
	if _, err := c.Client.CoreV1().Pods("default").Create(ctx, testPod("a", "sim-node-0"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Pods("default").Create(ctx, testPod("b", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Client.CoreV1().Pods("default").Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "default"},
		Target:     corev1.ObjectReference{Kind: "Node", Name: "sim-node-0"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Pods("default").Create(ctx, testPod("c", "sim-node-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		var pod *corev1.Pod
		poll(t, "pod "+name+" running", func(ctx context.Context) (bool, error) {
			var err error
			pod, err = c.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			return err == nil && pod.Status.Phase == corev1.PodRunning, err
		})
		for _, ct := range []corev1.PodConditionType{corev1.PodReady, corev1.PodInitialized, corev1.ContainersReady, corev1.PodScheduled} {
			if cond := controllerutil.PodCondition(pod.Status.Conditions, ct); cond == nil || cond.Status != corev1.ConditionTrue {
				t.Errorf("pod %s: condition %s = %+v", name, ct, cond)
			}
		}
		if pod.Status.StartTime == nil || pod.Status.HostIP == "" || pod.Status.QOSClass != corev1.PodQOSBestEffort {
			t.Errorf("pod %s: startTime %v hostIP %q qosClass %q", name, pod.Status.StartTime, pod.Status.HostIP, pod.Status.QOSClass)
		}
		if len(pod.Status.ContainerStatuses) != 1 {
			t.Fatalf("pod %s: container statuses %+v", name, pod.Status.ContainerStatuses)
		}
		cs := pod.Status.ContainerStatuses[0]
		if !cs.Ready || cs.State.Running == nil || cs.ContainerID == "" || cs.ImageID == "" || cs.Image != "nginx:1.27" {
			t.Errorf("pod %s: container status %+v", name, cs)
		}
		ip := net.ParseIP(pod.Status.PodIP)
		if ip == nil || len(pod.Status.PodIPs) != 1 || pod.Status.PodIPs[0].IP != pod.Status.PodIP {
			t.Fatalf("pod %s: podIP %q podIPs %v", name, pod.Status.PodIP, pod.Status.PodIPs)
		}
		if name != "c" && !cidr.Contains(ip) {
			t.Errorf("pod %s: IP %s not in the node's podCIDR %s", name, ip, cidr)
		}
		if other, dup := seen[pod.Status.PodIP]; dup {
			t.Errorf("pods %s and %s share IP %s", other, name, ip)
		}
		seen[pod.Status.PodIP] = name
	}
}

func TestJobPodSucceeds(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(time.Now())
	startSim(t, c.Client, Config{Nodes: 1, Clock: clk, JobPodDuration: 30 * time.Second})
	job, err := c.Client.BatchV1().Jobs("default").Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "j"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "work", Image: "busybox"}},
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := testPod("j-1", "sim-node-0")
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}
	if _, err := c.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "job pod running", func(ctx context.Context) (bool, error) {
		p, err := c.Client.CoreV1().Pods("default").Get(ctx, "j-1", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	// Not before JobPodDuration.
	clk.Step(20 * time.Second)
	time.Sleep(100 * time.Millisecond) // give a wrong early completion a chance to show
	if p, err := c.Client.CoreV1().Pods("default").Get(ctx, "j-1", metav1.GetOptions{}); err != nil || p.Status.Phase != corev1.PodRunning {
		t.Fatalf("pod after 20s: %v, %v", p.Status.Phase, err)
	}
	var p *corev1.Pod
	poll(t, "job pod succeeded", func(ctx context.Context) (bool, error) {
		clk.Step(time.Second)
		var err error
		p, err = c.Client.CoreV1().Pods("default").Get(ctx, "j-1", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodSucceeded, err
	})
	cs := p.Status.ContainerStatuses
	if len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.ExitCode != 0 || cs[0].State.Terminated.Reason != "Completed" || cs[0].Ready {
		t.Errorf("container statuses %+v", cs)
	}
	if cond := controllerutil.PodCondition(p.Status.Conditions, corev1.PodReady); cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != "PodCompleted" {
		t.Errorf("Ready condition %+v", cond)
	}
}

func TestDeletedPodsGo(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx := context.Background()
	s := startSim(t, c.Client, Config{Nodes: 1})
	pods := c.Client.CoreV1().Pods("default")
	plain := testPod("plain", "sim-node-0")
	withFinalizer := testPod("finalized", "sim-node-0")
	withFinalizer.Finalizers = []string{"example.com/hold"}
	for _, p := range []*corev1.Pod{plain, withFinalizer} {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, p.Name+" running", func(ctx context.Context) (bool, error) {
			got, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
			return err == nil && got.Status.Phase == corev1.PodRunning, err
		})
	}
	for _, name := range []string{"plain", "finalized"} {
		if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "plain pod gone", func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, "plain", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	// The pod with a finalizer is terminal and stays until its finalizer goes.
	poll(t, "finalized pod failed", func(ctx context.Context) (bool, error) {
		got, err := pods.Get(ctx, "finalized", metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodFailed && got.DeletionGracePeriodSeconds != nil && *got.DeletionGracePeriodSeconds == 0, err
	})
	if _, err := pods.Patch(ctx, "finalized", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "finalized pod gone", func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, "finalized", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	// A stopped node leaves its pods alone; started again, it finishes the deletion.
	if _, err := pods.Create(ctx, testPod("late", "sim-node-0"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "late running", func(ctx context.Context) (bool, error) {
		got, err := pods.Get(ctx, "late", metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodRunning, err
	})
	if err := s.StopNode("sim-node-0"); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "late", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // give a dead node's wrong deletion a chance to show
	if got, err := pods.Get(ctx, "late", metav1.GetOptions{}); err != nil || got.DeletionTimestamp == nil {
		t.Fatalf("pod on a stopped node: %v (deleting: %v)", err, got != nil && got.DeletionTimestamp != nil)
	}
	if err := s.StartNode("sim-node-0"); err != nil {
		t.Fatal(err)
	}
	poll(t, "late gone", func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, "late", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err := s.StopNode("nope"); err == nil {
		t.Error("StopNode of an unknown node succeeded")
	}
}

func TestDeleteOnExit(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx := context.Background()
	s, err := New(Config{Client: c.Client, Nodes: 2, NamePrefix: "gone-", DeleteOnExit: true, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	<-s.Registered()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 0 {
		t.Errorf("nodes left: %d", len(nodes.Items))
	}
}
