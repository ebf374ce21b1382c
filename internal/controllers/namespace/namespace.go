// Package namespace finishes the deletion of namespaces: once a namespace
// has a deletionTimestamp, it deletes everything inside it, reports progress
// in the namespace's status conditions as upstream does, and when nothing is
// left removes the "kubernetes" finalizer through the finalize subresource,
// after which the API server deletes the namespace.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// Config configures a Controller.
type Config struct {
	Client     kubernetes.Interface
	Metadata   metadata.Interface
	Namespaces coreinformers.NamespaceInformer
	Logger     *slog.Logger
	Clock      clock.WithTicker
	// Workers is the number of namespaces deleted at once. Default 2.
	Workers int
	// RecheckInterval is the longest wait before looking again at a
	// namespace whose content is not gone yet (the first look comes after
	// 200ms and the wait doubles up to this; graceful pod deletions may
	// push it further). Default 5s.
	RecheckInterval time.Duration
}

// Controller is the namespace controller.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	lister corelisters.NamespaceLister
	synced cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]

	mu       sync.Mutex
	rechecks map[string]int // namespace → consecutive passes that left content
}

// New checks cfg and fills defaults. It asks the informer factory for the
// namespace informer and starts nothing.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Metadata == nil || cfg.Namespaces == nil {
		return nil, errors.New("namespace controller: a client, a metadata client and a namespace informer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = 5 * time.Second
	}
	return &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("controller", "namespace"),
		lister:   cfg.Namespaces.Lister(),
		synced:   cfg.Namespaces.Informer().HasSynced,
		rechecks: map[string]int{},
	}, nil
}

// Run deletes namespaces until ctx ends. The informer must be started by
// whoever owns its factory.
func (c *Controller) Run(ctx context.Context) error {
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Clock: c.cfg.Clock})
	defer c.queue.ShutDown()
	reg, err := c.cfg.Namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
				c.queue.Add(ns.Name)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			// Our own condition updates need no new pass: content that
			// remains is looked at again after RecheckInterval.
			old, ok1 := oldObj.(*corev1.Namespace)
			ns, ok2 := obj.(*corev1.Namespace)
			if ok1 && ok2 && ns.DeletionTimestamp != nil && (old.DeletionTimestamp == nil ||
				!slices.Equal(old.Finalizers, ns.Finalizers) || !slices.Equal(old.Spec.Finalizers, ns.Spec.Finalizers)) {
				c.queue.Add(ns.Name)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watching namespaces: %w", err)
	}
	defer func() { _ = c.cfg.Namespaces.Informer().RemoveEventHandler(reg) }()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced, reg.HasSynced) {
		return nil // ctx ended
	}
	done := make(chan struct{})
	for range c.cfg.Workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for c.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	for range c.cfg.Workers {
		<-done
	}
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	again, estimate, err := c.sync(ctx, name)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			c.log.Info("retrying namespace deletion", "namespace", name, "err", err)
		}
		c.queue.AddRateLimited(name)
	case again:
		c.queue.Forget(name)
		c.queue.AddAfter(name, c.recheckDelay(name, estimate))
	default:
		c.queue.Forget(name)
		c.mu.Lock()
		delete(c.rechecks, name)
		c.mu.Unlock()
	}
	return true
}

// sync moves the deletion of one namespace forward. again says content
// remains; estimate is how long graceful pod deletions still take.
func (c *Controller) sync(ctx context.Context, name string) (again bool, estimate time.Duration, err error) {
	cached, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	if !pending(cached) {
		return false, 0, nil
	}
	// Act on what the server holds now, not on a possibly stale cache.
	ns, err := c.cfg.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("getting namespace %s: %w", name, err)
	}
	if !pending(ns) {
		return false, 0, nil
	}

	resources, discoveryErr, parseErr := c.deletableResources(ctx)
	content := c.deleteContent(ctx, name, resources)
	conds := conditions(discoveryErr, parseErr, content)
	ns, err = c.setConditions(ctx, ns, conds)
	if apierrors.IsNotFound(err) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	if err := errors.Join(discoveryErr, parseErr, errors.Join(content.failures...)); err != nil {
		return false, 0, err
	}
	if len(content.remaining) > 0 {
		c.log.Debug("namespace content remains", "namespace", name, "resources", content.remaining, "finalizers", content.finalizers)
		return true, content.estimate, nil
	}

	ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
	if _, err := c.cfg.Client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return false, 0, fmt.Errorf("finalizing namespace %s: %w", name, err)
	}
	c.log.Info("namespace content deleted, namespace finalized", "namespace", name)
	return false, 0, nil
}

