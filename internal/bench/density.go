package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sampan-dev/sampan/internal/sim"
)

// Defaults of DensityConfig's fields.
const (
	DefaultDensityNodes    = 1000
	DefaultDensityReplicas = 30000
	DefaultDensityTimeout  = 10 * time.Minute
)

// DensityConfig says what RunDensity measures.
type DensityConfig struct {
	// Nodes simulated nodes (default 1000), each with PodsPerNode pods of
	// capacity (default 110).
	Nodes       int `json:"nodes"`
	PodsPerNode int `json:"podsPerNode"`
	// Replicas of the Deployment (default 30000).
	Replicas int `json:"replicas"`
	// ExistingNodes skips starting simulated nodes: the cluster already has
	// Ready nodes enough (e.g. from `sampan sim`).
	ExistingNodes bool `json:"existingNodes"`
	// Timeout bounds the wait for all replicas to run (default 10m).
	Timeout time.Duration `json:"timeoutNs"`
}

// DensityReport is what RunDensity measured.
type DensityReport struct {
	Config DensityConfig `json:"config"`
	// NodesReady is how long the simulated nodes took to register Ready.
	NodesReady time.Duration `json:"nodesReadyNs"`
	// AllCreated is the time from the Deployment's create until its pods
	// all exist (status.replicas), AllRunning until all are Running and
	// Ready (status.readyReplicas).
	AllCreated time.Duration `json:"allCreatedNs"`
	AllRunning time.Duration `json:"allRunningNs"`
	// PodsPerSecond is Replicas / AllRunning.
	PodsPerSecond float64 `json:"podsPerSecond"`
	// ServerRSSPeak and ServerRSSEnd: the API server's resident memory
	// (process_resident_memory_bytes from its /metrics, sampled each
	// second; 0 when it does not publish it).
	ServerRSSPeak int64 `json:"serverRSSPeakBytes"`
	ServerRSSEnd  int64 `json:"serverRSSEndBytes"`
}

func (c DensityConfig) withDefaults() DensityConfig {
	if c.Nodes <= 0 {
		c.Nodes = DefaultDensityNodes
	}
	if c.PodsPerNode <= 0 {
		c.PodsPerNode = 110
	}
	if c.Replicas <= 0 {
		c.Replicas = DefaultDensityReplicas
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultDensityTimeout
	}
	return c
}

