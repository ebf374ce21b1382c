package endpointslice_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sampan-dev/sampan/internal/controllers/endpointslice"
	"github.com/sampan-dev/sampan/internal/sim"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// BenchmarkServiceOverSimulatedPods runs the controller against a control
// plane with simulated nodes: pods (SAMPAN_BENCH_PODS, default 3000) bound
// round-robin to simulated nodes (100, or one per 200 pods: a node hands
// out at most 253 pod IPs) turn Running and Ready, and the clock stops when
// the Service's slices hold all of them ready. It reports the time after the
// last pod was created, after the simulator saw them all Running, and how
// many slice writes the controller made.
func BenchmarkServiceOverSimulatedPods(b *testing.B) {
	n := 3000
	if v, err := strconv.Atoi(os.Getenv("SAMPAN_BENCH_PODS")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		benchOnce(b, n)
	}
}

func benchOnce(b *testing.B, n int) {
	b.StopTimer()
	c := testcluster.Start(b, testcluster.Options{Controllers: []string{}})
	rc := rest.CopyConfig(c.Config)
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		b.Fatal(err)
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodes := max(100, n/200)
	s, err := sim.New(sim.Config{Client: client, Nodes: nodes, Logger: discard})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = s.Run(ctx) }()
	<-s.Registered()

	var writes atomic.Int64
	factory := informers.NewSharedInformerFactory(client, 0)
	ctrl, err := endpointslice.New(endpointslice.Config{Client: countingClient(b, rc, &writes), Informers: factory, Logger: discard})
	if err != nil {
		b.Fatal(err)
	}
	factory.Start(ctx.Done())
	go func() { _ = ctrl.Run(ctx) }()

	if _, err := client.CoreV1().Services("default").Create(ctx, service("big"), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	start := time.Now()
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("big-%d", i), Labels: map[string]string{"app": "big"}},
				Spec: corev1.PodSpec{NodeName: fmt.Sprintf("sim-node-%d", i%nodes),
					Containers: []corev1.Container{{Name: "app", Image: "nginx", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
			}
			if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	created := time.Now()
	slices := 0
	var allRunning time.Time
	lastLog := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		if allRunning.IsZero() && s.PodCounts()[corev1.PodRunning] == n {
			allRunning = time.Now()
		}
		l, err := client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=big"})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, sl := range l.Items {
			for _, ep := range sl.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready++
				}
			}
		}
		slices = len(l.Items)
		if time.Since(lastLog) > 10*time.Second {
			b.Logf("%d running, %d ready endpoints in %d slices, %d slice writes", s.PodCounts()[corev1.PodRunning], ready, slices, writes.Load())
			lastLog = time.Now()
		}
		return ready == n, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(slices), "slices")
	b.StopTimer()
	b.ReportMetric(time.Since(created).Seconds(), "s-after-last-create")
	if !allRunning.IsZero() {
		b.ReportMetric(time.Since(allRunning).Seconds(), "s-after-all-running")
	}
	b.ReportMetric(created.Sub(start).Seconds(), "s-creating")
	b.ReportMetric(float64(writes.Load()), "slice-writes")
	cancel()
	c.Stop()
}

// countingClient is a client for rc that counts EndpointSlice writes.
func countingClient(b *testing.B, rc *rest.Config, writes *atomic.Int64) kubernetes.Interface {
	cfg := rest.CopyConfig(rc)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method != http.MethodGet && strings.Contains(r.URL.Path, "/endpointslices") {
				writes.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return client
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
