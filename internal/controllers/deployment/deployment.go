// Package deployment rolls Deployments out through ReplicaSets, as
// upstream's Deployment controller does: one ReplicaSet per pod template
// (named and labelled with the pod-template-hash), rolling updates bounded
// by maxSurge and maxUnavailable or a Recreate, proportional scaling
// mid-rollout, pause, revision annotations for `kubectl rollout
// history|undo`, the Progressing and Available conditions with the
// progress deadline, and cleanup of old ReplicaSets past
// revisionHistoryLimit.
package deployment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// Kind is the GroupVersionKind of the owner references this controller writes.
var Kind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of Deployments synced at once. Default 5.
	Workers int
}

// Controller is the Deployment controller.
type Controller struct {
	cfg        Config
	log        *slog.Logger
	dLister    appslisters.DeploymentLister
	rsLister   appslisters.ReplicaSetLister
	rsIndexer  cache.Indexer
	podIndexer cache.Indexer
	synced     []cache.InformerSynced
	queue      controllerutil.Queue
	recorder   record.EventRecorder
}

// New checks cfg, fills defaults, asks the factory for the Deployment,
// ReplicaSet and pod informers (indexed by controller) and registers its
// event handlers. It starts nothing.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("deployment controller: a client and an informer factory are required")
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
	dInf := cfg.Informers.Apps().V1().Deployments()
	rsInf := cfg.Informers.Apps().V1().ReplicaSets()
	podInf := cfg.Informers.Core().V1().Pods()
	for what, inf := range map[string]cache.SharedIndexInformer{"replicasets": rsInf.Informer(), "pods": podInf.Informer()} {
		if err := controllerutil.AddControllerIndex(inf); err != nil {
			return nil, fmt.Errorf("deployment controller: indexing %s by controller: %w", what, err)
		}
	}
	c := &Controller{
		cfg:        cfg,
		log:        cfg.Logger.With("controller", "deployment"),
		dLister:    dInf.Lister(),
		rsLister:   rsInf.Lister(),
		rsIndexer:  rsInf.Informer().GetIndexer(),
		podIndexer: podInf.Informer().GetIndexer(),
		queue:      controllerutil.NewQueue("deployment", cfg.Clock),
	}
	regs := []cache.ResourceEventHandlerRegistration{}
	for _, h := range []struct {
		inf cache.SharedIndexInformer
		fns cache.ResourceEventHandlerFuncs
	}{
		{dInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.enqueue, UpdateFunc: func(_, cur any) { c.enqueue(cur) }, DeleteFunc: c.enqueue}},
		{rsInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.addRS, UpdateFunc: c.updateRS, DeleteFunc: c.deleteRS}},
		{podInf.Informer(), cache.ResourceEventHandlerFuncs{DeleteFunc: c.deletePod}},
	} {
		reg, err := h.inf.AddEventHandler(h.fns)
		if err != nil {
			return nil, fmt.Errorf("deployment controller: adding event handler: %w", err)
		}
		regs = append(regs, reg)
	}
	c.synced = []cache.InformerSynced{dInf.Informer().HasSynced, rsInf.Informer().HasSynced, podInf.Informer().HasSynced}
	for _, r := range regs {
		c.synced = append(c.synced, r.HasSynced)
	}
	return c, nil
}

// Run syncs Deployments until ctx ends. The informers are started by
// whoever owns the factory.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	rec, stop := controllerutil.NewRecorder(ctx, c.cfg.Client, "deployment-controller")
	defer stop()
	c.recorder = rec
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("started", "workers", c.cfg.Workers)
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

func (c *Controller) enqueue(obj any) {
	if key, ok := controllerutil.KeyOf(obj); ok {
		c.queue.Add(key)
	}
}

func (c *Controller) eventf(d *appsv1.Deployment, eventType, reason, format string, args ...any) {
	if c.recorder != nil {
		c.recorder.Eventf(d, eventType, reason, format, args...)
	}
}

func dKey(d *appsv1.Deployment) string { return d.Namespace + "/" + d.Name }

// resolveController returns the Deployment ref points at, if it is one and still the same object.
func (c *Controller) resolveController(namespace string, ref *metav1.OwnerReference) *appsv1.Deployment {
	if ref.Kind != Kind.Kind || ref.APIVersion != appsv1.SchemeGroupVersion.String() {
		return nil
	}
	d, err := c.dLister.Deployments(namespace).Get(ref.Name)
	if err != nil || d.UID != ref.UID {
		return nil
	}
	return d
}