// recheckDelay is the wait before the next pass over a namespace whose
// content remains: short at first, since most content goes within moments,
// doubling up to RecheckInterval, and at least half the time graceful pod
// deletions still take.
func (c *Controller) recheckDelay(name string, estimate time.Duration) time.Duration {
	c.mu.Lock()
	n := c.rechecks[name]
	c.rechecks[name] = n + 1
	c.mu.Unlock()
	d := c.cfg.RecheckInterval
	if n < 8 {
		d = min(d, 200*time.Millisecond<<n)
	}
	return max(d, estimate/2)
}

// pending: the namespace is being deleted and still waits for us.
func pending(ns *corev1.Namespace) bool {
	return ns.DeletionTimestamp != nil && slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}

// apiResource is a namespaced resource that can be listed and deleted.
type apiResource struct {
	gvr              schema.GroupVersionResource
	deleteCollection bool
}

// deletableResources lists the preferred version of every namespaced
// resource with list and delete verbs. A discovery failure for some groups
// returns the others along with the error; a group version that does not
// parse is reported apart, as upstream's conditions do.
func (c *Controller) deletableResources(ctx context.Context) (out []apiResource, discoveryErr, parseErr error) {
	lists, err := discovery.ServerPreferredNamespacedResourcesWithContext(ctx, discovery.ToDiscoveryInterfaceWithContext(c.cfg.Client.Discovery()))
	if err != nil {
		discoveryErr = fmt.Errorf("discovering namespaced resources: %w", err)
	}
	for _, l := range discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"list", "delete"}}, lists) {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			parseErr = errors.Join(parseErr, fmt.Errorf("parsing group version %q: %w", l.GroupVersion, err))
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			out = append(out, apiResource{gvr: gv.WithResource(r.Name), deleteCollection: slices.Contains(r.Verbs, "deletecollection")})
		}
	}
	return out, discoveryErr, parseErr
}

// content is what deleting a namespace's content left behind.
type content struct {
	remaining  map[string]int // "resource.group" → instances left
	finalizers map[string]int // finalizer → instances that carry it
	failures   []error        // resources whose deletion failed
	estimate   time.Duration  // how long until graceful pod deletions end
}

// deleteContent deletes every instance of every resource in the namespace
// (deletecollection where supported, else one by one) and counts what is
// left. Deletions propagate in the background, so that the garbage
// collector never holds content with orphan finalizers.
func (c *Controller) deleteContent(ctx context.Context, ns string, resources []apiResource) content {
	out := content{remaining: map[string]int{}, finalizers: map[string]int{}}
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	now := c.cfg.Clock.Now()
	for _, r := range resources {
		client := c.cfg.Metadata.Resource(r.gvr).Namespace(ns)
		if err := c.deleteAll(ctx, client, r, opts); err != nil {
			out.failures = append(out.failures, fmt.Errorf("deleting %s in %s: %w", r.gvr.GroupResource(), ns, err))
			continue
		}
		left, err := client.List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			continue
		}
		if err != nil {
			out.failures = append(out.failures, fmt.Errorf("listing %s in %s: %w", r.gvr.GroupResource(), ns, err))
			continue
		}
		if len(left.Items) == 0 {
			continue
		}
		out.remaining[r.gvr.Resource+"."+r.gvr.Group] = len(left.Items)
		for _, item := range left.Items {
			for _, f := range item.Finalizers {
				out.finalizers[f]++
			}
			if dt := item.DeletionTimestamp; dt != nil && r.gvr.GroupResource() == (schema.GroupResource{Resource: "pods"}) {
				out.estimate = max(out.estimate, dt.Sub(now))
			}
		}
	}
	return out
}

