package daemonset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/controllers/history"
)

// sync brings one DaemonSet to its desired state.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	ds, err := c.dsLister.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expectations.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil // validation refuses these; nothing to do
	}
	if sel.Empty() {
		c.recorder.Eventf(ds, corev1.EventTypeWarning, selectingAllReason, "This daemon set is selecting all pods. A non-empty selector is required.")
		return nil
	}
	if ds.DeletionTimestamp != nil {
		return nil // the garbage collector removes its pods
	}
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return compareStrings(a.Name, b.Name) })

	cur, old, err := c.constructHistory(ctx, ds, sel)
	if err != nil {
		return err
	}
	hash := cur.Labels[history.HashLabel]

	if !c.expectations.Satisfied(key) {
		// Creates or deletes are in flight: only report what the cache shows.
		byNode, err := c.podsByNode(ctx, ds, sel)
		if err != nil {
			return err
		}
		return c.updateStatus(ctx, ds, nodes, byNode, hash, false)
	}

	byNode, err := c.podsByNode(ctx, ds, sel)
	if err != nil {
		return err
	}
	if err := c.manage(ctx, ds, nodes, byNode, hash); err != nil {
		return err
	}
	if c.expectations.Satisfied(key) && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if err := c.rollingUpdate(ctx, ds, nodes, byNode, hash); err != nil {
			return err
		}
	}
	if err := c.cleanupHistory(ctx, ds, old, byNode); err != nil {
		return err
	}
	return c.updateStatus(ctx, ds, nodes, byNode, hash, true)
}

// podsByNode returns the pods ds owns (after adopting and releasing by
// selector), grouped by the node they are for. Finished pods that are
// already being deleted are left out: they no longer occupy their node.
func (c *Controller) podsByNode(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) (map[string][]*corev1.Pod, error) {
	candidates, err := controllerutil.ControlledOrOrphans[*corev1.Pod](c.pods, ds.UID, ds.Namespace)
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	claimer := &controllerutil.Claimer{
		Owner:     ds,
		OwnerKind: controllerKind,
		Selector:  sel,
		Patch: func(ctx context.Context, ns, name string, pt types.PatchType, data []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, pt, data, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controllerutil.RecheckOwner(ds, func(ctx context.Context) (metav1.Object, error) {
			return c.getFresh(ctx, ds.Namespace, ds.Name)
		}),
	}
	pods, err := controllerutil.Claim(ctx, claimer, candidates)
	if err != nil {
		return nil, err
	}
	byNode := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
			continue
		}
		node, err := targetNode(p)
		if err != nil {
			c.log.Debug("daemon pod without a node", "pod", controllerutil.PodKey(p), "err", err)
			continue
		}
		byNode[node] = append(byNode[node], p)
	}
	return byNode, nil
}

// constructHistory returns the revision of the current template (created
// if needed, and numbered newest) and the older revisions.
func (c *Controller) constructHistory(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, error) {
	revs, err := c.history.List(ctx, ds, controllerKind, sel, func(ctx context.Context) (metav1.Object, error) {
		return c.getFresh(ctx, ds.Namespace, ds.Name)
	})
	if err != nil {
		return nil, nil, err
	}
	data, err := history.TemplatePatch(ds.Spec.Template)
	if err != nil {
		return nil, nil, err
	}
	want := history.New(ds, controllerKind, ds.Spec.Template.Labels, data, history.Next(revs), ds.Status.CollisionCount)
	history.Sort(revs)
	var cur *appsv1.ControllerRevision
	var old []*appsv1.ControllerRevision
	var maxOld int64
	for _, r := range revs {
		if history.Equal(r, want) {
			if cur != nil { // duplicates: keep the newest
				old = append(old, cur)
			}
			cur = r
			continue
		}
		old = append(old, r)
	}
	// Revisions equal to cur beyond the one kept are deleted now.
	var kept []*appsv1.ControllerRevision
	for _, r := range old {
		if cur != nil && history.Equal(r, cur) {
			if err := c.history.Delete(ctx, r); err != nil {
				return nil, nil, err
			}
			continue
		}
		kept = append(kept, r)
		maxOld = max(maxOld, r.Revision)
	}
	old = kept
	if cur == nil {
		count := int32(0)
		if ds.Status.CollisionCount != nil {
			count = *ds.Status.CollisionCount
		}
		before := count
		cur, err = c.history.Create(ctx, ds, want, &count)
		if count != before {
			if serr := c.storeCollisionCount(ctx, ds, count); serr != nil {
				return nil, nil, serr
			}
		}
		if err != nil {
			return nil, nil, err
		}
		return cur, old, nil
	}
	if cur.Revision <= maxOld {
		cur, err = c.history.UpdateRevision(ctx, cur, maxOld+1)
		if err != nil {
			return nil, nil, err
		}
	}
	if cur.Labels[history.HashLabel] == "" {
		cur = cur.DeepCopy()
		cur.Labels[history.HashLabel] = history.Hash(cur, nil)
	}
	return cur, old, nil
}

