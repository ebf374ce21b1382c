package apiserver

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// maxDisruptedPods bounds a budget's record of evictions the disruption
// controller has not yet confirmed (upstream's limit).
const maxDisruptedPods = 2000

// checkDisruptionBudget decides whether pod may be evicted, as upstream's
// eviction subresource does: a pod that is finished, pending or already
// being deleted always may; otherwise the one PodDisruptionBudget selecting
// it must allow a disruption, which the eviction then uses up by writing
// the budget's status (disruptionsAllowed - 1 and the pod in
// disruptedPods) before the pod is deleted, so concurrent evictions (kubectl
// drain evicts in parallel) cannot overrun the budget. A pod that is not
// Ready may go without using the budget when its unhealthyPodEvictionPolicy
// allows it.
func (h *apiHandler) checkDisruptionBudget(ctx context.Context, pod *corev1.Pod, dryRun bool) error {
	switch {
	case pod.Status.Phase == corev1.PodSucceeded, pod.Status.Phase == corev1.PodFailed,
		pod.Status.Phase == corev1.PodPending, pod.DeletionTimestamp != nil:
		return nil
	}
	pdbRes, _ := h.reg.Lookup(policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets"))
	entries, _ := h.cache.list(pdbRes, pdbRes.NamespacePrefix(pod.Namespace), nil)
	var matching []*policyv1.PodDisruptionBudget
	for _, pe := range entries {
		pdb := pe.obj.(*policyv1.PodDisruptionBudget)
		if pdb.Spec.Selector == nil {
			continue // selects nothing
		}
		// In policy/v1 an empty selector selects every pod of the namespace.
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		matching = append(matching, pdb)
	}
	switch len(matching) {
	case 0:
		return nil
	case 1:
	default:
		return apierrors.NewInternalError(fmt.Errorf("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
	}
	pdb := matching[0]
	if !podIsReady(pod) {
		policy := policyv1.IfHealthyBudget
		if pdb.Spec.UnhealthyPodEvictionPolicy != nil {
			policy = *pdb.Spec.UnhealthyPodEvictionPolicy
		}
		if policy == policyv1.AlwaysAllow ||
			(pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0) {
			return nil
		}
	}
	_, err := h.update(ctx, pdbRes, pdb.Namespace, pdb.Name, updateOptions{kind: updateStatus, dryRun: dryRun, system: true},
		func(cur runtime.Object) (runtime.Object, error) {
			b := cur.(*policyv1.PodDisruptionBudget)
			b.ResourceVersion = "" // decided on this very version: retry on conflict
			if err := budgetAllowsDisruption(b); err != nil {
				return nil, err
			}
			b.Status.DisruptionsAllowed--
			if b.Status.DisruptedPods == nil {
				b.Status.DisruptedPods = map[string]metav1.Time{}
			}
			b.Status.DisruptedPods[pod.Name] = metav1.NewTime(h.clock.Now())
			return b, nil
		})
	return err
}

// budgetAllowsDisruption says why pdb allows no eviction now, or nil.
func budgetAllowsDisruption(pdb *policyv1.PodDisruptionBudget) error {
	tooMany := func(cause string) error {
		err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
		return err
	}
	switch {
	case pdb.Status.ObservedGeneration < pdb.Generation:
		return tooMany(fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.Name))
	case pdb.Status.DisruptionsAllowed < 0:
		return apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), pdb.Name, fmt.Errorf("pdb disruptions allowed is negative"))
	case len(pdb.Status.DisruptedPods) > maxDisruptedPods:
		return apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), pdb.Name, fmt.Errorf("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
	case pdb.Status.DisruptionsAllowed == 0:
		return tooMany(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy))
	}
	return nil
}

func podIsReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
