// Package sim runs simulated nodes, as kwok does: it registers Node objects,
// keeps their Leases and Ready condition fresh, and acts as the kubelet of
// the pods bound to them (they become Running and Ready without any
// container; pods of Jobs succeed after a while; deleted pods go away). It is
// an ordinary API client, so it drives any Kubernetes-compatible API server:
// tests and scale benchmarks run the scheduler and controllers against it.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// Defaults of Config.
const (
	DefaultNamePrefix     = "sim-node-"
	DefaultLeaseDuration  = 40 * time.Second
	DefaultRenewInterval  = 10 * time.Second
	DefaultStatusInterval = time.Minute
	DefaultJobPodDuration = time.Second
	DefaultWorkers        = 32
)

// NodeLeaseNamespace holds the nodes' heartbeat Leases.
const NodeLeaseNamespace = corev1.NamespaceNodeLease

// Config configures a simulator.
type Config struct {
	Client kubernetes.Interface
	// Nodes is how many nodes to run, named NamePrefix + 0 … Nodes-1.
	Nodes int
	// NamePrefix of the node names. Default "sim-node-".
	NamePrefix string
	// Capacity (and allocatable) of each node. Defaults: 32 CPUs, 256Gi
	// memory, 110 pods, 100Gi ephemeral storage.
	CPU, Memory, Pods, EphemeralStorage resource.Quantity
	// Labels added to every node, besides kubernetes.io/hostname,
	// kubernetes.io/os, kubernetes.io/arch and type=sim.
	Labels map[string]string
	// Taints every node registers with.
	Taints []corev1.Taint
	// LeaseDuration written in the nodes' Leases. Default 40s.
	LeaseDuration time.Duration
	// RenewInterval between two renewals of a node's Lease. Default 10s.
	RenewInterval time.Duration
	// StatusInterval between two heartbeats of a node's Ready condition.
	// Default 1m.
	StatusInterval time.Duration
	// JobPodDuration is how long a pod owned by a Job runs before it
	// succeeds. Default 1s.
	JobPodDuration time.Duration
	// DeleteOnExit deletes the nodes (and their Leases) when Run ends;
	// otherwise they are left as they are and go NotReady.
	DeleteOnExit bool
	// Clock times heartbeats and Job pods. API errors are retried with a
	// backoff on real time, so a test with a fake clock that stands still
	// still sees a transient error retried.
	Clock  clock.WithTicker
	Logger *slog.Logger
	// Workers write pod statuses concurrently. Default 32.
	Workers int
}

// Sim is a set of simulated nodes.
type Sim struct {
	cfg   Config
	log   *slog.Logger
	names []string
	nodes map[string]*simNode

	nodeFactory informers.SharedInformerFactory
	podFactory  informers.SharedInformerFactory
	nodeLister  corelisters.NodeLister
	podInformer cache.SharedIndexInformer

	// pods holds the keys of pods to sync; its delays are real time (error
	// backoff). podTimers holds pods waiting for a moment of cfg.Clock.
	pods      controllerutil.Queue
	podTimers workqueue.TypedDelayingInterface[string]
	// beats holds heartbeats due at a moment of cfg.Clock; beatRetries
	// holds failed ones waiting for their real-time backoff.
	beats       workqueue.TypedDelayingInterface[beat]
	beatRetries workqueue.TypedRateLimitingInterface[beat]

	registered chan struct{}

	mu      sync.Mutex // guards what follows, and the queues' creation
	running bool
	podIPs  map[string]podIP     // pod key → address handed out
	deleted map[string]types.UID // pod key → pod whose final delete was sent
}

// simNode is the state of one simulated node.
type simNode struct {
	name       string
	index      int
	internalIP string

	mu      sync.Mutex
	stopped bool
	lease   *coordinationv1.Lease // as last written
	ips     *ipAllocator
}

type podIP struct {
	node string
	ip   string
	uid  types.UID
}

type beatKind uint8

const (
	beatLease beatKind = iota
	beatStatus
)

type beat struct {
	kind beatKind
	node string
}

const nodeNameIndex = "nodeName"

