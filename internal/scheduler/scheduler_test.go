package scheduler

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"
)

func TestVolumeSelectors(t *testing.T) {
	local := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-local"},
		Spec: corev1.PersistentVolumeSpec{NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}},
		}}}}},
	}
	pvc := func(name, volume string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume}}
	}
	objs := []runtime.Object{local, pvc("bound", "pv-local"), pvc("unbound", ""), pvc("lost", "pv-gone")}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	s, err := New(Config{Client: client, Informers: factory})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	withClaim := func(claim string) *corev1.Pod {
		return mkPod("p", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
		})
	}
	tests := []struct {
		claim   string
		wantMsg string
		wantSel int
	}{
		{"bound", "", 1},
		{"unbound", ReasonUnboundPVC, 0},
		{"missing", `persistentvolumeclaim "missing" not found`, 0},
		{"lost", "pvc(s) bound to non-existent pv(s)", 0},
	}
	for _, tt := range tests {
		t.Run(tt.claim, func(t *testing.T) {
			sels, msg := s.volumeSelectors(withClaim(tt.claim))
			if msg != tt.wantMsg || len(sels) != tt.wantSel {
				t.Fatalf("got %d selectors, message %q; want %d, %q", len(sels), msg, tt.wantSel, tt.wantMsg)
			}
		})
	}

	// The bound local volume keeps the pod on n1.
	sels, _ := s.volumeSelectors(withClaim("bound"))
	c := newFakeCluster(t, testNode("n1"), testNode("n2"))
	c.cache.mu.Lock()
	pi := newPodInfo(withClaim("bound"))
	pi.volumeSelectors = sels
	st := c.cache.newCycleState(pi)
	for _, tc := range []struct {
		node string
		want []string
	}{{"n1", nil}, {"n2", []string{ReasonVolumeNodeAffinity}}} {
		n := c.cache.nodes[tc.node]
		var got []string
		for _, f := range filters(st) {
			if got = f(st, n); got != nil {
				break
			}
		}
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("node %s: %v, want %v", tc.node, got, tc.want)
		}
	}
	c.cache.mu.Unlock()
}

func TestNodeChangeMayHelp(t *testing.T) {
	base := testNode("n")
	tests := []struct {
		name   string
		change func(*corev1.Node)
		want   bool
	}{
		{"heartbeat only", func(n *corev1.Node) { n.Status.Conditions[0].LastHeartbeatTime = metav1.Now() }, false},
		{"becomes ready", nil, true}, // from a not-ready copy, below
		{"uncordoned", nil, true},
		{"label added", func(n *corev1.Node) { n.Labels["disk"] = "ssd" }, true},
		{"taint removed", nil, true},
		{"allocatable grows", func(n *corev1.Node) { n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("8") }, true},
		{"cordoned", func(n *corev1.Node) { n.Spec.Unschedulable = true }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, cur := base.DeepCopy(), base.DeepCopy()
			switch tt.name {
			case "becomes ready":
				notReady(old)
			case "uncordoned":
				old.Spec.Unschedulable = true
			case "taint removed":
				withTaint("k", "", corev1.TaintEffectNoSchedule)(old)
			default:
				tt.change(cur)
			}
			if got := nodeChangeMayHelp(old, cur); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// A pod that fits nowhere waits as unschedulable and is tried again when
// a node is added; the informer handlers drive the queue.
func TestUnschedulableRetriedOnNodeAdd(t *testing.T) {
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	clk := testingclock.NewFakeClock(time.Now())
	rec := record.NewFakeRecorder(10)
	s, err := New(Config{Client: client, Informers: factory, Clock: clk, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	s.addNode(testNode("small", withCPU("1")))
	pod := mkPod("big", requests("2", ""))
	if err := factory.Core().V1().Pods().Informer().GetIndexer().Add(pod); err != nil {
		t.Fatal(err)
	}
	s.addPod(pod)
	ctx := context.Background()
	if !s.scheduleOne(ctx) {
		t.Fatal("queue closed")
	}
	if w, _ := s.queue.Has("default/big"); w != "unschedulable" {
		t.Fatalf("pod in %q, want unschedulable", w)
	}
	if ev := <-rec.Events; ev != "Warning FailedScheduling 0/1 nodes are available: 1 Insufficient cpu." {
		t.Errorf("event %q", ev)
	}
	clk.Step(2 * time.Second) // past the pod's backoff
	s.addNode(testNode("large", withCPU("8")))
	if w, _ := s.queue.Has("default/big"); w != "active" {
		t.Fatalf("pod in %q after a node was added, want active", w)
	}
}
