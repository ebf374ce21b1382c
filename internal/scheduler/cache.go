package scheduler

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// NodeInfo is a node with what the pods placed on it take, kept up to date
// incrementally from the informers and from the scheduler's own decisions.
type NodeInfo struct {
	node          *corev1.Node
	name          string
	ready         bool
	unschedulable bool
	taints        []corev1.Taint // NoSchedule and NoExecute
	preferTaints  []corev1.Taint // PreferNoSchedule
	allocatable   resources
	allowedPods   int64

	requested        resources
	nonZeroCPU       int64
	nonZeroMem       int64
	pods             map[string]*podInfo
	usedPorts        map[hostPort]int
	groups           map[string]int // spreading group → pods of it here
	podsWithAffinity int            // pods here with (anti-)affinity terms

	index int // in cache.nodeList, -1 when the node object is unknown
}

func newNodeInfo(name string) *NodeInfo {
	return &NodeInfo{name: name, pods: map[string]*podInfo{}, groups: map[string]int{}, index: -1}
}

// Name returns the node's name.
func (n *NodeInfo) Name() string { return n.name }

func (n *NodeInfo) setNode(node *corev1.Node) {
	n.node = node
	n.ready = false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			n.ready = c.Status == corev1.ConditionTrue
		}
	}
	n.unschedulable = node.Spec.Unschedulable
	n.taints, n.preferTaints = n.taints[:0], n.preferTaints[:0]
	for _, t := range node.Spec.Taints {
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute:
			n.taints = append(n.taints, t)
		case corev1.TaintEffectPreferNoSchedule:
			n.preferTaints = append(n.preferTaints, t)
		}
	}
	n.allocatable = resources{}
	n.allocatable.addList(node.Status.Allocatable)
	n.allowedPods = node.Status.Allocatable.Pods().Value()
}

func (n *NodeInfo) addPod(pi *podInfo) {
	n.pods[pi.key] = pi
	n.requested.add(pi.req)
	n.nonZeroCPU += pi.nonZeroCPU
	n.nonZeroMem += pi.nonZeroMem
	for _, hp := range pi.hostPorts {
		if n.usedPorts == nil {
			n.usedPorts = map[hostPort]int{}
		}
		n.usedPorts[hp]++
	}
	for _, g := range pi.groups {
		n.groups[g]++
	}
	if pi.hasAffinityTerms() {
		n.podsWithAffinity++
	}
}

func (n *NodeInfo) removePod(pi *podInfo) {
	if _, ok := n.pods[pi.key]; !ok {
		return
	}
	delete(n.pods, pi.key)
	n.requested.sub(pi.req)
	n.nonZeroCPU -= pi.nonZeroCPU
	n.nonZeroMem -= pi.nonZeroMem
	for _, hp := range pi.hostPorts {
		if n.usedPorts[hp]--; n.usedPorts[hp] <= 0 {
			delete(n.usedPorts, hp)
		}
	}
	for _, g := range pi.groups {
		if n.groups[g]--; n.groups[g] <= 0 {
			delete(n.groups, g)
		}
	}
	if pi.hasAffinityTerms() {
		n.podsWithAffinity--
	}
}

// cachedPod is a pod the cache accounts on a node.
type cachedPod struct {
	info    *podInfo
	node    string
	assumed bool // placed by us, not yet seen bound by the informer
}

// service is a Service's selector, for spreading.
type service struct {
	name     string
	selector labels.Selector
}

// cache is the scheduler's view of the cluster. mu guards everything; the
// scheduling loop holds it for a whole decision, so a decision sees one
// consistent state and accounts its pod before anyone else looks.
type cache struct {
	mu       sync.Mutex
	nodes    map[string]*NodeInfo // including nodes only known from pods
	nodeList []*NodeInfo          // nodes whose Node object exists
	pods     map[string]*cachedPod
	byNS     map[string]map[string]*cachedPod
	services map[string][]service // namespace → services with a selector
	// withTerms holds the placed pods that have (anti-)affinity terms that
	// may reject or attract others.
	withTerms map[string]*cachedPod
	nsLabels  func(string) labels.Set
}

func newCache(nsLabels func(string) labels.Set) *cache {
	if nsLabels == nil {
		nsLabels = func(string) labels.Set { return nil }
	}
	return &cache{
		nodes:     map[string]*NodeInfo{},
		pods:      map[string]*cachedPod{},
		byNS:      map[string]map[string]*cachedPod{},
		services:  map[string][]service{},
		withTerms: map[string]*cachedPod{},
		nsLabels:  nsLabels,
	}
}

