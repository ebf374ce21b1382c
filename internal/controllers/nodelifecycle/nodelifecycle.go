// Package nodelifecycle watches node heartbeats and acts on nodes that stop
// sending them, as upstream's node lifecycle controller and NoExecute taint
// manager do:
//
//   - every MonitorPeriod it looks at each node's Lease (kube-node-lease)
//     and Ready condition heartbeat; a node heard of no more for
//     NodeMonitorGracePeriod gets its Ready, MemoryPressure, DiskPressure
//     and PIDPressure conditions set to Unknown (NodeStatusUnknown), and the
//     pods on it get Ready=False;
//   - taints follow the conditions: node.kubernetes.io/unreachable or
//     not-ready with NoSchedule and NoExecute while Ready is Unknown or
//     False, the pressure taints, and node.kubernetes.io/unschedulable
//     while spec.unschedulable is set;
//   - pods on a node with NoExecute taints are deleted at once when they do
//     not tolerate one, after the smallest tolerationSeconds of the
//     tolerations that match otherwise (counted from the taint's
//     timeAdded), unless the taint goes first.
//
// Zone disruption modes (slower eviction when a whole zone is down) are
// not implemented.
package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// Defaults of Config, as upstream's kube-controller-manager.
const (
	DefaultMonitorPeriod          = 5 * time.Second
	DefaultNodeMonitorGracePeriod = 40 * time.Second
	DefaultNodeStartupGracePeriod = time.Minute
	DefaultWorkers                = 8
)

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers sync nodes and pods concurrently. Default 8.
	Workers int
	// MonitorPeriod between two looks at node heartbeats. Default 5s.
	MonitorPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node may go unheard of before
	// it is marked Unknown. Default 40s.
	NodeMonitorGracePeriod time.Duration
	// NodeStartupGracePeriod is how long a new node may go without ever
	// posting a Ready condition. Default 1m.
	NodeStartupGracePeriod time.Duration
}

// Controller is the node lifecycle controller.
type Controller struct {
	cfg         Config
	log         *slog.Logger
	nodeLister  corelisters.NodeLister
	podLister   corelisters.PodLister
	podIndexer  cache.Indexer
	leaseLister coordlisters.LeaseLister
	synced      []cache.InformerSynced

	nodes controllerutil.Queue // node names: taints
	pods  controllerutil.Queue // pod keys: readiness and eviction

	nodeRec  record.EventRecorder // node-controller
	evictRec record.EventRecorder // taint-eviction-controller

	// health is the monitor's memory of each node; only the monitor
	// goroutine touches it.
	health map[string]*nodeHealth

	mu sync.Mutex
	// scheduled holds the pods whose eviction is planned, and when.
	scheduled map[string]time.Time
	// known holds the nodes a RegisteredNode event was recorded for.
	known map[string]*corev1.ObjectReference
	// firstSeen holds when NoExecute taints without timeAdded were first
	// seen, per node and taint.
	firstSeen map[string]map[corev1.Taint]time.Time
}

// nodeHealth is what the monitor last saw of a node.
type nodeHealth struct {
	probe     time.Time // when a heartbeat was last seen (by this controller's clock)
	heartbeat time.Time // the Ready condition's lastHeartbeatTime then
	renew     time.Time // the Lease's renewTime then
}

// nodeNameIndex files pods under spec.nodeName.
const nodeNameIndex = "nodelifecycle.nodeName"

