// Package endpoints keeps the legacy core/v1 Endpoints object of every
// Service with a selector in step with its pods, as upstream's Endpoints
// controller does (kubectl describe and older tools still read it): one
// object named like the Service, ready and not-ready addresses per port,
// at most 1000 addresses (the rest cut, with the over-capacity
// annotation), deleted when the Service is.
package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
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
	// BatchPeriod is the shortest time between two syncs of one Service
	// caused by pod changes (see endpointutil.Batcher). Default 1s;
	// negative disables batching. Batching runs on the real clock; Clock
	// times the retries of failed syncs.
	BatchPeriod time.Duration
}

// Controller is the Endpoints controller.
type Controller struct {
	cfg       Config
	log       *slog.Logger
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	synced    []cache.InformerSynced
	queue     controllerutil.Queue
	batch     *endpointutil.Batcher

	mu       sync.Mutex
	written  map[string]uint64 // key → resourceVersion of the last own write
	recorder record.EventRecorder
}

// New checks cfg, fills defaults, asks the factory for the Service, pod and
// Endpoints informers and registers its event handlers. It starts nothing.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("endpoints controller: a client and an informer factory are required")
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
	if cfg.BatchPeriod == 0 {
		cfg.BatchPeriod = time.Second
	}
	svcInf := cfg.Informers.Core().V1().Services()
	podInf := cfg.Informers.Core().V1().Pods()
	epInf := cfg.Informers.Core().V1().Endpoints()
	q := controllerutil.NewQueue("endpoints", cfg.Clock)
	c := &Controller{
		cfg:       cfg,
		log:       cfg.Logger.With("controller", "endpoints"),
		services:  svcInf.Lister(),
		pods:      podInf.Lister(),
		endpoints: epInf.Lister(),
		queue:     q,
		batch:     endpointutil.NewBatcher(q, clock.RealClock{}, cfg.BatchPeriod),
		written:   map[string]uint64{},
	}
	svcReg, err := svcInf.Informer().AddEventHandler(controllerutil.Enqueuer(q))
	if err != nil {
		return nil, fmt.Errorf("endpoints controller: watching services: %w", err)
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
		return nil, fmt.Errorf("endpoints controller: watching pods: %w", err)
	}
	epReg, err := epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		// Deleted by someone else: written again if its Service wants it.
		DeleteFunc: func(obj any) {
			if key, ok := controllerutil.KeyOf(obj); ok {
				c.mu.Lock()
				delete(c.written, key)
				c.mu.Unlock()
				q.Add(key)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("endpoints controller: watching endpoints: %w", err)
	}
	c.synced = []cache.InformerSynced{
		svcInf.Informer().HasSynced, podInf.Informer().HasSynced, epInf.Informer().HasSynced,
		svcReg.HasSynced, podReg.HasSynced, epReg.HasSynced,
	}
	return c, nil
}

// Run syncs Services until ctx ends. The informers are started by whoever
// owns the factory.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	rec, stop := controllerutil.NewRecorder(ctx, c.cfg.Client, "endpoint-controller")
	defer stop()
	c.mu.Lock()
	c.recorder = rec
	c.mu.Unlock()
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.queueLeftovers()
	c.log.Info("started", "workers", c.cfg.Workers)
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

// queueLeftovers queues every Endpoints object once, so that those whose
// Service was deleted while the controller was not running are deleted.
func (c *Controller) queueLeftovers() {
	list, err := c.endpoints.List(labels.Everything())
	if err != nil {
		c.log.Info("listing endpoints for leftovers", "err", err)
		return
	}
	for _, ep := range list {
		// Old leader election records live in Endpoints without a Service.
		if _, ok := ep.Annotations[resourcelock.LeaderElectionRecordAnnotationKey]; ok {
			continue
		}
		c.queue.Add(ep.Namespace + "/" + ep.Name)
	}
}

func (c *Controller) enqueue(keys []string) {
	for _, k := range keys {
		c.batch.Add(k)
	}
}

// staleRetry is how soon a sync that found the informer cache behind this
// controller's own last write is retried.
const staleRetry = 20 * time.Millisecond

