// Package endpointslice keeps the EndpointSlices (discovery.k8s.io/v1) of
// every Service with a selector in step with the pods it selects, as
// upstream's EndpointSlice controller does: slices labelled with the
// Service name and this controller as manager, owned by the Service, at
// most 100 endpoints each, one group of slices per address type and per
// set of resolved ports, endpoints with ready/serving/terminating
// conditions, node, zone, hostname and a reference to the pod. Writes are
// minimal: unchanged slices are not rewritten and slices with room are
// filled before new ones are created.
package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/controllers/endpointslice/endpointutil"
)

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of Services synced at once. Default 5.
	Workers int
	// MaxEndpointsPerSlice caps the endpoints of one slice. Default 100.
	MaxEndpointsPerSlice int
	// BatchPeriod is the shortest time between two syncs of one Service
	// caused by pod or slice changes: a burst of pod events is handled by
	// one sync. A Service's own changes are handled at once. Default 1s;
	// negative disables batching. Batching runs on the real clock (see
	// endpointutil.Batcher); Clock times the retries of failed syncs.
	BatchPeriod time.Duration
}

// Controller is the EndpointSlice controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	synced   []cache.InformerSynced
	queue    controllerutil.Queue
	batch    *endpointutil.Batcher
	tracker  *tracker

	mu       sync.Mutex
	recorder record.EventRecorder
}

// New checks cfg, fills defaults, asks the factory for the Service, pod,
// node and EndpointSlice informers and registers its event handlers. It
// starts nothing.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("endpointslice controller: a client and an informer factory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	if cfg.MaxEndpointsPerSlice <= 0 {
		cfg.MaxEndpointsPerSlice = DefaultMaxEndpointsPerSlice
	}
	if cfg.BatchPeriod == 0 {
		cfg.BatchPeriod = time.Second
	}
	svcInf := cfg.Informers.Core().V1().Services()
	podInf := cfg.Informers.Core().V1().Pods()
	nodeInf := cfg.Informers.Core().V1().Nodes()
	sliceInf := cfg.Informers.Discovery().V1().EndpointSlices()
	q := controllerutil.NewQueue("endpointslice", cfg.Clock)
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("controller", "endpointslice"),
		services: svcInf.Lister(),
		pods:     podInf.Lister(),
		nodes:    nodeInf.Lister(),
		slices:   sliceInf.Lister(),
		queue:    q,
		batch:    endpointutil.NewBatcher(q, clock.RealClock{}, cfg.BatchPeriod),
		tracker:  newTracker(),
	}
	svcReg, err := svcInf.Informer().AddEventHandler(controllerutil.Enqueuer(q))
	if err != nil {
		return nil, fmt.Errorf("endpointslice controller: watching services: %w", err)
	}
	podReg, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok {
				c.enqueue(endpointutil.ServicesForPod(c.services, pod))
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := oldObj.(*corev1.Pod)
			cur, ok2 := obj.(*corev1.Pod)
			if ok1 && ok2 {
				c.enqueue(endpointutil.ServicesForPodUpdate(c.services, old, cur))
			}
		},
		DeleteFunc: func(obj any) {
			if pod := endpointutil.PodFromDelete(obj); pod != nil {
				c.enqueue(endpointutil.ServicesForPod(c.services, pod))
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("endpointslice controller: watching pods: %w", err)
	}
	sliceReg, err := sliceInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addSlice,
		UpdateFunc: c.updateSlice,
		DeleteFunc: c.deleteSlice,
	})
	if err != nil {
		return nil, fmt.Errorf("endpointslice controller: watching endpointslices: %w", err)
	}
	c.synced = []cache.InformerSynced{
		svcInf.Informer().HasSynced, podInf.Informer().HasSynced, nodeInf.Informer().HasSynced, sliceInf.Informer().HasSynced,
		svcReg.HasSynced, podReg.HasSynced, sliceReg.HasSynced,
	}
	return c, nil
}

// Run syncs Services until ctx ends. The informers are started by whoever
// owns the factory.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	rec, stop := controllerutil.NewRecorder(ctx, c.cfg.Client, "endpoint-slice-controller")
	defer stop()
	c.mu.Lock()
	c.recorder = rec
	c.mu.Unlock()
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("started", "workers", c.cfg.Workers)
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

func (c *Controller) enqueue(keys []string) {
	for _, k := range keys {
		c.batch.Add(k)
	}
}

func managedByUs(s *discoveryv1.EndpointSlice) bool {
	return s.Labels[discoveryv1.LabelManagedBy] == ControllerName
}

func (c *Controller) addSlice(obj any) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || !managedByUs(s) || !c.tracker.changedByOthers(s) {
		return
	}
	if key, ok := serviceKey(s); ok {
		c.batch.Add(key)
	}
}

