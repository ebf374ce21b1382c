// Package nodeipam gives every node a pod network: spec.podCIDR and
// spec.podCIDRs are set to the next free subnet of the cluster CIDR
// (upstream's range allocator). Subnets taken by existing nodes are
// recorded at start, and a node's subnet is released when it is deleted.
// When the range is exhausted the node gets a CIDRNotAvailable event and
// waits for a subnet to be released.
package nodeipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// Defaults of Config.
const (
	DefaultClusterCIDR      = "10.244.0.0/16"
	DefaultNodeCIDRMaskSize = 24
	DefaultWorkers          = 10
)

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers patch nodes concurrently. Default 10.
	Workers int
	// ClusterCIDR is the pod network. Default 10.244.0.0/16.
	ClusterCIDR *net.IPNet
	// NodeCIDRMaskSize is the size of each node's subnet. Default 24 for
	// IPv4, 64 for IPv6.
	NodeCIDRMaskSize int
}

// Controller is the node IPAM controller.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	lister corelisters.NodeLister
	synced cache.InformerSynced
	queue  controllerutil.Queue
	rec    record.EventRecorder

	mu      sync.Mutex
	set     *cidrSet
	byNode  map[string]*net.IPNet // subnet held by each node name
	waiting map[string]bool       // nodes that found the range full
}

// New checks cfg, fills defaults, asks the factory for the node informer
// and registers its handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("nodeipam controller: a client and an informer factory are required")
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
	if cfg.ClusterCIDR == nil {
		_, cfg.ClusterCIDR, _ = net.ParseCIDR(DefaultClusterCIDR)
	}
	if cfg.NodeCIDRMaskSize <= 0 {
		cfg.NodeCIDRMaskSize = DefaultNodeCIDRMaskSize
		if cfg.ClusterCIDR.IP.To4() == nil {
			cfg.NodeCIDRMaskSize = 64
		}
	}
	set, err := newCIDRSet(cfg.ClusterCIDR, cfg.NodeCIDRMaskSize)
	if err != nil {
		return nil, fmt.Errorf("nodeipam controller: %w", err)
	}
	nodes := cfg.Informers.Core().V1().Nodes()
	c := &Controller{
		cfg:     cfg,
		log:     cfg.Logger.With("controller", "nodeipam"),
		lister:  nodes.Lister(),
		synced:  nodes.Informer().HasSynced,
		queue:   controllerutil.NewQueue("nodeipam", cfg.Clock),
		set:     set,
		byNode:  map[string]*net.IPNet{},
		waiting: map[string]bool{},
	}
	_, err = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue,
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := oldObj.(*corev1.Node)
			n, ok2 := obj.(*corev1.Node)
			// Only a change of spec.podCIDRs matters: status updates are
			// frequent, and a node waiting for a subnet is retried with
			// backoff and when one is released.
			if ok1 && ok2 && old.Spec.PodCIDR == n.Spec.PodCIDR && slices.Equal(old.Spec.PodCIDRs, n.Spec.PodCIDRs) {
				return
			}
			c.enqueue(obj)
		},
		DeleteFunc: c.enqueue,
	})
	if err != nil {
		return nil, fmt.Errorf("nodeipam controller: watching nodes: %w", err)
	}
	return c, nil
}

func (c *Controller) enqueue(obj any) {
	if key, ok := controllerutil.KeyOf(obj); ok {
		c.queue.Add(key)
	}
}

// Run allocates subnets until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	rec, stop := controllerutil.NewRecorder(ctx, c.cfg.Client, "cidrAllocator")
	defer stop()
	c.rec = rec
	if !controllerutil.WaitForSync(ctx, c.synced) {
		return nil
	}
	// Record what existing nodes hold before handing out anything.
	nodes, err := c.lister.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	c.mu.Lock()
	for _, n := range nodes {
		c.observeLocked(n)
	}
	c.mu.Unlock()
	c.log.Info("node IPAM started", "clusterCIDR", c.cfg.ClusterCIDR.String(), "nodeMaskSize", c.cfg.NodeCIDRMaskSize, "nodes", len(nodes))
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

// observeLocked records the subnets node already holds.
func (c *Controller) observeLocked(node *corev1.Node) bool {
	cidrs := node.Spec.PodCIDRs
	if len(cidrs) == 0 && node.Spec.PodCIDR != "" {
		cidrs = []string{node.Spec.PodCIDR}
	}
	for _, s := range cidrs {
		_, cidr, err := net.ParseCIDR(s)
		if err != nil {
			continue
		}
		if c.set.occupy(cidr) {
			if prev := c.byNode[node.Name]; prev != nil && prev.String() != cidr.String() {
				c.set.release(prev) // allocated by us, but the node got another one
			}
			c.byNode[node.Name] = cidr
			return true
		}
	}
	return len(cidrs) > 0
}

func (c *Controller) sync(ctx context.Context, name string) error {
	node, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		c.releaseNode(name)
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.observeLocked(node) {
		delete(c.waiting, name)
		c.mu.Unlock()
		return nil
	}
	cidr := c.byNode[name] // handed out before, the patch not seen yet
	if cidr == nil {
		cidr, err = c.set.allocate()
		if err != nil {
			c.waiting[name] = true
			c.mu.Unlock()
			c.rec.Eventf(node, corev1.EventTypeNormal, "CIDRNotAvailable", "Node %s status is now: %s", name, "CIDRNotAvailable")
			return fmt.Errorf("allocating a pod CIDR for node %s: %w", name, err)
		}
		c.byNode[name] = cidr
	}
	delete(c.waiting, name)
	c.mu.Unlock()

	if err := c.patch(ctx, node, cidr); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsInvalid(err) {
			// Gone, replaced by another node of that name (its delete
			// event releases the subnet), or given a podCIDR meanwhile
			// (its update event records it).
			c.log.Debug("pod CIDR not assigned", "node", name, "err", err)
			return nil
		}
		c.rec.Eventf(node, corev1.EventTypeWarning, "CIDRAssignmentFailed", "Node %s status is now: %s", name, "CIDRAssignmentFailed")
		return fmt.Errorf("setting pod CIDR %s of node %s: %w", cidr, name, err)
	}
	c.log.Debug("pod CIDR assigned", "node", name, "podCIDR", cidr.String())
	return nil
}

// patch sets spec.podCIDR and spec.podCIDRs of node, if its UID is still node's.
func (c *Controller) patch(ctx context.Context, node *corev1.Node, cidr *net.IPNet) error {
	data, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": node.UID},
		"spec":     map[string]any{"podCIDR": cidr.String(), "podCIDRs": []string{cidr.String()}},
	})
	if err != nil {
		return err
	}
	_, err = c.cfg.Client.CoreV1().Nodes().Patch(ctx, node.Name, types.StrategicMergePatchType, data, metav1.PatchOptions{})
	return err
}

// releaseNode frees the subnet of a deleted node and wakes the nodes
// waiting for one.
func (c *Controller) releaseNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cidr := c.byNode[name]
	delete(c.waiting, name)
	if cidr == nil {
		return
	}
	delete(c.byNode, name)
	c.set.release(cidr)
	c.log.Debug("pod CIDR released", "node", name, "podCIDR", cidr.String())
	for n := range c.waiting {
		c.queue.Add(n)
	}
}
