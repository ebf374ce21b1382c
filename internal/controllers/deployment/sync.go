package deployment

import (
	"context"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// syncer is one pass over one Deployment. d is a private copy whose
// status (and revision annotation) is written back with updateStatus.
type syncer struct {
	c   *Controller
	d   *appsv1.Deployment
	now time.Time
}

func (s *syncer) key() string { return dKey(s.d) }

// updateStatus writes d's status (and its metadata, as the status
// subresource allows) and keeps the written object.
func (s *syncer) updateStatus(ctx context.Context) error {
	out, err := s.c.cfg.Client.AppsV1().Deployments(s.d.Namespace).UpdateStatus(ctx, s.d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("updating status of deployment %s: %w", s.key(), err)
	}
	s.d = out
	return nil
}

// checkPaused sets the Progressing condition to DeploymentPaused when the
// deployment is paused, and to DeploymentResumed when it no longer is.
func (s *syncer) checkPaused(ctx context.Context) error {
	d := s.d
	if !hasProgressDeadline(d) {
		return nil
	}
	cond := getCondition(&d.Status, appsv1.DeploymentProgressing)
	if cond != nil && cond.Reason == ReasonTimedOut {
		return nil
	}
	pausedCond := cond != nil && cond.Reason == ReasonPaused
	switch {
	case d.Spec.Paused && !pausedCond:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, messagePaused, s.now))
	case !d.Spec.Paused && pausedCond:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, messageResumed, s.now))
	default:
		return nil
	}
	return s.updateStatus(ctx)
}

// replicaSets splits rsList into the new ReplicaSet (created when create
// and missing) and all the old ones, syncing revision annotations.
func (s *syncer) replicaSets(ctx context.Context, rsList []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	existing := findNewReplicaSet(s.d, rsList)
	old := findOldReplicaSets(rsList, existing)
	newRS, err := s.newReplicaSet(ctx, existing, old, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, old, nil
}

func (s *syncer) newReplicaSet(ctx context.Context, existing *appsv1.ReplicaSet, old []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	d := s.d
	newRevision := strconv.FormatInt(maxRevision(old)+1, 10)
	if existing != nil {
		rs := existing.DeepCopy()
		annotated := setNewReplicaSetAnnotations(d, rs, newRevision, true)
		if annotated || rs.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			rs.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			out, err := s.c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
			if err != nil {
				return nil, fmt.Errorf("updating replica set %s: %w", rs.Name, err)
			}
			return out, nil
		}
		changed := s.setRevision(rs.Annotations[RevisionAnnotation])
		if hasProgressDeadline(d) && getCondition(&d.Status, appsv1.DeploymentProgressing) == nil {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS,
				fmt.Sprintf("Found new replica set %q", rs.Name), s.now))
			changed = true
		}
		if changed {
			if err := s.updateStatus(ctx); err != nil {
				return nil, err
			}
		}
		return rs, nil
	}
	if !create {
		return nil, nil
	}

	hash := ComputeHash(&d.Spec.Template, d.Status.CollisionCount)
	template := *d.Spec.Template.DeepCopy()
	template.Labels = withLabel(d.Spec.Template.Labels, PodTemplateHashLabel, hash)
	selector := d.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[PodTemplateHashLabel] = hash
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, Kind)},
			Labels:          template.Labels,
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To[int32](0),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        template,
		},
	}
	n := newRSReplicas(d, append(append([]*appsv1.ReplicaSet(nil), old...), rs), rs)
	rs.Spec.Replicas = ptr.To(n)
	setNewReplicaSetAnnotations(d, rs, newRevision, false)

	created, err := s.c.cfg.Client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	alreadyExists := false
	switch {
	case apierrors.IsAlreadyExists(err):
		alreadyExists = true
		found, getErr := s.c.rsLister.ReplicaSets(d.Namespace).Get(rs.Name)
		if getErr != nil {
			return nil, getErr
		}
		if ref := metav1.GetControllerOfNoCopy(found); ref != nil && ref.UID == d.UID && equalIgnoreHash(&d.Spec.Template, &found.Spec.Template) {
			created, err = found, nil
			break
		}
		// A hash collision: another template owns that name. A new
		// collision count gives a new hash on the next pass.
		if d.Status.CollisionCount == nil {
			d.Status.CollisionCount = ptr.To[int32](0)
		}
		*d.Status.CollisionCount++
		if uerr := s.updateStatus(ctx); uerr == nil {
			s.c.log.Info("found a hash collision, bumping collisionCount", "deployment", s.key(), "collisionCount", *d.Status.CollisionCount)
		}
		return nil, err
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonFailedRSCreate, msg, s.now))
			_ = s.updateStatus(ctx)
		}
		s.c.eventf(d, corev1.EventTypeWarning, ReasonFailedRSCreate, "%s", msg)
		return nil, err
	}
	if !alreadyExists && n > 0 {
		s.c.eventf(d, corev1.EventTypeNormal, eventScalingReplicaSet, "Scaled up replica set %s from 0 to %d", created.Name, n)
	}
	changed := s.setRevision(newRevision)
	if !alreadyExists && hasProgressDeadline(d) {
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated,
			fmt.Sprintf("Created new replica set %q", created.Name), s.now))
		changed = true
	}
	if changed {
		if err := s.updateStatus(ctx); err != nil {
			return nil, err
		}
	}
	return created, nil
}

