// Package garbagecollector deletes objects whose owners are gone and carries
// out the foreground and orphan propagation policies of DELETE, the way the
// upstream garbage collector does.
//
// It watches the metadata of every resource the server lists in discovery
// that can be listed, watched and deleted, keeps a graph from dependents to
// owners (metadata.ownerReferences, by UID), and works two queues:
//
//   - attemptToDelete: an object whose owners may all be gone is looked up
//     live, its owners are looked up live, and it is deleted when none of them
//     exists any more (an owner that never existed counts as gone). The same
//     queue verifies "virtual" owners, known only from references, and
//     finishes foreground deletion: an owner with the foregroundDeletion
//     finalizer loses it once no dependent with blockOwnerDeletion is left.
//   - attemptToOrphan: an owner with the orphan finalizer has its reference
//     removed from every dependent, then loses the finalizer.
//
// The API server deletes an object with a deletionTimestamp once its last
// finalizer is removed; the collector only ever talks to the API.
package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"
	"k8s.io/utils/ptr"
)

// Config configures a GarbageCollector.
type Config struct {
	Metadata  metadata.Interface
	Discovery discovery.DiscoveryInterface
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of goroutines working the attemptToDelete
	// queue (the orphan queue gets half as many, at least one). Default 4.
	Workers int
	// ResyncPeriod is how often discovery is read again to watch new
	// resources and drop removed ones. Default 30s.
	ResyncPeriod time.Duration
	// SyncTimeout bounds the wait for the informers' first list before the
	// workers start anyway. Default 1m.
	SyncTimeout time.Duration
	// Ignored resources are never watched. Default: core and events.k8s.io
	// events, as upstream.
	Ignored []schema.GroupResource
}

// GarbageCollector is the garbage collection controller.
type GarbageCollector struct {
	cfg    Config
	log    *slog.Logger
	graph  *graph
	mapper *restmapper.DeferredDiscoveryRESTMapper
	absent *lru.Cache // owners confirmed absent, by absentKey

	// Built by Run.
	deleteQueue workqueue.TypedRateLimitingInterface[types.UID]
	orphanQueue workqueue.TypedRateLimitingInterface[types.UID]

	mu       sync.Mutex
	monitors map[schema.GroupVersionResource]*monitor
}

// New checks cfg and fills defaults. It starts nothing.
func New(cfg Config) (*GarbageCollector, error) {
	if cfg.Metadata == nil || cfg.Discovery == nil {
		return nil, errors.New("garbage collector: a metadata client and a discovery client are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.ResyncPeriod <= 0 {
		cfg.ResyncPeriod = 30 * time.Second
	}
	if cfg.SyncTimeout <= 0 {
		cfg.SyncTimeout = time.Minute
	}
	if cfg.Ignored == nil {
		cfg.Ignored = []schema.GroupResource{{Resource: "events"}, {Group: "events.k8s.io", Resource: "events"}}
	}
	return &GarbageCollector{
		cfg:      cfg,
		log:      cfg.Logger.With("controller", "garbagecollector"),
		graph:    newGraph(),
		mapper:   restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cfg.Discovery)),
		absent:   lru.New(10000),
		monitors: map[schema.GroupVersionResource]*monitor{},
	}, nil
}

// errNotObserved: the object exists but its informer has not reported it yet.
var errNotObserved = errors.New("object exists but has not been observed yet")

// errNamespacedOwnerOfClusterObject: a reference retrying cannot fix.
var errNamespacedOwnerOfClusterObject = errors.New("a cluster-scoped object cannot have a namespaced owner")

// Run watches and collects until ctx ends.
func (gc *GarbageCollector) Run(ctx context.Context) error {
	newQueue := func() workqueue.TypedRateLimitingInterface[types.UID] {
		return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Clock: gc.cfg.Clock})
	}
	gc.deleteQueue, gc.orphanQueue = newQueue(), newQueue()
	var workers sync.WaitGroup
	defer func() {
		gc.deleteQueue.ShutDown()
		gc.orphanQueue.ShutDown()
		workers.Wait()
		gc.stopMonitors()
	}()

	// Watch what discovery lists; retry until it answers at least in part.
	for gc.resync(ctx) != nil && !gc.hasMonitors() {
		select {
		case <-ctx.Done():
			return nil
		case <-gc.cfg.Clock.After(time.Second):
		}
	}
	if !gc.waitForSync(ctx) && ctx.Err() == nil {
		gc.log.Warn("starting before every informer has synced", "timeout", gc.cfg.SyncTimeout)
	}
	if ctx.Err() != nil {
		return nil
	}
	gc.log.Info("garbage collector started", "resources", gc.monitorCount(), "objects", gc.graph.len())

	orphanWorkers := max(1, gc.cfg.Workers/2)
	for i := 0; i < gc.cfg.Workers+orphanWorkers; i++ {
		q, work := gc.deleteQueue, gc.attemptToDelete
		if i >= gc.cfg.Workers {
			q, work = gc.orphanQueue, gc.attemptToOrphan
		}
		workers.Add(1)
		go func() {
			defer workers.Done()
			for gc.processNext(ctx, q, work) {
			}
		}()
	}

	ticker := gc.cfg.Clock.NewTicker(gc.cfg.ResyncPeriod)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
			_ = gc.resync(ctx) // logged; the next tick retries
		}
	}
}

