package statefulset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
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

// sync brings one StatefulSet towards its desired state.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	set, err := c.setLister.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil // validation refuses these
	}
	recheck := func(ctx context.Context) (metav1.Object, error) { return c.getFresh(ctx, set.Namespace, set.Name) }
	pods, err := c.claimPods(ctx, set, sel, recheck)
	if err != nil {
		return err
	}
	revs, err := c.history.List(ctx, set, controllerKind, sel, recheck)
	if err != nil {
		return err
	}
	status, cur, upd, syncErr := c.updateStatefulSet(ctx, set, pods, revs)
	if status != nil {
		// Queued before the status is written: whoever reads that status
		// and moves the clock finds the recheck waiting.
		if set.Spec.MinReadySeconds > 0 && status.ReadyReplicas != status.AvailableReplicas {
			c.queue.AddAfter(key, time.Duration(set.Spec.MinReadySeconds)*time.Second)
		}
		if err := c.storeStatus(ctx, set, status); err != nil {
			return errors.Join(syncErr, err)
		}
	}
	if syncErr != nil {
		return syncErr
	}
	return c.truncateHistory(ctx, set, pods, revs, cur, upd)
}

// claimPods returns the pods set owns after adoption and release; pods
// whose names are not "<set>-<ordinal>" are never adopted.
func (c *Controller) claimPods(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector, recheck func(context.Context) (metav1.Object, error)) ([]*corev1.Pod, error) {
	candidates, err := controllerutil.ControlledOrOrphans[*corev1.Pod](c.pods, set.UID, set.Namespace)
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	members := candidates[:0:0]
	for _, p := range candidates {
		if isMember(set, p) {
			members = append(members, p)
		}
	}
	claimer := &controllerutil.Claimer{
		Owner:     set,
		OwnerKind: controllerKind,
		Selector:  sel,
		Patch: func(ctx context.Context, ns, name string, pt types.PatchType, data []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, pt, data, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controllerutil.RecheckOwner(set, recheck),
	}
	return controllerutil.Claim(ctx, claimer, members)
}

// revisions returns the revision of the pods' current template and the
// one of the set's template, creating or renumbering the latter as needed,
// and the collision count to store.
func (c *Controller) revisions(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision) (cur, upd *appsv1.ControllerRevision, collisions int32, err error) {
	if set.Status.CollisionCount != nil {
		collisions = *set.Status.CollisionCount
	}
	revs = slices.Clone(revs)
	history.Sort(revs)
	data, err := history.TemplatePatch(set.Spec.Template)
	if err != nil {
		return nil, nil, collisions, err
	}
	want := history.New(set, controllerKind, set.Spec.Template.Labels, data, history.Next(revs), &collisions)
	equal := history.FindEqual(revs, want)
	switch {
	case len(equal) > 0 && equal[len(equal)-1] == revs[len(revs)-1]:
		upd = revs[len(revs)-1] // the newest already is the template
	case len(equal) > 0:
		// Rolling back to an older template: it becomes the newest revision.
		upd, err = c.history.UpdateRevision(ctx, equal[len(equal)-1], want.Revision)
	default:
		upd, err = c.history.Create(ctx, set, want, &collisions)
	}
	if err != nil {
		return nil, nil, collisions, err
	}
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision {
			cur = r
			break
		}
	}
	if cur == nil {
		cur = upd
	}
	return cur, upd, collisions, nil
}

