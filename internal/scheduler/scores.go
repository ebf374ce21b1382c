package scheduler

import "math"

// MaxNodeScore is the best score a scorer gives a node.
const MaxNodeScore = 100

// Weights of the scorers in the weighted sum (upstream's defaults where
// upstream has the plugin; spreading by group is strong so replicas of one
// workload end up evenly on equal nodes).
const (
	weightLeastAllocated = 1
	weightBalanced       = 1
	weightGroupSpread    = 2
	weightNodeAffinity   = 2
	weightTaints         = 3
	weightInterPod       = 2
	weightTopologySpread = 2
)

// scorer gives raw scores to the feasible nodes; normalize turns them into
// 0–MaxNodeScore.
type scorer struct {
	name      string
	weight    int64
	score     func(st *cycleState, n *NodeInfo) int64
	normalize func(scores []int64)
}

// scorers returns the scorers that apply to the pod of st.
func scorers(st *cycleState) []scorer {
	pi := st.pi
	out := []scorer{
		{name: "NodeResourcesLeastAllocated", weight: weightLeastAllocated, score: scoreLeastAllocated},
		{name: "NodeResourcesBalancedAllocation", weight: weightBalanced, score: scoreBalanced},
	}
	if len(pi.groups) > 0 {
		out = append(out, scorer{name: "GroupSpread", weight: weightGroupSpread, score: scoreGroupSpread, normalize: normalizeFewerIsBetter})
	}
	if pi.preferredNode != nil {
		out = append(out, scorer{name: "NodeAffinity", weight: weightNodeAffinity, score: scoreNodeAffinity, normalize: normalizeMoreIsBetter})
	}
	out = append(out, scorer{name: "TaintToleration", weight: weightTaints, score: scorePreferNoSchedule, normalize: normalizeReverse})
	if len(st.preferredPods) > 0 {
		out = append(out, scorer{name: "InterPodAffinity", weight: weightInterPod, score: scoreInterPod, normalize: normalizeMinMax})
	}
	if st.hasSoftSpread {
		out = append(out, scorer{name: "PodTopologySpread", weight: weightTopologySpread, score: scoreTopologySpread, normalize: normalizeSpread})
	}
	return out
}

// scoreLeastAllocated favours nodes with the most cpu and memory left,
// counting the pod (requests of zero count as upstream's defaults).
func scoreLeastAllocated(st *cycleState, n *NodeInfo) int64 {
	cpu := leastAllocated(n.nonZeroCPU+st.pi.nonZeroCPU, n.allocatable.MilliCPU)
	mem := leastAllocated(n.nonZeroMem+st.pi.nonZeroMem, n.allocatable.Memory)
	return (cpu + mem) / 2
}

func leastAllocated(requested, capacity int64) int64 {
	if capacity <= 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * MaxNodeScore / capacity
}

// scoreBalanced favours nodes where cpu and memory would be used in equal
// fractions.
func scoreBalanced(st *cycleState, n *NodeInfo) int64 {
	if n.allocatable.MilliCPU <= 0 || n.allocatable.Memory <= 0 {
		return 0
	}
	cpu := math.Min(1, float64(n.nonZeroCPU+st.pi.nonZeroCPU)/float64(n.allocatable.MilliCPU))
	mem := math.Min(1, float64(n.nonZeroMem+st.pi.nonZeroMem)/float64(n.allocatable.Memory))
	// The standard deviation of two fractions is half their difference.
	std := math.Abs(cpu-mem) / 2
	return int64((1 - std) * MaxNodeScore)
}

// scoreGroupSpread counts the pods of the pod's groups (its controller,
// the Services selecting it) on the node.
func scoreGroupSpread(st *cycleState, n *NodeInfo) int64 {
	var c int64
	for _, g := range st.pi.groups {
		c += int64(n.groups[g])
	}
	return c
}

// scoreNodeAffinity sums the weights of the preferred node affinity terms
// the node matches.
func scoreNodeAffinity(st *cycleState, n *NodeInfo) int64 {
	return st.pi.preferredNode.Score(n.node)
}

// scorePreferNoSchedule counts the PreferNoSchedule taints the pod does
// not tolerate.
func scorePreferNoSchedule(st *cycleState, n *NodeInfo) int64 {
	var c int64
	for i := range n.preferTaints {
		if !tolerates(st.pi, &n.preferTaints[i]) {
			c++
		}
	}
	return c
}

// scoreInterPod sums the preferred (anti-)affinity weights of the node's
// domains.
func scoreInterPod(st *cycleState, n *NodeInfo) int64 {
	var s int64
	for k, v := range n.node.Labels {
		if w, ok := st.preferredPods[topoPair{k, v}]; ok {
			s += w
		}
	}
	return s
}

// scoreTopologySpread sums, over the ScheduleAnyway constraints, the
// matching pods in the node's domains; -1 when the node lacks a
// constraint's topology label (it then scores 0).
func scoreTopologySpread(st *cycleState, n *NodeInfo) int64 {
	var s int64
	for i := range st.spread {
		sp := &st.spread[i]
		if sp.c.hard {
			continue
		}
		v, ok := n.node.Labels[sp.c.topologyKey]
		if !ok {
			return -1
		}
		s += int64(sp.counts[v] + sp.self)
	}
	return s
}

// normalizeFewerIsBetter maps the smallest count to MaxNodeScore and the
// largest to 0, linearly; all equal scores MaxNodeScore.
func normalizeFewerIsBetter(scores []int64) {
	lo, hi := minMax(scores)
	for i, s := range scores {
		if hi == lo {
			scores[i] = MaxNodeScore
		} else {
			scores[i] = (hi - s) * MaxNodeScore / (hi - lo)
		}
	}
}

// normalizeMoreIsBetter scales to the largest score.
func normalizeMoreIsBetter(scores []int64) {
	_, hi := minMax(scores)
	for i, s := range scores {
		if hi <= 0 {
			scores[i] = 0
		} else {
			scores[i] = s * MaxNodeScore / hi
		}
	}
}

// normalizeReverse scales to the largest score and reverses (upstream's
// TaintToleration): no untolerated taint scores MaxNodeScore.
func normalizeReverse(scores []int64) {
	_, hi := minMax(scores)
	for i, s := range scores {
		if hi <= 0 {
			scores[i] = MaxNodeScore
		} else {
			scores[i] = MaxNodeScore - s*MaxNodeScore/hi
		}
	}
}

// normalizeMinMax maps the range of scores (which may be negative) onto
// 0–MaxNodeScore.
func normalizeMinMax(scores []int64) {
	lo, hi := minMax(scores)
	for i, s := range scores {
		if hi == lo {
			scores[i] = 0
		} else {
			scores[i] = (s - lo) * MaxNodeScore / (hi - lo)
		}
	}
}

// normalizeSpread is normalizeFewerIsBetter over the nodes that have the
// topology labels; the others score 0.
func normalizeSpread(scores []int64) {
	lo, hi := int64(math.MaxInt64), int64(-1)
	for _, s := range scores {
		if s < 0 {
			continue
		}
		lo, hi = min(lo, s), max(hi, s)
	}
	for i, s := range scores {
		switch {
		case s < 0:
			scores[i] = 0
		case hi == lo:
			scores[i] = MaxNodeScore
		default:
			scores[i] = (hi - s) * MaxNodeScore / (hi - lo)
		}
	}
}

func minMax(scores []int64) (lo, hi int64) {
	if len(scores) == 0 {
		return 0, 0
	}
	lo, hi = scores[0], scores[0]
	for _, s := range scores[1:] {
		lo, hi = min(lo, s), max(hi, s)
	}
	return lo, hi
}