// processNext works one item; false when the queue is shut down.
func (gc *GarbageCollector) processNext(ctx context.Context, q workqueue.TypedRateLimitingInterface[types.UID], work func(context.Context, types.UID) error) bool {
	uid, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(uid)
	err := work(ctx, uid)
	switch {
	case err == nil:
		q.Forget(uid)
	case errors.Is(err, errNotObserved):
		q.AddRateLimited(uid)
	case errors.Is(err, errNamespacedOwnerOfClusterObject):
		gc.log.Warn("not collecting object", "uid", uid, "err", err)
		q.Forget(uid)
	default:
		switch {
		case ctx.Err() != nil:
		case apierrors.IsConflict(err):
			gc.log.Debug("object changed meanwhile, retrying", "uid", uid, "err", err)
		default:
			gc.log.Info("retrying", "uid", uid, "err", err)
		}
		q.AddRateLimited(uid)
	}
	return true
}

// enqueue hands the work a graph change caused to the workers.
func (gc *GarbageCollector) enqueue(a actions) {
	for _, uid := range a.attemptToDelete {
		gc.deleteQueue.Add(uid)
	}
	for _, uid := range a.attemptToOrphan {
		gc.orphanQueue.Add(uid)
	}
}

// attemptToDelete verifies one object against the API and collects it when
// all its owners are gone, or finishes its foreground deletion.
func (gc *GarbageCollector) attemptToDelete(ctx context.Context, uid types.UID) error {
	v, ok := gc.graph.view(uid)
	if !ok {
		return nil
	}
	if v.observed && v.beingDeleted && !v.deletingDependents {
		return nil // on its way out; its deletion event will move its dependents
	}
	if v.observed && !v.deletingDependents && v.owners == 0 {
		return nil // nothing could make it garbage
	}
	res, err := gc.resolve(v.ref.APIVersion, v.ref.Kind)
	if err != nil {
		return err
	}
	client := gc.client(res, v.ref.Namespace)
	latest, err := client.Get(ctx, v.ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && latest.UID != uid) {
		// Gone, or (a virtual owner) never existed: its dependents are next.
		gc.enqueue(gc.graph.remove(uid))
		return nil
	}
	if err != nil {
		return fmt.Errorf("getting %s: %w", v.ref, err)
	}
	if !v.observed {
		return errNotObserved
	}
	if latest.DeletionTimestamp != nil {
		if slices.Contains(latest.Finalizers, metav1.FinalizerDeleteDependents) {
			return gc.processDeletingDependents(ctx, res, v)
		}
		return nil
	}
	refs := latest.OwnerReferences
	if len(refs) == 0 {
		return nil
	}
	item := v.ref
	item.Namespace = latest.Namespace
	solid, dangling, waiting, err := gc.classify(ctx, item, refs)
	if err != nil {
		return err
	}
	switch {
	case len(solid) > 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return nil
		}
		// Keep the object, but drop references to owners that are gone and
		// to owners waiting for their dependents (or they would wait forever).
		drop := append(uids(dangling), uids(waiting)...)
		gc.log.Debug("removing owner references", "object", v.ref, "owners", drop)
		return gc.updateOwnerRefs(ctx, client, v.ref, func(refs []metav1.OwnerReference) []metav1.OwnerReference {
			return slices.DeleteFunc(refs, func(r metav1.OwnerReference) bool { return slices.Contains(drop, r.UID) })
		})
	case len(waiting) > 0 && len(v.dependents) > 0:
		// An owner deletes in the foreground and this object has dependents
		// of its own: delete it in the foreground too, so the wait cascades.
		for _, d := range v.dependents {
			if d.deletingDependents {
				// A dependent waits for its dependents too: stop blocking our
				// owners first, or a cycle of references would wait forever.
				err := gc.updateOwnerRefs(ctx, client, v.ref, func(refs []metav1.OwnerReference) []metav1.OwnerReference {
					for i := range refs {
						if isTrue(refs[i].BlockOwnerDeletion) {
							refs[i].BlockOwnerDeletion = ptr.To(false)
						}
					}
					return refs
				})
				if err != nil {
					return err
				}
				break
			}
		}
		return gc.delete(ctx, client, v.ref, latest, metav1.DeletePropagationForeground)
	default:
		// No owner left: collect it, honouring a propagation policy it
		// already carries.
		policy := metav1.DeletePropagationBackground
		switch {
		case slices.Contains(latest.Finalizers, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case slices.Contains(latest.Finalizers, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		return gc.delete(ctx, client, v.ref, latest, policy)
	}
}

// processDeletingDependents removes the foregroundDeletion finalizer of an
// owner once no dependent blocks it, and otherwise pushes the blockers along.
func (gc *GarbageCollector) processDeletingDependents(ctx context.Context, res resource, v nodeView) error {
	var blocking []dependentView
	for _, d := range v.dependents {
		if d.blocking {
			blocking = append(blocking, d)
		}
	}
	if len(blocking) == 0 {
		gc.log.Debug("dependents gone, removing finalizer", "object", v.ref, "finalizer", metav1.FinalizerDeleteDependents)
		return gc.removeFinalizer(ctx, gc.client(res, v.ref.Namespace), v.ref, metav1.FinalizerDeleteDependents)
	}
	for _, d := range blocking {
		if !d.deletingDependents {
			gc.deleteQueue.Add(d.ref.UID)
		}
	}
	// Each blocker's deletion (or unblocking) requeues this owner.
	return nil
}

// attemptToOrphan removes an owner from the references of all its
// dependents, then removes its orphan finalizer.
func (gc *GarbageCollector) attemptToOrphan(ctx context.Context, uid types.UID) error {
	v, ok := gc.graph.view(uid)
	if !ok {
		return nil
	}
	var errs []error
	for _, d := range v.dependents {
		res, err := gc.resolve(d.ref.APIVersion, d.ref.Kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = gc.updateOwnerRefs(ctx, gc.client(res, d.ref.Namespace), d.ref, func(refs []metav1.OwnerReference) []metav1.OwnerReference {
			return slices.DeleteFunc(refs, func(r metav1.OwnerReference) bool { return r.UID == uid })
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("orphaning %s: %w", d.ref, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	res, err := gc.resolve(v.ref.APIVersion, v.ref.Kind)
	if err != nil {
		return err
	}
	gc.log.Debug("dependents orphaned, removing finalizer", "object", v.ref, "dependents", len(v.dependents))
	return gc.removeFinalizer(ctx, gc.client(res, v.ref.Namespace), v.ref, metav1.FinalizerOrphanDependents)
}

// classify sorts an object's owner references: owners that exist (solid),
// owners that are gone (dangling), and owners deleting in the foreground
// (waiting for their dependents). Owners are looked up live: the informers
// may lag, and deleting an object because of a stale cache cannot be undone.
func (gc *GarbageCollector) classify(ctx context.Context, item objectRef, refs []metav1.OwnerReference) (solid, dangling, waiting []metav1.OwnerReference, err error) {
	for _, r := range refs {
		owner, gone, err := gc.lookupOwner(ctx, item, r)
		if err != nil {
			return nil, nil, nil, err
		}
		switch {
		case gone:
			dangling = append(dangling, r)
		case owner.DeletionTimestamp != nil && slices.Contains(owner.Finalizers, metav1.FinalizerDeleteDependents):
			waiting = append(waiting, r)
		default:
			solid = append(solid, r)
		}
	}
	return solid, dangling, waiting, nil
}

// absentKey is an owner lookup that found nothing. It holds the coordinates,
// not just the UID: a reference with a wrong name or namespace is absent
// there while the UID may well exist elsewhere.
type absentKey struct {
	uid       types.UID
	resource  schema.GroupVersionResource
	namespace string
	name      string
}

// lookupOwner fetches the owner a reference names, in item's namespace when
// the owner's kind is namespaced. gone means it does not exist with that UID.
func (gc *GarbageCollector) lookupOwner(ctx context.Context, item objectRef, r metav1.OwnerReference) (owner *metav1.PartialObjectMetadata, gone bool, err error) {
	res, err := gc.resolve(r.APIVersion, r.Kind)
	if err != nil {
		return nil, false, err
	}
	ns := ""
	if res.namespaced {
		if item.Namespace == "" {
			return nil, false, fmt.Errorf("%s names %s %s: %w", item, r.Kind, r.Name, errNamespacedOwnerOfClusterObject)
		}
		ns = item.Namespace
	}
	key := absentKey{uid: r.UID, resource: res.gvr, namespace: ns, name: r.Name}
	if _, ok := gc.absent.Get(key); ok {
		return nil, true, nil
	}
	owner, err = gc.client(res, ns).Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && owner.UID != r.UID) {
		gc.absent.Add(key, struct{}{})
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("getting owner %s %s of %s: %w", r.Kind, r.Name, item, err)
	}
	return owner, false, nil
}

// delete deletes an object with a policy, on condition that it is still the
// version that was judged garbage.
func (gc *GarbageCollector) delete(ctx context.Context, client metadata.ResourceInterface, ref objectRef, latest *metav1.PartialObjectMetadata, policy metav1.DeletionPropagation) error {
	gc.log.Debug("deleting", "object", ref, "propagationPolicy", policy)
	uid, rv := latest.UID, latest.ResourceVersion
	err := client.Delete(ctx, ref.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
	})
	if apierrors.IsNotFound(err) {
		gc.enqueue(gc.graph.remove(ref.UID))
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting %s: %w", ref, err)
	}
	return nil
}

// updateOwnerRefs rewrites an object's owner references with edit, as a
// merge patch conditioned on the resourceVersion read, retrying conflicts.
func (gc *GarbageCollector) updateOwnerRefs(ctx context.Context, client metadata.ResourceInterface, ref objectRef, edit func([]metav1.OwnerReference) []metav1.OwnerReference) error {
	return gc.patchMeta(ctx, client, ref, func(m *metav1.PartialObjectMetadata) (map[string]any, bool) {
		refs := edit(slices.Clone(m.OwnerReferences))
		if equalOwnerRefs(refs, m.OwnerReferences) {
			return nil, false
		}
		return map[string]any{"ownerReferences": refs}, true
	})
}

// removeFinalizer removes one finalizer from an object.
func (gc *GarbageCollector) removeFinalizer(ctx context.Context, client metadata.ResourceInterface, ref objectRef, finalizer string) error {
	return gc.patchMeta(ctx, client, ref, func(m *metav1.PartialObjectMetadata) (map[string]any, bool) {
		if !slices.Contains(m.Finalizers, finalizer) {
			return nil, false
		}
		fins := slices.DeleteFunc(slices.Clone(m.Finalizers), func(f string) bool { return f == finalizer })
		return map[string]any{"finalizers": fins}, true
	})
}

// patchMeta reads the object, asks change for new metadata fields and sends
// them as a JSON merge patch that names the resourceVersion read, so that a
// concurrent writer makes it fail (409) instead of being overwritten. A gone
// object, or another object under the same name, is left alone.
func (gc *GarbageCollector) patchMeta(ctx context.Context, client metadata.ResourceInterface, ref objectRef, change func(*metav1.PartialObjectMetadata) (map[string]any, bool)) error {
	const attempts = 5
	var err error
	for range attempts {
		var cur *metav1.PartialObjectMetadata
		cur, err = client.Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("getting %s: %w", ref, err)
		}
		if cur.UID != ref.UID {
			return nil
		}
		fields, ok := change(cur)
		if !ok {
			return nil
		}
		fields["resourceVersion"] = cur.ResourceVersion
		patch, merr := json.Marshal(map[string]any{"metadata": fields})
		if merr != nil {
			return merr
		}
		_, err = client.Patch(ctx, ref.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err):
			continue
		case err != nil:
			return fmt.Errorf("patching %s: %w", ref, err)
		}
		return nil
	}
	return fmt.Errorf("patching %s: %w", ref, err)
}

// resource is a resolved kind: where to find it and whether it is namespaced.
type resource struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}

// resolve maps an apiVersion and kind to the resource serving it.
func (gc *GarbageCollector) resolve(apiVersion, kind string) (resource, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return resource{}, fmt.Errorf("parsing apiVersion %q: %w", apiVersion, err)
	}
	m, err := gc.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: kind}, gv.Version)
	if err != nil {
		return resource{}, fmt.Errorf("resolving %s %s: %w", apiVersion, kind, err)
	}
	return resource{gvr: m.Resource, namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}, nil
}

func (gc *GarbageCollector) client(res resource, namespace string) metadata.ResourceInterface {
	if !res.namespaced {
		namespace = ""
	}
	return gc.cfg.Metadata.Resource(res.gvr).Namespace(namespace)
}

func uids(refs []metav1.OwnerReference) []types.UID {
	out := make([]types.UID, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.UID)
	}
	return out
}

func equalOwnerRefs(a, b []metav1.OwnerReference) bool {
	return slices.EqualFunc(a, b, func(x, y metav1.OwnerReference) bool {
		return x.UID == y.UID && x.APIVersion == y.APIVersion && x.Kind == y.Kind && x.Name == y.Name &&
			isTrue(x.Controller) == isTrue(y.Controller) && isTrue(x.BlockOwnerDeletion) == isTrue(y.BlockOwnerDeletion)
	})
}

// ignored reports whether gr is never watched.
func (gc *GarbageCollector) ignored(gr schema.GroupResource) bool {
	return slices.Contains(gc.cfg.Ignored, gr) || strings.Contains(gr.Resource, "/")
}
