package scheduler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
)

// Reasons a node does not fit, as upstream's plugins word them; the
// FailedScheduling message counts nodes per reason.
const (
	ReasonUnschedulable        = "node(s) were unschedulable"
	ReasonNotReady             = "node(s) were not ready"
	ReasonNodeAffinity         = "node(s) didn't match Pod's node affinity/selector"
	ReasonHostPorts            = "node(s) didn't have free ports for the requested pod ports"
	ReasonTooManyPods          = "Too many pods"
	ReasonPodAffinity          = "node(s) didn't match pod affinity rules"
	ReasonPodAntiAffinity      = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
	ReasonSpread               = "node(s) didn't match pod topology spread constraints"
	ReasonSpreadMissingLabel   = "node(s) didn't match pod topology spread constraints (missing required label)"
	ReasonVolumeNodeAffinity   = "node(s) had volume node affinity conflict"
	ReasonUnboundPVC           = "pod has unbound immediate PersistentVolumeClaims"
)

// Keys of the taints the node lifecycle controller and cordon set.
const (
	taintNotReady      = "node.kubernetes.io/not-ready"
	taintUnschedulable = "node.kubernetes.io/unschedulable"
)

// Preallocated single reasons, so a failing filter does not allocate.
var (
	reasonsUnschedulable        = []string{ReasonUnschedulable}
	reasonsNotReady             = []string{ReasonNotReady}
	reasonsNodeAffinity         = []string{ReasonNodeAffinity}
	reasonsHostPorts            = []string{ReasonHostPorts}
	reasonsPodAffinity          = []string{ReasonPodAffinity}
	reasonsPodAntiAffinity      = []string{ReasonPodAntiAffinity}
	reasonsExistingAntiAffinity = []string{ReasonExistingAntiAffinity}
	reasonsSpread               = []string{ReasonSpread}
	reasonsSpreadMissingLabel   = []string{ReasonSpreadMissingLabel}
	reasonsVolumeNodeAffinity   = []string{ReasonVolumeNodeAffinity}
)

var (
	notReadyTaint      = corev1.Taint{Key: taintNotReady, Effect: corev1.TaintEffectNoSchedule}
	unschedulableTaint = corev1.Taint{Key: taintUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	discardLogger      = klog.Background().V(10)
)

// filter says why pod cannot go to node, nil when it fits. It runs
// concurrently for different nodes and must only read.
type filter func(st *cycleState, n *NodeInfo) []string

// filters returns the filters that apply to the pod of st, in upstream's
// order; cheap, always-relevant checks come first.
func filters(st *cycleState) []filter {
	pi := st.pi
	fs := []filter{filterSchedulable, filterReady}
	fs = append(fs, filterTaints)
	if pi.nodeAffinity != nil {
		fs = append(fs, filterNodeAffinity)
	}
	if len(pi.hostPorts) > 0 {
		fs = append(fs, filterHostPorts)
	}
	fs = append(fs, filterResources)
	if len(pi.volumeSelectors) > 0 {
		fs = append(fs, filterVolumeNodeAffinity)
	}
	if st.hasHardSpread {
		fs = append(fs, filterSpread)
	}
	if len(pi.requiredAffinity) > 0 || len(pi.requiredAntiAffinity) > 0 || len(st.existingAnti) > 0 {
		fs = append(fs, filterInterPodAffinity)
	}
	return fs
}

func tolerates(pi *podInfo, t *corev1.Taint) bool {
	return v1helper.TolerationsTolerateTaint(discardLogger, pi.tolerations, t, false)
}

// filterSchedulable rejects cordoned nodes, unless the pod tolerates the
// unschedulable taint (as DaemonSet pods do).
func filterSchedulable(st *cycleState, n *NodeInfo) []string {
	if n.unschedulable && !st.toleratesUnschedulable {
		return reasonsUnschedulable
	}
	return nil
}

// filterReady rejects nodes whose Ready condition is not True, unless the
// pod tolerates the not-ready NoSchedule taint.
func filterReady(st *cycleState, n *NodeInfo) []string {
	if !n.ready && !st.toleratesNotReady {
		return reasonsNotReady
	}
	return nil
}

// filterTaints rejects nodes with a NoSchedule or NoExecute taint the pod
// does not tolerate.
func filterTaints(st *cycleState, n *NodeInfo) []string {
	for i := range n.taints {
		t := &n.taints[i]
		if !tolerates(st.pi, t) {
			return []string{fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)}
		}
	}
	return nil
}

