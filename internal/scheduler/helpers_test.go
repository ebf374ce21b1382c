package scheduler

import (
	"github.com/sampan-dev/sampan/internal/scheduler/schedtest"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fakeCluster is a cache filled by hand, and the algorithm to run on it.
type fakeCluster struct {
	t     testing.TB
	cache *cache
	alg   *algorithm
}

func newFakeCluster(t testing.TB, nodes ...*corev1.Node) *fakeCluster {
	c := &fakeCluster{t: t, cache: newCache(nil), alg: &algorithm{parallelism: 1, rnd: rand.New(rand.NewPCG(1, 2))}}
	for _, n := range nodes {
		c.cache.setNode(n)
	}
	return c
}

// place puts pod on node as if the informer had shown it bound.
func (c *fakeCluster) place(pod *corev1.Pod, node string) {
	p := pod.DeepCopy()
	p.Spec.NodeName = node
	c.cache.setPod(p)
}

func (c *fakeCluster) state(pod *corev1.Pod) *cycleState {
	pi := newPodInfo(pod)
	pi.groups = c.cache.groupsLocked(pod)
	return c.cache.newCycleState(pi)
}

// filterNode returns the reasons pod does not fit node, nil if it fits.
func (c *fakeCluster) filterNode(pod *corev1.Pod, node string) []string {
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	st := c.state(pod)
	if st.pi.parseErr != nil {
		return []string{st.pi.parseErr.Error()}
	}
	n := c.cache.nodes[node]
	for _, f := range filters(st) {
		if r := f(st, n); r != nil {
			return r
		}
	}
	return nil
}

// schedule places pod as the scheduler would and returns the node.
func (c *fakeCluster) schedule(pod *corev1.Pod) (string, error) {
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	st := c.state(pod)
	n, err := c.alg.schedule(st, c.cache.nodeList)
	if err != nil {
		return "", err
	}
	c.cache.assumeLocked(st.pi, n.name)
	return n.name, nil
}

func mkPod(name string, mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{SchedulerName: DefaultSchedulerName, Containers: []corev1.Container{{Name: "c", Image: "img"}}},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func requests(cpu, mem string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		p.Spec.Containers[0].Resources.Requests = l
	}
}

func podLabels(kv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func ownedBy(uid string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: types.UID(uid), Controller: &t}}
	}
}

func tolerate(key string, effect corev1.TaintEffect) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect})
	}
}

func nodeLabels(kv ...string) nodeOpt {
	return func(n *corev1.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func unschedulableNode(n *corev1.Node) { n.Spec.Unschedulable = true }

func notReady(n *corev1.Node) {
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}
}

func allocatable(name corev1.ResourceName, q string) nodeOpt {
	return func(n *corev1.Node) { n.Status.Allocatable[name] = resource.MustParse(q) }
}

// Builders shared with the integration tests (package scheduler_test).
type nodeOpt = schedtest.NodeOpt

var (
	testNode  = schedtest.Node
	testPod   = schedtest.Pod
	withCPU   = schedtest.WithCPU
	withTaint = schedtest.WithTaint
)
