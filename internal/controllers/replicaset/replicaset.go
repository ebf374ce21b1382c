// Package replicaset keeps the number of pods of every ReplicaSet at its
// spec.replicas, as upstream's ReplicaSet controller does: it claims pods by
// the selector (adopting orphans, releasing pods that stopped matching),
// creates missing pods from the template in slow-start batches, deletes the
// surplus starting with the least useful pods, and reports replicas, ready,
// available and terminating counts in the ReplicaSet's status.
package replicaset

import (
	"context"
	"errors"
	"fmt"
	"k8s.io/apimachinery/pkg/api/equality"
	"log/slog"
	"sort"
	"sync"
	"time"

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
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// Kind is the GroupVersionKind of the owner references this controller writes.
var Kind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

// DefaultBurstReplicas is upstream's burstReplicas: the most pods one sync
// creates or deletes.
const DefaultBurstReplicas = 500

// generateNameAttempts is how many generated names a pod create tries.
const generateNameAttempts = 4

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of ReplicaSets synced at once. Default 5.
	Workers int
	// BurstReplicas caps the creates or deletes of one sync. Default 500.
	BurstReplicas int
	// StatusBatchPeriod delays the sync a pod's readiness change asks for,
	// so the changes of many pods share one sync (0: sync at once, as
	// upstream). A sync of a 30,000-pod ReplicaSet walks every pod: without
	// batching, pods turning ready one after another keep one worker
	// re-syncing back to back.
	StatusBatchPeriod time.Duration
}

// Controller is the ReplicaSet controller.
type Controller struct {
	cfg          Config
	log          *slog.Logger
	rsLister     appslisters.ReplicaSetLister
	podIndexer   cache.Indexer
	synced       []cache.InformerSynced
	queue        controllerutil.Queue
	expectations *controllerutil.Expectations
	pods         controllerutil.PodControl
}

// New checks cfg, fills defaults, asks the factory for the ReplicaSet and
// pod informers (adding the pod index by controller) and registers its
// event handlers. It starts nothing.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("replicaset controller: a client and an informer factory are required")
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
		cfg.BurstReplicas = DefaultBurstReplicas
	}
	rsInf := cfg.Informers.Apps().V1().ReplicaSets()
	podInf := cfg.Informers.Core().V1().Pods()
	if err := controllerutil.AddControllerIndex(podInf.Informer()); err != nil {
		return nil, fmt.Errorf("replicaset controller: indexing pods by controller: %w", err)
	}
	c := &Controller{
		cfg:          cfg,
		log:          cfg.Logger.With("controller", "replicaset"),
		rsLister:     rsInf.Lister(),
		podIndexer:   podInf.Informer().GetIndexer(),
		queue:        controllerutil.NewQueue("replicaset", cfg.Clock),
		expectations: controllerutil.NewExpectations(cfg.Clock),
		pods:         controllerutil.PodControl{Client: cfg.Client},
	}
	rsReg, err := rsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue,
		UpdateFunc: func(old, cur any) {
			if statusOnly(old.(*appsv1.ReplicaSet), cur.(*appsv1.ReplicaSet)) {
				return // most likely our own status write: nothing to do
			}
			c.enqueue(cur)
		},
		DeleteFunc: c.enqueue,
	})
	if err != nil {
		return nil, fmt.Errorf("replicaset controller: watching replicasets: %w", err)
	}
	podReg, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	})
	if err != nil {
		return nil, fmt.Errorf("replicaset controller: watching pods: %w", err)
	}
	c.synced = []cache.InformerSynced{rsInf.Informer().HasSynced, podInf.Informer().HasSynced, rsReg.HasSynced, podReg.HasSynced}
	return c, nil
}

// Run syncs ReplicaSets until ctx ends. The informers are started by
// whoever owns the factory.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	rec, stop := controllerutil.NewRecorder(ctx, c.cfg.Client, "replicaset-controller")
	defer stop()
	c.pods.Recorder = rec
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

// resolveController returns the ReplicaSet ref points at in namespace, if
// it is one and still the same object.
func (c *Controller) resolveController(namespace string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	if ref.Kind != Kind.Kind || ref.APIVersion != appsv1.SchemeGroupVersion.String() {
		return nil
	}
	rs, err := c.rsLister.ReplicaSets(namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	return rs
}

// replicaSetsMatching returns the ReplicaSets whose selector matches an orphan pod.
func (c *Controller) replicaSetsMatching(pod *corev1.Pod) []*appsv1.ReplicaSet {
	if len(pod.Labels) == 0 {
		return nil
	}
	list, err := c.rsLister.ReplicaSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.ReplicaSet
	for _, rs := range list {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, rs)
	}
	return out
}

func rsKey(rs *appsv1.ReplicaSet) string { return rs.Namespace + "/" + rs.Name }