// filterNodeAffinity checks nodeSelector and required node affinity
// (including the metadata.name field form DaemonSets use).
func filterNodeAffinity(st *cycleState, n *NodeInfo) []string {
	ok, err := st.pi.nodeAffinity.Match(n.node)
	if err != nil || !ok {
		return reasonsNodeAffinity
	}
	return nil
}

// filterHostPorts rejects nodes where a requested host port is taken.
func filterHostPorts(st *cycleState, n *NodeInfo) []string {
	if len(n.usedPorts) == 0 {
		return nil
	}
	for _, want := range st.pi.hostPorts {
		for used := range n.usedPorts {
			if used.port == want.port && used.protocol == want.protocol &&
				(used.ip == "" || want.ip == "" || used.ip == want.ip) {
				return reasonsHostPorts
			}
		}
	}
	return nil
}

// filterResources checks the pod's requests against what the node has
// left, and the pod count against allocatable pods.
func filterResources(st *cycleState, n *NodeInfo) []string {
	pi := st.pi
	var out []string
	if int64(len(n.pods))+1 > n.allowedPods {
		out = append(out, ReasonTooManyPods)
	}
	r := &pi.req
	if r.MilliCPU > 0 && r.MilliCPU > n.allocatable.MilliCPU-n.requested.MilliCPU {
		out = append(out, "Insufficient cpu")
	}
	if r.Memory > 0 && r.Memory > n.allocatable.Memory-n.requested.Memory {
		out = append(out, "Insufficient memory")
	}
	if r.EphemeralStorage > 0 && r.EphemeralStorage > n.allocatable.EphemeralStorage-n.requested.EphemeralStorage {
		out = append(out, "Insufficient ephemeral-storage")
	}
	for name, v := range r.Scalar {
		if v > 0 && v > n.allocatable.Scalar[name]-n.requested.Scalar[name] {
			out = append(out, "Insufficient "+string(name))
		}
	}
	return out
}

// filterVolumeNodeAffinity keeps the pod on nodes its bound local
// PersistentVolumes can reach.
func filterVolumeNodeAffinity(st *cycleState, n *NodeInfo) []string {
	for _, s := range st.pi.volumeSelectors {
		if !s.Match(n.node) {
			return reasonsVolumeNodeAffinity
		}
	}
	return nil
}

// filterSpread enforces DoNotSchedule topology spread constraints.
func filterSpread(st *cycleState, n *NodeInfo) []string {
	for i := range st.spread {
		s := &st.spread[i]
		if !s.c.hard {
			continue
		}
		v, ok := n.node.Labels[s.c.topologyKey]
		if !ok {
			return reasonsSpreadMissingLabel
		}
		if int32(s.counts[v]+s.self-s.minCount) > s.c.maxSkew {
			return reasonsSpread
		}
	}
	return nil
}

// filterInterPodAffinity enforces required pod affinity and anti-affinity,
// the incoming pod's and the placed pods' anti-affinity against it.
func filterInterPodAffinity(st *cycleState, n *NodeInfo) []string {
	lbls := n.node.Labels
	for _, tp := range st.existingAnti {
		if v, ok := lbls[tp.key]; ok && v == tp.value {
			return reasonsExistingAntiAffinity
		}
	}
	for i := range st.pi.requiredAntiAffinity {
		t := &st.pi.requiredAntiAffinity[i]
		if v, ok := lbls[t.topologyKey]; ok && st.antiCounts[topoPair{t.topologyKey, v}] > 0 {
			return reasonsPodAntiAffinity
		}
	}
	if len(st.pi.requiredAffinity) > 0 {
		for i := range st.pi.requiredAffinity {
			t := &st.pi.requiredAffinity[i]
			v, ok := lbls[t.topologyKey]
			if !ok {
				return reasonsPodAffinity
			}
			if !st.affinityNoMatch && st.affinityCounts[topoPair{t.topologyKey, v}] == 0 {
				return reasonsPodAffinity
			}
		}
	}
	return nil
}