func (c *Controller) storeCollisionCount(ctx context.Context, ds *appsv1.DaemonSet, count int32) error {
	fresh, err := c.getFresh(ctx, ds.Namespace, ds.Name)
	if err != nil {
		return err
	}
	fresh.Status.CollisionCount = &count
	if _, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("storing collision count of %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	return nil
}

// cleanupHistory deletes the oldest revisions beyond revisionHistoryLimit
// that no pod was created from.
func (c *Controller) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision, byNode map[string][]*corev1.Pod) error {
	limit := 10
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	excess := len(old) - limit
	if excess <= 0 {
		return nil
	}
	live := map[string]bool{}
	for _, pods := range byNode {
		for _, p := range pods {
			if h := p.Labels[history.HashLabel]; h != "" {
				live[h] = true
			}
		}
	}
	old = slices.Clone(old)
	history.Sort(old)
	for _, r := range old {
		if excess <= 0 {
			break
		}
		if live[r.Labels[history.HashLabel]] {
			continue
		}
		if err := c.history.Delete(ctx, r); err != nil {
			return err
		}
		excess--
	}
	return nil
}

// manage creates the missing daemon pods and deletes those that must go.
func (c *Controller) manage(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string) error {
	var create, del []string
	existing := make(map[string]bool, len(nodes))
	for _, node := range nodes {
		existing[node.Name] = true
		toCreate, toDelete := c.podsForNode(node, byNode[node.Name], ds, hash)
		if toCreate {
			create = append(create, node.Name)
		}
		del = append(del, toDelete...)
	}
	// Pods for nodes that are gone and never bound: nobody else removes them.
	for nodeName, pods := range byNode {
		if existing[nodeName] {
			continue
		}
		for _, p := range pods {
			if p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
				del = append(del, p.Name)
			}
		}
	}
	return c.syncNodes(ctx, ds, del, create, hash)
}

// podsForNode decides for one node whether a pod must be created and which
// of its pods must be deleted.
func (c *Controller) podsForNode(node *corev1.Node, pods []*corev1.Pod, ds *appsv1.DaemonSet, hash string) (create bool, del []string) {
	run, keep := shouldRun(node, ds)
	switch {
	case run && len(pods) == 0:
		return true, nil
	case keep:
		var alive []*corev1.Pod
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			switch p.Status.Phase {
			case corev1.PodFailed:
				// Kubelets may keep rejecting the pod: do not replace it in a hot loop.
				bk := ds.Namespace + "/" + ds.Name + "/" + node.Name
				now := c.backoff.Clock.Now()
				if c.backoff.IsInBackOffSinceUpdate(bk, now) {
					c.enqueueAfter(ds, c.backoff.Get(bk))
					continue
				}
				c.backoff.Next(bk, now)
				c.recorder.Eventf(ds, corev1.EventTypeWarning, failedPodReason, "Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, node.Name)
				del = append(del, p.Name)
			case corev1.PodSucceeded:
				del = append(del, p.Name)
			default:
				alive = append(alive, p)
			}
		}
		if len(alive) <= 1 {
			return false, del
		}
		slices.SortFunc(alive, olderFirst)
		if maxSurge(ds) == 0 {
			// One pod per node: keep the oldest.
			for _, p := range alive[1:] {
				del = append(del, p.Name)
			}
			return false, del
		}
		// With surge a node briefly holds an old and a new pod: keep the
		// oldest of each, and drop the old one once the new one is available.
		var oldestNew, oldestOld *corev1.Pod
		for _, p := range alive {
			if p.Labels[history.HashLabel] == hash {
				if oldestNew == nil {
					oldestNew = p
					continue
				}
			} else if oldestOld == nil {
				oldestOld = p
				continue
			}
			del = append(del, p.Name)
		}
		if oldestNew != nil && oldestOld != nil &&
			(!controllerutil.IsPodReady(oldestOld) || controllerutil.IsPodAvailable(oldestNew, ds.Spec.MinReadySeconds, c.cfg.Clock.Now())) {
			del = append(del, oldestOld.Name)
		}
		return false, del
	case !keep:
		for _, p := range pods {
			if p.DeletionTimestamp == nil {
				del = append(del, p.Name)
			}
		}
	}
	return false, del
}

