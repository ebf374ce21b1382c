package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sampan-dev/sampan/internal/controlplane"
	"github.com/sampan-dev/sampan/internal/scheduler"
)

// Defaults of SchedulerOptions' fields.
const (
	DefaultSchedulerNodes       = 5000
	DefaultSchedulerPods        = 10000
	DefaultSchedulerNodeCPU     = "32"
	DefaultSchedulerNodeMemory  = "256Gi"
	DefaultSchedulerPodsPerNode = 110
	DefaultSchedulerConcurrency = 32
	DefaultSchedulerTimeout     = 5 * time.Minute
)

// labelBenchNode marks the nodes the scheduler benchmark creates.
const labelBenchNode = "bench.sampan.dev/scheduler-node"

// SchedulerOptions says what RunScheduler measures. Zero fields take the
// defaults named on them.
type SchedulerOptions struct {
	// Kubeconfig or RESTConfig name the cluster to measure, whose own
	// scheduler places the pods. With neither, RunScheduler starts a
	// control plane in this process (in a temporary directory) and runs
	// Sampan's scheduler against it.
	Kubeconfig string
	RESTConfig *rest.Config
	// Nodes is the number of Ready nodes created (default 5000), each with
	// NodeCPU (default 32) cpus, NodeMemory (default 256Gi) and room for
	// PodsPerNode pods (default 110).
	Nodes       int
	NodeCPU     string
	NodeMemory  string
	PodsPerNode int
	// Pods is the number of pods created (default 10000), by Concurrency
	// clients (default 32). Each requests 100m cpu and 128Mi.
	Pods        int
	Concurrency int
	// ScheduleAfterCreate (in-process only) starts the scheduler once every
	// pod exists, so the figures measure scheduling and binding alone
	// rather than alongside the creates.
	ScheduleAfterCreate bool
	// Timeout bounds the wait for every pod to be bound (default 5m).
	Timeout time.Duration
	// Out receives the progress and the result lines; nil discards them.
	Out io.Writer
	// Logger of the in-process control plane and scheduler; nil discards.
	Logger *slog.Logger
}

// SchedulerResult is what RunScheduler measured.
type SchedulerResult struct {
	Server        string  `json:"server"`
	InProcess     bool    `json:"inProcess"`
	Nodes         int     `json:"nodes"`
	Pods          int     `json:"pods"`
	Created       int     `json:"created"`
	Bound         int     `json:"bound"`
	CreateSeconds float64 `json:"createSeconds"`
	// BindSeconds runs from the first binding observed to the last;
	// PodsPerSecond is Bound over it.
	BindSeconds   float64 `json:"bindSeconds"`
	PodsPerSecond float64 `json:"podsPerSecond"`
	// P50Ms and P99Ms are of the time from sending a pod's create to
	// observing it bound through a watch.
	// With ScheduleAfterCreate they run from the scheduler's start instead.
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
	FirstError string  `json:"firstError,omitempty"`
}

func (o SchedulerOptions) withDefaults() (SchedulerOptions, error) {
	if o.Nodes == 0 {
		o.Nodes = DefaultSchedulerNodes
	}
	if o.Pods == 0 {
		o.Pods = DefaultSchedulerPods
	}
	if o.NodeCPU == "" {
		o.NodeCPU = DefaultSchedulerNodeCPU
	}
	if o.NodeMemory == "" {
		o.NodeMemory = DefaultSchedulerNodeMemory
	}
	if o.PodsPerNode == 0 {
		o.PodsPerNode = DefaultSchedulerPodsPerNode
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultSchedulerConcurrency
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultSchedulerTimeout
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Nodes < 1 || o.Pods < 1 || o.PodsPerNode < 1 || o.Concurrency < 1 {
		return o, fmt.Errorf("nodes, pods, pods per node and concurrency must be positive")
	}
	for _, q := range []string{o.NodeCPU, o.NodeMemory} {
		if _, err := resource.ParseQuantity(q); err != nil {
			return o, fmt.Errorf("node size %q: %w", q, err)
		}
	}
	return o, nil
}

// RunScheduler measures how fast a scheduler binds pods: it creates Nodes
// Ready nodes through the API, then Pods pods concurrently, and watches
// them being bound. Against a kubeconfig, the cluster's scheduler does the
// work and the nodes and pods are deleted at the end; without one, an
// in-process control plane and Sampan's scheduler do.
func RunScheduler(ctx context.Context, opts SchedulerOptions) (SchedulerResult, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return SchedulerResult{}, fmt.Errorf("checking options: %w", err)
	}
	cfg := opts.RESTConfig
	if cfg == nil && opts.Kubeconfig != "" {
		if cfg, err = clientcmd.BuildConfigFromFlags("", opts.Kubeconfig); err != nil {
			return SchedulerResult{}, fmt.Errorf("loading kubeconfig: %w", err)
		}
	}
	inProcess := cfg == nil
	if inProcess {
		var stop func()
		cfg, stop, err = startInProcess(ctx, opts)
		if err != nil {
			return SchedulerResult{}, err
		}
		defer stop()
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst, cfg.RateLimiter, cfg.Timeout = -1, 0, nil, 0
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return SchedulerResult{}, fmt.Errorf("building client: %w", err)
	}
	b := &schedBench{opts: opts, client: client, run: strings.ToLower(utilrand.String(6))}
	b.res = SchedulerResult{Server: cfg.Host, InProcess: inProcess, Nodes: opts.Nodes, Pods: opts.Pods}

	if inProcess {
		b.startSched = func() error {
			stop, err := b.startScheduler(ctx, cfg)
			if err != nil {
				return err
			}
			b.stopSched = stop
			return nil
		}
		defer func() {
			if b.stopSched != nil {
				b.stopSched()
			}
		}()
	} else if opts.ScheduleAfterCreate {
		return b.res, errors.New("ScheduleAfterCreate needs the in-process control plane")
	}
	runErr := b.run1(ctx)
	if inProcess && runErr == nil {
		// Let the scheduler's event writer finish before the control
		// plane goes away under it.
		b.drainEvents(ctx)
	}
	var cleanErr error
	if !inProcess {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		cleanErr = b.cleanup(cctx)
		cancel()
	}
	return b.res, errors.Join(runErr, cleanErr)
}

