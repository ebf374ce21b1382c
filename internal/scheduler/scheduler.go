// Package scheduler is Sampan's default scheduler, an API client like
// upstream's kube-scheduler: it watches pods that name it and have no node,
// picks a node for each by filtering and scoring a cache of the nodes and
// of what the placed pods take, and binds the pod through pods/binding.
//
// A decision accounts the pod on its node at once ("assumes" it) and the
// binding runs in a pool of goroutines, so the scheduling loop never waits
// for the API server; a failed binding forgets the assumption and retries
// the pod after a backoff. Pods that fit nowhere get a FailedScheduling
// event and a PodScheduled=False condition with upstream's message, and
// wait until the cluster changes.
//
// Leader election is the caller's business: run Run while leading.
package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/scheduler/queue"
)

// DefaultSchedulerName is the name pods get in spec.schedulerName by default.
const DefaultSchedulerName = corev1.DefaultSchedulerName

// Config configures a Scheduler.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// SchedulerName is the spec.schedulerName of the pods this scheduler
	// places, and the source of its events. Default "default-scheduler".
	SchedulerName string
	// BindWorkers is the number of bindings (and status updates) in flight
	// at once. Default 32.
	BindWorkers int
	// Parallelism is the number of goroutines filtering nodes for one pod.
	// Default GOMAXPROCS.
	Parallelism int
	// PercentageOfNodesToScore bounds the feasible nodes looked for before
	// scoring, as a percentage of all nodes (at least 100 nodes). 0 is
	// upstream's adaptive default: 50% less 1% per 125 nodes, at least 5%.
	PercentageOfNodesToScore int
	// InitialBackoff and MaxBackoff bound the per-pod backoff after a
	// failed attempt. Default 1s and 10s.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Recorder records the events; default a recorder writing core/v1
	// Events through Client, started by Run.
	Recorder record.EventRecorder
}

// Scheduler places pods on nodes.
type Scheduler struct {
	cfg      Config
	log      *slog.Logger
	queue    *queue.Queue
	cache    *cache
	alg      *algorithm
	recorder record.EventRecorder

	podLister corelisters.PodLister
	pvcLister corelisters.PersistentVolumeClaimLister
	pvLister  corelisters.PersistentVolumeLister
	nsLister  corelisters.NamespaceLister
	synced    []toolscache.InformerSynced

	tasks chan func(context.Context)
}

// New checks cfg, fills defaults and registers the informer handlers. It
// starts nothing.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("scheduler: a client and an informer factory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.SchedulerName == "" {
		cfg.SchedulerName = DefaultSchedulerName
	}
	if cfg.BindWorkers <= 0 {
		cfg.BindWorkers = 32
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = runtime.GOMAXPROCS(0)
	}
	if cfg.PercentageOfNodesToScore < 0 || cfg.PercentageOfNodesToScore > 100 {
		return nil, fmt.Errorf("scheduler: percentageOfNodesToScore %d is not within 0–100", cfg.PercentageOfNodesToScore)
	}
	core := cfg.Informers.Core().V1()
	s := &Scheduler{
		cfg:       cfg,
		log:       cfg.Logger.With("component", cfg.SchedulerName),
		queue:     queue.New(queue.Config{Clock: cfg.Clock, InitialBackoff: cfg.InitialBackoff, MaxBackoff: cfg.MaxBackoff, Tag: hasRequiredPodAffinity}),
		recorder:  cfg.Recorder,
		podLister: core.Pods().Lister(),
		pvcLister: core.PersistentVolumeClaims().Lister(),
		pvLister:  core.PersistentVolumes().Lister(),
		nsLister:  core.Namespaces().Lister(),
		alg: &algorithm{
			parallelism: cfg.Parallelism,
			percentage:  cfg.PercentageOfNodesToScore,
			rnd:         rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		},
		tasks: make(chan func(context.Context), 1024),
	}
	s.cache = newCache(s.namespaceLabels)
	type informer interface {
		Informer() toolscache.SharedIndexInformer
	}
	handlers := []struct {
		inf informer
		h   toolscache.ResourceEventHandler
	}{
		{core.Pods(), toolscache.ResourceEventHandlerFuncs{AddFunc: s.addPod, UpdateFunc: s.updatePod, DeleteFunc: s.deletePod}},
		{core.Nodes(), toolscache.ResourceEventHandlerFuncs{AddFunc: s.addNode, UpdateFunc: s.updateNode, DeleteFunc: s.deleteNode}},
		{core.Services(), toolscache.ResourceEventHandlerFuncs{AddFunc: s.setService, UpdateFunc: func(_, o any) { s.setService(o) }, DeleteFunc: s.deleteService}},
		{core.PersistentVolumeClaims(), toolscache.ResourceEventHandlerFuncs{AddFunc: s.moveAll, UpdateFunc: func(_, o any) { s.moveAll(o) }}},
		{core.PersistentVolumes(), toolscache.ResourceEventHandlerFuncs{AddFunc: s.moveAll, UpdateFunc: func(_, o any) { s.moveAll(o) }}},
		{core.Namespaces(), toolscache.ResourceEventHandlerFuncs{}},
	}
	for _, h := range handlers {
		reg, err := h.inf.Informer().AddEventHandler(h.h)
		if err != nil {
			return nil, fmt.Errorf("scheduler: registering handler: %w", err)
		}
		s.synced = append(s.synced, h.inf.Informer().HasSynced, reg.HasSynced)
	}
	return s, nil
}