// updateStatefulSet creates, deletes and updates pods towards set's spec,
// as far as the pod management policy lets it go in one pass, and returns
// the status to store.
func (c *Controller) updateStatefulSet(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision) (*appsv1.StatefulSetStatus, *appsv1.ControllerRevision, *appsv1.ControllerRevision, error) {
	curRev, updRev, collisions, err := c.revisions(ctx, set, revs)
	if err != nil {
		return nil, nil, nil, err
	}
	curSet, err := setForRevision(set, curRev)
	if err != nil {
		return nil, nil, nil, err
	}
	updSet, err := setForRevision(set, updRev)
	if err != nil {
		return nil, nil, nil, err
	}
	now := c.cfg.Clock.Now()
	status := &appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    curRev.Name,
		UpdateRevision:     updRev.Name,
		CollisionCount:     &collisions,
	}

	start, n := startOrdinal(set), replicasOf(set)
	replicas := make([]*corev1.Pod, n)
	var condemned []*corev1.Pod
	for _, p := range pods {
		ord := ordinalOf(p)
		if inRange(set, ord) {
			replicas[ord-start] = p
		} else if ord >= 0 {
			condemned = append(condemned, p)
		}
	}
	// Highest ordinal first.
	slices.SortFunc(condemned, func(a, b *corev1.Pod) int { return ordinalOf(b) - ordinalOf(a) })
	partition := 0
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	for i := range replicas {
		if replicas[i] != nil {
			continue
		}
		ord := start + i
		// Below the partition pods stay at the current revision.
		if isRollingUpdate(set) && ord < partition {
			replicas[i] = newPod(curSet, ord, curRev.Name)
		} else {
			replicas[i] = newPod(updSet, ord, updRev.Name)
		}
	}
	finish := func() *appsv1.StatefulSetStatus {
		countStatus(status, set, append(slices.Clone(replicas), condemned...), now)
		return status
	}

	// The first pod that is not healthy, by ordinal among the wanted ones
	// (not yet created counts), then from the highest condemned one down.
	var firstUnhealthy *corev1.Pod
	for _, p := range append(slices.Clone(replicas), condemned...) {
		if !isHealthy(p) {
			firstUnhealthy = p
			break
		}
	}
	if set.DeletionTimestamp != nil {
		return finish(), curRev, updRev, nil
	}
	monotonic := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement

	exit, err := runForAll(len(replicas), monotonic, func(i int) (bool, error) {
		return c.processReplica(ctx, set, updSet, replicas[i], monotonic, now)
	})
	if exit || err != nil {
		return finish(), curRev, updRev, err
	}
	if err := c.fixCondemnedClaims(ctx, set, condemned); err != nil {
		return finish(), curRev, updRev, err
	}
	exit, err = runForAll(len(condemned), monotonic, func(i int) (bool, error) {
		return c.processCondemned(ctx, set, condemned[i], firstUnhealthy, monotonic, now)
	})
	if exit || err != nil {
		return finish(), curRev, updRev, err
	}
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return finish(), curRev, updRev, nil
	}
	err = c.rollingUpdate(ctx, set, replicas, updRev.Name, partition-start, now)
	return finish(), curRev, updRev, err
}

