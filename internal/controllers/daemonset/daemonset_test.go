package daemonset_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/daemonset"
	"github.com/sampan-dev/sampan/internal/controllers/history"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// startController runs a DaemonSet controller against c until the test ends.
func startController(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(client, 0)
	ctrl, err := daemonset.New(daemonset.Config{Client: client, Informers: factory, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	factory.Start(ctx.Done())
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		factory.Shutdown()
	})
}

// kubelet plays scheduler and kubelet for the pods of ns until the test
// ends: it binds each pod to the node its affinity names, reports bound
// pods Running and Ready, and finishes the deletion of terminating ones.
func kubelet(t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			for i := range pods.Items {
				p := &pods.Items[i]
				switch {
				case p.DeletionTimestamp != nil:
					_ = client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
				case p.Spec.NodeName == "":
					node, err := pinnedNode(p)
					if err != nil {
						continue
					}
					_ = client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
						ObjectMeta: metav1.ObjectMeta{Name: p.Name},
						Target:     corev1.ObjectReference{Kind: "Node", Name: node},
					}, metav1.CreateOptions{})
				case p.Status.Phase == corev1.PodPending:
					p.Status.Phase = corev1.PodRunning
					p.Status.PodIP = "10.244.0.10"
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
					_, _ = client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				}
			}
			return false, nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// pinnedNode returns the node a daemon pod is bound to, or else the one
// its required node affinity names.
func pinnedNode(p *corev1.Pod) (string, error) {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName, nil
	}
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, r := range term.MatchFields {
				if r.Key == "metadata.name" && len(r.Values) == 1 {
					return r.Values[0], nil
				}
			}
		}
	}
	return "", fmt.Errorf("pod %s is not pinned to a node", p.Name)
}

func createNamespace(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	_, err := client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
}

func createNode(t *testing.T, client kubernetes.Interface, name string, taints ...corev1.Taint) {
	t.Helper()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:       corev1.NodeSpec{Taints: taints},
	}
	if _, err := client.CoreV1().Nodes().Create(context.Background(), node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating node %s: %v", name, err)
	}
}

func newDaemonSet(ns, name, image string) *appsv1.DaemonSet {
	lbls := map[string]string{"app": name}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
		},
	}
}

// podsByTarget returns the live pods of ns by the node they are for.
func podsByTarget(t *testing.T, client kubernetes.Interface, ns string) map[string][]corev1.Pod {
	t.Helper()
	pods, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing pods: %v", err)
	}
	out := map[string][]corev1.Pod{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		n, err := pinnedNode(&p)
		if err != nil {
			t.Fatalf("pod %s: %v", p.Name, err)
		}
		out[n] = append(out[n], p)
	}
	return out
}

