package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Exit code and reason of containers stopped because their pod was deleted.
const (
	killedExitCode = 137
	killedReason   = "Error"
)

// syncPod acts as the kubelet for one pod: start it, finish it (Job pods)
// or complete its deletion.
func (s *Sim) syncPod(ctx context.Context, key string) error {
	obj, exists, err := s.podInformer.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	if !exists {
		s.forgetPod(key)
		return nil
	}
	pod := obj.(*corev1.Pod)
	n := s.nodes[pod.Spec.NodeName]
	if n == nil {
		s.forgetPod(key)
		return nil
	}
	if n.isStopped() {
		return nil // a dead kubelet does nothing; StartNode syncs it again
	}
	if pod.DeletionTimestamp != nil {
		return s.deletePod(ctx, key, pod)
	}
	if isTerminal(pod) {
		s.releaseIP(key)
		return nil
	}
	now := s.cfg.Clock.Now()
	job := isJobPod(pod)
	if job && pod.Status.Phase == corev1.PodRunning && pod.Status.StartTime != nil {
		end := pod.Status.StartTime.Add(s.cfg.JobPodDuration)
		if !now.Before(end) {
			return s.writeStatus(ctx, pod, s.succeededStatus(pod, now))
		}
		s.podTimers.AddAfter(key, end.Sub(now))
	}
	st, err := s.runningStatus(key, pod, n, now)
	if err != nil {
		return err
	}
	if apiequality.Semantic.DeepEqual(&pod.Status, st) {
		return nil
	}
	if err := s.writeStatus(ctx, pod, st); err != nil {
		return err
	}
	if job && pod.Status.Phase != corev1.PodRunning {
		s.podTimers.AddAfter(key, s.cfg.JobPodDuration)
	}
	return nil
}

func (s *Sim) writeStatus(ctx context.Context, pod *corev1.Pod, st *corev1.PodStatus) error {
	p := pod.DeepCopy()
	p.Status = *st
	_, err := s.cfg.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		// The informer brings the newer version, which is synced again.
		return nil
	}
	return fmt.Errorf("updating status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
}

// deletePod finishes the deletion of a pod: its containers stop at once and
// the pod is deleted with grace period 0. A pod with finalizers stays until
// they are removed, so it is first given a terminal phase, as the kubelet does.
func (s *Sim) deletePod(ctx context.Context, key string, pod *corev1.Pod) error {
	s.mu.Lock()
	done := s.deleted[key] == pod.UID
	s.deleted[key] = pod.UID
	s.mu.Unlock()
	if done {
		return nil
	}
	err := s.finishDeletion(ctx, pod)
	if err != nil {
		s.mu.Lock()
		delete(s.deleted, key)
		s.mu.Unlock()
	}
	return err
}