// Run schedules pods until ctx ends. The informer factory must be started
// by its owner (before or after Run is called). A Scheduler runs once:
// build a new one (with a new informer factory) to run again.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.recorder == nil {
		r, stop := controllerutil.NewRecorder(ctx, s.cfg.Client, s.cfg.SchedulerName)
		defer stop()
		s.recorder = r
	}
	if !controllerutil.WaitForSync(ctx, s.synced...) {
		return nil
	}
	s.log.Info("scheduler started", "nodes", s.nodeCount())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.queue.Run(ctx) // closes the queue when ctx ends
	}()
	for range s.cfg.BindWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case task := <-s.tasks:
					task(ctx)
				}
			}
		}()
	}
	for s.scheduleOne(ctx) {
	}
	wg.Wait()
	return nil
}

func (s *Scheduler) nodeCount() int {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return len(s.cache.nodeList)
}

// responsible reports whether pod waits for this scheduler.
func (s *Scheduler) responsible(pod *corev1.Pod) bool {
	return pod.Spec.SchedulerName == s.cfg.SchedulerName && pod.Spec.NodeName == "" &&
		pod.DeletionTimestamp == nil && !terminal(pod) && len(pod.Spec.SchedulingGates) == 0
}

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// scheduleOne takes a pod from the queue and places it; false when the
// queue is closed.
func (s *Scheduler) scheduleOne(ctx context.Context) bool {
	qp, cycle, ok := s.queue.Pop()
	if !ok {
		return false
	}
	defer s.queue.Done(qp.Key)
	pod, err := s.podLister.Pods(qp.Pod.Namespace).Get(qp.Pod.Name)
	if err != nil {
		return true // deleted
	}
	qp.Pod = pod
	if !s.responsible(pod) || s.cache.placed(qp.Key) {
		return true
	}
	pi := newPodInfo(pod)
	sels, volMsg := s.volumeSelectors(pod)
	pi.volumeSelectors = sels

	c := s.cache
	c.mu.Lock()
	pi.groups = c.groupsLocked(pod)
	var node *NodeInfo
	if volMsg != "" {
		err = &FitError{NumAllNodes: len(c.nodeList), PreFilterMsg: volMsg}
	} else {
		node, err = s.alg.schedule(c.newCycleState(pi), c.nodeList)
	}
	if node != nil {
		c.assumeLocked(pi, node.name)
	}
	c.mu.Unlock()

	if err != nil {
		s.failed(ctx, qp, cycle, err)
		return true
	}
	nodeName := node.name
	s.enqueueTask(ctx, func(ctx context.Context) { s.bind(ctx, qp, nodeName) })
	return true
}

func (s *Scheduler) enqueueTask(ctx context.Context, task func(context.Context)) {
	select {
	case s.tasks <- task:
	case <-ctx.Done():
	}
}