func (c *Controller) sync(ctx context.Context, key string) error {
	c.batch.Started(key)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.batch.Forget(key)
		c.mu.Lock()
		delete(c.written, key)
		c.mu.Unlock()
		err := c.cfg.Client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting endpoints %s: %w", key, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !endpointutil.Managed(svc) {
		return nil
	}
	current, err := c.endpoints.Endpoints(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if c.stale(key, current) {
		c.log.Debug("informer cache behind own write, retrying", "service", key)
		c.batch.After(key, staleRetry)
		return nil
	}
	pods, err := c.pods.Pods(ns).List(endpointutil.SelectorOf(svc))
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	desired, changed := desiredEndpoints(svc, current, desiredSubsets(svc, pods))
	if !changed {
		return nil
	}
	client := c.cfg.Client.CoreV1().Endpoints(ns)
	var written *corev1.Endpoints
	if current == nil {
		written, err = client.Create(ctx, desired, metav1.CreateOptions{})
	} else {
		written, err = client.Update(ctx, desired, metav1.UpdateOptions{})
	}
	if err != nil {
		if current == nil && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		if current == nil {
			c.event(desired, corev1.EventTypeWarning, "FailedToCreateEndpoint", "Failed to create endpoint for service %v/%v: %v", ns, name, err)
			return fmt.Errorf("creating endpoints %s: %w", key, err)
		}
		c.event(desired, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Failed to update endpoint %v/%v: %v", ns, name, err)
		return fmt.Errorf("updating endpoints %s: %w", key, err)
	}
	c.mu.Lock()
	c.written[key] = revision(written.ResourceVersion)
	c.mu.Unlock()
	return nil
}

func revision(rv string) uint64 {
	n, _ := strconv.ParseUint(rv, 10, 64)
	return n
}

// stale reports whether the cached Endpoints predates this controller's
// last write of it.
func (c *Controller) stale(key string, cached *corev1.Endpoints) bool {
	c.mu.Lock()
	rv, ok := c.written[key]
	c.mu.Unlock()
	if !ok {
		return false
	}
	return cached == nil || revision(cached.ResourceVersion) < rv
}

// desiredEndpoints is the Endpoints object svc should have given the
// drafts of its subsets, built on current (nil when there is none), and whether it
// differs from current.
func desiredEndpoints(svc *corev1.Service, current *corev1.Endpoints, drafts []draft) (*corev1.Endpoints, bool) {
	drafts, truncated := truncate(drafts)
	lbls := make(map[string]string, len(svc.Labels)+1)
	for k, v := range svc.Labels {
		lbls[k] = v
	}
	if endpointutil.IsHeadless(svc) {
		lbls[corev1.IsHeadlessService] = ""
	} else {
		delete(lbls, corev1.IsHeadlessService)
	}
	var ep *corev1.Endpoints
	if current == nil {
		ep = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace}}
	} else {
		ep = &corev1.Endpoints{TypeMeta: current.TypeMeta, ObjectMeta: *current.ObjectMeta.DeepCopy()}
	}
	annotations := map[string]string{}
	for k, v := range ep.Annotations {
		annotations[k] = v
	}
	// This controller computes no trigger time: an old one would be wrong.
	delete(annotations, corev1.EndpointsLastChangeTriggerTime)
	if truncated {
		annotations[corev1.EndpointsOverCapacity] = TruncatedValue
	} else {
		delete(annotations, corev1.EndpointsOverCapacity)
	}
	if len(annotations) == 0 {
		annotations = nil
	}
	ep.Labels, ep.Annotations, ep.Subsets = lbls, annotations, subsets(svc, drafts)
	if current == nil {
		return ep, true
	}
	same := mapsEqual(current.Labels, ep.Labels) && mapsEqual(current.Annotations, ep.Annotations) &&
		subsetsEqual(current.Subsets, ep.Subsets)
	return ep, !same
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (c *Controller) event(obj *corev1.Endpoints, eventType, reason, format string, args ...any) {
	c.mu.Lock()
	rec := c.recorder
	c.mu.Unlock()
	if rec != nil {
		rec.Eventf(obj, eventType, reason, format, args...)
	}
}
