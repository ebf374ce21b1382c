// Package statefulset runs StatefulSets: pods with stable names
// "<set>-<ordinal>", stable hostnames under the set's governing Service and
// their own PersistentVolumeClaims from the volume claim templates, created
// in ordinal order (OrderedReady) or all at once (Parallel), scaled down
// from the highest ordinal and updated from the highest ordinal down
// (RollingUpdate with partition) or when deleted (OnDelete). Template
// history lives in ControllerRevisions, as upstream.
package statefulset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/controllers/history"
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of StatefulSets synced at once. Default 5.
	Workers int
}

// Controller is the StatefulSet controller.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	client kubernetes.Interface

	setLister appslisters.StatefulSetLister
	pvcLister corelisters.PersistentVolumeClaimLister
	pods      cache.Indexer
	history   *history.Store
	synced    []cache.InformerSynced

	queue    controllerutil.Queue
	recorder record.EventRecorder
}

// New checks cfg, fills defaults, asks the factory for the StatefulSet,
// pod, PersistentVolumeClaim and ControllerRevision informers and
// registers its handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("statefulset controller: a client and an informer factory are required")
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
	setInf := cfg.Informers.Apps().V1().StatefulSets()
	podInf := cfg.Informers.Core().V1().Pods()
	pvcInf := cfg.Informers.Core().V1().PersistentVolumeClaims()
	crInf := cfg.Informers.Apps().V1().ControllerRevisions()
	if err := controllerutil.AddControllerIndex(podInf.Informer()); err != nil {
		return nil, fmt.Errorf("statefulset controller: indexing pods: %w", err)
	}
	if err := controllerutil.AddControllerIndex(crInf.Informer()); err != nil {
		return nil, fmt.Errorf("statefulset controller: indexing controller revisions: %w", err)
	}
	c := &Controller{
		cfg:       cfg,
		log:       cfg.Logger.With("controller", "statefulset"),
		client:    cfg.Client,
		setLister: setInf.Lister(),
		pvcLister: pvcInf.Lister(),
		pods:      podInf.Informer().GetIndexer(),
		history:   &history.Store{Client: cfg.Client, Indexer: crInf.Informer().GetIndexer()},
		queue:     controllerutil.NewQueue("statefulset", cfg.Clock),
		synced: []cache.InformerSynced{
			setInf.Informer().HasSynced, podInf.Informer().HasSynced,
			pvcInf.Informer().HasSynced, crInf.Informer().HasSynced,
		},
	}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{setInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueue,
			UpdateFunc: func(_, obj any) { c.enqueue(obj) },
			DeleteFunc: c.enqueue,
		}},
		{podInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.addPod, UpdateFunc: c.updatePod, DeleteFunc: c.deletePod}},
		{crInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.ownedChanged,
			UpdateFunc: func(_, obj any) { c.ownedChanged(obj) },
			DeleteFunc: c.ownedChanged,
		}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, fmt.Errorf("statefulset controller: registering handlers: %w", err)
		}
	}
	return c, nil
}

// Run syncs StatefulSets until ctx ends. The informers are started by
// whoever owns the factory.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	rec, stop := controllerutil.NewRecorder(ctx, c.client, "statefulset-controller")
	defer stop()
	c.recorder = rec
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("statefulset controller started", "workers", c.cfg.Workers)
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

func (c *Controller) enqueue(obj any) {
	if key, ok := controllerutil.KeyOf(obj); ok {
		c.queue.Add(key)
	}
}

// resolve returns the StatefulSet ref points to, if it still exists with that UID.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.StatefulSet {
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return nil
	}
	set, err := c.setLister.StatefulSets(ns).Get(ref.Name)
	if err != nil || set.UID != ref.UID {
		return nil
	}
	return set
}

// selecting returns the StatefulSets of pod's namespace whose selector matches it.
func (c *Controller) selecting(pod *corev1.Pod) []*appsv1.StatefulSet {
	all, err := c.setLister.StatefulSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.StatefulSet
	for _, set := range all {
		sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, set)
		}
	}
	return out
}

func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if set := c.resolve(pod.Namespace, ref); set != nil {
			c.enqueue(set)
		}
		return
	}
	for _, set := range c.selecting(pod) {
		c.enqueue(set)
	}
}

func (c *Controller) updatePod(oldObj, obj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	cur, ok2 := obj.(*corev1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == cur.ResourceVersion {
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if set := c.resolve(old.Namespace, oldRef); set != nil {
			c.enqueue(set)
		}
	}
	if curRef != nil {
		set := c.resolve(cur.Namespace, curRef)
		if set == nil {
			return
		}
		c.enqueue(set)
		// Availability comes minReadySeconds after readiness: look again then.
		if set.Spec.MinReadySeconds > 0 && !controllerutil.IsPodReady(old) && controllerutil.IsPodReady(cur) {
			c.queue.AddAfter(set.Namespace+"/"+set.Name, time.Duration(set.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if !labels.Equals(old.Labels, cur.Labels) || oldRef != nil {
		for _, set := range c.selecting(cur) {
			c.enqueue(set)
		}
	}
}

func (c *Controller) deletePod(obj any) {
	c.ownedChanged(obj)
}

// ownedChanged enqueues the StatefulSet controlling obj (a pod or a
// revision, or a tombstone of one).
func (c *Controller) ownedChanged(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	o, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	if set := c.resolve(o.GetNamespace(), metav1.GetControllerOfNoCopy(o)); set != nil {
		c.enqueue(set)
	}
}

// getFresh reads a StatefulSet from the server.
func (c *Controller) getFresh(ctx context.Context, ns, name string) (*appsv1.StatefulSet, error) {
	set, err := c.client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting statefulset %s/%s: %w", ns, name, err)
	}
	return set, nil
}