// New checks cfg and fills defaults. It builds (without starting) the
// informers the simulator needs.
func New(cfg Config) (*Sim, error) {
	if cfg.Client == nil {
		return nil, errors.New("sim: a client is required")
	}
	if cfg.Nodes < 0 {
		return nil, fmt.Errorf("sim: invalid number of nodes %d", cfg.Nodes)
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = DefaultNamePrefix
	}
	setQuantity(&cfg.CPU, "32")
	setQuantity(&cfg.Memory, "256Gi")
	setQuantity(&cfg.Pods, "110")
	setQuantity(&cfg.EphemeralStorage, "100Gi")
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.RenewInterval <= 0 {
		cfg.RenewInterval = DefaultRenewInterval
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = DefaultStatusInterval
	}
	if cfg.JobPodDuration <= 0 {
		cfg.JobPodDuration = DefaultJobPodDuration
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	s := &Sim{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "sim"),
		nodes:      make(map[string]*simNode, cfg.Nodes),
		registered: make(chan struct{}),
		podIPs:     map[string]podIP{},
		deleted:    map[string]types.UID{},
	}
	for i := range cfg.Nodes {
		name := cfg.NamePrefix + strconv.Itoa(i)
		s.names = append(s.names, name)
		s.nodes[name] = &simNode{name: name, index: i, internalIP: internalIP(i)}
	}
	s.nodeFactory = informers.NewSharedInformerFactory(cfg.Client, 0)
	s.nodeLister = s.nodeFactory.Core().V1().Nodes().Lister()
	s.podFactory = informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
		}))
	s.podInformer = s.podFactory.Core().V1().Pods().Informer()
	if err := s.podInformer.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("sim: indexing pods: %w", err)
	}
	return s, nil
}

func setQuantity(q *resource.Quantity, def string) {
	if q.IsZero() {
		*q = resource.MustParse(def)
	}
}

// internalIP is node i's address, from 10.200.0.0/16 onwards.
func internalIP(i int) string {
	n := uint32(10)<<24 | uint32(200)<<16 + uint32(i) + 1
	return net.IPv4(byte(n>>24), byte(n>>16), byte(n>>8), byte(n)).String()
}

// NodeNames returns the names of the simulated nodes.
func (s *Sim) NodeNames() []string { return append([]string(nil), s.names...) }

// Registered is closed once every node is registered and the simulator
// has started acting on pods. It stays open when Run fails before that:
// wait for Run's result too.
func (s *Sim) Registered() <-chan struct{} { return s.registered }

// StopNode makes node name "die": its Lease and status are no longer
// renewed and its pods are left as they are.
func (s *Sim) StopNode(name string) error {
	n, ok := s.nodes[name]
	if !ok {
		return fmt.Errorf("sim: no node %q", name)
	}
	n.mu.Lock()
	n.stopped = true
	n.mu.Unlock()
	s.log.Info("node stopped", "node", name)
	return nil
}

// StartNode brings node name back to life: its Lease and Ready condition
// are renewed at once and its pods are looked after again.
func (s *Sim) StartNode(name string) error {
	n, ok := s.nodes[name]
	if !ok {
		return fmt.Errorf("sim: no node %q", name)
	}
	n.mu.Lock()
	was := n.stopped
	n.stopped = false
	n.mu.Unlock()
	if !was {
		return nil
	}
	s.log.Info("node started", "node", name)
	s.mu.Lock()
	beats, pods := s.beats, s.pods
	s.mu.Unlock()
	if beats == nil {
		return nil // not running yet: Run starts it
	}
	beats.Add(beat{beatLease, name})
	beats.Add(beat{beatStatus, name})
	objs, _ := s.podInformer.GetIndexer().ByIndex(nodeNameIndex, name)
	for _, o := range objs {
		if key, ok := controllerutil.KeyOf(o); ok {
			pods.Add(key)
		}
	}
	return nil
}

func (n *simNode) isStopped() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopped
}