// startInProcess runs a control plane without control loops in a
// temporary directory until stop is called.
func startInProcess(ctx context.Context, opts SchedulerOptions) (*rest.Config, func(), error) {
	dir, err := os.MkdirTemp("", "sampan-bench-scheduler-")
	if err != nil {
		return nil, nil, fmt.Errorf("creating data dir: %w", err)
	}
	cp, err := controlplane.New(controlplane.Config{
		DataDir:          dir,
		BindAddress:      net.IPv4(127, 0, 0, 1),
		AdvertiseAddress: net.IPv4(127, 0, 0, 1),
		SecurePort:       -1,
		Logger:           opts.Logger,
		Controllers:      []string{},
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("starting control plane: %w", err)
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- cp.Run(cctx) }()
	stop := func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := cp.WaitReady(wctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("waiting for the control plane: %w", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.AdminKubeconfig())
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("loading admin kubeconfig: %w", err)
	}
	fmt.Fprintf(opts.Out, "in-process control plane at %s (data in %s)\n", cp.URL(), dir)
	return cfg, stop, nil
}

type schedBench struct {
	opts   SchedulerOptions
	client kubernetes.Interface
	run    string
	ns     string
	res    SchedulerResult

	startSched func() error // nil when the cluster schedules
	stopSched  func()
}

func (b *schedBench) startScheduler(ctx context.Context, cfg *rest.Config) (func(), error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- scheduler.RunWithRESTConfig(sctx, cfg, scheduler.Config{Logger: b.opts.Logger}) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintf(b.opts.Out, "scheduler: %v\n", err)
		}
	}, nil
}

func (b *schedBench) printf(format string, args ...any) {
	fmt.Fprintf(b.opts.Out, format, args...)
}

func (b *schedBench) run1(ctx context.Context) error {
	b.ns = "sampan-bench-sched-" + b.run
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.ns, Labels: map[string]string{labelRun: b.run}}}
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", b.ns, err)
	}
	t0 := time.Now()
	st := runPhase(ctx, b.opts.Concurrency, b.opts.Nodes, 0, func(ctx context.Context, i int) error {
		return b.createNode(ctx, i)
	})
	if st.errors > 0 {
		return fmt.Errorf("creating nodes: %d failed, first: %w", st.errors, st.firstErr)
	}
	b.printf("created %d nodes in %.1fs\n", st.ops, time.Since(t0).Seconds())
	if err := b.waitPodsAccepted(ctx); err != nil {
		return err
	}
	if b.startSched != nil && !b.opts.ScheduleAfterCreate {
		if err := b.startSched(); err != nil {
			return err
		}
	}

	w, err := b.client.CoreV1().Pods(b.ns).Watch(ctx, metav1.ListOptions{LabelSelector: labelRun + "=" + b.run})
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	defer w.Stop()
	sent := make([]time.Time, b.opts.Pods)
	var mu sync.Mutex
	bound := map[string]time.Time{}
	allBound := make(chan struct{})
	watchDone := make(chan error, 1)
	go func() { watchDone <- b.observe(w, &mu, bound, allBound) }()

	t0 = time.Now()
	st = runPhase(ctx, b.opts.Concurrency, b.opts.Pods, 0, func(ctx context.Context, i int) error {
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		_, err := b.client.CoreV1().Pods(b.ns).Create(ctx, b.pod(i), metav1.CreateOptions{})
		return err
	})
	b.res.Created = st.ops
	b.res.CreateSeconds = time.Since(t0).Seconds()
	if st.firstErr != nil {
		b.res.FirstError = st.firstErr.Error()
	}
	b.printf("created %d pods in %.1fs (%.0f/s), %d errors\n", st.ops, b.res.CreateSeconds, float64(st.ops)/b.res.CreateSeconds, st.errors)
	if b.startSched != nil && b.opts.ScheduleAfterCreate {
		mu.Lock()
		now := time.Now()
		for i := range sent {
			sent[i] = now
		}
		mu.Unlock()
		if err := b.startSched(); err != nil {
			return err
		}
	}

	var waitErr error
	select {
	case <-allBound:
	case err := <-watchDone:
		waitErr = fmt.Errorf("watching pods: %w", err)
	case <-time.After(b.opts.Timeout):
		waitErr = fmt.Errorf("not every pod was bound within %s", b.opts.Timeout)
	case <-ctx.Done():
		waitErr = ctx.Err()
	}
	if st.ops < b.opts.Pods && waitErr == nil {
		waitErr = fmt.Errorf("%d pods were not created", b.opts.Pods-st.ops)
	}
	w.Stop()

	mu.Lock()
	defer mu.Unlock()
	var first, last time.Time
	var lat []time.Duration
	for i := range b.opts.Pods {
		at, ok := bound[podName(i)]
		if !ok {
			continue
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
		lat = append(lat, at.Sub(sent[i]))
	}
	slices.Sort(lat)
	b.res.Bound = len(lat)
	b.res.BindSeconds = last.Sub(first).Seconds()
	if b.res.BindSeconds > 0 {
		b.res.PodsPerSecond = float64(b.res.Bound) / b.res.BindSeconds
	}
	b.res.P50Ms, b.res.P99Ms = ms(percentile(lat, 50)), ms(percentile(lat, 99))
	b.printf("bound %d/%d pods on %d nodes in %.2fs: %.0f pods/s, create→bound p50 %s p99 %s\n",
		b.res.Bound, b.opts.Pods, b.opts.Nodes, b.res.BindSeconds, b.res.PodsPerSecond, fmtMs(b.res.P50Ms), fmtMs(b.res.P99Ms))
	return waitErr
}