// deleteAll deletes every instance of one resource in a namespace.
func (c *Controller) deleteAll(ctx context.Context, client metadata.ResourceInterface, r apiResource, opts metav1.DeleteOptions) error {
	if r.deleteCollection {
		err := client.DeleteCollection(ctx, opts, metav1.ListOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsMethodNotSupported(err) {
			return err
		}
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, item := range list.Items {
		if item.DeletionTimestamp != nil {
			continue // already on its way
		}
		o := opts
		o.Preconditions = &metav1.Preconditions{UID: &item.UID}
		if err := client.Delete(ctx, item.Name, o); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Condition reasons, as upstream sets them.
const (
	reasonDiscoveryFailed      = "DiscoveryFailed"
	reasonResourcesDiscovered  = "ResourcesDiscovered"
	reasonParsingFailed        = "GroupVersionParsingFailed"
	reasonParsedGroupVersions  = "ParsedGroupVersions"
	reasonContentDeletionFails = "ContentDeletionFailed"
	reasonContentDeleted       = "ContentDeleted"
	reasonSomeResourcesRemain  = "SomeResourcesRemain"
	reasonContentRemoved       = "ContentRemoved"
	reasonSomeFinalizersRemain = "SomeFinalizersRemain"
	reasonNoFinalizers         = "ContentHasNoFinalizers"
)

// conditions are the five deletion conditions upstream keeps on a
// terminating namespace, each True with a reason when something is wrong.
func conditions(discoveryErr, parseErr error, c content) []corev1.NamespaceCondition {
	cond := func(t corev1.NamespaceConditionType, bad bool, badReason, badMsg, okReason, okMsg string) corev1.NamespaceCondition {
		if bad {
			return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: badReason, Message: badMsg}
		}
		return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: okReason, Message: okMsg}
	}
	var failures []string
	for _, f := range c.failures {
		failures = append(failures, f.Error())
	}
	sort.Strings(failures)
	var remaining []string
	for r, n := range c.remaining {
		remaining = append(remaining, fmt.Sprintf("%s has %d resource instances", r, n))
	}
	sort.Strings(remaining)
	var fins []string
	for f, n := range c.finalizers {
		fins = append(fins, fmt.Sprintf("%s in %d resource instances", f, n))
	}
	sort.Strings(fins)
	return []corev1.NamespaceCondition{
		cond(corev1.NamespaceDeletionDiscoveryFailure, discoveryErr != nil,
			reasonDiscoveryFailed, fmt.Sprint(discoveryErr),
			reasonResourcesDiscovered, "All resources successfully discovered"),
		cond(corev1.NamespaceDeletionGVParsingFailure, parseErr != nil,
			reasonParsingFailed, fmt.Sprint(parseErr),
			reasonParsedGroupVersions, "All legacy kube types successfully parsed"),
		cond(corev1.NamespaceDeletionContentFailure, len(failures) > 0,
			reasonContentDeletionFails, fmt.Sprintf("Failed to delete all resource types, %d remaining: %s", len(failures), strings.Join(failures, ", ")),
			reasonContentDeleted, "All content successfully deleted, may be waiting on finalization"),
		cond(corev1.NamespaceContentRemaining, len(remaining) > 0,
			reasonSomeResourcesRemain, "Some resources are remaining: "+strings.Join(remaining, ", "),
			reasonContentRemoved, "All content successfully removed"),
		cond(corev1.NamespaceFinalizersRemaining, len(fins) > 0,
			reasonSomeFinalizersRemain, "Some content in the namespace has finalizers remaining: "+strings.Join(fins, ", "),
			reasonNoFinalizers, "All content-preserving finalizers finished"),
	}
}

// setConditions writes conds into the namespace status when they differ
// from what it holds, keeping the transition time of unchanged statuses.
func (c *Controller) setConditions(ctx context.Context, ns *corev1.Namespace, conds []corev1.NamespaceCondition) (*corev1.Namespace, error) {
	updated := ns.DeepCopy()
	changed := false
	now := metav1.NewTime(c.cfg.Clock.Now())
	for _, want := range conds {
		i := slices.IndexFunc(updated.Status.Conditions, func(have corev1.NamespaceCondition) bool { return have.Type == want.Type })
		if i < 0 {
			want.LastTransitionTime = now
			updated.Status.Conditions = append(updated.Status.Conditions, want)
			changed = true
			continue
		}
		have := &updated.Status.Conditions[i]
		if have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message {
			continue
		}
		want.LastTransitionTime = have.LastTransitionTime
		if have.Status != want.Status {
			want.LastTransitionTime = now
		}
		*have = want
		changed = true
	}
	if !changed {
		return ns, nil
	}
	out, err := c.cfg.Client.CoreV1().Namespaces().UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating status of namespace %s: %w", ns.Name, err)
	}
	return out, nil
}
