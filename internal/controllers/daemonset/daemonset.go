// Package daemonset runs one pod of every DaemonSet on each node it fits:
// nodes matching its node selector and required node affinity whose taints
// the pod tolerates. Pods are not bound here: each is pinned to its node by
// a required node affinity on metadata.name and placed by the scheduler,
// as upstream. Template changes are rolled out node by node (RollingUpdate
// with maxUnavailable or maxSurge) or on deletion (OnDelete), with the
// template history kept in ControllerRevisions.
package daemonset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/controllers/history"
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

const (
	// defaultBurstReplicas caps the creates or deletes of one sync.
	defaultBurstReplicas = 250
	// failedPodReason is the event reason for a failed daemon pod being replaced.
	failedPodReason = "FailedDaemonPod"
	// selectingAllReason is the event reason for a DaemonSet with an empty selector.
	selectingAllReason = "SelectingAll"
)

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of DaemonSets synced at once. Default 5.
	Workers int
	// BurstReplicas caps the pods created or deleted by one sync. Default 250.
	BurstReplicas int
	// FailedPodsBackoff is the first wait before a failed daemon pod on a
	// node is replaced again; it doubles up to FailedPodsBackoffMax.
	// Defaults 1s and 15m.
	FailedPodsBackoff, FailedPodsBackoffMax time.Duration
}

// Controller is the DaemonSet controller.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	client kubernetes.Interface

	dsLister   appslisters.DaemonSetLister
	nodeLister corelisters.NodeLister
	pods       cache.Indexer
	history    *history.Store
	synced     []cache.InformerSynced

	queue        controllerutil.Queue
	expectations *controllerutil.Expectations
	backoff      *flowcontrol.Backoff

	recorder   record.EventRecorder
	podControl controllerutil.PodControl
}

// New checks cfg, fills defaults, asks the factory for the DaemonSet, pod,
// node and ControllerRevision informers and registers its handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("daemonset controller: a client and an informer factory are required")
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
	if cfg.BurstReplicas <= 0 {
		cfg.BurstReplicas = defaultBurstReplicas
	}
	if cfg.FailedPodsBackoff <= 0 {
		cfg.FailedPodsBackoff = time.Second
	}
	if cfg.FailedPodsBackoffMax <= 0 {
		cfg.FailedPodsBackoffMax = 15 * time.Minute
	}
	dsInf := cfg.Informers.Apps().V1().DaemonSets()
	podInf := cfg.Informers.Core().V1().Pods()
	nodeInf := cfg.Informers.Core().V1().Nodes()
	crInf := cfg.Informers.Apps().V1().ControllerRevisions()
	if err := controllerutil.AddControllerIndex(podInf.Informer()); err != nil {
		return nil, fmt.Errorf("daemonset controller: indexing pods: %w", err)
	}
	if err := controllerutil.AddControllerIndex(crInf.Informer()); err != nil {
		return nil, fmt.Errorf("daemonset controller: indexing controller revisions: %w", err)
	}
	c := &Controller{
		cfg:          cfg,
		log:          cfg.Logger.With("controller", "daemonset"),
		client:       cfg.Client,
		dsLister:     dsInf.Lister(),
		nodeLister:   nodeInf.Lister(),
		pods:         podInf.Informer().GetIndexer(),
		history:      &history.Store{Client: cfg.Client, Indexer: crInf.Informer().GetIndexer()},
		queue:        controllerutil.NewQueue("daemonset", cfg.Clock),
		expectations: controllerutil.NewExpectations(cfg.Clock),
		backoff:      flowcontrol.NewFakeBackOff(cfg.FailedPodsBackoff, cfg.FailedPodsBackoffMax, cfg.Clock),
		synced: []cache.InformerSynced{
			dsInf.Informer().HasSynced, podInf.Informer().HasSynced,
			nodeInf.Informer().HasSynced, crInf.Informer().HasSynced,
		},
	}
	c.podControl = controllerutil.PodControl{Client: cfg.Client}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{dsInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueue,
			UpdateFunc: func(_, obj any) { c.enqueue(obj) },
			DeleteFunc: c.enqueue,
		}},
		{podInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.addPod, UpdateFunc: c.updatePod, DeleteFunc: c.deletePod}},
		{nodeInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.addNode, UpdateFunc: c.updateNode, DeleteFunc: c.deleteNode}},
		{crInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.revisionChanged,
			UpdateFunc: func(_, obj any) { c.revisionChanged(obj) },
			DeleteFunc: c.revisionChanged,
		}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, fmt.Errorf("daemonset controller: registering handlers: %w", err)
		}
	}
	return c, nil
}

// Run syncs DaemonSets until ctx ends. The informers are started by
// whoever owns the factory.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	rec, stop := controllerutil.NewRecorder(ctx, c.client, "daemonset-controller")
	defer stop()
	c.recorder = rec
	c.podControl.Recorder = rec
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("daemonset controller started", "workers", c.cfg.Workers)
	go c.gcBackoff(ctx)
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

// gcBackoff forgets failed-pod backoff entries that have expired.
func (c *Controller) gcBackoff(ctx context.Context) {
	t := c.cfg.Clock.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			c.backoff.GC()
		}
	}
}

