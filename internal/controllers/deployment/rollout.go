package deployment

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// rolloutRolling moves a RollingUpdate deployment one step: scale the new
// ReplicaSet up within maxSurge, or the old ones down within
// maxUnavailable, and once complete clean up old ReplicaSets.
func (s *syncer) rolloutRolling(ctx context.Context, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := s.replicaSets(ctx, rsList, true)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)

	scaledUp, newRS, err := s.reconcileNewRS(ctx, all, newRS)
	if err != nil {
		return err
	}
	all[len(all)-1] = newRS
	if scaledUp {
		return s.syncRolloutStatus(ctx, all, newRS)
	}
	scaledDown, err := s.reconcileOldRSs(ctx, old, newRS)
	if err != nil {
		return err
	}
	if scaledDown {
		return s.syncRolloutStatus(ctx, append(old, newRS), newRS)
	}
	if deploymentComplete(s.d, &s.d.Status) {
		if err := s.cleanup(ctx, old); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(ctx, all, newRS)
}

func (s *syncer) reconcileNewRS(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, *appsv1.ReplicaSet, error) {
	want := replicas(s.d)
	switch {
	case rsReplicas(newRS) == want:
		return false, newRS, nil
	case rsReplicas(newRS) > want:
		return s.scaleRS(ctx, newRS, want)
	}
	return s.scaleRS(ctx, newRS, newRSReplicas(s.d, all, newRS))
}

// reconcileOldRSs scales old ReplicaSets down: first their unavailable
// pods (they only block the rollout), then as far as maxUnavailable allows.
// old is updated in place with the scaled ReplicaSets.
func (s *syncer) reconcileOldRSs(ctx context.Context, old []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	d := s.d
	active := activeReplicaSets(old)
	if specReplicas(active) == 0 {
		return false, nil
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	minAvailable := replicas(d) - maxUnavailable(d)
	newUnavailable := rsReplicas(newRS) - newRS.Status.AvailableReplicas
	maxScaledDown := specReplicas(all) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	cleaned, err := s.scaleDownUnhealthy(ctx, old, maxScaledDown)
	if err != nil {
		return false, err
	}
	all = append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	scaled, err := s.scaleDownForRollingUpdate(ctx, all, old)
	if err != nil {
		return false, err
	}
	return cleaned+scaled > 0, nil
}

// scaleDownUnhealthy removes up to limit unavailable replicas of old
// ReplicaSets, oldest first.
func (s *syncer) scaleDownUnhealthy(ctx context.Context, old []*appsv1.ReplicaSet, limit int32) (int32, error) {
	byCreation(old)
	var total int32
	for i, rs := range old {
		if total >= limit {
			break
		}
		if rsReplicas(rs) == 0 || rsReplicas(rs) == rs.Status.AvailableReplicas {
			continue
		}
		n := min(limit-total, rsReplicas(rs)-rs.Status.AvailableReplicas)
		if n <= 0 {
			continue
		}
		_, updated, err := s.scaleRS(ctx, rs, rsReplicas(rs)-n)
		if err != nil {
			return total, err
		}
		total += n
		old[i] = updated
	}
	return total, nil
}

// scaleDownForRollingUpdate scales old ReplicaSets down, oldest first, as
// long as the available pods stay at least replicas - maxUnavailable.
func (s *syncer) scaleDownForRollingUpdate(ctx context.Context, all, old []*appsv1.ReplicaSet) (int32, error) {
	d := s.d
	minAvailable := replicas(d) - maxUnavailable(d)
	available := statusSum(all, availableReplicas)
	if available <= minAvailable {
		return 0, nil
	}
	byCreation(old)
	budget := available - minAvailable
	var total int32
	for i, rs := range old {
		if total >= budget {
			break
		}
		if rsReplicas(rs) == 0 {
			continue
		}
		n := min(rsReplicas(rs), budget-total)
		_, updated, err := s.scaleRS(ctx, rs, rsReplicas(rs)-n)
		if err != nil {
			return total, err
		}
		total += n
		old[i] = updated
	}
	return total, nil
}

// rolloutRecreate scales every old ReplicaSet to zero, waits until their
// pods are gone, then brings the new ReplicaSet up to full size.
func (s *syncer) rolloutRecreate(ctx context.Context, rsList []*appsv1.ReplicaSet) error {
	newRS, old, err := s.replicaSets(ctx, rsList, false)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	scaledDown := false
	for i, rs := range old {
		if rsReplicas(rs) == 0 {
			continue
		}
		scaled, updated, err := s.scaleRS(ctx, rs, 0)
		if err != nil {
			return err
		}
		old[i] = updated
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		return s.syncRolloutStatus(ctx, append(old, newRS), newRS)
	}
	if s.oldPodsRunning(newRS, old) {
		return s.syncRolloutStatus(ctx, all, newRS)
	}
	if newRS == nil {
		newRS, old, err = s.replicaSets(ctx, rsList, true)
		if err != nil {
			return err
		}
		all = append(append([]*appsv1.ReplicaSet(nil), old...), newRS)
	}
	_, newRS, err = s.scaleRS(ctx, newRS, replicas(s.d))
	if err != nil {
		return err
	}
	all[len(all)-1] = newRS
	if deploymentComplete(s.d, &s.d.Status) {
		if err := s.cleanup(ctx, old); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(ctx, all, newRS)
}

// oldPodsRunning reports whether an old ReplicaSet still has pods that
// have not finished (terminating ones included).
func (s *syncer) oldPodsRunning(newRS *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) bool {
	if statusSum(old, actualReplicas) > 0 {
		return true
	}
	for _, rs := range old {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		for _, p := range s.c.podsOf(rs.UID) {
			if p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
				return true
			}
		}
	}
	return false
}