func (c *Controller) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already being deleted (e.g. after a relist).
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if rs := c.resolveController(pod.Namespace, ref); rs != nil {
			c.expectations.CreationObserved(rsKey(rs))
			c.queue.Add(rsKey(rs))
		}
		return
	}
	for _, rs := range c.replicaSetsMatching(pod) {
		c.queue.Add(rsKey(rs))
	}
}

func (c *Controller) updatePod(oldObj, curObj any) {
	old, cur := oldObj.(*corev1.Pod), curObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return // a resync
	}
	labelsChanged := !labels.Equals(old.Labels, cur.Labels)
	if cur.DeletionTimestamp != nil {
		// Count the deletion now rather than when the kubelet is done:
		// the ReplicaSet may make a replacement at once.
		c.deletePod(cur)
		if labelsChanged {
			c.deletePod(old)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !equalRefs(curRef, oldRef)
	if refChanged && oldRef != nil {
		if rs := c.resolveController(old.Namespace, oldRef); rs != nil {
			c.queue.Add(rsKey(rs))
		}
	}
	if curRef != nil {
		// Binding, IPs and container statuses change no count: only
		// readiness, activity, labels and ownership do. Skipping the rest
		// spares a 30,000-pod ReplicaSet a full pass per kubelet update.
		if !refChanged && !labelsChanged && !countsChanged(old, cur) {
			return
		}
		if rs := c.resolveController(cur.Namespace, curRef); rs != nil {
			if !refChanged && !labelsChanged && c.cfg.StatusBatchPeriod > 0 {
				c.queue.AddAfter(rsKey(rs), c.cfg.StatusBatchPeriod)
			} else {
				c.queue.Add(rsKey(rs))
			}
		}
		return
	}
	if labelsChanged || refChanged {
		for _, rs := range c.replicaSetsMatching(cur) {
			c.queue.Add(rsKey(rs))
		}
	}
}

// countsChanged reports whether a pod update can change its ReplicaSet's
// status or desired pods: it became (in)active, (un)ready, or ready anew.
func countsChanged(old, cur *corev1.Pod) bool {
	if controllerutil.IsPodActive(old) != controllerutil.IsPodActive(cur) {
		return true
	}
	oc := controllerutil.PodCondition(old.Status.Conditions, corev1.PodReady)
	cc := controllerutil.PodCondition(cur.Status.Conditions, corev1.PodReady)
	if (oc == nil) != (cc == nil) {
		return true
	}
	return oc != nil && (oc.Status != cc.Status || !oc.LastTransitionTime.Equal(&cc.LastTransitionTime))
}

func equalRefs(a, b *metav1.OwnerReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UID == b.UID
}

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
	if ref == nil {
		return
	}
	rs := c.resolveController(pod.Namespace, ref)
	if rs == nil {
		return
	}
	c.expectations.DeletionObserved(rsKey(rs), controllerutil.PodKey(pod))
	c.queue.Add(rsKey(rs))
}

