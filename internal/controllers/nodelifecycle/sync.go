package nodelifecycle

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

// syncNode records node registration and removal events and brings the
// node's managed taints in line with its conditions.
func (c *Controller) syncNode(ctx context.Context, name string) error {
	node, err := c.nodeLister.Get(name)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		ref := c.known[name]
		delete(c.known, name)
		delete(c.firstSeen, name)
		c.mu.Unlock()
		if ref != nil {
			c.nodeRec.Eventf(ref, corev1.EventTypeNormal, "RemovingNode", "Node %s event: Removing Node %s from Controller", name, name)
		}
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	_, seen := c.known[name]
	if !seen {
		c.known[name] = &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}
	}
	c.mu.Unlock()
	if !seen {
		c.nodeRec.Eventf(node, corev1.EventTypeNormal, "RegisteredNode", "Node %s event: Registered Node %s in Controller", name, name)
	}
	c.pruneFirstSeen(node)

	nodes := c.cfg.Client.CoreV1().Nodes()
	for attempt := 0; ; attempt++ {
		taints, changed := reconcileTaints(node, c.cfg.Clock.Now())
		if !changed {
			return nil
		}
		n := node.DeepCopy()
		n.Spec.Taints = taints
		_, err := nodes.Update(ctx, n, metav1.UpdateOptions{})
		switch {
		case err == nil:
			c.log.Debug("node taints updated", "node", name, "taints", taints)
			return nil
		case apierrors.IsNotFound(err):
			return nil
		case !apierrors.IsConflict(err) || attempt > 0:
			return fmt.Errorf("updating taints of node %s: %w", name, err)
		}
		if node, err = nodes.Get(ctx, name, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("getting node %s: %w", name, err)
		}
	}
}

// syncPod marks a pod on a node that is not Ready as not Ready, and
// evicts it when its node's NoExecute taints say so.
func (c *Controller) syncPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.unschedule(key)
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return nil
	}
	node, err := c.nodeLister.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return nil // the pod garbage collector's
	}
	if err != nil {
		return err
	}
	now := c.cfg.Clock.Now()
	if st := readyStatus(node); st == corev1.ConditionFalse || st == corev1.ConditionUnknown {
		if err := c.markPodNotReady(ctx, pod, now); err != nil {
			return err
		}
	}
	if pod.DeletionTimestamp != nil {
		c.unschedule(key)
		return nil
	}
	taints := noExecuteTaints(node)
	at, evict := time.Time{}, false
	if len(taints) > 0 {
		at, evict = evictionTime(pod.Spec.Tolerations, taints, now, c.taintAdded(node, now))
	}
	if !evict {
		if c.unschedule(key) {
			c.evictRec.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Cancelling deletion of Pod %s", key)
		}
		return nil
	}
	if at.After(now) {
		c.mu.Lock()
		c.scheduled[key] = at
		c.mu.Unlock()
		c.pods.AddAfter(key, at.Sub(now))
		return nil
	}
	c.unschedule(key)
	return c.evict(ctx, pod, now)
}

// unschedule forgets the eviction planned for key, reporting whether there was one.
func (c *Controller) unschedule(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.scheduled[key]
	delete(c.scheduled, key)
	return ok
}

// markPodNotReady sets the Ready condition of pod False (upstream's
// MarkPodsNotReady): its node cannot vouch for it any more.
func (c *Controller) markPodNotReady(ctx context.Context, pod *corev1.Pod, now time.Time) error {
	cond := controllerutil.PodCondition(pod.Status.Conditions, corev1.PodReady)
	if cond == nil || cond.Status == corev1.ConditionFalse {
		return nil
	}
	p := pod.DeepCopy()
	cond = controllerutil.PodCondition(p.Status.Conditions, corev1.PodReady)
	cond.Status = corev1.ConditionFalse
	cond.LastTransitionTime = metav1.NewTime(now)
	_, err := c.cfg.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("marking pod %s not ready: %w", controllerutil.PodKey(pod), err)
	}
	c.nodeRec.Eventf(pod, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	return nil
}

// evict deletes pod for its node's NoExecute taints, after recording why
// in an event and a DisruptionTarget condition.
func (c *Controller) evict(ctx context.Context, pod *corev1.Pod, now time.Time) error {
	key := controllerutil.PodKey(pod)
	c.log.Info("evicting pod for NoExecute taints", "pod", key, "node", pod.Spec.NodeName)
	c.evictRec.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
	pods := c.cfg.Client.CoreV1().Pods(pod.Namespace)
	if cond := controllerutil.PodCondition(pod.Status.Conditions, corev1.DisruptionTarget); cond == nil || cond.Status != corev1.ConditionTrue {
		p := pod.DeepCopy()
		target := corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByTaintManager",
			Message: "Taint manager: deleting due to NoExecute taint", LastTransitionTime: metav1.NewTime(now),
		}
		if cond := controllerutil.PodCondition(p.Status.Conditions, corev1.DisruptionTarget); cond != nil {
			*cond = target
		} else {
			p.Status.Conditions = append(p.Status.Conditions, target)
		}
		_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil && !apierrors.IsConflict(err):
			return fmt.Errorf("adding the DisruptionTarget condition to pod %s: %w", key, err)
		}
	}
	err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("evicting pod %s: %w", key, err)
	}
	return nil
}

// taintAdded returns when each NoExecute taint of node was added: its
// timeAdded, or for a taint without one, when this controller first saw it.
func (c *Controller) taintAdded(node *corev1.Node, now time.Time) func(corev1.Taint) time.Time {
	return func(t corev1.Taint) time.Time {
		if t.TimeAdded != nil {
			return t.TimeAdded.Time
		}
		k := corev1.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect}
		c.mu.Lock()
		defer c.mu.Unlock()
		m := c.firstSeen[node.Name]
		if m == nil {
			m = map[corev1.Taint]time.Time{}
			c.firstSeen[node.Name] = m
		}
		if at, ok := m[k]; ok {
			return at
		}
		m[k] = now
		return now
	}
}

// pruneFirstSeen forgets the taints node no longer has.
func (c *Controller) pruneFirstSeen(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.firstSeen[node.Name]
	for k := range m {
		found := false
		for _, t := range node.Spec.Taints {
			if t.Key == k.Key && t.Value == k.Value && t.Effect == k.Effect && t.TimeAdded == nil {
				found = true
				break
			}
		}
		if !found {
			delete(m, k)
		}
	}
}
