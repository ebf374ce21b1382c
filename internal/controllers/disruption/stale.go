package disruption

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// StalePodDisruptionTimeout is how long a pod may carry a True
// DisruptionTarget condition without being deleted before the controller
// resets the condition to False: whoever meant to disrupt it (an eviction,
// a preemption, a taint eviction) did not follow through.
const StalePodDisruptionTimeout = 2 * time.Minute

// staleDisruption reports whether pod carries a True DisruptionTarget
// condition it should lose, and in how long. Conditions the kubelet set
// never go stale (it may take long to stop the pod), nor do those of pods
// being deleted or finished.
func staleDisruption(pod *corev1.Pod, now time.Time) (bool, time.Duration) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, 0
	}
	c := controllerutil.PodCondition(pod.Status.Conditions, corev1.DisruptionTarget)
	if c == nil || c.Status != corev1.ConditionTrue || c.Reason == corev1.PodReasonTerminationByKubelet {
		return false, 0
	}
	return true, max(StalePodDisruptionTimeout-now.Sub(c.LastTransitionTime.Time), 0)
}

// checkStale queues pod for a condition reset when it has a stale one.
func (c *Controller) checkStale(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if stale, after := staleDisruption(pod, c.cfg.Clock.Now()); stale {
		if key, ok := controllerutil.KeyOf(pod); ok {
			c.staleQueue.AddAfter(key, after)
		}
	}
}

// syncStale resets the stale DisruptionTarget condition of the pod key.
func (c *Controller) syncStale(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	now := c.cfg.Clock.Now()
	stale, after := staleDisruption(pod, now)
	if !stale {
		return nil
	}
	if after > 0 {
		c.staleQueue.AddAfter(key, after)
		return nil
	}
	upd := pod.DeepCopy()
	cond := controllerutil.PodCondition(upd.Status.Conditions, corev1.DisruptionTarget)
	cond.Status = corev1.ConditionFalse
	cond.Reason, cond.Message = "", ""
	cond.LastTransitionTime = metav1.NewTime(now)
	if _, err := c.cfg.Client.CoreV1().Pods(ns).UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("resetting stale DisruptionTarget condition of %s: %w", key, err)
	}
	c.log.Info("reset stale DisruptionTarget condition", "pod", key)
	return nil
}