// topoPair is a topology domain: a node label and its value.
type topoPair struct{ key, value string }

// spreadState is a topology spread constraint with the counts of matching
// pods per domain.
type spreadState struct {
	c        *spreadConstraint
	counts   map[string]int // domain value → matching pods
	minCount int            // over eligible domains (0 below minDomains)
	self     int            // 1 if the pod matches its own selector
}

// cycleState is what one scheduling decision computes before looking at
// nodes.
type cycleState struct {
	pi                     *podInfo
	toleratesUnschedulable bool
	toleratesNotReady      bool

	hasHardSpread bool
	hasSoftSpread bool
	spread        []spreadState

	existingAnti    []topoPair // domains where placed pods' anti-affinity rejects the pod
	antiCounts      map[topoPair]int
	affinityCounts  map[topoPair]int
	affinityNoMatch bool // no pod matches the required affinity and the pod matches itself

	preferredPods map[topoPair]int64 // inter-pod preference per domain
}

// newCycleState computes the per-decision state. c.mu must be held.
func (c *cache) newCycleState(pi *podInfo) *cycleState {
	st := &cycleState{pi: pi}
	st.toleratesUnschedulable = tolerates(pi, &unschedulableTaint)
	st.toleratesNotReady = tolerates(pi, &notReadyTaint)
	if len(pi.spread) > 0 {
		c.spreadStateLocked(st)
	}
	c.interPodStateLocked(st)
	return st
}

func (c *cache) spreadStateLocked(st *cycleState) {
	pi := st.pi
	st.spread = make([]spreadState, len(pi.spread))
	podLabels := labels.Set(pi.pod.Labels)
	// Eligible nodes per constraint policy.
	for i := range pi.spread {
		sc := &pi.spread[i]
		s := &st.spread[i]
		s.c = sc
		s.counts = map[string]int{}
		if sc.hard {
			st.hasHardSpread = true
		} else {
			st.hasSoftSpread = true
		}
		if sc.selector.Matches(podLabels) {
			s.self = 1
		}
	}
	eligible := map[string][]string{} // node → domain value per constraint ("" if not eligible)
	for _, n := range c.nodeList {
		var vals []string
		for i := range pi.spread {
			sc := &pi.spread[i]
			v, ok := n.node.Labels[sc.topologyKey]
			if !ok {
				vals = append(vals, "")
				continue
			}
			if sc.honorAffinity && pi.nodeAffinity != nil {
				if m, err := pi.nodeAffinity.Match(n.node); err != nil || !m {
					vals = append(vals, "")
					continue
				}
			}
			if sc.honorTaints && filterTaints(st, n) != nil {
				vals = append(vals, "")
				continue
			}
			vals = append(vals, v)
			if _, seen := st.spread[i].counts[v]; !seen {
				st.spread[i].counts[v] = 0
			}
		}
		eligible[n.name] = vals
	}
	for _, cp := range c.byNS[pi.pod.Namespace] {
		vals, ok := eligible[cp.node]
		if !ok || cp.info.pod.DeletionTimestamp != nil || cp.info.key == pi.key {
			continue
		}
		set := labels.Set(cp.info.pod.Labels)
		for i := range pi.spread {
			if vals[i] != "" && pi.spread[i].selector.Matches(set) {
				st.spread[i].counts[vals[i]]++
			}
		}
	}
	for i := range st.spread {
		s := &st.spread[i]
		first := true
		for _, n := range s.counts {
			if first || n < s.minCount {
				s.minCount, first = n, false
			}
		}
		if int32(len(s.counts)) < s.c.minDomains {
			s.minCount = 0
		}
	}
}