// bind asks the API server to put the pod on node.
func (s *Scheduler) bind(ctx context.Context, qp *queue.QueuedPod, node string) {
	pod := qp.Pod
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	err := s.cfg.Client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
	if err == nil {
		s.recorder.Eventf(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node)
		return
	}
	s.cache.forget(qp.Key)
	if ctx.Err() != nil || apierrors.IsNotFound(err) {
		return
	}
	// Resources the assumption held are free again.
	s.queue.MoveAllToActiveOrBackoff(nil)
	cur, gerr := s.podLister.Pods(pod.Namespace).Get(pod.Name)
	if gerr != nil || cur.UID != pod.UID || !s.responsible(cur) {
		return // deleted, replaced or bound meanwhile
	}
	s.log.Info("binding failed, will retry", "pod", klog.KObj(pod), "node", node, "err", err)
	s.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedScheduling", "Binding rejected: %v", err)
	s.queue.AddBackoff(qp)
}

// failed records why a pod was not placed and puts it back in the queue.
func (s *Scheduler) failed(ctx context.Context, qp *queue.QueuedPod, cycle int64, err error) {
	pod := qp.Pod
	msg := err.Error()
	var fitErr *FitError
	if errors.As(err, &fitErr) && fitErr.NumAllNodes == 0 {
		msg = "no nodes available to schedule pods"
	}
	s.log.Debug("pod does not fit", "pod", klog.KObj(pod), "reason", msg)
	s.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	if fitErr != nil {
		s.queue.AddUnschedulable(qp, cycle)
	} else {
		s.queue.AddBackoff(qp)
	}
	if !conditionIs(pod, msg) {
		s.enqueueTask(ctx, func(ctx context.Context) {
			if err := s.setUnschedulable(ctx, pod, msg); err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) {
				s.log.Info("updating PodScheduled condition failed", "pod", klog.KObj(pod), "err", err)
			}
		})
	}
}

func conditionIs(pod *corev1.Pod, msg string) bool {
	c := controllerutil.PodCondition(pod.Status.Conditions, corev1.PodScheduled)
	return c != nil && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable && c.Message == msg
}

// setUnschedulable sets the pod's PodScheduled condition to False,
// Unschedulable, msg, as kubectl describe shows it.
func (s *Scheduler) setUnschedulable(ctx context.Context, pod *corev1.Pod, msg string) error {
	now := metav1.NewTime(s.cfg.Clock.Now())
	transition := now
	if c := controllerutil.PodCondition(pod.Status.Conditions, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
		transition = c.LastTransitionTime
	}
	cond := map[string]any{
		"type":               corev1.PodScheduled,
		"status":             corev1.ConditionFalse,
		"reason":             corev1.PodReasonUnschedulable,
		"message":            msg,
		"lastProbeTime":      nil,
		"lastTransitionTime": transition,
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   map[string]any{"conditions": []any{cond}},
	})
	if err != nil {
		return err
	}
	_, err = s.cfg.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// volumeSelectors returns the node selectors of the local PersistentVolumes
// bound to the pod's claims, or why the pod cannot be placed at all.
func (s *Scheduler) volumeSelectors(pod *corev1.Pod) ([]*nodeaffinity.NodeSelector, string) {
	var out []*nodeaffinity.NodeSelector
	unbound := false
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		var claim string
		switch {
		case v.PersistentVolumeClaim != nil:
			claim = v.PersistentVolumeClaim.ClaimName
		case v.Ephemeral != nil:
			claim = pod.Name + "-" + v.Name
		default:
			continue
		}
		pvc, err := s.pvcLister.PersistentVolumeClaims(pod.Namespace).Get(claim)
		if err != nil {
			return nil, fmt.Sprintf("persistentvolumeclaim %q not found", claim)
		}
		if pvc.DeletionTimestamp != nil {
			return nil, fmt.Sprintf("persistentvolumeclaim %q is being deleted", claim)
		}
		if pvc.Spec.VolumeName == "" {
			unbound = true
			continue
		}
		pv, err := s.pvLister.Get(pvc.Spec.VolumeName)
		if err != nil {
			return nil, "pvc(s) bound to non-existent pv(s)"
		}
		if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
			sel, err := nodeaffinity.NewNodeSelector(pv.Spec.NodeAffinity.Required)
			if err != nil {
				return nil, fmt.Sprintf("persistentvolume %q has an invalid node affinity: %v", pv.Name, err)
			}
			out = append(out, sel)
		}
	}
	if unbound {
		return nil, ReasonUnboundPVC
	}
	return out, ""
}

func (s *Scheduler) namespaceLabels(ns string) labels.Set {
	n, err := s.nsLister.Get(ns)
	if err != nil {
		return nil
	}
	return n.Labels
}

