package scheduler

import (
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// benchCluster is n nodes of 32 cpu, 256Gi and 110 pods, with pods
// already placed (two per node, of 50 ReplicaSets).
func benchCluster(b *testing.B, n int) *fakeCluster {
	var nodes []*corev1.Node
	for i := range n {
		nodes = append(nodes, testNode(fmt.Sprintf("node-%05d", i), withCPU("32"),
			allocatable(corev1.ResourceMemory, "256Gi"), allocatable(corev1.ResourcePods, "110")))
	}
	c := newFakeCluster(b, nodes...)
	for i := range 2 * n {
		p := mkPod(fmt.Sprintf("existing-%d", i), requests("100m", "128Mi"), ownedBy(fmt.Sprintf("rs-%d", i%50)), podLabels("app", fmt.Sprint(i%50)))
		c.place(p, nodes[i%n].Name)
	}
	return c
}

// BenchmarkSchedule measures one decision (filter, score, assume) for a
// pod of a ReplicaSet on many nodes, as the scheduling loop runs it.
func BenchmarkSchedule(b *testing.B) {
	for _, n := range []int{500, 5000} {
		for _, par := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("nodes=%d/parallelism=%d", n, par), func(b *testing.B) {
				c := benchCluster(b, n)
				c.alg.parallelism = par
				pods := make([]*corev1.Pod, b.N)
				for i := range pods {
					pods[i] = mkPod(fmt.Sprintf("new-%d", i), requests("10m", "16Mi"), ownedBy("rs-new"), podLabels("app", "new"))
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if _, err := c.schedule(pods[i]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkFilterScore measures the per-node work alone: every filter and
// scorer over one feasible node.
func BenchmarkFilterScore(b *testing.B) {
	c := benchCluster(b, 100)
	pod := mkPod("new", requests("10m", "16Mi"), ownedBy("rs-new"))
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	st := c.state(pod)
	fs, ss := filters(st), scorers(st)
	nodes := c.cache.nodeList
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := nodes[i%len(nodes)]
		for _, f := range fs {
			if f(st, n) != nil {
				b.Fatal("does not fit")
			}
		}
		for _, s := range ss {
			s.score(st, n)
		}
	}
}