// sync brings one ReplicaSet to its desired number of pods and writes its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, err := c.rsLister.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expectations.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		c.log.Error("invalid selector", "replicaset", key, "err", err)
		return nil // retrying won't help; an update requeues it
	}
	needsSync := c.expectations.Satisfied(key)

	owned, orphans := c.podsOf(rs)
	var candidates []*corev1.Pod
	terminating := 0
	for _, p := range owned {
		if controllerutil.IsPodActive(p) {
			candidates = append(candidates, p)
		} else if controllerutil.IsPodTerminating(p) {
			terminating++
		}
	}
	for _, p := range orphans {
		if controllerutil.IsPodActive(p) {
			candidates = append(candidates, p)
		}
	}
	claimer := &controllerutil.Claimer{
		Owner:     rs,
		OwnerKind: Kind,
		Selector:  selector,
		Patch: func(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) error {
			_, err := c.cfg.Client.CoreV1().Pods(namespace).Patch(ctx, name, pt, data, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controllerutil.RecheckOwner(rs, func(ctx context.Context) (metav1.Object, error) {
			return c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		}),
	}
	pods, err := controllerutil.Claim(ctx, claimer, candidates)
	if err != nil {
		return err
	}

	var manageErr error
	if needsSync && rs.DeletionTimestamp == nil {
		manageErr = c.manageReplicas(ctx, key, rs, pods)
	}
	now := c.cfg.Clock.Now()
	status, nextAvailable := calculateStatus(rs, pods, terminating, manageErr, now)
	if err := c.updateStatus(ctx, rs, status); err != nil {
		return err
	}
	if manageErr == nil && nextAvailable > 0 {
		c.queue.AddAfter(key, nextAvailable)
	}
	return manageErr
}

// podsOf returns the pods rs controls (active or not) and the orphans of
// its namespace, from the informer's index rather than a scan of all pods.
func (c *Controller) podsOf(rs *appsv1.ReplicaSet) (owned, orphans []*corev1.Pod) {
	return podsIndexed(c.podIndexer, string(rs.UID)), podsIndexed(c.podIndexer, controllerutil.OrphanIndexKey(rs.Namespace))
}

// manageReplicas creates or deletes pods so rs has spec.replicas active pods.
func (c *Controller) manageReplicas(ctx context.Context, key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	want := int(replicasOf(rs))
	diff := len(pods) - want
	switch {
	case diff < 0:
		n := min(-diff, c.cfg.BurstReplicas)
		c.expectations.ExpectCreations(key, n)
		c.log.Debug("creating pods", "replicaset", key, "need", want, "creating", n)
		done, err := controllerutil.SlowStartBatch(n, 1, func() error {
			pod := controllerutil.PodFromTemplate(&rs.Spec.Template, rs, Kind)
			for attempt := 1; ; attempt++ {
				_, err := c.pods.CreatePod(ctx, pod, rs)
				switch {
				case err != nil && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
					return nil // the namespace is going away; nothing to retry
				case apierrors.IsAlreadyExists(err) && attempt < generateNameAttempts:
					// The generated name was taken (5 random characters
					// collide a few times in 30,000 pods): draw another.
					continue
				}
				return err
			}
		})
		// The creates never issued or failed will not be observed.
		for range n - done {
			c.expectations.CreationObserved(key)
		}
		if err != nil {
			return fmt.Errorf("creating pods for %s: %w", key, err)
		}
	case diff > 0:
		n := min(diff, c.cfg.BurstReplicas)
		victims := podsToDelete(pods, n)
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = controllerutil.PodKey(p)
		}
		c.expectations.ExpectDeletions(key, keys)
		c.log.Debug("deleting pods", "replicaset", key, "need", want, "deleting", n)
		var mu sync.Mutex
		var errs []error
		var wg sync.WaitGroup
		for _, p := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.pods.DeletePod(ctx, p.Namespace, p.Name, rs); err != nil {
					c.expectations.DeletionObserved(key, controllerutil.PodKey(p))
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			return errs[0]
		}
	}
	return nil
}

func replicasOf(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// calculateStatus computes rs's status from its claimed active pods. It
// also returns how long until the next ready pod becomes available (0 if none).
func calculateStatus(rs *appsv1.ReplicaSet, pods []*corev1.Pod, terminating int, manageErr error, now time.Time) (appsv1.ReplicaSetStatus, time.Duration) {
	st := *rs.Status.DeepCopy()
	templateLabels := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	var fully, ready, available int32
	var next time.Duration
	minReady := time.Duration(rs.Spec.MinReadySeconds) * time.Second
	for _, p := range pods {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			fully++
		}
		if !controllerutil.IsPodReady(p) {
			continue
		}
		ready++
		if controllerutil.IsPodAvailable(p, rs.Spec.MinReadySeconds, now) {
			available++
			continue
		}
		if c := controllerutil.PodCondition(p.Status.Conditions, corev1.PodReady); c != nil {
			if left := c.LastTransitionTime.Add(minReady).Sub(now); left > 0 && (next == 0 || left < next) {
				next = left
			}
		}
	}
	st.Replicas = int32(len(pods))
	st.FullyLabeledReplicas = fully
	st.ReadyReplicas = ready
	st.AvailableReplicas = available
	st.TerminatingReplicas = ptrTo(int32(terminating))
	st.ObservedGeneration = rs.Generation

	failure := replicaSetCondition(st.Conditions, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && failure == nil:
		reason := "FailedCreate"
		if len(pods) > int(replicasOf(rs)) {
			reason = "FailedDelete"
		}
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{
			Type:               appsv1.ReplicaSetReplicaFailure,
			Status:             corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now),
			Reason:             reason,
			Message:            manageErr.Error(),
		})
	case manageErr == nil && failure != nil:
		var kept []appsv1.ReplicaSetCondition
		for _, c := range st.Conditions {
			if c.Type != appsv1.ReplicaSetReplicaFailure {
				kept = append(kept, c)
			}
		}
		st.Conditions = kept
	}
	return st, next
}

func ptrTo[T any](v T) *T { return &v }

func replicaSetCondition(conds []appsv1.ReplicaSetCondition, t appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func statusEqual(a, b *appsv1.ReplicaSetStatus) bool {
	if a.Replicas != b.Replicas || a.FullyLabeledReplicas != b.FullyLabeledReplicas || a.ReadyReplicas != b.ReadyReplicas ||
		a.AvailableReplicas != b.AvailableReplicas || a.ObservedGeneration != b.ObservedGeneration ||
		len(a.Conditions) != len(b.Conditions) {
		return false
	}
	if (a.TerminatingReplicas == nil) != (b.TerminatingReplicas == nil) ||
		(a.TerminatingReplicas != nil && *a.TerminatingReplicas != *b.TerminatingReplicas) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message {
			return false
		}
	}
	return true
}