// RunDensity measures the whole control plane end to end: it starts
// simulated nodes, creates one Deployment and times it from the create
// until every replica runs — Deployment and ReplicaSet controllers,
// scheduler, and the nodes' status writes all on the path.
func RunDensity(ctx context.Context, cfg *rest.Config, opts DensityConfig, out io.Writer) (*DensityReport, error) {
	opts = opts.withDefaults()
	if opts.Nodes*opts.PodsPerNode < opts.Replicas {
		return nil, fmt.Errorf("%d replicas do not fit on %d nodes of %d pods", opts.Replicas, opts.Nodes, opts.PodsPerNode)
	}
	var m meter
	cfg = m.clientConfig(cfg, 8)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	rep := &DensityReport{Config: opts}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	simDone := make(chan error, 1)
	if !opts.ExistingNodes {
		prefix := "density-" + utilrand.String(4) + "-"
		s, err := sim.New(sim.Config{
			Client: client, Nodes: opts.Nodes, NamePrefix: prefix,
			Pods: resource.MustParse(strconv.Itoa(opts.PodsPerNode)), DeleteOnExit: true,
		})
		if err != nil {
			return nil, err
		}
		simCtx, simCancel := context.WithCancel(context.Background())
		go func() { simDone <- s.Run(simCtx) }()
		defer func() {
			simCancel()
			<-simDone
		}()
		start := time.Now()
		fmt.Fprintf(out, "starting %d simulated nodes...\n", opts.Nodes)
		if err := waitReadyNodes(ctx, client, opts.Nodes, simDone); err != nil {
			return nil, err
		}
		rep.NodesReady = time.Since(start)
		fmt.Fprintf(out, "%d nodes Ready after %v\n", opts.Nodes, rep.NodesReady.Round(time.Millisecond))
	}

	ns := "sampan-density-" + utilrand.String(5)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating namespace: %w", err)
	}
	defer func() {
		_ = client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	}()

	rss := &rssSampler{client: client}
	rssCtx, rssStop := context.WithCancel(ctx)
	defer rssStop()
	rssDone := make(chan struct{})
	go func() { rss.run(rssCtx); close(rssDone) }()

	replicas := int32(opts.Replicas)
	labels := map[string]string{"app": "density"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "density", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "pause", Image: "registry.k8s.io/pause:3.10",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("1Mi"),
					}},
				}}},
			},
		},
	}
	fmt.Fprintf(out, "creating a Deployment of %d replicas\n", opts.Replicas)
	start := time.Now()
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating deployment: %w", err)
	}
	lastPrint := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, opts.Timeout, false, func(ctx context.Context) (bool, error) {
		select {
		case err := <-simDone:
			return false, fmt.Errorf("simulated nodes stopped: %v", err)
		default:
		}
		d, err := client.AppsV1().Deployments(ns).Get(ctx, "density", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if rep.AllCreated == 0 && d.Status.Replicas >= replicas {
			rep.AllCreated = time.Since(start)
		}
		if time.Since(lastPrint) >= 5*time.Second {
			lastPrint = time.Now()
			fmt.Fprintf(out, "  %5.1fs: %d created, %d ready\n", time.Since(start).Seconds(), d.Status.Replicas, d.Status.ReadyReplicas)
		}
		return d.Status.ReadyReplicas >= replicas && d.Status.UpdatedReplicas >= replicas, nil
	})
	rssStop()
	<-rssDone
	if err != nil {
		return rep, fmt.Errorf("waiting for %d running replicas: %w", opts.Replicas, err)
	}
	rep.AllRunning = time.Since(start)
	if rep.AllCreated == 0 {
		rep.AllCreated = rep.AllRunning
	}
	rep.PodsPerSecond = float64(opts.Replicas) / rep.AllRunning.Seconds()
	rep.ServerRSSPeak, rep.ServerRSSEnd = rss.peak, rss.last
	if v, err := serverRSS(ctx, client); err == nil {
		rep.ServerRSSEnd = v
		rep.ServerRSSPeak = max(rep.ServerRSSPeak, v)
	}
	rep.print(out)
	return rep, nil
}

func (r *DensityReport) print(out io.Writer) {
	fmt.Fprintf(out, "\nDeployment of %d replicas on %d nodes:\n", r.Config.Replicas, r.Config.Nodes)
	fmt.Fprintf(out, "  all pods created after  %8.1fs\n", r.AllCreated.Seconds())
	fmt.Fprintf(out, "  all pods Running after  %8.1fs  (%.0f pods/s)\n", r.AllRunning.Seconds(), r.PodsPerSecond)
	if r.ServerRSSPeak > 0 {
		fmt.Fprintf(out, "  server RSS peak %d MiB, at the end %d MiB\n", r.ServerRSSPeak>>20, r.ServerRSSEnd>>20)
	}
}

// waitReadyNodes waits until n nodes are Ready.
func waitReadyNodes(ctx context.Context, client kubernetes.Interface, n int, simDone <-chan error) error {
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-simDone:
			return false, fmt.Errorf("simulated nodes stopped: %v", err)
		default:
		}
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, node := range nodes.Items {
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready >= n, nil
	})
}

// rssSampler polls the server's resident memory once a second.
type rssSampler struct {
	client     kubernetes.Interface
	peak, last int64
}

func (s *rssSampler) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if v, err := serverRSS(ctx, s.client); err == nil {
			s.last = v
			s.peak = max(s.peak, v)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serverRSS reads process_resident_memory_bytes from the server's /metrics.
func serverRSS(ctx context.Context, client kubernetes.Interface) (int64, error) {
	body, err := client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "process_resident_memory_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, err
			}
			return int64(f), nil
		}
	}
	return 0, errors.New("no process_resident_memory_bytes in /metrics")
}