// runForAll calls fn for 0..n-1: in order, stopping at the first that asks
// to (monotonic), or all at once.
func runForAll(n int, monotonic bool, fn func(i int) (bool, error)) (bool, error) {
	if monotonic {
		for i := range n {
			if exit, err := fn(i); exit || err != nil {
				return true, err
			}
		}
		return false, nil
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := fn(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return false, errors.Join(errs...)
}

// processReplica moves the pod of one wanted ordinal forward. It returns
// true when an ordered set must not look at higher ordinals yet.
func (c *Controller) processReplica(ctx context.Context, set, updSet *appsv1.StatefulSet, pod *corev1.Pod, monotonic bool, now time.Time) (bool, error) {
	if isFailed(pod) || isSucceeded(pod) {
		if pod.DeletionTimestamp == nil {
			if isFailed(pod) {
				c.recorder.Eventf(set, corev1.EventTypeWarning, "RecreatingFailedPod", "StatefulSet %s/%s is recreating failed Pod %s", set.Namespace, set.Name, pod.Name)
			} else {
				c.recorder.Eventf(set, corev1.EventTypeNormal, "RecreatingTerminatedPod", "StatefulSet %s/%s is recreating terminated Pod %s", set.Namespace, set.Name, pod.Name)
			}
			if err := c.deletePodOf(ctx, set, pod); err != nil {
				return true, err
			}
		}
		// The replacement is made once the old pod is gone.
		return true, nil
	}
	if !isCreated(pod) {
		created, err := c.createPodOf(ctx, set, pod)
		if err != nil {
			return true, err
		}
		return monotonic || !created, nil
	}
	if isPending(pod) {
		// A pod waiting for a claim someone deleted would wait forever.
		if err := c.createClaims(ctx, set, pod); err != nil {
			return true, err
		}
	}
	if isTerminating(pod) && monotonic {
		return true, nil
	}
	if !isRunningAndReady(pod) && monotonic {
		return true, nil
	}
	if !isRunningAndAvailable(pod, set.Spec.MinReadySeconds, now) && monotonic {
		return true, nil
	}
	if err := c.fixClaimOwners(ctx, set, pod); err != nil {
		return true, err
	}
	if identityMatches(set, pod) {
		return false, nil
	}
	return false, c.fixIdentity(ctx, set, pod)
}

// processCondemned deletes one pod beyond the wanted ordinals. Ordered
// sets delete one at a time, highest first, only once the others are
// healthy (an unhealthy pod itself may go first).
func (c *Controller) processCondemned(ctx context.Context, set *appsv1.StatefulSet, pod, firstUnhealthy *corev1.Pod, monotonic bool, now time.Time) (bool, error) {
	if isTerminating(pod) {
		return monotonic, nil
	}
	if monotonic && pod != firstUnhealthy && (!isRunningAndReady(pod) || !isRunningAndAvailable(pod, set.Spec.MinReadySeconds, now)) {
		return true, nil
	}
	if err := c.deletePodOf(ctx, set, pod); err != nil {
		return true, err
	}
	return monotonic, nil
}

// rollingUpdate deletes pods not at the update revision, highest ordinal
// first down to the partition, keeping at most maxUnavailable replicas
// unavailable. minIdx is the partition as an index into replicas.
func (c *Controller) rollingUpdate(ctx context.Context, set *appsv1.StatefulSet, replicas []*corev1.Pod, updRev string, minIdx int, now time.Time) error {
	maxUnavailable := 1
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, len(replicas), true)
		if err != nil {
			return fmt.Errorf("invalid maxUnavailable of %s/%s: %w", set.Namespace, set.Name, err)
		}
		maxUnavailable = max(1, v)
	}
	unavailable := 0
	for _, p := range replicas {
		if !isCreated(p) || !isHealthy(p) || !isRunningAndAvailable(p, set.Spec.MinReadySeconds, now) {
			unavailable++
		}
	}
	budget := maxUnavailable - unavailable
	for i := len(replicas) - 1; i >= max(0, minIdx) && budget > 0; i-- {
		p := replicas[i]
		if revisionOf(p) == updRev || isTerminating(p) || !isCreated(p) {
			continue
		}
		if err := c.deletePodOf(ctx, set, p); err != nil {
			return err
		}
		budget--
	}
	return nil
}

// countStatus fills the pod counts of status from pods (wanted and condemned).
func countStatus(status *appsv1.StatefulSetStatus, set *appsv1.StatefulSet, pods []*corev1.Pod, now time.Time) {
	for _, p := range pods {
		if !isCreated(p) {
			continue
		}
		status.Replicas++
		if isRunningAndReady(p) {
			status.ReadyReplicas++
			if isRunningAndAvailable(p, set.Spec.MinReadySeconds, now) {
				status.AvailableReplicas++
			}
		}
		if isTerminating(p) {
			continue
		}
		if rev := revisionOf(p); rev == status.CurrentRevision {
			status.CurrentReplicas++
		}
		if rev := revisionOf(p); rev == status.UpdateRevision {
			status.UpdatedReplicas++
		}
	}
	// A finished rolling update makes the update revision current.
	if isRollingUpdate(set) &&
		status.UpdatedReplicas == status.Replicas && status.ReadyReplicas == status.Replicas {
		status.CurrentReplicas = status.UpdatedReplicas
		status.CurrentRevision = status.UpdateRevision
	}
}

