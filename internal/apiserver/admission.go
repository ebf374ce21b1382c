package apiserver

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultTolerationSeconds is how long a pod stays bound to a node that is
// not ready or unreachable before it is evicted, unless it says otherwise
// (upstream's DefaultTolerationSeconds admission plugin).
const DefaultTolerationSeconds int64 = 300

// admitCreate applies the mutating admission steps to a new object
// (storage version), after the server's own fields are set and before
// defaulting and validation.
func (h *apiHandler) admitCreate(obj runtime.Object) {
	if pod, ok := obj.(*corev1.Pod); ok {
		addDefaultTolerations(pod, h.notReadySeconds, h.unreachableSeconds)
	}
}

// addDefaultTolerations gives pod a NoExecute toleration of the not-ready
// and unreachable node taints for the given seconds, unless it already
// tolerates that taint with effect NoExecute (or every effect).
func addDefaultTolerations(pod *corev1.Pod, notReady, unreachable int64) {
	for _, d := range []struct {
		key     string
		seconds int64
	}{
		{corev1.TaintNodeNotReady, notReady},
		{corev1.TaintNodeUnreachable, unreachable},
	} {
		if toleratesNoExecute(pod.Spec.Tolerations, d.key) {
			continue
		}
		secs := d.seconds
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key:               d.key,
			Operator:          corev1.TolerationOpExists,
			Effect:            corev1.TaintEffectNoExecute,
			TolerationSeconds: &secs,
		})
	}
}

func toleratesNoExecute(tols []corev1.Toleration, key string) bool {
	for _, t := range tols {
		if (t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)) &&
			(t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
			return true
		}
	}
	return false
}

func secondsOr(v *int64, def int64) int64 {
	if v == nil {
		return def
	}
	return *v
}