func (c *Controller) enqueue(obj any) {
	if key, ok := controllerutil.KeyOf(obj); ok {
		c.queue.Add(key)
	}
}

func (c *Controller) enqueueAfter(ds *appsv1.DaemonSet, d time.Duration) {
	c.queue.AddAfter(ds.Namespace+"/"+ds.Name, d)
}

// resolve returns the DaemonSet ref points to, if it still exists with that UID.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.DaemonSet {
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return nil
	}
	ds, err := c.dsLister.DaemonSets(ns).Get(ref.Name)
	if err != nil || ds.UID != ref.UID {
		return nil
	}
	return ds
}

// selecting returns the DaemonSets of pod's namespace whose selector matches it.
func (c *Controller) selecting(pod *corev1.Pod) []*appsv1.DaemonSet {
	all, err := c.dsLister.DaemonSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.DaemonSet
	for _, ds := range all {
		sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, ds)
		}
	}
	return out
}

func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if ds := c.resolve(pod.Namespace, ref); ds != nil {
			key := ds.Namespace + "/" + ds.Name
			c.expectations.CreationObserved(key)
			c.queue.Add(key)
		}
		return
	}
	for _, ds := range c.selecting(pod) {
		c.enqueue(ds)
	}
}

func (c *Controller) updatePod(oldObj, obj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	cur, ok2 := obj.(*corev1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil {
		c.deletePod(cur)
		oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)
		if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
			if ds := c.resolve(old.Namespace, oldRef); ds != nil {
				c.enqueue(ds)
			}
		}
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if ds := c.resolve(old.Namespace, oldRef); ds != nil {
			c.enqueue(ds)
		}
	}
	if curRef != nil {
		ds := c.resolve(cur.Namespace, curRef)
		if ds == nil {
			return
		}
		c.enqueue(ds)
		// Availability comes minReadySeconds after readiness: look again then.
		if ds.Spec.MinReadySeconds > 0 && !controllerutil.IsPodReady(old) && controllerutil.IsPodReady(cur) {
			c.enqueueAfter(ds, time.Duration(ds.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if !labels.Equals(old.Labels, cur.Labels) || oldRef != nil {
		for _, ds := range c.selecting(cur) {
			c.enqueue(ds)
		}
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, isTomb := obj.(cache.DeletedFinalStateUnknown)
		if !isTomb {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	ds := c.resolve(pod.Namespace, metav1.GetControllerOfNoCopy(pod))
	if ds == nil {
		return
	}
	key := ds.Namespace + "/" + ds.Name
	c.expectations.DeletionObserved(key, controllerutil.PodKey(pod))
	c.queue.Add(key)
}

func (c *Controller) allDaemonSets() []*appsv1.DaemonSet {
	all, err := c.dsLister.List(labels.Everything())
	if err != nil {
		return nil
	}
	return all
}

func (c *Controller) addNode(obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	for _, ds := range c.allDaemonSets() {
		if run, _ := shouldRun(node, ds); run {
			c.enqueue(ds)
		}
	}
}

func (c *Controller) updateNode(oldObj, obj any) {
	old, ok1 := oldObj.(*corev1.Node)
	cur, ok2 := obj.(*corev1.Node)
	if !ok1 || !ok2 || ignorableNodeUpdate(old, cur) {
		return
	}
	for _, ds := range c.allDaemonSets() {
		oldRun, oldKeep := shouldRun(old, ds)
		curRun, curKeep := shouldRun(cur, ds)
		if oldRun != curRun || oldKeep != curKeep {
			c.enqueue(ds)
		}
	}
}

func (c *Controller) deleteNode(any) {
	// The node's pods are removed by pod GC; the counts change now.
	for _, ds := range c.allDaemonSets() {
		c.enqueue(ds)
	}
}

// ignorableNodeUpdate reports whether a node update cannot change where
// daemons run: its labels, spec (taints, unschedulable) and condition
// statuses are unchanged, only heartbeats and status moved.
func ignorableNodeUpdate(old, cur *corev1.Node) bool {
	return labels.Equals(old.Labels, cur.Labels) &&
		apiequality.Semantic.DeepEqual(old.Spec, cur.Spec) &&
		sameConditionStatuses(old.Status.Conditions, cur.Status.Conditions)
}

func sameConditionStatuses(a, b []corev1.NodeCondition) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[corev1.NodeConditionType]corev1.ConditionStatus, len(a))
	for _, c := range a {
		m[c.Type] = c.Status
	}
	for _, c := range b {
		if s, ok := m[c.Type]; !ok || s != c.Status {
			return false
		}
	}
	return true
}

func (c *Controller) revisionChanged(obj any) {
	cr, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		tomb, isTomb := obj.(cache.DeletedFinalStateUnknown)
		if !isTomb {
			return
		}
		if cr, ok = tomb.Obj.(*appsv1.ControllerRevision); !ok {
			return
		}
	}
	if ds := c.resolve(cr.Namespace, metav1.GetControllerOfNoCopy(cr)); ds != nil {
		c.enqueue(ds)
	}
}

// getFresh reads a DaemonSet from the server, for adoption checks and status retries.
func (c *Controller) getFresh(ctx context.Context, ns, name string) (*appsv1.DaemonSet, error) {
	ds, err := c.client.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting daemonset %s/%s: %w", ns, name, err)
	}
	return ds, nil
}