// updateStatus writes status when it differs from what rs has.
func (c *Controller) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, status appsv1.ReplicaSetStatus) error {
	if statusEqual(&rs.Status, &status) {
		return nil
	}
	cp := rs.DeepCopy()
	cp.Status = status
	client := c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace)
	_, err := client.UpdateStatus(ctx, cp, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// The cache lags our previous write (whose echo does not requeue
		// the ReplicaSet): write onto the latest version once more.
		var latest *appsv1.ReplicaSet
		if latest, err = client.Get(ctx, rs.Name, metav1.GetOptions{}); err == nil {
			if latest.UID != rs.UID || latest.Generation != rs.Generation {
				return nil // replaced or changed: its own update event requeues it
			}
			latest.Status = status
			_, err = client.UpdateStatus(ctx, latest, metav1.UpdateOptions{})
		}
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("updating status of replicaset %s: %w", rsKey(rs), err)
	}
	return nil
}

// podsToDelete picks the n pods of pods least worth keeping.
func podsToDelete(pods []*corev1.Pod, n int) []*corev1.Pod {
	if n >= len(pods) {
		return pods
	}
	// Pods doubled up on a node go before pods alone on theirs.
	perNode := map[string]int{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			perNode[p.Spec.NodeName]++
		}
	}
	ranked := make([]rankedPod, len(pods))
	for i, p := range pods {
		ranked[i] = rankedPod{pod: p, colocated: perNode[p.Spec.NodeName]}
	}
	sort.SliceStable(ranked, func(i, j int) bool { return deleteFirst(ranked[i], ranked[j]) })
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = ranked[i].pod
	}
	return out
}

type rankedPod struct {
	pod       *corev1.Pod
	colocated int
}

// deleteFirst reports whether a should be deleted before b: unassigned
// before assigned, pending before unknown before running, not ready before
// ready, lower pod-deletion-cost first, pods sharing a node with more of
// their siblings first, ready for a shorter time first, more container
// restarts first, newer first.
func deleteFirst(a, b rankedPod) bool {
	pa, pb := a.pod, b.pod
	if (pa.Spec.NodeName == "") != (pb.Spec.NodeName == "") {
		return pa.Spec.NodeName == ""
	}
	if ra, rb := phaseRank(pa.Status.Phase), phaseRank(pb.Status.Phase); ra != rb {
		return ra < rb
	}
	readyA, readyB := controllerutil.IsPodReady(pa), controllerutil.IsPodReady(pb)
	if readyA != readyB {
		return !readyA
	}
	if ca, cb := deletionCost(pa), deletionCost(pb); ca != cb {
		return ca < cb
	}
	if a.colocated != b.colocated {
		return a.colocated > b.colocated
	}
	if readyA && readyB {
		ta, tb := readySince(pa), readySince(pb)
		if !ta.Equal(tb) {
			return ta.After(tb) // ready more recently: shorter time
		}
	}
	if ra, rb := restarts(pa), restarts(pb); ra != rb {
		return ra > rb
	}
	if !pa.CreationTimestamp.Equal(&pb.CreationTimestamp) {
		return pb.CreationTimestamp.Before(&pa.CreationTimestamp)
	}
	return pa.Name < pb.Name
}

func phaseRank(p corev1.PodPhase) int {
	switch p {
	case corev1.PodPending:
		return 0
	case corev1.PodUnknown:
		return 1
	case corev1.PodRunning:
		return 2
	}
	return 0 // no phase yet counts as pending
}

// PodDeletionCostAnnotation lets users order scale-down (upstream's key).
const PodDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

func deletionCost(p *corev1.Pod) int64 {
	v, ok := p.Annotations[PodDeletionCostAnnotation]
	if !ok {
		return 0
	}
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil || n < -(1<<31) || n > 1<<31-1 {
		return 0
	}
	return n
}

func readySince(p *corev1.Pod) time.Time {
	if c := controllerutil.PodCondition(p.Status.Conditions, corev1.PodReady); c != nil {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}

// statusOnly reports whether a ReplicaSet update changed nothing a sync
// acts on: same spec (generation), labels, owners and deletion state.
// Without this check every status write of the controller would trigger
// another full sync.
func statusOnly(old, cur *appsv1.ReplicaSet) bool {
	return old.Generation == cur.Generation &&
		labels.Equals(old.Labels, cur.Labels) &&
		equality.Semantic.DeepEqual(old.OwnerReferences, cur.OwnerReferences) &&
		(old.DeletionTimestamp == nil) == (cur.DeletionTimestamp == nil)
}