// maxSurge returns the DaemonSet's maxSurge setting as given (0 when not
// a rolling update), enough to tell whether surge is on.
func maxSurge(ds *appsv1.DaemonSet) int {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxSurge == nil {
		return 0
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, 100, true)
	if err != nil {
		return 0
	}
	return n
}

// syncNodes deletes the named pods and creates one pod per node in create,
// at most BurstReplicas of each, under expectations.
func (c *Controller) syncNodes(ctx context.Context, ds *appsv1.DaemonSet, del, create []string, hash string) error {
	key := ds.Namespace + "/" + ds.Name
	if len(create) > c.cfg.BurstReplicas {
		create = create[:c.cfg.BurstReplicas]
	}
	del = slices.Compact(slices.Sorted(slices.Values(del)))
	if len(del) > c.cfg.BurstReplicas {
		del = del[:c.cfg.BurstReplicas]
	}
	if len(create) == 0 && len(del) == 0 {
		return nil
	}
	delKeys := make([]string, len(del))
	for i, n := range del {
		delKeys[i] = ds.Namespace + "/" + n
	}
	c.expectations.Expect(key, len(create), delKeys)

	var errMu sync.Mutex
	var errs []error
	addErr := func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
	}

	var wg sync.WaitGroup
	for _, name := range del {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.podControl.DeletePod(ctx, ds.Namespace, name, ds); err != nil {
				c.expectations.DeletionObserved(key, ds.Namespace+"/"+name)
				addErr(err)
			}
		}()
	}

	template := podTemplate(ds, hash)
	var next atomic.Int64
	_, err := controllerutil.SlowStartBatch(len(create), 1, func() error {
		node := create[next.Add(1)-1]
		pod := controllerutil.PodFromTemplate(template, ds, controllerKind)
		pod.Spec.Affinity = pinToNode(pod.Spec.Affinity, node)
		_, err := c.podControl.CreatePod(ctx, pod, ds)
		if err != nil {
			if apierrors.IsTimeout(err) {
				return nil // it may still appear; expectations time out otherwise
			}
			c.expectations.CreationObserved(key)
			return err
		}
		return nil
	})
	if err != nil {
		addErr(err)
		// Creates never attempted will not be observed either.
		for range len(create) - int(next.Load()) {
			c.expectations.CreationObserved(key)
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// rollingUpdate replaces pods not created from the current template,
// within maxUnavailable (or maxSurge extra pods).
func (c *Controller) rollingUpdate(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string) error {
	pods := make(map[string][]*corev1.Pod, len(byNode))
	for n, p := range byNode {
		pods[n] = p
	}
	surge, unavailable, err := desiredCounts(ds, nodes, pods)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(pods))
	for n := range pods {
		names = append(names, n)
	}
	sort.Strings(names)
	now := c.cfg.Clock.Now()
	gen := templateGeneration(ds)
	minReady := ds.Spec.MinReadySeconds

	if surge == 0 {
		var numUnavailable int
		var replace, candidates []string
		for _, n := range names {
			newPod, oldPod, ok := splitPods(pods[n], hash, gen)
			if !ok {
				numUnavailable++ // manage cleans up the extra pods first
				continue
			}
			switch {
			case (oldPod == nil) == (newPod == nil):
				numUnavailable++ // a pod is to be created or an old one removed by manage
			case newPod != nil:
				if !controllerutil.IsPodAvailable(newPod, minReady, now) {
					numUnavailable++
				}
			case !controllerutil.IsPodAvailable(oldPod, minReady, now):
				replace = append(replace, oldPod.Name) // not serving anyway
			case numUnavailable >= unavailable:
			default:
				candidates = append(candidates, oldPod.Name)
			}
		}
		room := max(0, unavailable-numUnavailable)
		room = min(room, len(candidates))
		return c.syncNodes(ctx, ds, append(replace, candidates[:room]...), nil, hash)
	}

	var numSurge int
	var del, allowed, candidates []string
	for _, n := range names {
		newPod, oldPod, ok := splitPods(pods[n], hash, gen)
		if !ok {
			numSurge++
			continue
		}
		switch {
		case oldPod == nil:
			// manage creates the pod if needed
		case newPod == nil:
			switch {
			case !controllerutil.IsPodAvailable(oldPod, minReady, now):
				node, err := c.nodeLister.Get(n)
				if err != nil {
					continue
				}
				if run, _ := shouldRun(node, ds); !run {
					del = append(del, oldPod.Name)
					continue
				}
				allowed = append(allowed, n)
			case numSurge >= surge:
			default:
				candidates = append(candidates, n)
			}
		default:
			if !controllerutil.IsPodAvailable(newPod, minReady, now) {
				numSurge++
				continue
			}
			del = append(del, oldPod.Name)
		}
	}
	room := min(max(0, surge-numSurge), len(candidates))
	return c.syncNodes(ctx, ds, del, append(allowed, candidates[:room]...), hash)
}

// desiredCounts returns maxSurge and maxUnavailable scaled to the number
// of nodes that should run the daemon, and adds those nodes to pods.
func desiredCounts(ds *appsv1.DaemonSet, nodes []*corev1.Node, pods map[string][]*corev1.Pod) (surge, unavailable int, err error) {
	desired := 0
	for _, node := range nodes {
		if run, _ := shouldRun(node, ds); !run {
			continue
		}
		desired++
		if _, ok := pods[node.Name]; !ok {
			pods[node.Name] = nil
		}
	}
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ru == nil {
		return 0, 1, nil
	}
	if ru.MaxSurge != nil {
		if surge, err = intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, desired, true); err != nil {
			return 0, 0, fmt.Errorf("invalid maxSurge of %s/%s: %w", ds.Namespace, ds.Name, err)
		}
	}
	if ru.MaxUnavailable != nil {
		if unavailable, err = intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true); err != nil {
			return 0, 0, fmt.Errorf("invalid maxUnavailable of %s/%s: %w", ds.Namespace, ds.Name, err)
		}
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1 // validation forbids both zero; be safe
	}
	return surge, unavailable, nil
}