// storeStatus writes status when it differs from what set holds.
func (c *Controller) storeStatus(ctx context.Context, set *appsv1.StatefulSet, status *appsv1.StatefulSetStatus) error {
	status.Conditions = set.Status.Conditions
	if statusEqual(&set.Status, status) {
		return nil
	}
	toUpdate := set.DeepCopy()
	for attempt := 0; ; attempt++ {
		toUpdate.Status = *status
		_, err := c.client.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, toUpdate, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt > 0 {
			return fmt.Errorf("updating status of statefulset %s/%s: %w", set.Namespace, set.Name, err)
		}
		fresh, gerr := c.getFresh(ctx, set.Namespace, set.Name)
		if gerr != nil {
			return gerr
		}
		if fresh.UID != set.UID {
			return nil
		}
		toUpdate = fresh
	}
}

func statusEqual(a, b *appsv1.StatefulSetStatus) bool {
	count := func(p *int32) int32 {
		if p == nil {
			return 0
		}
		return *p
	}
	return a.ObservedGeneration == b.ObservedGeneration &&
		a.Replicas == b.Replicas && a.ReadyReplicas == b.ReadyReplicas &&
		a.CurrentReplicas == b.CurrentReplicas && a.UpdatedReplicas == b.UpdatedReplicas &&
		a.AvailableReplicas == b.AvailableReplicas &&
		a.CurrentRevision == b.CurrentRevision && a.UpdateRevision == b.UpdateRevision &&
		count(a.CollisionCount) == count(b.CollisionCount) && (a.CollisionCount == nil) == (b.CollisionCount == nil)
}

