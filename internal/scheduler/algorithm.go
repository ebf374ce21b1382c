package scheduler

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Node sampling, as upstream: with many nodes, stop filtering once enough
// feasible nodes are found and score only those.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
	// parallelFilterThreshold is the number of feasible nodes wanted below
	// which filtering runs on the scheduling goroutine alone: starting
	// goroutines costs more than it saves.
	parallelFilterThreshold = 256
	filterChunk             = 32
)

// numFeasibleNodesToFind returns how many feasible nodes are enough out of
// n: all of them up to 100; above, an adaptive percentage (50% less 1% per
// 125 nodes, at least 5%), at least 100.
func numFeasibleNodesToFind(n, percentage int) int {
	if n < minFeasibleNodesToFind {
		return n
	}
	if percentage <= 0 {
		percentage = 50 - n/125
		if percentage < minFeasibleNodesPercentageToFind {
			percentage = minFeasibleNodesPercentageToFind
		}
	}
	if percentage >= 100 {
		return n
	}
	k := n * percentage / 100
	if k < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return k
}

// FitError says that a pod fits no node, with the reasons per node.
type FitError struct {
	NumAllNodes int
	// PreFilterMsg is set when the pod was rejected before looking at
	// nodes (e.g. an unbound PersistentVolumeClaim).
	PreFilterMsg string
	// Reasons counts the nodes per reason.
	Reasons map[string]int
}

// Error is upstream's message form: "0/3 nodes are available: 1 node(s)
// had untolerated taint {k: v}, 2 Insufficient cpu." with the "count
// reason" entries sorted.
func (e *FitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "0/%d nodes are available:", e.NumAllNodes)
	if e.PreFilterMsg != "" {
		b.WriteString(" " + e.PreFilterMsg + ".")
		return b.String()
	}
	entries := make([]string, 0, len(e.Reasons))
	for r, n := range e.Reasons {
		entries = append(entries, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(entries)
	if len(entries) > 0 {
		b.WriteString(" " + strings.Join(entries, ", ") + ".")
	}
	return b.String()
}

// algorithm holds the scheduling loop's reusable buffers. Only the
// scheduling goroutine uses it.
type algorithm struct {
	parallelism int
	percentage  int
	rnd         *rand.Rand
	nextStart   int

	fits    []bool
	reasons [][]string
	scores  []int64
	totals  []int64
}

// schedule picks a node for the pod of st among nodes, or returns a
// *FitError. The cache lock must be held.
func (a *algorithm) schedule(st *cycleState, nodes []*NodeInfo) (*NodeInfo, error) {
	n := len(nodes)
	if n == 0 {
		return nil, &FitError{NumAllNodes: 0, Reasons: map[string]int{}}
	}
	if st.pi.parseErr != nil {
		return nil, &FitError{NumAllNodes: n, PreFilterMsg: st.pi.parseErr.Error()}
	}
	feasible := a.findFeasible(st, nodes)
	if len(feasible) == 0 {
		reasons := map[string]int{}
		for i := range n {
			for _, r := range a.reasons[i] {
				reasons[r]++
			}
		}
		return nil, &FitError{NumAllNodes: n, Reasons: reasons}
	}
	if len(feasible) == 1 {
		return feasible[0], nil
	}
	return a.pickBest(st, feasible), nil
}

// findFeasible runs the filters from a rotating start until enough
// feasible nodes are found (all nodes when none is).
func (a *algorithm) findFeasible(st *cycleState, nodes []*NodeInfo) []*NodeInfo {
	n := len(nodes)
	want := numFeasibleNodesToFind(n, a.percentage)
	if cap(a.fits) < n {
		a.fits = make([]bool, n)
		a.reasons = make([][]string, n)
	}
	a.fits, a.reasons = a.fits[:n], a.reasons[:n]
	fs := filters(st)
	start := a.nextStart % n
	check := func(i int) bool {
		node := nodes[(start+i)%n]
		for _, f := range fs {
			if r := f(st, node); r != nil {
				a.fits[i], a.reasons[i] = false, r
				return false
			}
		}
		a.fits[i], a.reasons[i] = true, nil
		return true
	}
	processed := n
	if want < parallelFilterThreshold || a.parallelism <= 1 {
		found := 0
		for i := range n {
			if check(i) {
				found++
				if found >= want {
					processed = i + 1
					break
				}
			}
		}
	} else {
		var next, found atomic.Int64
		var wg sync.WaitGroup
		work := func() {
			defer wg.Done()
			for found.Load() < int64(want) {
				lo := int(next.Add(filterChunk)) - filterChunk
				if lo >= n {
					return
				}
				hi := min(lo+filterChunk, n)
				k := int64(0)
				for i := lo; i < hi; i++ {
					if check(i) {
						k++
					}
				}
				found.Add(k)
			}
		}
		wg.Add(a.parallelism)
		for range a.parallelism - 1 {
			go work()
		}
		work()
		wg.Wait()
		processed = min(int(next.Load()), n)
	}
	feasible := make([]*NodeInfo, 0, min(want, n))
	last := processed
	for i := range processed {
		if a.fits[i] {
			feasible = append(feasible, nodes[(start+i)%n])
			if len(feasible) == want {
				last = i + 1
				break
			}
		}
	}
	a.nextStart = (start + last) % n
	if len(feasible) == 0 {
		// Every node was looked at: reasons are complete.
		return nil
	}
	return feasible
}

// pickBest scores the feasible nodes and returns one with the highest
// weighted sum, ties broken at random.
func (a *algorithm) pickBest(st *cycleState, feasible []*NodeInfo) *NodeInfo {
	n := len(feasible)
	if cap(a.scores) < n {
		a.scores = make([]int64, n)
		a.totals = make([]int64, n)
	}
	scores, totals := a.scores[:n], a.totals[:n]
	clear(totals)
	for _, s := range scorers(st) {
		for i, node := range feasible {
			scores[i] = s.score(st, node)
		}
		if s.normalize != nil {
			s.normalize(scores)
		}
		for i := range totals {
			totals[i] += s.weight * scores[i]
		}
	}
	best, ties := 0, 1
	for i := 1; i < n; i++ {
		switch {
		case totals[i] > totals[best]:
			best, ties = i, 1
		case totals[i] == totals[best]:
			ties++
			if a.rnd.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return feasible[best]
}