// New checks cfg, fills defaults, asks the factory for the node, pod and
// Lease informers and registers handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("nodelifecycle controller: a client and an informer factory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.MonitorPeriod <= 0 {
		cfg.MonitorPeriod = DefaultMonitorPeriod
	}
	if cfg.NodeMonitorGracePeriod <= 0 {
		cfg.NodeMonitorGracePeriod = DefaultNodeMonitorGracePeriod
	}
	if cfg.NodeStartupGracePeriod <= 0 {
		cfg.NodeStartupGracePeriod = DefaultNodeStartupGracePeriod
	}
	nodes := cfg.Informers.Core().V1().Nodes()
	pods := cfg.Informers.Core().V1().Pods()
	leases := cfg.Informers.Coordination().V1().Leases()
	c := &Controller{
		cfg:         cfg,
		log:         cfg.Logger.With("controller", "nodelifecycle"),
		nodeLister:  nodes.Lister(),
		podLister:   pods.Lister(),
		podIndexer:  pods.Informer().GetIndexer(),
		leaseLister: leases.Lister(),
		synced:      []cache.InformerSynced{nodes.Informer().HasSynced, pods.Informer().HasSynced, leases.Informer().HasSynced},
		nodes:       controllerutil.NewQueue("nodelifecycle-nodes", cfg.Clock),
		pods:        controllerutil.NewQueue("nodelifecycle-pods", cfg.Clock),
		health:      map[string]*nodeHealth{},
		firstSeen:   map[string]map[corev1.Taint]time.Time{},
		known:       map[string]*corev1.ObjectReference{},
		scheduled:   map[string]time.Time{},
	}
	if _, ok := pods.Informer().GetIndexer().GetIndexers()[nodeNameIndex]; !ok {
		err := pods.Informer().AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				return []string{p.Spec.NodeName}, nil
			}
			return nil, nil
		}})
		if err != nil {
			return nil, fmt.Errorf("nodelifecycle controller: indexing pods: %w", err)
		}
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			c.enqueueNode(obj)
			if n, ok := obj.(*corev1.Node); ok {
				c.enqueuePodsOn(n.Name)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := oldObj.(*corev1.Node)
			n, ok2 := obj.(*corev1.Node)
			if !ok1 || !ok2 {
				return
			}
			if !equality.Semantic.DeepEqual(desiredTaints(old), desiredTaints(n)) ||
				!equality.Semantic.DeepEqual(old.Spec.Taints, n.Spec.Taints) {
				c.nodes.Add(n.Name)
			}
			if readyStatus(old) != readyStatus(n) || !equality.Semantic.DeepEqual(noExecuteTaints(old), noExecuteTaints(n)) {
				c.enqueuePodsOn(n.Name)
			}
		},
		DeleteFunc: c.enqueueNode,
	}); err != nil {
		return nil, fmt.Errorf("nodelifecycle controller: watching nodes: %w", err)
	}
	podChanged := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" {
			return
		}
		// Only pods on nodes that are not Ready or carry NoExecute taints
		// need anything.
		node, err := c.nodeLister.Get(p.Spec.NodeName)
		if err != nil || (readyStatus(node) != corev1.ConditionFalse && readyStatus(node) != corev1.ConditionUnknown && len(noExecuteTaints(node)) == 0) {
			return
		}
		c.pods.Add(controllerutil.PodKey(p))
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    podChanged,
		UpdateFunc: func(_, obj any) { podChanged(obj) },
	}); err != nil {
		return nil, fmt.Errorf("nodelifecycle controller: watching pods: %w", err)
	}
	return c, nil
}

func (c *Controller) enqueueNode(obj any) {
	if key, ok := controllerutil.KeyOf(obj); ok {
		c.nodes.Add(key)
	}
}

// enqueuePodsOn queues every pod bound to node.
func (c *Controller) enqueuePodsOn(node string) {
	objs, err := c.podIndexer.ByIndex(nodeNameIndex, node)
	if err != nil {
		return
	}
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			c.pods.Add(controllerutil.PodKey(p))
		}
	}
}

// Run monitors nodes and syncs their taints and pods until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.nodes.ShutDown()
	defer c.pods.ShutDown()
	nodeRec, stopNodeRec := controllerutil.NewRecorder(ctx, c.cfg.Client, "node-controller")
	defer stopNodeRec()
	evictRec, stopEvictRec := controllerutil.NewRecorder(ctx, c.cfg.Client, "taint-eviction-controller")
	defer stopEvictRec()
	c.nodeRec, c.evictRec = nodeRec, evictRec
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("node lifecycle controller started", "gracePeriod", c.cfg.NodeMonitorGracePeriod, "monitorPeriod", c.cfg.MonitorPeriod)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		controllerutil.RunWorkers(ctx, c.nodes, max(1, c.cfg.Workers/2), c.syncNode, c.log)
	}()
	go func() { defer wg.Done(); controllerutil.RunWorkers(ctx, c.pods, c.cfg.Workers, c.syncPod, c.log) }()
	go func() { defer wg.Done(); c.monitor(ctx) }()
	wg.Wait()
	return nil
}

// readyStatus is the status of node's Ready condition, "" without one.
func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	if c := nodeCondition(node, corev1.NodeReady); c != nil {
		return c.Status
	}
	return ""
}

func nodeCondition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// lease returns node's Lease from the cache, nil if there is none.
func (c *Controller) lease(name string) *coordinationv1.Lease {
	l, err := c.leaseLister.Leases(corev1.NamespaceNodeLease).Get(name)
	if err != nil {
		return nil
	}
	return l
}