// deploymentsMatching returns the Deployments whose selector matches an orphan ReplicaSet.
func (c *Controller) deploymentsMatching(rs *appsv1.ReplicaSet) []*appsv1.Deployment {
	if len(rs.Labels) == 0 {
		return nil
	}
	list, err := c.dLister.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.Deployment
	for _, d := range list {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(rs.Labels)) {
			continue
		}
		out = append(out, d)
	}
	return out
}

func (c *Controller) addRS(obj any) {
	rs := obj.(*appsv1.ReplicaSet)
	if rs.DeletionTimestamp != nil {
		c.deleteRS(rs)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.resolveController(rs.Namespace, ref); d != nil {
			c.queue.Add(dKey(d))
		}
		return
	}
	for _, d := range c.deploymentsMatching(rs) {
		c.queue.Add(dKey(d))
	}
}

func (c *Controller) updateRS(oldObj, curObj any) {
	old, cur := oldObj.(*appsv1.ReplicaSet), curObj.(*appsv1.ReplicaSet)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := (curRef == nil) != (oldRef == nil) || (curRef != nil && curRef.UID != oldRef.UID)
	if refChanged && oldRef != nil {
		if d := c.resolveController(old.Namespace, oldRef); d != nil {
			c.queue.Add(dKey(d))
		}
	}
	if curRef != nil {
		if d := c.resolveController(cur.Namespace, curRef); d != nil {
			c.queue.Add(dKey(d))
		}
		return
	}
	if refChanged || !labels.Equals(old.Labels, cur.Labels) {
		for _, d := range c.deploymentsMatching(cur) {
			c.queue.Add(dKey(d))
		}
	}
}

func (c *Controller) deleteRS(obj any) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if rs, ok = tomb.Obj.(*appsv1.ReplicaSet); !ok {
			return
		}
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.resolveController(rs.Namespace, ref); d != nil {
			c.queue.Add(dKey(d))
		}
	}
}

// deletePod wakes a Recreate deployment once the last pod of its old
// ReplicaSets is gone; rolling updates do not look at pods.
func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	rs, err := c.rsLister.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	dRef := metav1.GetControllerOfNoCopy(rs)
	if dRef == nil {
		return
	}
	d := c.resolveController(rs.Namespace, dRef)
	if d == nil || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		return
	}
	if len(controllerutil.FilterActivePods(c.podsOf(rs.UID))) == 0 {
		c.queue.Add(dKey(d))
	}
}

func (c *Controller) podsOf(uid types.UID) []*corev1.Pod {
	objs, err := c.podIndexer.ByIndex(controllerutil.ControllerIndex, string(uid))
	if err != nil {
		return nil
	}
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

// sync rolls one Deployment forward.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.dLister.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	d := cached.DeepCopy()
	s := &syncer{c: c, d: d, now: c.cfg.Clock.Now()}

	if d.Spec.Selector == nil || (len(d.Spec.Selector.MatchLabels) == 0 && len(d.Spec.Selector.MatchExpressions) == 0) {
		c.eventf(d, corev1.EventTypeWarning, eventSelectingAll, "%s", messageSelectingAll)
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			return s.updateStatus(ctx)
		}
		return nil
	}
	rsList, err := c.claimReplicaSets(ctx, d)
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return s.syncStatusOnly(ctx, rsList)
	}
	if err := s.checkPaused(ctx); err != nil {
		return err
	}
	if d.Spec.Paused {
		return s.syncScale(ctx, rsList)
	}
	if s.isScalingEvent(rsList) {
		return s.syncScale(ctx, rsList)
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return s.rolloutRecreate(ctx, rsList)
	}
	return s.rolloutRolling(ctx, rsList)
}

// claimReplicaSets returns the ReplicaSets d controls after adopting
// matching orphans and releasing those that stopped matching.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s has an invalid selector: %w", dKey(d), err)
	}
	var candidates []*appsv1.ReplicaSet
	for _, key := range []string{string(d.UID), controllerutil.OrphanIndexKey(d.Namespace)} {
		objs, err := c.rsIndexer.ByIndex(controllerutil.ControllerIndex, key)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if rs, ok := o.(*appsv1.ReplicaSet); ok {
				candidates = append(candidates, rs)
			}
		}
	}
	claimer := &controllerutil.Claimer{
		Owner:     d,
		OwnerKind: Kind,
		Selector:  selector,
		Patch: func(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) error {
			_, err := c.cfg.Client.AppsV1().ReplicaSets(namespace).Patch(ctx, name, pt, data, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controllerutil.RecheckOwner(d, func(ctx context.Context) (metav1.Object, error) {
			return c.cfg.Client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		}),
	}
	return controllerutil.Claim(ctx, claimer, candidates)
}