// rolledOut runs `kubectl rollout status ds/x`'s own test.
func rolledOut(t *testing.T, ds *appsv1.DaemonSet) bool {
	t.Helper()
	viewer, err := polymorphichelpers.StatusViewerFor(schema.GroupKind{Group: "apps", Kind: "DaemonSet"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ds)
	if err != nil {
		t.Fatal(err)
	}
	_, done, err := viewer.Status(&unstructured.Unstructured{Object: u}, 0)
	if err != nil {
		t.Fatalf("rollout status: %v", err)
	}
	return done
}

func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func waitRolledOut(t *testing.T, client kubernetes.Interface, ns, name string, desired int32) *appsv1.DaemonSet {
	t.Helper()
	var ds *appsv1.DaemonSet
	waitFor(t, "rollout of "+name, func(ctx context.Context) (bool, error) {
		var err error
		ds, err = client.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return ds.Status.DesiredNumberScheduled == desired && rolledOut(t, ds), nil
	})
	return ds
}

func TestDaemonSetOnePodPerNode(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	ctx := context.Background()
	const ns = "ds-nodes"
	createNamespace(t, c.Client, ns)
	createNode(t, c.Client, "n1")
	createNode(t, c.Client, "n2")
	createNode(t, c.Client, "tainted", corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})
	startController(t, c.Client)
	kubelet(t, c.Client, ns)

	ds, err := c.Client.AppsV1().DaemonSets(ns).Create(ctx, newDaemonSet(ns, "agent", "agent:1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds = waitRolledOut(t, c.Client, ns, "agent", 2)
	if ds.Status.CurrentNumberScheduled != 2 || ds.Status.NumberReady != 2 || ds.Status.NumberMisscheduled != 0 || ds.Status.NumberUnavailable != 0 {
		t.Errorf("status = %+v", ds.Status)
	}
	byNode := podsByTarget(t, c.Client, ns)
	if len(byNode["n1"]) != 1 || len(byNode["n2"]) != 1 || len(byNode["tainted"]) != 0 {
		t.Fatalf("pods by node = %v", byNode)
	}
	pod := byNode["n1"][0]
	if pod.Labels[history.HashLabel] == "" {
		t.Errorf("pod has no %s label: %v", history.HashLabel, pod.Labels)
	}
	terms := pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Key != "metadata.name" || terms[0].MatchFields[0].Values[0] != "n1" {
		t.Errorf("node affinity = %+v", terms)
	}
	tolerated := map[string]bool{}
	for _, tol := range pod.Spec.Tolerations {
		tolerated[tol.Key+":"+string(tol.Effect)] = tol.TolerationSeconds == nil
	}
	for _, k := range []string{"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unschedulable:NoSchedule", "node.kubernetes.io/disk-pressure:NoSchedule"} {
		if !tolerated[k] {
			t.Errorf("pod lacks toleration %s without tolerationSeconds: %+v", k, pod.Spec.Tolerations)
		}
	}

	// A node joining later gets its pod.
	createNode(t, c.Client, "n3")
	waitRolledOut(t, c.Client, ns, "agent", 3)
	if byNode := podsByTarget(t, c.Client, ns); len(byNode["n3"]) != 1 {
		t.Fatalf("pods by node after n3 joined = %v", byNode)
	}

	// Tolerating the taint puts a pod on the tainted node too.
	ds, _ = c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
	ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoSchedule}}
	if _, err := c.Client.AppsV1().DaemonSets(ns).Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, c.Client, ns, "agent", 4)
	byNode = podsByTarget(t, c.Client, ns)
	for _, n := range []string{"n1", "n2", "n3", "tainted"} {
		if len(byNode[n]) != 1 {
			t.Errorf("node %s has %d pods, want 1", n, len(byNode[n]))
		}
	}

	// A deleted pod is replaced; a deleted node's count goes.
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, byNode["n2"][0].Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a replacement on n2", func(ctx context.Context) (bool, error) {
		byNode := podsByTarget(t, c.Client, ns)
		return len(byNode["n2"]) == 1 && byNode["n2"][0].Name != byNode["n1"][0].Name && byNode["n2"][0].UID != byNode["n1"][0].UID, nil
	})
	if err := c.Client.CoreV1().Nodes().Delete(ctx, "n3", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, c.Client, ns, "agent", 3)
}

func TestDaemonSetRollingUpdate(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	for i := range 3 {
		createNode(t, c.Client, fmt.Sprintf("n%d", i))
	}
	startController(t, c.Client)
	tests := []struct {
		name     string
		strategy appsv1.RollingUpdateDaemonSet
		maxDown  int // most nodes without a ready pod at once
	}{
		{"maxUnavailable 1", appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1))}, 1},
		{"maxUnavailable 100%", appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromString("100%"))}, 3},
		{"maxSurge 1", appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1))}, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testRollingUpdate(t, c.Client, fmt.Sprintf("ds-update-%d", i), tc.strategy, tc.maxDown)
		})
	}
}

