package nodelifecycle

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Reasons and messages of the conditions of a node that went silent.
const (
	reasonUnknown       = "NodeStatusUnknown"
	messageUnknown      = "Kubelet stopped posting node status."
	reasonNeverUpdated  = "NodeStatusNeverUpdated"
	messageNeverUpdated = "Kubelet never posted node status."
)

// monitoredConditions are set to Unknown when a node goes silent.
var monitoredConditions = []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure}

// monitor looks at node heartbeats every MonitorPeriod until ctx ends.
func (c *Controller) monitor(ctx context.Context) {
	t := c.cfg.Clock.NewTicker(c.cfg.MonitorPeriod)
	defer t.Stop()
	c.monitorOnce(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			c.monitorOnce(ctx)
		}
	}
}

// monitorOnce records the heartbeats seen since the last pass (a new Lease
// renewTime or Ready heartbeat counts as a probe at this controller's
// now, as upstream, so clocks of nodes do not matter) and marks the nodes
// whose last probe is older than the grace period.
func (c *Controller) monitorOnce(ctx context.Context) {
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		c.log.Error("listing nodes", "err", err)
		return
	}
	now := c.cfg.Clock.Now()
	seen := make(map[string]bool, len(nodes))
	var stale []staleNode
	for _, node := range nodes {
		seen[node.Name] = true
		ready := nodeCondition(node, corev1.NodeReady)
		var heartbeat, renew time.Time
		if ready != nil {
			heartbeat = ready.LastHeartbeatTime.Time
		}
		if l := c.lease(node.Name); l != nil && l.Spec.RenewTime != nil {
			renew = l.Spec.RenewTime.Time
		}
		h := c.health[node.Name]
		if h == nil {
			h = &nodeHealth{probe: now, heartbeat: heartbeat, renew: renew}
			c.health[node.Name] = h
		}
		if !heartbeat.Equal(h.heartbeat) {
			h.heartbeat, h.probe = heartbeat, now
		}
		if !renew.Equal(h.renew) {
			h.renew, h.probe = renew, now
		}
		grace := c.cfg.NodeMonitorGracePeriod
		if ready == nil {
			grace = c.cfg.NodeStartupGracePeriod
		}
		if now.After(h.probe.Add(grace)) && !allUnknown(node) {
			stale = append(stale, staleNode{node: node, heartbeat: heartbeat})
		}
	}
	for name := range c.health {
		if !seen[name] {
			delete(c.health, name)
		}
	}
	if len(stale) == 0 {
		return
	}
	sem := make(chan struct{}, c.cfg.Workers)
	var wg sync.WaitGroup
	for _, s := range stale {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.markUnknown(ctx, s, now)
		}()
	}
	wg.Wait()
}

type staleNode struct {
	node      *corev1.Node
	heartbeat time.Time // the Ready heartbeat the monitor judged stale
}

func allUnknown(node *corev1.Node) bool {
	for _, t := range monitoredConditions {
		if c := nodeCondition(node, t); c == nil || c.Status != corev1.ConditionUnknown {
			return false
		}
	}
	return true
}

// markUnknown sets the monitored conditions of a silent node to Unknown,
// unless its kubelet posted a status meanwhile.
func (c *Controller) markUnknown(ctx context.Context, s staleNode, now time.Time) {
	node := s.node
	nodes := c.cfg.Client.CoreV1().Nodes()
	for attempt := 0; attempt < 2; attempt++ {
		n := node.DeepCopy()
		if !setUnknown(&n.Status, node.CreationTimestamp, now) {
			return
		}
		_, err := nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{})
		if err == nil {
			c.log.Info("node stopped posting status", "node", node.Name)
			if readyStatus(node) == corev1.ConditionTrue {
				c.nodeRec.Eventf(node, corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: %s", node.Name, "NodeNotReady")
			}
			return
		}
		if !apierrors.IsConflict(err) {
			if !apierrors.IsNotFound(err) && ctx.Err() == nil {
				c.log.Info("marking node unknown failed, next pass retries", "node", node.Name, "err", err)
			}
			return
		}
		fresh, err := nodes.Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			return
		}
		if r := nodeCondition(fresh, corev1.NodeReady); r != nil && !r.LastHeartbeatTime.Time.Equal(s.heartbeat) {
			return // it just posted: the next pass judges again
		}
		node = fresh
	}
}

// setUnknown sets the monitored conditions of st to Unknown, adding those
// a node never posted; it reports whether anything changed.
func setUnknown(st *corev1.NodeStatus, created metav1.Time, now time.Time) bool {
	changed := false
	t := metav1.NewTime(now)
	for _, ct := range monitoredConditions {
		var cond *corev1.NodeCondition
		for i := range st.Conditions {
			if st.Conditions[i].Type == ct {
				cond = &st.Conditions[i]
			}
		}
		switch {
		case cond == nil:
			st.Conditions = append(st.Conditions, corev1.NodeCondition{
				Type: ct, Status: corev1.ConditionUnknown, Reason: reasonNeverUpdated, Message: messageNeverUpdated,
				LastHeartbeatTime: created, LastTransitionTime: t,
			})
			changed = true
		case cond.Status != corev1.ConditionUnknown:
			cond.Status = corev1.ConditionUnknown
			cond.Reason = reasonUnknown
			cond.Message = messageUnknown
			cond.LastTransitionTime = t
			changed = true
		}
	}
	return changed
}