// setRevision sets the deployment's revision annotation; true if it changed.
func (s *syncer) setRevision(rev string) bool {
	if rev == "" || s.d.Annotations[RevisionAnnotation] == rev {
		return false
	}
	if s.d.Annotations == nil {
		s.d.Annotations = map[string]string{}
	}
	s.d.Annotations[RevisionAnnotation] = rev
	return true
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// scaleRS sets rs's replicas to n (and its replica annotations) and
// records the ScalingReplicaSet event. It returns whether the size
// changed and the updated ReplicaSet.
func (s *syncer) scaleRS(ctx context.Context, rs *appsv1.ReplicaSet, n int32) (bool, *appsv1.ReplicaSet, error) {
	if rsReplicas(rs) == n {
		return false, rs, nil
	}
	op := "down"
	if rsReplicas(rs) < n {
		op = "up"
	}
	return s.scaleRSOp(ctx, rs, n, op)
}

func (s *syncer) scaleRSOp(ctx context.Context, rs *appsv1.ReplicaSet, n int32, op string) (bool, *appsv1.ReplicaSet, error) {
	d := s.d
	sizeChanged := rsReplicas(rs) != n
	desired, maxTotal := replicas(d), replicas(d)+maxSurge(d)
	if !sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, maxTotal) {
		return false, rs, nil
	}
	from := rsReplicas(rs)
	cp := rs.DeepCopy()
	cp.Spec.Replicas = ptr.To(n)
	setReplicasAnnotations(cp, desired, maxTotal)
	out, err := s.c.cfg.Client.AppsV1().ReplicaSets(cp.Namespace).Update(ctx, cp, metav1.UpdateOptions{})
	if err != nil {
		return false, rs, fmt.Errorf("scaling replica set %s: %w", rs.Name, err)
	}
	if sizeChanged {
		s.c.eventf(d, corev1.EventTypeNormal, eventScalingReplicaSet, "Scaled %s replica set %s from %d to %d", op, rs.Name, from, n)
	}
	return sizeChanged, out, nil
}

// isScalingEvent: an active ReplicaSet was sized for another replica count.
func (s *syncer) isScalingEvent(rsList []*appsv1.ReplicaSet) bool {
	for _, rs := range activeReplicaSets(rsList) {
		if desired, ok := intAnnotation(rs, DesiredReplicasAnnotation); ok && desired != replicas(s.d) {
			return true
		}
	}
	return false
}

// syncScale handles a scaling event or a paused deployment: resize the
// ReplicaSets without rolling anything out.
func (s *syncer) syncScale(ctx context.Context, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := s.replicaSets(ctx, rsList, false)
	if err != nil {
		return err
	}
	if err := s.scale(ctx, newRS, old); err != nil {
		return err
	}
	if s.d.Spec.Paused {
		if err := s.cleanup(ctx, old); err != nil {
			return err
		}
	}
	return s.syncStatus(ctx, append(old, newRS), newRS)
}

func (s *syncer) syncStatusOnly(ctx context.Context, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := s.replicaSets(ctx, rsList, false)
	if err != nil {
		return err
	}
	return s.syncStatus(ctx, append(old, newRS), newRS)
}

