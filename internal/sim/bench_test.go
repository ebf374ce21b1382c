package sim

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// BenchmarkPodsRunning measures how fast the simulator turns bound pods
// Running: b.N pods are created bound to 100 nodes, and the clock stops
// when the simulator's cache sees them all Running.
func BenchmarkPodsRunning(b *testing.B) {
	c := testcluster.Start(b, testcluster.Options{Controllers: []string{}})
	ctx := context.Background()
	rc := rest.CopyConfig(c.Config)
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Client: client, Nodes: 100, Logger: discard()})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = s.Run(runCtx) }()
	<-s.Registered()
	b.ResetTimer()
	start := time.Now()
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range b.N {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			p := testPod(fmt.Sprintf("p-%d", i), fmt.Sprintf("sim-node-%d", i%100))
			if _, err := c.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	created := time.Since(start)
	for s.PodCounts()[corev1.PodRunning] < b.N {
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pods/s")
	b.ReportMetric(created.Seconds(), "create-s")
}
