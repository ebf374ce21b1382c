package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// policyVerdict is what spec.podFailurePolicy says about one failed pod.
type policyVerdict struct {
	// failJob holds the Job's failure message when a FailJob rule matched.
	failJob string
	// count is false when an Ignore rule matched: the failure does not
	// count toward backoffLimit.
	count bool
}

// judgeFailedPod applies policy's rules in order to a failed pod; the first
// matching rule decides. Without a match (or a policy) the failure counts.
// FailIndex needs backoffLimitPerIndex, which Sampan does not implement:
// such a rule counts the failure.
func judgeFailedPod(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) policyVerdict {
	if policy == nil {
		return policyVerdict{count: true}
	}
	for i, rule := range policy.Rules {
		var match string
		switch {
		case rule.OnExitCodes != nil:
			if cs := matchExitCodes(pod, rule.OnExitCodes); cs != nil {
				match = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %v matching %v rule at index %d",
					cs.Name, pod.Namespace, pod.Name, cs.State.Terminated.ExitCode, rule.Action, i)
			}
		case len(rule.OnPodConditions) > 0:
			if cond := matchPodConditions(pod, rule.OnPodConditions); cond != nil {
				match = fmt.Sprintf("Pod %s/%s has condition %v matching %v rule at index %d",
					pod.Namespace, pod.Name, cond.Type, rule.Action, i)
			}
		}
		if match == "" {
			continue
		}
		switch rule.Action {
		case batchv1.PodFailurePolicyActionIgnore:
			return policyVerdict{count: false}
		case batchv1.PodFailurePolicyActionFailJob:
			return policyVerdict{failJob: match, count: true}
		default: // Count, FailIndex
			return policyVerdict{count: true}
		}
	}
	return policyVerdict{count: true}
}

// matchExitCodes returns the first terminated container (regular ones
// first, then init containers) with a non-zero exit code that req matches.
func matchExitCodes(pod *corev1.Pod, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for i := range list {
			cs := &list[i]
			term := cs.State.Terminated
			if term == nil || term.ExitCode == 0 {
				continue
			}
			if req.ContainerName != nil && *req.ContainerName != cs.Name {
				continue
			}
			in := slices.Contains(req.Values, term.ExitCode)
			if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) || (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
				return cs
			}
		}
	}
	return nil
}

func matchPodConditions(pod *corev1.Pod, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		for _, p := range patterns {
			if c.Type == p.Type && c.Status == p.Status {
				return c
			}
		}
	}
	return nil
}