func (c *cache) nodeInfoLocked(name string) *NodeInfo {
	n, ok := c.nodes[name]
	if !ok {
		n = newNodeInfo(name)
		c.nodes[name] = n
	}
	return n
}

// setNode adds or updates a node.
func (c *cache) setNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeInfoLocked(node.Name)
	n.setNode(node)
	if n.index < 0 {
		n.index = len(c.nodeList)
		c.nodeList = append(c.nodeList, n)
	}
}

// removeNode forgets a node object; its pods stay accounted until they go.
func (c *cache) removeNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[name]
	if !ok || n.index < 0 {
		return
	}
	last := c.nodeList[len(c.nodeList)-1]
	c.nodeList[n.index] = last
	last.index = n.index
	c.nodeList[len(c.nodeList)-1] = nil
	c.nodeList = c.nodeList[:len(c.nodeList)-1]
	n.index, n.node = -1, nil
	if len(n.pods) == 0 {
		delete(c.nodes, name)
	}
}

// groupsLocked computes pod's spreading groups.
func (c *cache) groupsLocked(pod *corev1.Pod) []string {
	var gs []string
	if g := controllerGroup(pod); g != "" {
		gs = append(gs, g)
	}
	if svcs := c.services[pod.Namespace]; len(svcs) > 0 {
		set := labels.Set(pod.Labels)
		for _, s := range svcs {
			if s.selector.Matches(set) {
				gs = append(gs, "s/"+pod.Namespace+"/"+s.name)
			}
		}
	}
	return gs
}

// addPodLocked accounts pi on node.
func (c *cache) addPodLocked(pi *podInfo, node string, assumed bool) {
	if pi.groups == nil {
		pi.groups = c.groupsLocked(pi.pod)
	}
	cp := &cachedPod{info: pi, node: node, assumed: assumed}
	c.pods[pi.key] = cp
	ns := c.byNS[pi.pod.Namespace]
	if ns == nil {
		ns = map[string]*cachedPod{}
		c.byNS[pi.pod.Namespace] = ns
	}
	ns[pi.key] = cp
	if pi.hasExistingTerms() {
		c.withTerms[pi.key] = cp
	}
	c.nodeInfoLocked(node).addPod(pi)
}

func (c *cache) removePodLocked(key string) {
	cp, ok := c.pods[key]
	if !ok {
		return
	}
	delete(c.pods, key)
	ns := cp.info.pod.Namespace
	delete(c.byNS[ns], key)
	if len(c.byNS[ns]) == 0 {
		delete(c.byNS, ns)
	}
	delete(c.withTerms, key)
	if n, ok := c.nodes[cp.node]; ok {
		n.removePod(cp.info)
		if n.index < 0 && len(n.pods) == 0 {
			delete(c.nodes, cp.node)
		}
	}
}

// assumeLocked accounts a pod the scheduler has just placed, before the
// API server has bound it.
func (c *cache) assumeLocked(pi *podInfo, node string) {
	c.removePodLocked(pi.key)
	c.addPodLocked(pi, node, true)
}

// forget drops an assumed pod whose binding failed.
func (c *cache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[key]; ok && cp.assumed {
		c.removePodLocked(key)
	}
}

// setPod records a pod the informer shows bound to a node, confirming the
// assumption that placed it if any.
func (c *cache) setPod(pod *corev1.Pod) {
	pi := newPodInfo(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removePodLocked(pi.key)
	c.addPodLocked(pi, pod.Spec.NodeName, false)
}

// removePod drops a pod (deleted, finished, or an assumed pod deleted
// before its binding).
func (c *cache) removePod(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removePodLocked(key)
}

// placed reports whether the cache accounts the pod with key on a node.
func (c *cache) placed(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pods[key]
	return ok
}

// setService records a Service's selector (nil: the Service is gone or
// selects nothing) and recounts the spreading groups of its namespace.
func (c *cache) setService(ns, name string, selector labels.Selector) {
	c.mu.Lock()
	defer c.mu.Unlock()
	svcs := c.services[ns]
	out := svcs[:0]
	for _, s := range svcs {
		if s.name != name {
			out = append(out, s)
		}
	}
	if selector != nil {
		out = append(out, service{name: name, selector: selector})
	}
	if len(out) == 0 {
		delete(c.services, ns)
	} else {
		c.services[ns] = out
	}
	for _, cp := range c.byNS[ns] {
		groups := c.groupsLocked(cp.info.pod)
		if equalStrings(groups, cp.info.groups) {
			continue
		}
		n := c.nodes[cp.node]
		n.removePod(cp.info)
		cp.info.groups = groups
		n.addPod(cp.info)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