// Informer handlers.

func podOf(obj any) *corev1.Pod {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, _ := obj.(*corev1.Pod)
	return p
}

func (s *Scheduler) addPod(obj any) {
	pod := podOf(obj)
	if pod == nil {
		return
	}
	if pod.Spec.NodeName != "" {
		if terminal(pod) {
			return
		}
		s.cache.setPod(pod)
		// Pods waiting for affinity to a pod like this one may fit now.
		s.queue.MoveTagged()
		return
	}
	if s.responsible(pod) {
		s.queue.Add(pod)
	}
}

func hasRequiredPodAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	return a != nil && a.PodAffinity != nil && len(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0
}

func (s *Scheduler) updatePod(oldObj, obj any) {
	old, pod := podOf(oldObj), podOf(obj)
	if old == nil || pod == nil {
		return
	}
	if pod.Spec.NodeName != "" {
		s.queue.Delete(pod)
		if terminal(pod) {
			if !terminal(old) || old.Spec.NodeName == "" {
				s.cache.removePod(queue.Key(pod))
				s.queue.MoveAllToActiveOrBackoff(nil)
			}
			return
		}
		s.cache.setPod(pod)
		return
	}
	if s.responsible(pod) {
		s.queue.Update(pod)
	} else {
		s.queue.Delete(pod)
		if pod.DeletionTimestamp != nil || terminal(pod) {
			s.cache.removePod(queue.Key(pod))
		}
	}
}

func (s *Scheduler) deletePod(obj any) {
	pod := podOf(obj)
	if pod == nil {
		return
	}
	s.queue.Delete(pod)
	s.cache.removePod(queue.Key(pod))
	if pod.Spec.NodeName != "" {
		s.queue.MoveAllToActiveOrBackoff(nil)
	}
}

func nodeOf(obj any) *corev1.Node {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	n, _ := obj.(*corev1.Node)
	return n
}

func (s *Scheduler) addNode(obj any) {
	if n := nodeOf(obj); n != nil {
		s.cache.setNode(n)
		s.queue.MoveAllToActiveOrBackoff(nil)
	}
}

func (s *Scheduler) updateNode(oldObj, obj any) {
	old, n := nodeOf(oldObj), nodeOf(obj)
	if old == nil || n == nil {
		return
	}
	s.cache.setNode(n)
	if nodeChangeMayHelp(old, n) {
		s.queue.MoveAllToActiveOrBackoff(nil)
	}
}

func (s *Scheduler) deleteNode(obj any) {
	if n := nodeOf(obj); n != nil {
		s.cache.removeNode(n.Name)
	}
}

// nodeChangeMayHelp reports whether a node update may let a pod fit that
// did not: the node became Ready or schedulable, or its labels, taints or
// allocatable changed.
func nodeChangeMayHelp(old, cur *corev1.Node) bool {
	if nodeReady(cur) && !nodeReady(old) {
		return true
	}
	if old.Spec.Unschedulable && !cur.Spec.Unschedulable {
		return true
	}
	if !equalStringMapsNode(old.Labels, cur.Labels) {
		return true
	}
	if len(old.Spec.Taints) != len(cur.Spec.Taints) {
		return true
	}
	for i := range old.Spec.Taints {
		if !old.Spec.Taints[i].MatchTaint(&cur.Spec.Taints[i]) || old.Spec.Taints[i].Value != cur.Spec.Taints[i].Value {
			return true
		}
	}
	if len(old.Status.Allocatable) != len(cur.Status.Allocatable) {
		return true
	}
	for k, v := range cur.Status.Allocatable {
		if ov, ok := old.Status.Allocatable[k]; !ok || ov.Cmp(v) != 0 {
			return true
		}
	}
	return false
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func equalStringMapsNode(a, b map[string]string) bool {
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

func (s *Scheduler) setService(obj any) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	var sel labels.Selector
	if len(svc.Spec.Selector) > 0 {
		sel = labels.SelectorFromSet(svc.Spec.Selector)
	}
	s.cache.setService(svc.Namespace, svc.Name, sel)
}

func (s *Scheduler) deleteService(obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if svc, ok := obj.(*corev1.Service); ok {
		s.cache.setService(svc.Namespace, svc.Name, nil)
	}
}

func (s *Scheduler) moveAll(any) { s.queue.MoveAllToActiveOrBackoff(nil) }
