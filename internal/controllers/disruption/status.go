package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// controller is a pod's controller as far as a budget cares: who it is and
// how many replicas it wants.
type controller struct {
	uid   types.UID
	scale int32
	found bool
}

// scaleFinder looks up the controller named by a pod's controller reference.
type scaleFinder func(ns string, ref *metav1.OwnerReference) (controller, error)

// expectedPodCount returns how many pods the budget expects and how many
// of them must stay healthy. An integer minAvailable counts the selected
// pods; a percentage, or maxUnavailable, counts the replicas their
// controllers want. Pods with no controller are returned as unmanaged and
// left out of that sum.
func expectedPodCount(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, find scaleFinder) (expected, desired int32, unmanaged []string, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		expected, unmanaged, err = expectedScale(pdb, pods, find)
		if err != nil {
			return 0, 0, nil, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = max(expected-int32(maxUnavailable), 0)
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		desired = pdb.Spec.MinAvailable.IntVal
		expected = int32(len(pods))
	case pdb.Spec.MinAvailable != nil:
		expected, unmanaged, err = expectedScale(pdb, pods, find)
		if err != nil {
			return 0, 0, nil, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = int32(minAvailable)
	}
	return expected, desired, unmanaged, nil
}

// expectedScale sums the replicas of the distinct controllers of pods.
func expectedScale(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, find scaleFinder) (int32, []string, error) {
	scales := map[types.UID]int32{}
	seen := map[types.UID]bool{} // controller references already resolved
	var unmanaged []string
	for _, pod := range pods {
		ref := metav1.GetControllerOfNoCopy(pod)
		if ref == nil {
			unmanaged = append(unmanaged, pod.Name)
			continue
		}
		if seen[ref.UID] {
			continue
		}
		ctl, err := find(pod.Namespace, ref)
		if err != nil {
			return 0, nil, err
		}
		if !ctl.found {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", pod.Name)
		}
		seen[ref.UID] = true
		scales[ctl.uid] = ctl.scale
	}
	var sum int32
	for _, s := range scales {
		sum += s
	}
	return sum, unmanaged, nil
}

// disruptedPodMap returns the entries of the budget's disruptedPods to
// keep: pods the eviction handler let go that still exist, are not being
// deleted yet, and were recorded less than DeletionTimeout ago. expired
// are the pods that overstayed; recheck is when the next entry expires.
func disruptedPodMap(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, now time.Time) (keep map[string]metav1.Time, expired []*corev1.Pod, recheck *time.Time) {
	if len(pdb.Status.DisruptedPods) == 0 {
		return nil, nil, nil
	}
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue // seen being deleted: done
		}
		at, ok := pdb.Status.DisruptedPods[pod.Name]
		if !ok {
			continue
		}
		deadline := at.Add(DeletionTimeout)
		if deadline.Before(now) {
			expired = append(expired, pod)
			continue
		}
		if keep == nil {
			keep = map[string]metav1.Time{}
		}
		keep[pod.Name] = at
		if recheck == nil || deadline.Before(*recheck) {
			recheck = &deadline
		}
	}
	return keep, expired, recheck
}

// countHealthy counts the Ready pods that are neither being deleted nor
// expected to be deleted soon.
func countHealthy(pods []*corev1.Pod, disrupted map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if at, ok := disrupted[pod.Name]; ok && at.Add(DeletionTimeout).After(now) {
			continue
		}
		if controllerutil.IsPodReady(pod) {
			n++
		}
	}
	return n
}

// newStatus is the budget's status for the given counts. No disruption is
// allowed while no pod is expected, so that the first pods of a new
// workload are protected before the controller has seen them.
func newStatus(pdb *policyv1.PodDisruptionBudget, healthy, desired, expected int32, disrupted map[string]metav1.Time, now time.Time) policyv1.PodDisruptionBudgetStatus {
	allowed := healthy - desired
	if expected <= 0 || allowed < 0 {
		allowed = 0
	}
	st := policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.Generation,
		DisruptedPods:      disrupted,
		DisruptionsAllowed: allowed,
		CurrentHealthy:     healthy,
		DesiredHealthy:     desired,
		ExpectedPods:       expected,
		Conditions:         append([]metav1.Condition(nil), pdb.Status.Conditions...),
	}
	if allowed > 0 {
		setCondition(&st, metav1.ConditionTrue, policyv1.SufficientPodsReason, "", now)
	} else {
		setCondition(&st, metav1.ConditionFalse, policyv1.InsufficientPodsReason, "", now)
	}
	return st
}

// setCondition sets the DisruptionAllowed condition; its transition time
// changes only with its status.
func setCondition(st *policyv1.PodDisruptionBudgetStatus, status metav1.ConditionStatus, reason, message string, now time.Time) {
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type:               policyv1.DisruptionAllowedCondition,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: st.ObservedGeneration,
		LastTransitionTime: metav1.NewTime(now),
	})
}

// statusEqual compares statuses; nil and empty maps and lists are equal,
// and times compare at the second the API keeps.
func statusEqual(a, b policyv1.PodDisruptionBudgetStatus) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}

// schemaGroup returns the API group of an apiVersion.
func schemaGroup(apiVersion string) (string, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return "", err
	}
	return gv.Group, nil
}
