package nodelifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// Taint keys this controller manages (upstream's well-known taints).
const (
	TaintNotReady           = corev1.TaintNodeNotReady           // node.kubernetes.io/not-ready
	TaintUnreachable        = corev1.TaintNodeUnreachable        // node.kubernetes.io/unreachable
	TaintUnschedulable      = corev1.TaintNodeUnschedulable      // node.kubernetes.io/unschedulable
	TaintMemoryPressure     = corev1.TaintNodeMemoryPressure     // node.kubernetes.io/memory-pressure
	TaintDiskPressure       = corev1.TaintNodeDiskPressure       // node.kubernetes.io/disk-pressure
	TaintPIDPressure        = corev1.TaintNodePIDPressure        // node.kubernetes.io/pid-pressure
	TaintNetworkUnavailable = corev1.TaintNodeNetworkUnavailable // node.kubernetes.io/network-unavailable
)

// managed reports whether the (key, effect) pair is one this controller
// adds and removes.
func managed(t corev1.Taint) bool {
	switch t.Effect {
	case corev1.TaintEffectNoSchedule:
		switch t.Key {
		case TaintNotReady, TaintUnreachable, TaintUnschedulable, TaintMemoryPressure, TaintDiskPressure, TaintPIDPressure, TaintNetworkUnavailable:
			return true
		}
	case corev1.TaintEffectNoExecute:
		return t.Key == TaintNotReady || t.Key == TaintUnreachable
	}
	return false
}

// desiredTaints returns the managed taints node should carry: NoSchedule
// ones from its conditions and spec.unschedulable (upstream's
// TaintNodesByCondition), and the NoExecute not-ready or unreachable taint
// from its Ready condition (upstream's taint-based eviction).
func desiredTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	add := func(key string, effect corev1.TaintEffect) {
		out = append(out, corev1.Taint{Key: key, Effect: effect})
	}
	for _, c := range node.Status.Conditions {
		switch {
		case c.Type == corev1.NodeReady && c.Status == corev1.ConditionFalse:
			add(TaintNotReady, corev1.TaintEffectNoSchedule)
			add(TaintNotReady, corev1.TaintEffectNoExecute)
		case c.Type == corev1.NodeReady && c.Status == corev1.ConditionUnknown:
			add(TaintUnreachable, corev1.TaintEffectNoSchedule)
			add(TaintUnreachable, corev1.TaintEffectNoExecute)
		case c.Type == corev1.NodeMemoryPressure && c.Status == corev1.ConditionTrue:
			add(TaintMemoryPressure, corev1.TaintEffectNoSchedule)
		case c.Type == corev1.NodeDiskPressure && c.Status == corev1.ConditionTrue:
			add(TaintDiskPressure, corev1.TaintEffectNoSchedule)
		case c.Type == corev1.NodePIDPressure && c.Status == corev1.ConditionTrue:
			add(TaintPIDPressure, corev1.TaintEffectNoSchedule)
		case c.Type == corev1.NodeNetworkUnavailable && c.Status == corev1.ConditionTrue:
			add(TaintNetworkUnavailable, corev1.TaintEffectNoSchedule)
		}
	}
	if node.Spec.Unschedulable {
		add(TaintUnschedulable, corev1.TaintEffectNoSchedule)
	}
	return out
}

// reconcileTaints returns node's taints with the managed ones brought to
// desiredTaints, and whether they changed. Taints that stay keep their
// timeAdded; new NoExecute taints get timeAdded now; everything not
// managed is left alone.
func reconcileTaints(node *corev1.Node, now time.Time) ([]corev1.Taint, bool) {
	want := desiredTaints(node)
	wanted := func(t corev1.Taint) bool {
		for _, w := range want {
			if w.Key == t.Key && w.Effect == t.Effect {
				return true
			}
		}
		return false
	}
	var out []corev1.Taint
	changed := false
	have := map[corev1.Taint]bool{}
	for _, t := range node.Spec.Taints {
		if managed(t) && !wanted(t) {
			changed = true
			continue
		}
		if managed(t) {
			have[corev1.Taint{Key: t.Key, Effect: t.Effect}] = true
		}
		out = append(out, t)
	}
	for _, w := range want {
		if have[w] {
			continue
		}
		if w.Effect == corev1.TaintEffectNoExecute {
			w.TimeAdded = &metav1.Time{Time: now}
		}
		out = append(out, w)
		changed = true
	}
	return out, changed
}

// noExecuteTaints returns the NoExecute taints of node.
func noExecuteTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// evictionTime says when a pod with tolerations must leave a node with the
// NoExecute taints: now if one taint is not tolerated; otherwise the
// earliest moment a used toleration with tolerationSeconds runs out,
// counted from its taint's timeAdded (added(taint) gives it, with a
// fallback for taints without one); never (false) when every taint is
// tolerated for ever.
func evictionTime(tolerations []corev1.Toleration, taints []corev1.Taint, now time.Time, added func(corev1.Taint) time.Time) (time.Time, bool) {
	var (
		at    time.Time
		found bool
	)
	for i := range taints {
		taint := &taints[i]
		tolerated := false
		for j := range tolerations {
			tol := &tolerations[j]
			if !tol.ToleratesTaint(klog.Background(), taint, false) {
				continue
			}
			tolerated = true
			if tol.TolerationSeconds == nil {
				continue
			}
			d := max(time.Duration(*tol.TolerationSeconds)*time.Second, 0)
			t := added(*taint).Add(d)
			if *tol.TolerationSeconds <= 0 {
				t = now
			}
			if !found || t.Before(at) {
				at, found = t, true
			}
		}
		if !tolerated {
			return now, true
		}
	}
	return at, found
}