func (c *Controller) updateSlice(oldObj, obj any) {
	old, ok1 := oldObj.(*discoveryv1.EndpointSlice)
	s, ok2 := obj.(*discoveryv1.EndpointSlice)
	if !ok1 || !ok2 {
		return
	}
	oldKey, _ := serviceKey(old)
	key, _ := serviceKey(s)
	if managedByUs(old) && (!managedByUs(s) || oldKey != key) {
		// Taken away from this controller or moved to another Service:
		// no longer tracked where it was.
		c.tracker.removed(old)
		if oldKey != "" {
			c.batch.Add(oldKey)
		}
		if key != "" && managedByUs(s) {
			c.batch.Add(key)
		}
		return
	}
	if managedByUs(s) && key != "" && (!managedByUs(old) || c.tracker.changedByOthers(s)) {
		c.batch.Add(key)
	}
}

func (c *Controller) deleteSlice(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || !managedByUs(s) {
		return
	}
	if !c.tracker.removed(s) {
		// Deleted by someone else: put it back.
		if key, ok := serviceKey(s); ok {
			c.batch.Add(key)
		}
	}
}

// staleRetry is how soon a sync that found the informer cache behind this
// controller's own writes is retried.
const staleRetry = 20 * time.Millisecond

func (c *Controller) sync(ctx context.Context, key string) error {
	c.batch.Started(key)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// Its slices go with it: they are owned by the Service.
		c.tracker.forget(key)
		c.batch.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if !endpointutil.Managed(svc) {
		return nil
	}
	listed, err := c.slices.EndpointSlices(ns).List(labels.SelectorFromValidatedSet(labels.Set{
		discoveryv1.LabelServiceName: svc.Name,
		discoveryv1.LabelManagedBy:   ControllerName,
	}))
	if err != nil {
		return fmt.Errorf("listing endpointslices: %w", err)
	}
	if c.tracker.stale(key, listed) {
		// Not an error worth a log line: the cache is milliseconds behind.
		c.log.Debug("informer cache behind own writes, retrying", "service", key)
		c.batch.After(key, staleRetry)
		return nil
	}
	pods, err := c.pods.Pods(ns).List(endpointutil.SelectorOf(svc))
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	existing := make([]*discoveryv1.EndpointSlice, 0, len(listed))
	for _, s := range listed {
		if s.DeletionTimestamp == nil {
			existing = append(existing, s)
		}
	}
	p := reconcile(svc, pods, existing, c.nodeZone, c.cfg.MaxEndpointsPerSlice)
	if err := c.apply(ctx, key, svc, &p); err != nil {
		c.event(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices",
			"Error updating Endpoint Slices for Service %s/%s: %v", svc.Namespace, svc.Name, err)
		return err
	}
	if len(p.missingNodes) > 0 {
		return fmt.Errorf("skipped pods on unknown nodes: %v", p.missingNodes)
	}
	return nil
}

func (c *Controller) nodeZone(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	node, err := c.nodes.Get(name)
	if err != nil {
		return "", false
	}
	return node.Labels[corev1.LabelTopologyZone], true
}

// writeParallelism bounds the concurrent writes of one sync.
const writeParallelism = 8

// apply makes the writes of p: creates, then updates, then deletes, each
// kind concurrently, so endpoints moving between slices are never missing.
func (c *Controller) apply(ctx context.Context, key string, svc *corev1.Service, p *plan) error {
	if p.empty() {
		return nil
	}
	client := c.cfg.Client.DiscoveryV1().EndpointSlices(svc.Namespace)
	// No new slices for a Service being deleted: the garbage collector
	// would race with them.
	if svc.DeletionTimestamp == nil {
		err := parallel(p.create, func(s *discoveryv1.EndpointSlice) error {
			created, err := client.Create(ctx, s, metav1.CreateOptions{})
			if err != nil {
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					return nil
				}
				return fmt.Errorf("creating EndpointSlice: %w", err)
			}
			c.tracker.written(key, created)
			return nil
		})
		if err != nil {
			return err
		}
	}
	err := parallel(p.update, func(s *discoveryv1.EndpointSlice) error {
		updated, err := client.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("updating EndpointSlice %s: %w", s.Name, err)
		}
		c.tracker.written(key, updated)
		return nil
	})
	if err != nil {
		return err
	}
	return parallel(p.delete, func(s *discoveryv1.EndpointSlice) error {
		err := client.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting EndpointSlice %s: %w", s.Name, err)
		}
		c.tracker.deleted(key, s)
		return nil
	})
}

// parallel calls fn for every item with at most writeParallelism at once
// and returns the errors joined.
func parallel(items []*discoveryv1.EndpointSlice, fn func(*discoveryv1.EndpointSlice) error) error {
	if len(items) == 1 {
		return fn(items[0])
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, writeParallelism)
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Controller) event(obj *corev1.Service, eventType, reason, format string, args ...any) {
	c.mu.Lock()
	rec := c.recorder
	c.mu.Unlock()
	if rec != nil {
		rec.Eventf(obj, eventType, reason, format, args...)
	}
}