// drainEvents waits (at most 30s) until the namespace holds a Scheduled
// event per bound pod or their number stops growing.
func (b *schedBench) drainEvents(ctx context.Context) {
	last := -1
	_ = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Second, false, func(ctx context.Context) (bool, error) {
		evs, err := b.client.CoreV1().Events(b.ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=Scheduled"})
		if err != nil {
			return false, nil
		}
		n := len(evs.Items)
		done := n >= b.res.Bound || n == last
		last = n
		return done, nil
	})
}

// observe records when each pod is first seen bound, until every pod is.
func (b *schedBench) observe(w watch.Interface, mu *sync.Mutex, bound map[string]time.Time, allBound chan struct{}) error {
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			return fmt.Errorf("%v", ev.Object)
		}
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" {
			continue
		}
		now := time.Now()
		mu.Lock()
		if _, seen := bound[p.Name]; !seen {
			bound[p.Name] = now
			if len(bound) == b.opts.Pods {
				close(allBound)
				mu.Unlock()
				return nil
			}
		}
		mu.Unlock()
	}
	return errors.New("watch ended")
}

// waitPodsAccepted waits until the namespace accepts pods (upstream
// admission wants its default ServiceAccount first).
func (b *schedBench) waitPodsAccepted(ctx context.Context) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, last = b.client.CoreV1().Pods(b.ns).Create(ctx, b.pod(0), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("pods not accepted in namespace %s: %w", b.ns, errors.Join(err, last))
	}
	return nil
}

func podName(i int) string { return fmt.Sprintf("sched-%06d", i) }

func (b *schedBench) pod(i int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName(i), Namespace: b.ns, Labels: map[string]string{labelRun: b.run, "app": "sched-bench"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "pause",
				Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("100m"),
					corev1.ResourceMemory: resource.MustParse("128Mi"),
				}},
			}},
		},
	}
}

func (b *schedBench) createNode(ctx context.Context, i int) error {
	name := fmt.Sprintf("bench-%s-node-%05d", b.run, i)
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(b.opts.NodeCPU),
		corev1.ResourceMemory: resource.MustParse(b.opts.NodeMemory),
		corev1.ResourcePods:   *resource.NewQuantity(int64(b.opts.PodsPerNode), resource.DecimalSI),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelHostname: name, corev1.LabelOSStable: "linux", labelBenchNode: b.run,
		}},
		Status: corev1.NodeStatus{
			Capacity:    alloc,
			Allocatable: alloc,
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "simulated by sampan bench scheduler", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
			}},
		},
	}
	created, err := b.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	if len(created.Status.Conditions) == 0 {
		// A server that drops status on create: write it.
		created.Status = node.Status
		_, err = b.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	}
	return err
}

// cleanup deletes the benchmark's pods, namespace and nodes.
func (b *schedBench) cleanup(ctx context.Context) error {
	var errs []error
	zero := int64(0)
	if b.ns != "" {
		err := b.client.CoreV1().Pods(b.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{LabelSelector: labelRun + "=" + b.run})
		if err != nil {
			errs = append(errs, fmt.Errorf("deleting pods: %w", err))
		}
		if err := b.client.CoreV1().Namespaces().Delete(ctx, b.ns, metav1.DeleteOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("deleting namespace: %w", err))
		}
	}
	err := b.client.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: labelBenchNode + "=" + b.run})
	if err != nil {
		errs = append(errs, fmt.Errorf("deleting nodes: %w", err))
	}
	return errors.Join(errs...)
}