// splitPods returns the node's one current and one old pod (ignoring pods
// being deleted); ok is false when it has more than one of either.
func splitPods(pods []*corev1.Pod, hash string, gen *int64) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if isUpdated(p, hash, gen) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = p
		}
	}
	return newPod, oldPod, true
}

// updateStatus computes and stores the status of ds.
func (c *Controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string, observed bool) error {
	now := c.cfg.Clock.Now()
	st := computeStatus(ds, nodes, byNode, hash, now)
	if observed {
		st.ObservedGeneration = ds.Generation
	} else {
		st.ObservedGeneration = ds.Status.ObservedGeneration
	}
	st.CollisionCount = ds.Status.CollisionCount
	st.Conditions = ds.Status.Conditions
	if ds.Spec.MinReadySeconds > 0 && st.NumberReady != st.NumberAvailable {
		c.enqueueAfter(ds, time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	if statusEqual(&ds.Status, &st) {
		return nil
	}
	toUpdate := ds.DeepCopy()
	for attempt := 0; ; attempt++ {
		toUpdate.Status = st
		toUpdate.Status.CollisionCount = ds.Status.CollisionCount
		_, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, toUpdate, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt > 0 {
			return fmt.Errorf("updating status of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
		}
		fresh, gerr := c.getFresh(ctx, ds.Namespace, ds.Name)
		if gerr != nil {
			return gerr
		}
		if fresh.UID != ds.UID {
			return nil
		}
		toUpdate = fresh
		ds = fresh
	}
}

// computeStatus counts, over the nodes, where ds's pods should be and are.
func computeStatus(ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string, now time.Time) appsv1.DaemonSetStatus {
	var st appsv1.DaemonSetStatus
	gen := templateGeneration(ds)
	for _, node := range nodes {
		run, _ := shouldRun(node, ds)
		pods := byNode[node.Name]
		scheduled := len(pods) > 0
		if !run {
			if scheduled {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if !scheduled {
			continue
		}
		st.CurrentNumberScheduled++
		pods = slices.Clone(pods)
		slices.SortFunc(pods, olderFirst)
		p := pods[0]
		if controllerutil.IsPodReady(p) {
			st.NumberReady++
			if controllerutil.IsPodAvailable(p, ds.Spec.MinReadySeconds, now) {
				st.NumberAvailable++
			}
		}
		if isUpdated(p, hash, gen) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = max(0, st.DesiredNumberScheduled-st.NumberAvailable)
	return st
}

func statusEqual(a, b *appsv1.DaemonSetStatus) bool {
	return a.ObservedGeneration == b.ObservedGeneration &&
		a.CurrentNumberScheduled == b.CurrentNumberScheduled &&
		a.NumberMisscheduled == b.NumberMisscheduled &&
		a.DesiredNumberScheduled == b.DesiredNumberScheduled &&
		a.NumberReady == b.NumberReady &&
		a.UpdatedNumberScheduled == b.UpdatedNumberScheduled &&
		a.NumberAvailable == b.NumberAvailable &&
		a.NumberUnavailable == b.NumberUnavailable
}