func (s *Sim) finishDeletion(ctx context.Context, pod *corev1.Pod) error {
	pods := s.cfg.Client.CoreV1().Pods(pod.Namespace)
	if len(pod.Finalizers) > 0 && !isTerminal(pod) {
		p := pod.DeepCopy()
		p.Status = *s.killedStatus(pod, s.cfg.Clock.Now())
		if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("updating status of deleted pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// forgetPod drops what the simulator remembers of a pod that is gone.
func (s *Sim) forgetPod(key string) {
	s.releaseIP(key)
	s.mu.Lock()
	delete(s.deleted, key)
	s.mu.Unlock()
}

func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func isJobPod(pod *corev1.Pod) bool {
	for _, r := range pod.OwnerReferences {
		if r.Kind == "Job" {
			return true
		}
	}
	return false
}

// podIP returns the address of pod: the one it already has, the one handed
// out to it before, or the next free one of its node's podCIDR (a fake
// range when the node has none).
func (s *Sim) podIP(key string, pod *corev1.Pod, n *simNode) (string, error) {
	if pod.Spec.HostNetwork {
		return n.internalIP, nil
	}
	cidr := fakeRange(n.index)
	if node, err := s.nodeLister.Get(n.name); err == nil && node.Spec.PodCIDR != "" {
		if _, c, err := net.ParseCIDR(node.Spec.PodCIDR); err == nil && c.IP.To4() != nil {
			cidr = c
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.ips == nil || n.ips.cidr != cidr.String() {
		n.ips = newIPAllocator(cidr)
	}
	prev, had := s.podIPs[key]
	if had && prev.uid != pod.UID {
		s.releaseLocked(key)
		had = false
	}
	switch {
	case pod.Status.PodIP != "":
		n.ips.mark(pod.Status.PodIP)
		s.podIPs[key] = podIP{node: n.name, ip: pod.Status.PodIP, uid: pod.UID}
		return pod.Status.PodIP, nil
	case had && prev.node == n.name:
		return prev.ip, nil
	}
	ip := n.ips.allocate()
	if ip == "" {
		return "", fmt.Errorf("no pod address left on node %s (%s)", n.name, n.ips.cidr)
	}
	s.podIPs[key] = podIP{node: n.name, ip: ip, uid: pod.UID}
	return ip, nil
}

func (s *Sim) releaseIP(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(key)
}

func (s *Sim) releaseLocked(key string) {
	p, ok := s.podIPs[key]
	if !ok {
		return
	}
	delete(s.podIPs, key)
	if n := s.nodes[p.node]; n != nil && n.ips != nil {
		n.ips.release(p.ip)
	}
}

// runningStatus is pod's status once its containers run: phase Running,
// every condition True, addresses, container statuses running and ready.
// What is already so (times, addresses, container IDs) is kept.
func (s *Sim) runningStatus(key string, pod *corev1.Pod, n *simNode, now time.Time) (*corev1.PodStatus, error) {
	ip, err := s.podIP(key, pod, n)
	if err != nil {
		return nil, err
	}
	st := pod.Status.DeepCopy()
	st.Phase = corev1.PodRunning
	st.Reason, st.Message = "", ""
	st.HostIP = n.internalIP
	st.HostIPs = []corev1.HostIP{{IP: n.internalIP}}
	st.PodIP = ip
	st.PodIPs = []corev1.PodIP{{IP: ip}}
	if st.StartTime == nil {
		st.StartTime = ptr.To(metav1.NewTime(now))
	}
	started := *st.StartTime
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		setCondition(st, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue}, now)
	}
	st.InitContainerStatuses = containerStatuses(pod, pod.Spec.InitContainers, st.InitContainerStatuses, func(c corev1.Container, old *corev1.ContainerStatus) corev1.ContainerStatus {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return runningContainer(pod, c, old, started)
		}
		if old != nil && old.State.Terminated != nil && old.State.Terminated.ExitCode == 0 {
			return *old
		}
		cs := newContainerStatus(pod, c)
		cs.Ready = true
		cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: started, FinishedAt: started, ContainerID: cs.ContainerID}
		return cs
	})
	st.ContainerStatuses = containerStatuses(pod, pod.Spec.Containers, st.ContainerStatuses, func(c corev1.Container, old *corev1.ContainerStatus) corev1.ContainerStatus {
		return runningContainer(pod, c, old, started)
	})
	return st, nil
}

// succeededStatus is the status of a pod whose containers all exited 0.
func (s *Sim) succeededStatus(pod *corev1.Pod, now time.Time) *corev1.PodStatus {
	return s.terminatedStatus(pod, now, corev1.PodSucceeded, 0, "Completed")
}

// killedStatus is the status of a pod whose containers were stopped
// because it is being deleted.
func (s *Sim) killedStatus(pod *corev1.Pod, now time.Time) *corev1.PodStatus {
	return s.terminatedStatus(pod, now, corev1.PodFailed, killedExitCode, killedReason)
}

func (s *Sim) terminatedStatus(pod *corev1.Pod, now time.Time, phase corev1.PodPhase, exitCode int32, reason string) *corev1.PodStatus {
	st := pod.Status.DeepCopy()
	st.Phase = phase
	if st.StartTime == nil {
		st.StartTime = ptr.To(metav1.NewTime(now))
	}
	started := *st.StartTime
	setCondition(st, corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse}, now)
	setCondition(st, corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, Reason: "PodCompleted"}, now)
	setCondition(st, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted"}, now)
	setCondition(st, corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: "PodCompleted"}, now)
	setCondition(st, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, now)
	finished := metav1.NewTime(now)
	terminate := func(c corev1.Container, old *corev1.ContainerStatus) corev1.ContainerStatus {
		if old != nil && old.State.Terminated != nil {
			return *old
		}
		cs := newContainerStatus(pod, c)
		if old != nil {
			cs = *old.DeepCopy()
			cs.State = corev1.ContainerState{}
		}
		from := started
		if old != nil && old.State.Running != nil {
			from = old.State.Running.StartedAt
		}
		cs.Ready, cs.Started = false, ptr.To(false)
		cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: exitCode, Reason: reason, StartedAt: from, FinishedAt: finished, ContainerID: cs.ContainerID}
		return cs
	}
	st.InitContainerStatuses = containerStatuses(pod, pod.Spec.InitContainers, st.InitContainerStatuses, terminate)
	st.ContainerStatuses = containerStatuses(pod, pod.Spec.Containers, st.ContainerStatuses, terminate)
	return st
}

func runningContainer(pod *corev1.Pod, c corev1.Container, old *corev1.ContainerStatus, started metav1.Time) corev1.ContainerStatus {
	if old != nil && old.State.Running != nil && old.Ready {
		return *old
	}
	cs := newContainerStatus(pod, c)
	cs.Ready, cs.Started = true, ptr.To(true)
	cs.State.Running = &corev1.ContainerStateRunning{StartedAt: started}
	return cs
}

// containerStatuses builds one status per container, in spec order.
func containerStatuses(pod *corev1.Pod, containers []corev1.Container, old []corev1.ContainerStatus, f func(corev1.Container, *corev1.ContainerStatus) corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(containers) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(containers))
	for _, c := range containers {
		var prev *corev1.ContainerStatus
		for i := range old {
			if old[i].Name == c.Name {
				prev = &old[i]
				break
			}
		}
		out = append(out, f(c, prev))
	}
	return out
}

func newContainerStatus(pod *corev1.Pod, c corev1.Container) corev1.ContainerStatus {
	id := sha256.Sum256([]byte(string(pod.UID) + "/" + c.Name))
	img := sha256.Sum256([]byte(c.Image))
	return corev1.ContainerStatus{
		Name:        c.Name,
		Image:       c.Image,
		ImageID:     "sim://" + c.Image + "@sha256:" + hex.EncodeToString(img[:]),
		ContainerID: "sim://" + hex.EncodeToString(id[:]),
		Started:     ptr.To(false),
	}
}

// setCondition sets a condition of st, keeping its transition time when its
// status does not change.
func setCondition(st *corev1.PodStatus, c corev1.PodCondition, now time.Time) {
	for i := range st.Conditions {
		old := &st.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			if c.Type == corev1.PodScheduled {
				return // the scheduler's
			}
			c.LastTransitionTime = old.LastTransitionTime
			c.LastProbeTime = old.LastProbeTime
			c.ObservedGeneration = old.ObservedGeneration
		} else {
			c.LastTransitionTime = metav1.NewTime(now)
		}
		*old = c
		return
	}
	c.LastTransitionTime = metav1.NewTime(now)
	st.Conditions = append(st.Conditions, c)
}