func testRollingUpdate(t *testing.T, client kubernetes.Interface, ns string, strategy appsv1.RollingUpdateDaemonSet, maxDown int) {
	c := struct{ Client kubernetes.Interface }{client}
	ctx := context.Background()
	createNamespace(t, c.Client, ns)
	kubelet(t, c.Client, ns)
	ds := newDaemonSet(ns, "agent", "agent:1")
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &strategy}
	if _, err := c.Client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, c.Client, ns, "agent", 3)
	before := map[string]string{}
	for n, pods := range podsByTarget(t, c.Client, ns) {
		before[n] = pods[0].Name
	}

	// Watch the rollout: count the nodes without a ready pod.
	w, err := c.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ds, _ = c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
	ds.Spec.Template.Spec.Containers[0].Image = "agent:2"
	if _, err := c.Client.AppsV1().DaemonSets(ns).Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := map[string]map[string]bool{} // node → ready pods
	for n, name := range before {
		ready[n] = map[string]bool{name: true}
	}
	worst := 0
	deadline := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			n, err := pinnedNode(p)
			if err != nil {
				continue
			}
			if ready[n] == nil {
				ready[n] = map[string]bool{}
			}
			isReady := p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && len(p.Status.Conditions) > 0 && p.Status.Conditions[0].Status == corev1.ConditionTrue
			if isReady && ev.Type != "DELETED" {
				ready[n][p.Name] = true
			} else {
				delete(ready[n], p.Name)
			}
			down := 0
			for _, r := range ready {
				if len(r) == 0 {
					down++
				}
			}
			worst = max(worst, down)
		case <-time.After(100 * time.Millisecond):
			cur, err := c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			done = rolledOut(t, cur) && cur.Status.DesiredNumberScheduled == 3
		case <-deadline:
			cur, _ := c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
			t.Fatalf("rollout did not finish: status %+v", cur.Status)
		}
	}
	if worst > maxDown {
		t.Errorf("%d nodes were without a ready pod at once, want at most %d", worst, maxDown)
	}
	byNode := podsByTarget(t, c.Client, ns)
	for n, pods := range byNode {
		if len(pods) != 1 || pods[0].Spec.Containers[0].Image != "agent:2" || pods[0].Name == before[n] {
			t.Errorf("node %s: pods %v, want one new agent:2 pod", n, podNames(pods))
		}
	}
	revs, err := c.Client.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"app": "agent"}).String()})
	if err != nil {
		t.Fatal(err)
	}
	if len(revs.Items) != 2 {
		t.Fatalf("%d controller revisions, want 2", len(revs.Items))
	}
	sort.Slice(revs.Items, func(i, j int) bool { return revs.Items[i].Revision < revs.Items[j].Revision })
	if revs.Items[0].Revision != 1 || revs.Items[1].Revision != 2 {
		t.Errorf("revisions numbered %d, %d; want 1, 2", revs.Items[0].Revision, revs.Items[1].Revision)
	}
	if got, want := byNode["n0"][0].Labels[history.HashLabel], revs.Items[1].Labels[history.HashLabel]; got != want {
		t.Errorf("pod hash %q, newest revision hash %q", got, want)
	}

	// `kubectl rollout undo` goes back to revision 1, which becomes revision 3.
	rb, err := polymorphichelpers.RollbackerFor(schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	ds, _ = c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
	if _, err := rb.Rollback(ds, nil, 0, cmdutil.DryRunNone); err != nil {
		t.Fatalf("rollout undo: %v", err)
	}
	waitFor(t, "the undo to roll out", func(ctx context.Context) (bool, error) {
		cur, err := c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil || !rolledOut(t, cur) || cur.Status.DesiredNumberScheduled != 3 {
			return false, err
		}
		for _, pods := range podsByTarget(t, c.Client, ns) {
			if len(pods) != 1 || pods[0].Spec.Containers[0].Image != "agent:1" {
				return false, nil
			}
		}
		return true, nil
	})
	first, err := c.Client.AppsV1().ControllerRevisions(ns).Get(ctx, revs.Items[0].Name, metav1.GetOptions{})
	if err != nil || first.Revision != 3 {
		t.Errorf("revision of the template rolled back to: %v, %d; want 3", err, first.Revision)
	}
}

func podNames(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestDaemonSetOnDelete(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	ctx := context.Background()
	const ns = "ds-ondelete"
	createNamespace(t, c.Client, ns)
	createNode(t, c.Client, "n1")
	createNode(t, c.Client, "n2")
	startController(t, c.Client)
	kubelet(t, c.Client, ns)
	ds := newDaemonSet(ns, "agent", "agent:1")
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	if _, err := c.Client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two available pods", func(ctx context.Context) (bool, error) {
		cur, err := c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		return err == nil && cur.Status.DesiredNumberScheduled == 2 && cur.Status.NumberAvailable == 2, err
	})
	ds, _ = c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
	ds.Spec.Template.Spec.Containers[0].Image = "agent:2"
	if _, err := c.Client.AppsV1().DaemonSets(ns).Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new generation observed", func(ctx context.Context) (bool, error) {
		cur, err := c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		return err == nil && cur.Status.ObservedGeneration == cur.Generation && cur.Status.UpdatedNumberScheduled == 0, err
	})
	byNode := podsByTarget(t, c.Client, ns)
	for n, pods := range byNode {
		if len(pods) != 1 || pods[0].Spec.Containers[0].Image != "agent:1" {
			t.Fatalf("node %s: pods %v changed without being deleted", n, podNames(pods))
		}
	}
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, byNode["n1"][0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1's replacement at the new template", func(ctx context.Context) (bool, error) {
		cur, err := c.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		return err == nil && cur.Status.UpdatedNumberScheduled == 1 && cur.Status.NumberAvailable == 2, err
	})
	after := podsByTarget(t, c.Client, ns)
	if after["n1"][0].Spec.Containers[0].Image != "agent:2" || after["n2"][0].Name != byNode["n2"][0].Name {
		t.Errorf("after deleting n1's pod: n1 runs %s, n2 runs %s (was %s)", after["n1"][0].Spec.Containers[0].Image, after["n2"][0].Name, byNode["n2"][0].Name)
	}
}