// interPodStateLocked finds the domains the pod's (anti-)affinity terms
// and the placed pods' anti-affinity terms care about.
func (c *cache) interPodStateLocked(st *cycleState) {
	pi := st.pi
	pod := pi.pod
	// Placed pods' terms against the incoming pod.
	for _, cp := range c.withTerms {
		n := c.nodes[cp.node]
		if n == nil || n.node == nil {
			continue
		}
		for i := range cp.info.requiredAntiAffinity {
			t := &cp.info.requiredAntiAffinity[i]
			if v, ok := n.node.Labels[t.topologyKey]; ok && t.matches(pod, c.nsLabels) {
				st.existingAnti = append(st.existingAnti, topoPair{t.topologyKey, v})
			}
		}
		for i := range cp.info.preferredAffinity {
			t := &cp.info.preferredAffinity[i]
			if v, ok := n.node.Labels[t.topologyKey]; ok && t.matches(pod, c.nsLabels) {
				st.addPreferred(topoPair{t.topologyKey, v}, int64(t.weight))
			}
		}
		for i := range cp.info.preferredAntiAffinity {
			t := &cp.info.preferredAntiAffinity[i]
			if v, ok := n.node.Labels[t.topologyKey]; ok && t.matches(pod, c.nsLabels) {
				st.addPreferred(topoPair{t.topologyKey, v}, -int64(t.weight))
			}
		}
	}
	if !pi.hasAffinityTerms() {
		return
	}
	st.antiCounts = map[topoPair]int{}
	st.affinityCounts = map[topoPair]int{}
	for _, cp := range c.pods {
		if cp.info.key == pi.key {
			continue
		}
		n := c.nodes[cp.node]
		if n == nil || n.node == nil {
			continue
		}
		other := cp.info.pod
		lbls := n.node.Labels
		for i := range pi.requiredAntiAffinity {
			t := &pi.requiredAntiAffinity[i]
			if v, ok := lbls[t.topologyKey]; ok && t.matches(other, c.nsLabels) {
				st.antiCounts[topoPair{t.topologyKey, v}]++
			}
		}
		if len(pi.requiredAffinity) > 0 {
			all := true
			for i := range pi.requiredAffinity {
				if !pi.requiredAffinity[i].matches(other, c.nsLabels) {
					all = false
					break
				}
			}
			if all {
				for i := range pi.requiredAffinity {
					t := &pi.requiredAffinity[i]
					if v, ok := lbls[t.topologyKey]; ok {
						st.affinityCounts[topoPair{t.topologyKey, v}]++
					}
				}
			}
		}
		for i := range pi.preferredAffinity {
			t := &pi.preferredAffinity[i]
			if v, ok := lbls[t.topologyKey]; ok && t.matches(other, c.nsLabels) {
				st.addPreferred(topoPair{t.topologyKey, v}, int64(t.weight))
			}
		}
		for i := range pi.preferredAntiAffinity {
			t := &pi.preferredAntiAffinity[i]
			if v, ok := lbls[t.topologyKey]; ok && t.matches(other, c.nsLabels) {
				st.addPreferred(topoPair{t.topologyKey, v}, -int64(t.weight))
			}
		}
	}
	if len(pi.requiredAffinity) > 0 && len(st.affinityCounts) == 0 {
		// The first pod of a group that must be together: it may go
		// anywhere its terms have a topology, if it matches them itself.
		self := true
		for i := range pi.requiredAffinity {
			if !pi.requiredAffinity[i].matches(pod, c.nsLabels) {
				self = false
				break
			}
		}
		st.affinityNoMatch = self
	}
}

func (st *cycleState) addPreferred(tp topoPair, w int64) {
	if st.preferredPods == nil {
		st.preferredPods = map[topoPair]int64{}
	}
	st.preferredPods[tp] += w
}
