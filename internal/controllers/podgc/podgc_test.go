package podgc

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func mkPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(t0)}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func onNode(n string) podOpt          { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func age(d time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t0.Add(-d)) }
}
func deleting() podOpt { return func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: t0} } }
func evictedPod() podOpt {
	return func(p *corev1.Pod) { p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted" }
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestTerminatedOverThreshold(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pods      []*corev1.Pod
		threshold int
		want      []string
	}{
		{
			name:      "under threshold",
			pods:      []*corev1.Pod{mkPod("a", phase(corev1.PodSucceeded)), mkPod("b", phase(corev1.PodFailed))},
			threshold: 2,
		},
		{
			name: "running and pending pods do not count",
			pods: []*corev1.Pod{
				mkPod("a", phase(corev1.PodRunning)), mkPod("b", phase(corev1.PodPending)),
				mkPod("c", phase(corev1.PodUnknown)), mkPod("d", phase(corev1.PodSucceeded)),
			},
			threshold: 1,
		},
		{
			name: "oldest first",
			pods: []*corev1.Pod{
				mkPod("new", phase(corev1.PodSucceeded), age(time.Minute)),
				mkPod("old", phase(corev1.PodFailed), age(time.Hour)),
				mkPod("mid", phase(corev1.PodSucceeded), age(10*time.Minute)),
				mkPod("run", phase(corev1.PodRunning), age(2*time.Hour)),
			},
			threshold: 1,
			want:      []string{"old", "mid"},
		},
		{
			name: "evicted before older, names break ties",
			pods: []*corev1.Pod{
				mkPod("b", phase(corev1.PodSucceeded), age(time.Hour)),
				mkPod("a", phase(corev1.PodSucceeded), age(time.Hour)),
				mkPod("ev", evictedPod()),
			},
			threshold: 1,
			want:      []string{"ev", "a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := names(terminatedOverThreshold(tc.pods, tc.threshold))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTerminatingOutOfService(t *testing.T) {
	ready := func(n *corev1.Node, s corev1.ConditionStatus) *corev1.Node {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: s}}
		return n
	}
	oos := corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}
	nodes := map[string]*corev1.Node{
		"dead":        ready(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "dead"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{oos}}}, corev1.ConditionFalse),
		"ready-oos":   ready(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ready-oos"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{oos}}}, corev1.ConditionTrue),
		"unreachable": ready(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "unreachable"}}, corev1.ConditionUnknown),
	}
	get := func(name string) (*corev1.Node, error) {
		if n, ok := nodes[name]; ok {
			return n, nil
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "nodes"}, name)
	}
	pods := []*corev1.Pod{
		mkPod("dead-deleting", onNode("dead"), deleting()),
		mkPod("dead-running", onNode("dead"), phase(corev1.PodRunning)),
		mkPod("ready-oos-deleting", onNode("ready-oos"), deleting()),
		mkPod("unreachable-deleting", onNode("unreachable"), deleting()),
		mkPod("gone-deleting", onNode("gone"), deleting()),
		mkPod("unbound-deleting", deleting()),
	}
	if got, want := names(terminatingOutOfService(pods, get)), []string{"dead-deleting"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestUnscheduledTerminating(t *testing.T) {
	pods := []*corev1.Pod{
		mkPod("unbound-deleting", deleting()),
		mkPod("unbound"),
		mkPod("bound-deleting", onNode("n"), deleting()),
	}
	if got, want := names(unscheduledTerminating(pods)), []string{"unbound-deleting"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestFailedPatch(t *testing.T) {
	cond := &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists"}
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		cond     *corev1.PodCondition
		wantCond bool
		wantLTT  time.Time
	}{
		{name: "no condition", pod: mkPod("a", phase(corev1.PodRunning))},
		{name: "new condition", pod: mkPod("a", phase(corev1.PodRunning)), cond: cond, wantCond: true, wantLTT: t0.Add(time.Hour)},
		{
			name: "condition already true keeps its transition time",
			pod: mkPod("a", func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)}}
			}),
			cond: cond, wantCond: true, wantLTT: t0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := failedPatch(tc.pod, tc.cond, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var got corev1.Pod
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if got.UID != tc.pod.UID || got.Status.Phase != corev1.PodFailed {
				t.Errorf("patch %s: want uid %s and phase Failed", data, tc.pod.UID)
			}
			if !tc.wantCond {
				if len(got.Status.Conditions) != 0 {
					t.Errorf("patch %s: unexpected conditions", data)
				}
				return
			}
			if len(got.Status.Conditions) != 1 {
				t.Fatalf("patch %s: want one condition", data)
			}
			c := got.Status.Conditions[0]
			if c.Type != cond.Type || c.Status != cond.Status || c.Reason != cond.Reason || c.Message != cond.Message || !c.LastTransitionTime.Time.Equal(tc.wantLTT) {
				t.Errorf("condition %+v, want %+v at %v", c, cond, tc.wantLTT)
			}
		})
	}
}

// TestQuarantine checks that a node missing from the cache is only
// reported deleted once it has been missing for the quarantine and the
// server confirms it.
func TestQuarantine(t *testing.T) {
	server := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "late"}})
	c, err := New(Config{Client: server, Informers: informers.NewSharedInformerFactory(server, 0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	nodes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := nodes.Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "here"}}); err != nil {
		t.Fatal(err)
	}
	c.nodeLister = corelisters.NewNodeLister(nodes)
	// "gone" is in neither the cache nor the server; "late" only on the server.
	pods := []*corev1.Pod{mkPod("a", onNode("here")), mkPod("b", onNode("gone")), mkPod("c", onNode("late")), mkPod("d")}
	ctx := context.Background()
	check := func(at time.Duration, ps []*corev1.Pod, want ...string) {
		t.Helper()
		got := c.deletedNodes(ctx, ps, t0.Add(at))
		var gotNames []string
		for n := range got {
			gotNames = append(gotNames, n)
		}
		slices.Sort(gotNames)
		if !slices.Equal(gotNames, want) {
			t.Errorf("at %v: deleted nodes %v, want %v", at, gotNames, want)
		}
	}
	check(0, pods)
	check(20*time.Second, pods)
	check(40*time.Second, pods, "gone") // "late" exists on the server: it starts over
	check(60*time.Second, pods)         // both missing again since 60 s
	check(80*time.Second, pods)
	if err := server.CoreV1().Nodes().Delete(ctx, "late", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	check(100*time.Second, pods, "gone", "late")
	// A node whose pods went away is forgotten: its quarantine starts over.
	check(120*time.Second, pods[:1])
	check(140*time.Second, pods[:2])
	check(160*time.Second, pods[:2])
	check(180*time.Second, pods[:2], "gone")
}