// Run registers the nodes and simulates them until ctx ends.
func (s *Sim) Run(ctx context.Context) error {
	if s.cfg.DeleteOnExit {
		defer s.deleteAll() // last, once the workers have stopped
	}
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("sim: already running")
	}
	s.running = true
	s.pods = controllerutil.NewQueue("sim-pods", clock.RealClock{})
	s.podTimers = workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[string]{Name: "sim-pod-timers", Clock: s.cfg.Clock})
	s.beats = workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[beat]{Name: "sim-beats", Clock: s.cfg.Clock})
	s.beatRetries = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[beat](200*time.Millisecond, 10*time.Second),
		workqueue.TypedRateLimitingQueueConfig[beat]{Name: "sim-beat-retries"})
	s.mu.Unlock()
	var wg sync.WaitGroup
	defer func() {
		s.pods.ShutDown()
		s.podTimers.ShutDown()
		s.beats.ShutDown()
		s.beatRetries.ShutDown()
		wg.Wait()
	}()

	reg, err := s.podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.enqueuePod,
		UpdateFunc: func(_, obj any) { s.enqueuePod(obj) },
		DeleteFunc: s.enqueuePod,
	})
	if err != nil {
		return fmt.Errorf("sim: watching pods: %w", err)
	}
	informerCtx, stopInformers := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopInformers()
		s.nodeFactory.Shutdown()
		s.podFactory.Shutdown()
	}()
	s.nodeFactory.Start(informerCtx.Done())
	s.podFactory.Start(informerCtx.Done())

	start := s.cfg.Clock.Now()
	if err := s.registerAll(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if !cache.WaitForCacheSync(ctx.Done(), s.nodeFactory.Core().V1().Nodes().Informer().HasSynced, s.podInformer.HasSynced, reg.HasSynced) {
		return nil
	}
	s.log.Info("nodes registered", "nodes", len(s.names), "took", s.cfg.Clock.Since(start).Round(time.Millisecond))

	// Heartbeats, spread over their interval so that many nodes do not all
	// write at once.
	for i, name := range s.names {
		s.beats.AddAfter(beat{beatLease, name}, spread(i, len(s.names), s.cfg.RenewInterval))
		s.beats.AddAfter(beat{beatStatus, name}, spread(i, len(s.names), s.cfg.StatusInterval))
	}
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(func() {
		for {
			key, quit := s.podTimers.Get()
			if quit {
				return
			}
			s.pods.Add(key)
			s.podTimers.Done(key)
		}
	})
	run(func() {
		for {
			b, quit := s.beatRetries.Get()
			if quit {
				return
			}
			s.beats.Add(b)
			s.beatRetries.Done(b)
		}
	})
	beatWorkers := max(2, s.cfg.Workers/4)
	for range beatWorkers {
		run(func() {
			for s.processBeat(ctx) {
			}
		})
	}
	run(func() { controllerutil.RunWorkers(ctx, s.pods, s.cfg.Workers, s.syncPod, s.log) })
	close(s.registered)

	<-ctx.Done()
	return nil
}

// spread is node i's share of interval, for the first heartbeat.
func spread(i, n int, interval time.Duration) time.Duration {
	if n <= 1 {
		return interval
	}
	return interval * time.Duration(i+1) / time.Duration(n)
}

func (s *Sim) enqueuePod(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if _, ours := s.nodes[p.Spec.NodeName]; !ours {
		return
	}
	s.pods.Add(controllerutil.PodKey(p))
}

// registerAll creates (or takes over) every node and its Lease, Workers at a time.
func (s *Sim) registerAll(ctx context.Context) error {
	sem := make(chan struct{}, s.cfg.Workers)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, name := range s.names {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.register(ctx, s.nodes[name]); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("sim: registering %d of %d nodes failed, first: %w", len(errs), len(s.names), errs[0])
	}
	return nil
}

// deleteAll deletes the nodes and their Leases (DeleteOnExit).
func (s *Sim) deleteAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sem := make(chan struct{}, s.cfg.Workers)
	var wg sync.WaitGroup
	for _, name := range s.names {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.cfg.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !isNotFound(err) {
				s.log.Info("deleting node", "node", name, "err", err)
			}
			if err := s.cfg.Client.CoordinationV1().Leases(NodeLeaseNamespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !isNotFound(err) {
				s.log.Info("deleting node lease", "node", name, "err", err)
			}
		}()
	}
	wg.Wait()
	s.log.Info("nodes deleted", "nodes", len(s.names))
}

// PodCounts returns how many pods bound to the simulated nodes are in each
// phase, as the simulator's cache sees them.
func (s *Sim) PodCounts() map[corev1.PodPhase]int {
	out := map[corev1.PodPhase]int{}
	for _, name := range s.names {
		objs, _ := s.podInformer.GetIndexer().ByIndex(nodeNameIndex, name)
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				out[p.Status.Phase]++
			}
		}
	}
	return out
}