// truncateHistory deletes the oldest revisions beyond revisionHistoryLimit
// that are neither current, nor the update revision, nor used by a pod.
func (c *Controller) truncateHistory(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, cur, upd *appsv1.ControllerRevision) error {
	live := map[string]bool{}
	if cur != nil {
		live[cur.Name] = true
	}
	if upd != nil {
		live[upd.Name] = true
	}
	for _, p := range pods {
		live[revisionOf(p)] = true
	}
	var dead []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			dead = append(dead, r)
		}
	}
	limit := 10
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	excess := len(dead) - limit
	if excess <= 0 {
		return nil
	}
	history.Sort(dead)
	for _, r := range dead[:excess] {
		if err := c.history.Delete(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// createPodOf creates pod's claims and then pod. created is false when the
// pod already exists (the cache was behind): its add event brings us back.
func (c *Controller) createPodOf(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) (created bool, err error) {
	if err := c.createClaims(ctx, set, pod); err != nil {
		return false, err
	}
	_, err = c.client.CoreV1().Pods(set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return false, nil
	}
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Pod %s in StatefulSet %s failed error: %s", pod.Name, set.Name, err)
		}
		return false, fmt.Errorf("creating pod %s/%s: %w", set.Namespace, pod.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return true, nil
}

// deletePodOf deletes one of set's pods.
func (c *Controller) deletePodOf(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	err := c.client.CoreV1().Pods(set.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone already, or replaced: the cache catches up
	}
	if err != nil {
		c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedDelete", "delete Pod %s in StatefulSet %s failed error: %s", pod.Name, set.Name, err)
		return fmt.Errorf("deleting pod %s/%s: %w", set.Namespace, pod.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return nil
}

// fixIdentity restores the identity labels of one of set's pods.
func (c *Controller) fixIdentity(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q,%q:%q}}}`,
		appsv1.StatefulSetPodNameLabel, pod.Name, appsv1.PodIndexLabel, strconv.Itoa(ordinalOf(pod)))
	_, err := c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedUpdate", "update Pod %s in StatefulSet %s failed error: %s", pod.Name, set.Name, err)
		return fmt.Errorf("updating pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulUpdate", "update Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return nil
}

// createClaims creates the claims of pod that do not exist yet.
func (c *Controller) createClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	var errs []error
	for _, claim := range claimsFor(set, ordinalOf(pod)) {
		existing, err := c.pvcLister.PersistentVolumeClaims(set.Namespace).Get(claim.Name)
		switch {
		case err == nil:
			if existing.DeletionTimestamp != nil {
				errs = append(errs, fmt.Errorf("pvc %s is being deleted", claim.Name))
			}
			continue
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("getting pvc %s: %w", claim.Name, err))
			continue
		}
		if set.Spec.PersistentVolumeClaimRetentionPolicy != nil &&
			set.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			claim.OwnerReferences = append(claim.OwnerReferences, setOwnerRef(set))
		}
		_, err = c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Create(ctx, claim, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s failed error: %s", claim.Name, pod.Name, set.Name, err)
			errs = append(errs, fmt.Errorf("creating pvc %s: %w", claim.Name, err))
			continue
		}
		c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Claim %s Pod %s in StatefulSet %s success", claim.Name, pod.Name, set.Name)
	}
	return errors.Join(errs...)
}

func setOwnerRef(set *appsv1.StatefulSet) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: controllerKind.GroupVersion().String(), Kind: controllerKind.Kind, Name: set.Name, UID: set.UID}
}

// claimOwners returns the owner references claim should carry for pod
// under set's retention policy, and whether they differ from its current
// ones: whenDeleted Delete makes the set an owner, whenScaled Delete makes
// the pod the owner once it is scaled away (and the set no longer, so the
// garbage collector deletes the claim with the pod).
func claimOwners(set *appsv1.StatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim) ([]metav1.OwnerReference, bool) {
	p := set.Spec.PersistentVolumeClaimRetentionPolicy
	deleteWithSet := p != nil && p.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	deleteWhenScaled := p != nil && p.WhenScaled == appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	scaledAway := !inRange(set, ordinalOf(pod))
	wantSet := deleteWithSet && !(deleteWhenScaled && scaledAway)
	wantPod := deleteWhenScaled && scaledAway

	var refs []metav1.OwnerReference
	var hasSet, hasPod bool
	changed := false
	for _, r := range claim.OwnerReferences {
		switch {
		case r.UID == set.UID:
			if !wantSet {
				changed = true
				continue
			}
			hasSet = true
		case r.Kind == "Pod" && r.APIVersion == "v1" && r.Name == pod.Name:
			if !wantPod || r.UID != pod.UID {
				changed = true
				continue
			}
			hasPod = true
		}
		refs = append(refs, r)
	}
	if wantSet && !hasSet {
		refs = append(refs, setOwnerRef(set))
		changed = true
	}
	if wantPod && !hasPod {
		refs = append(refs, metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID})
		changed = true
	}
	return refs, changed
}

// fixClaimOwners brings the owner references of pod's claims in line with
// the retention policy.
func (c *Controller) fixClaimOwners(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	if pod.UID == "" {
		return nil
	}
	var errs []error
	for _, tmpl := range claimsFor(set, ordinalOf(pod)) {
		claim, err := c.pvcLister.PersistentVolumeClaims(set.Namespace).Get(tmpl.Name)
		if err != nil || claim.DeletionTimestamp != nil {
			continue
		}
		refs, changed := claimOwners(set, pod, claim)
		if !changed {
			continue
		}
		fresh := claim.DeepCopy()
		fresh.OwnerReferences = refs
		if _, err := c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Update(ctx, fresh, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("updating owners of pvc %s: %w", claim.Name, err))
		}
	}
	return errors.Join(errs...)
}

// fixCondemnedClaims prepares the claims of the pods about to be scaled away.
func (c *Controller) fixCondemnedClaims(ctx context.Context, set *appsv1.StatefulSet, condemned []*corev1.Pod) error {
	var errs []error
	for _, pod := range condemned {
		if pod.DeletionTimestamp == nil {
			errs = append(errs, c.fixClaimOwners(ctx, set, pod))
		}
	}
	return errors.Join(errs...)
}
