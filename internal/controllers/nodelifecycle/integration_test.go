package nodelifecycle_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/controllers/nodelifecycle"
	"github.com/sampan-dev/sampan/internal/sim"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

type env struct {
	t      *testing.T
	client kubernetes.Interface
	clk    *clocktesting.FakeClock
	sim    *sim.Sim
}

// start runs the controller and a simulator of nodes nodes on one fake clock.
func start(t *testing.T, nodes int) *env {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := nodelifecycle.New(nodelifecycle.Config{Client: c.Client, Informers: factory, Logger: logger, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Config{Client: c.Client, Nodes: nodes, Clock: clk, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	ctrlDone, simDone := make(chan error, 1), make(chan error, 1)
	go func() { ctrlDone <- ctrl.Run(ctx) }()
	go func() { simDone <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for _, ch := range []chan error{ctrlDone, simDone} {
			if err := <-ch; err != nil {
				t.Errorf("stopped with: %v", err)
			}
		}
		factory.Shutdown()
	})
	<-s.Registered()
	return &env{t: t, client: c.Client, clk: clk, sim: s}
}

func (e *env) poll(what string, cond func(ctx context.Context) (bool, error)) {
	e.t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, cond); err != nil {
		e.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (e *env) node(name string) *corev1.Node {
	e.t.Helper()
	n, err := e.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) pod(name string) *corev1.Pod {
	e.t.Helper()
	p, err := e.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) createPod(name, node string, tols ...corev1.Toleration) {
	e.t.Helper()
	_, err := e.client.CoreV1().Pods("default").Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{NodeName: node, Tolerations: tols,
			Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.poll(name+" ready", func(ctx context.Context) (bool, error) {
		return controllerutil.IsPodReady(e.pod(name)), nil
	})
}

// stepUntil advances the fake clock by step until cond holds.
func (e *env) stepUntil(what string, step time.Duration, cond func() bool) {
	e.t.Helper()
	e.poll(what, func(context.Context) (bool, error) {
		if cond() {
			return true, nil
		}
		e.clk.Step(step)
		return false, nil
	})
}

func hasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) *corev1.Taint {
	for i := range n.Spec.Taints {
		if n.Spec.Taints[i].Key == key && n.Spec.Taints[i].Effect == effect {
			return &n.Spec.Taints[i]
		}
	}
	return nil
}

func unreachableToleration(secs *int64) corev1.Toleration {
	return corev1.Toleration{Key: nodelifecycle.TaintUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs}
}

// A node that stops renewing its Lease goes Unknown after the grace
// period, gets the unreachable taints, its pods turn not Ready and are
// evicted per their tolerations; when it comes back the taints go.
func TestSilentNode(t *testing.T) {
	e := start(t, 2)
	const dead = "sim-node-0"
	e.poll("the node registered", func(context.Context) (bool, error) {
		return nodelifecycle.ReadyStatus(e.node(dead)) == corev1.ConditionTrue, nil
	})
	// default: no tolerations of its own, so the API server's
	// DefaultTolerationSeconds gives it 300s for unreachable.
	e.createPod("default", dead)
	if p := e.pod("default"); len(p.Spec.Tolerations) == 0 {
		t.Fatalf("pod default got no default tolerations: %+v", p.Spec.Tolerations)
	}
	e.createPod("zero", dead, unreachableToleration(ptr.To[int64](0)))
	e.createPod("forever", dead, unreachableToleration(nil))
	e.createPod("long", dead, unreachableToleration(ptr.To[int64](7200)))

	if err := e.sim.StopNode(dead); err != nil {
		t.Fatal(err)
	}
	lease, err := e.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(context.Background(), dead, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lastRenew := lease.Spec.RenewTime.Time
	e.stepUntil("the node to go Unknown", time.Second, func() bool {
		return nodelifecycle.ReadyStatus(e.node(dead)) == corev1.ConditionUnknown
	})
	n := e.node(dead)
	ready := nodelifecycle.NodeCondition(n, corev1.NodeReady)
	if silent := ready.LastTransitionTime.Sub(lastRenew); silent < 39*time.Second {
		t.Errorf("marked Unknown %v after the last renewal, before the 40s grace period", silent)
	}
	for _, ct := range nodelifecycle.MonitoredConditions {
		c := nodelifecycle.NodeCondition(n, ct)
		if c == nil || c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusUnknown" || c.Message != "Kubelet stopped posting node status." {
			t.Errorf("condition %s: %+v", ct, c)
		}
	}
	e.poll("unreachable taints", func(context.Context) (bool, error) {
		n = e.node(dead)
		return hasTaint(n, nodelifecycle.TaintUnreachable, corev1.TaintEffectNoSchedule) != nil && hasTaint(n, nodelifecycle.TaintUnreachable, corev1.TaintEffectNoExecute) != nil, nil
	})
	taint := hasTaint(n, nodelifecycle.TaintUnreachable, corev1.TaintEffectNoExecute)
	if taint.TimeAdded == nil {
		t.Fatal("NoExecute taint without timeAdded")
	}
	tainted := taint.TimeAdded.Time

	// Pods on it are not Ready any more; the one tolerating 0s is evicted at once.
	for _, name := range []string{"default", "forever"} {
		e.poll(name+" not ready", func(context.Context) (bool, error) {
			c := controllerutil.PodCondition(e.pod(name).Status.Conditions, corev1.PodReady)
			return c != nil && c.Status == corev1.ConditionFalse, nil
		})
	}
	e.poll("zero evicted", func(context.Context) (bool, error) {
		return e.pod("zero").DeletionTimestamp != nil, nil
	})
	if c := controllerutil.PodCondition(e.pod("zero").Status.Conditions, corev1.DisruptionTarget); c == nil || c.Reason != "DeletionByTaintManager" {
		t.Errorf("DisruptionTarget condition of zero: %+v", c)
	}
	e.poll("TaintManagerEviction event", func(ctx context.Context) (bool, error) {
		evs, err := e.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=zero,reason=TaintManagerEviction"})
		return err == nil && len(evs.Items) > 0 && evs.Items[0].Message == "Marking for deletion Pod default/zero", err
	})

	// default goes only after 300s.
	for e.clk.Since(tainted) < 290*time.Second {
		e.clk.Step(10 * time.Second)
	}
	time.Sleep(300 * time.Millisecond) // give a wrong early eviction a chance to show
	if p := e.pod("default"); p.DeletionTimestamp != nil {
		t.Fatalf("default evicted by %v after the taint, before its 300s toleration", e.clk.Since(tainted))
	}
	e.stepUntil("default evicted", time.Second, func() bool { return e.pod("default").DeletionTimestamp != nil })
	if at := e.clk.Since(tainted); at < 299*time.Second {
		t.Errorf("default evicted %v after the taint", at)
	}
	e.clk.Step(time.Hour)
	time.Sleep(100 * time.Millisecond)
	if p := e.pod("forever"); p.DeletionTimestamp != nil {
		t.Error("a pod tolerating the taint for ever was evicted")
	}
	if p := e.pod("long"); p.DeletionTimestamp != nil {
		t.Error("a pod tolerating the taint for 2h was evicted after 1h")
	}

	// Back: Ready, no taints, and the simulated kubelet finishes the deletions.
	if err := e.sim.StartNode(dead); err != nil {
		t.Fatal(err)
	}
	e.poll("the node back", func(context.Context) (bool, error) {
		n := e.node(dead)
		return nodelifecycle.ReadyStatus(n) == corev1.ConditionTrue && len(n.Spec.Taints) == 0, nil
	})
	e.poll("evicted pods gone", func(ctx context.Context) (bool, error) {
		for _, name := range []string{"zero", "default"} {
			if _, err := e.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return false, nil
			}
		}
		return true, nil
	})
	e.poll("forever ready again", func(context.Context) (bool, error) {
		return controllerutil.IsPodReady(e.pod("forever")), nil
	})
	e.poll("the eviction of long cancelled", func(ctx context.Context) (bool, error) {
		evs, err := e.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=long,reason=TaintManagerEviction"})
		return err == nil && len(evs.Items) > 0 && evs.Items[0].Message == "Cancelling deletion of Pod default/long", err
	})
	if p := e.pod("long"); p.DeletionTimestamp != nil {
		t.Error("long was evicted")
	}
}

// Cordoning taints the node unschedulable; a taint the pod does not
// tolerate evicts it at once.
func TestTaintsFollowSpec(t *testing.T) {
	e := start(t, 1)
	const name = "sim-node-0"
	ctx := context.Background()
	e.createPod("p", name)
	update := func(f func(n *corev1.Node)) {
		t.Helper()
		e.poll("node update", func(ctx context.Context) (bool, error) {
			n := e.node(name)
			f(n)
			_, err := e.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err == nil, nil
		})
	}
	update(func(n *corev1.Node) { n.Spec.Unschedulable = true })
	e.poll("unschedulable taint", func(context.Context) (bool, error) {
		return hasTaint(e.node(name), nodelifecycle.TaintUnschedulable, corev1.TaintEffectNoSchedule) != nil, nil
	})
	update(func(n *corev1.Node) { n.Spec.Unschedulable = false })
	e.poll("unschedulable taint gone", func(context.Context) (bool, error) {
		return hasTaint(e.node(name), nodelifecycle.TaintUnschedulable, corev1.TaintEffectNoSchedule) == nil, nil
	})
	update(func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "example.com/maintenance", Effect: corev1.TaintEffectNoExecute})
	})
	// The simulated kubelet is alive, so the evicted pod goes for good.
	e.poll("p evicted", func(ctx context.Context) (bool, error) {
		_, err := e.client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if hasTaint(e.node(name), "example.com/maintenance", corev1.TaintEffectNoExecute) == nil {
		t.Error("the controller removed a taint it does not manage")
	}
	evs, err := e.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name + ",reason=RegisteredNode"})
	if err != nil || len(evs.Items) == 0 {
		t.Errorf("no RegisteredNode event: %v", err)
	}
}