// scale resizes the ReplicaSets to the deployment's replicas: the single
// active one takes them all; with a saturated new one the old go to zero;
// otherwise a rolling deployment spreads the difference proportionally.
func (s *syncer) scale(ctx context.Context, newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) error {
	d := s.d
	if rs := activeOrLatest(newRS, old); rs != nil {
		_, _, err := s.scaleRS(ctx, rs, replicas(d))
		return err
	}
	if isSaturated(d, newRS) {
		for _, rs := range activeReplicaSets(old) {
			if _, _, err := s.scaleRS(ctx, rs, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRollingUpdate(d) {
		return nil
	}
	all := activeReplicaSets(append(append([]*appsv1.ReplicaSet(nil), old...), newRS))
	allowed := int32(0)
	if replicas(d) > 0 {
		allowed = replicas(d) + maxSurge(d)
	}
	toAdd := allowed - specReplicas(all)
	op := ""
	switch {
	case toAdd > 0:
		bySize(all, true)
		op = "up"
	case toAdd < 0:
		bySize(all, false)
		op = "down"
	}
	sizes := make([]int32, len(all))
	added := int32(0)
	for i, rs := range all {
		sizes[i] = rsReplicas(rs)
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	for i, rs := range all {
		if i == 0 && toAdd != 0 {
			// Leftovers go to the largest.
			sizes[i] = max(sizes[i]+toAdd-added, 0)
		}
		if _, _, err := s.scaleRSOp(ctx, rs, sizes[i], op); err != nil {
			return err
		}
	}
	return nil
}

// activeOrLatest returns the only active ReplicaSet, or the newest when
// none is active; nil when several are active.
func activeOrLatest(newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(old) == 0 {
		return nil
	}
	active := activeReplicaSets(append(append([]*appsv1.ReplicaSet(nil), old...), newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		sorted := append([]*appsv1.ReplicaSet(nil), old...)
		byCreation(sorted)
		return sorted[len(sorted)-1]
	case 1:
		return active[0]
	}
	return nil
}

func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := intAnnotation(rs, DesiredReplicasAnnotation)
	return ok && desired == replicas(d) && rsReplicas(rs) == replicas(d) && rs.Status.AvailableReplicas == replicas(d)
}

// cleanup deletes the oldest old ReplicaSets with no pods beyond revisionHistoryLimit.
func (s *syncer) cleanup(ctx context.Context, old []*appsv1.ReplicaSet) error {
	limit := int32(defaultRevisionHistory)
	if s.d.Spec.RevisionHistoryLimit != nil {
		limit = *s.d.Spec.RevisionHistoryLimit
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range old {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := len(alive) - int(limit)
	if diff <= 0 {
		return nil
	}
	byRevision(alive)
	for _, rs := range alive[:diff] {
		if rs.Status.Replicas != 0 || rsReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		err := s.c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &rs.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting old replica set %s: %w", rs.Name, err)
		}
	}
	return nil
}

// calculateStatus derives the deployment's status from its ReplicaSets.
func (s *syncer) calculateStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) appsv1.DeploymentStatus {
	d := s.d
	available := statusSum(all, availableReplicas)
	st := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            statusSum(all, actualReplicas),
		UpdatedReplicas:     statusSum([]*appsv1.ReplicaSet{newRS}, actualReplicas),
		ReadyReplicas:       statusSum(all, readyReplicas),
		AvailableReplicas:   available,
		UnavailableReplicas: max(specReplicas(all)-available, 0),
		TerminatingReplicas: ptr.To(statusSum(all, terminatingReplicas)),
		CollisionCount:      d.Status.CollisionCount,
		Conditions:          append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...),
	}
	if available >= replicas(d)-maxUnavailable(d) {
		setCondition(&st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinAvailable, messageMinAvailable, s.now))
	} else {
		setCondition(&st, newCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinUnavailable, messageMinUnavailable, s.now))
	}
	return st
}

// syncStatus writes the computed status when it changed.
func (s *syncer) syncStatus(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	st := s.calculateStatus(all, newRS)
	if statusEqual(&s.d.Status, &st) {
		return nil
	}
	s.d.Status = st
	return s.updateStatus(ctx)
}

// syncRolloutStatus writes the status of a rollout, with the Progressing
// condition (progress, completion, deadline) and any replica failure, and
// requeues a deployment that may be stuck for when its deadline passes.
func (s *syncer) syncRolloutStatus(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	d := s.d
	st := s.calculateStatus(all, newRS)
	if !hasProgressDeadline(d) {
		removeCondition(&st, appsv1.DeploymentProgressing)
	}
	cur := getCondition(&d.Status, appsv1.DeploymentProgressing)
	complete := st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewRSAvailable
	if hasProgressDeadline(d) && !complete {
		subject := fmt.Sprintf("Deployment %q", d.Name)
		if newRS != nil {
			subject = fmt.Sprintf("ReplicaSet %q", newRS.Name)
		}
		switch {
		case deploymentComplete(d, &st):
			setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable, subject+" has successfully progressed.", s.now))
		case deploymentProgressing(d, &st):
			c := newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonRSUpdated, subject+" is progressing.", s.now)
			if cur != nil {
				if cur.Status == corev1.ConditionTrue {
					c.LastTransitionTime = cur.LastTransitionTime
				}
				removeCondition(&st, appsv1.DeploymentProgressing)
			}
			setCondition(&st, c)
		case deploymentTimedOut(d, &st, s.now):
			setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonTimedOut, subject+" has timed out progressing.", s.now))
		}
	}
	if failures := replicaFailures(all, newRS); len(failures) > 0 {
		setCondition(&st, failures[0])
	} else {
		removeCondition(&st, appsv1.DeploymentReplicaFailure)
	}
	if statusEqual(&d.Status, &st) {
		s.requeueStuck(&st)
		return nil
	}
	d.Status = st
	return s.updateStatus(ctx)
}

// requeueStuck makes sure a deployment making no progress is looked at
// again when its progress deadline passes.
func (s *syncer) requeueStuck(st *appsv1.DeploymentStatus) {
	d := s.d
	cur := getCondition(&d.Status, appsv1.DeploymentProgressing)
	if !hasProgressDeadline(d) || cur == nil || deploymentComplete(d, st) || cur.Reason == ReasonTimedOut {
		return
	}
	// A second past the deadline, so the next pass sees it exceeded.
	after := max(cur.LastUpdateTime.Add(progressDeadline(d)).Sub(s.now), 0)
	s.c.queue.AddAfter(s.key(), after+time.Second)
}
