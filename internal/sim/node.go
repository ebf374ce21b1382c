package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"runtime"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/version"
)

// Well-known node labels.
const (
	LabelHostname = "kubernetes.io/hostname"
	LabelOS       = "kubernetes.io/os"
	LabelArch     = "kubernetes.io/arch"
	// LabelType=sim marks simulated nodes.
	LabelType = "type"
)

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

// newNode is the Node object n registers with.
func (s *Sim) newNode(n *simNode) *corev1.Node {
	labels := map[string]string{
		LabelHostname: n.name,
		LabelOS:       "linux",
		LabelArch:     runtime.GOARCH,
		LabelType:     "sim",
	}
	maps.Copy(labels, s.cfg.Labels)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        n.name,
			Labels:      labels,
			Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0"},
		},
		Spec: corev1.NodeSpec{Taints: append([]corev1.Taint(nil), s.cfg.Taints...)},
	}
	s.setNodeStatus(n, node)
	return node
}

// setNodeStatus writes what the kubelet reports into node.Status: capacity,
// addresses, node info and fresh conditions (Ready, no pressure).
func (s *Sim) setNodeStatus(n *simNode, node *corev1.Node) {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              s.cfg.CPU,
		corev1.ResourceMemory:           s.cfg.Memory,
		corev1.ResourcePods:             s.cfg.Pods,
		corev1.ResourceEphemeralStorage: s.cfg.EphemeralStorage,
	}
	st := &node.Status
	st.Capacity = resources.DeepCopy()
	st.Allocatable = resources.DeepCopy()
	st.Phase = "" // deprecated, not set by kubelets any more
	st.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: n.internalIP},
		{Type: corev1.NodeHostName, Address: n.name},
	}
	st.DaemonEndpoints = corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}}
	id := sha256.Sum256([]byte(n.name))
	hexID := hex.EncodeToString(id[:16])
	st.NodeInfo = corev1.NodeSystemInfo{
		MachineID:               hexID,
		SystemUUID:              fmt.Sprintf("%s-%s-%s-%s-%s", hexID[0:8], hexID[8:12], hexID[12:16], hexID[16:20], hexID[20:32]),
		BootID:                  hexID,
		KernelVersion:           "sim",
		OSImage:                 "Sampan simulated node",
		ContainerRuntimeVersion: "sim://" + version.Agent(),
		KubeletVersion:          version.Agent(),
		OperatingSystem:         "linux",
		Architecture:            runtime.GOARCH,
	}
	now := metav1.NewTime(s.cfg.Clock.Now())
	want := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
	}
	for _, w := range want {
		w.LastHeartbeatTime = now
		w.LastTransitionTime = now
		found := false
		for i := range st.Conditions {
			c := &st.Conditions[i]
			if c.Type != w.Type {
				continue
			}
			found = true
			if c.Status == w.Status && !c.LastTransitionTime.IsZero() {
				w.LastTransitionTime = c.LastTransitionTime
			}
			*c = w
		}
		if !found {
			st.Conditions = append(st.Conditions, w)
		}
	}
}

// register creates n's Node (or takes over an existing one) and its Lease.
func (s *Sim) register(ctx context.Context, n *simNode) error {
	nodes := s.cfg.Client.CoreV1().Nodes()
	node, err := nodes.Create(ctx, s.newNode(n), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		node, err = s.postStatus(ctx, n)
	}
	if err != nil {
		return fmt.Errorf("registering node %s: %w", n.name, err)
	}
	return s.renewLease(ctx, n, node)
}

// postStatus refreshes n's status (the kubelet's node status update).
func (s *Sim) postStatus(ctx context.Context, n *simNode) (*corev1.Node, error) {
	nodes := s.cfg.Client.CoreV1().Nodes()
	cached, err := s.nodeLister.Get(n.name)
	if err != nil {
		// Not in the cache (yet): read it.
		if cached, err = nodes.Get(ctx, n.name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		node := cached.DeepCopy()
		s.setNodeStatus(n, node)
		if apiequality.Semantic.DeepEqual(node.Status, cached.Status) {
			return cached, nil
		}
		updated, err := nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err == nil {
			return updated, nil
		}
		if !apierrors.IsConflict(err) || attempt > 0 {
			return nil, err
		}
		if cached, err = nodes.Get(ctx, n.name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
	}
}

// renewLease creates or renews n's Lease in kube-node-lease. node, when
// known, becomes the Lease's owner so that it goes with the node.
func (s *Sim) renewLease(ctx context.Context, n *simNode, node *corev1.Node) error {
	leases := s.cfg.Client.CoordinationV1().Leases(NodeLeaseNamespace)
	n.mu.Lock()
	lease := n.lease
	n.mu.Unlock()
	now := metav1.NewMicroTime(s.cfg.Clock.Now())
	var (
		out *coordinationv1.Lease
		err error
	)
	for attempt := 0; ; attempt++ {
		if lease == nil {
			lease, err = leases.Get(ctx, n.name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				lease, err = nil, nil
			}
			if err != nil {
				return fmt.Errorf("getting lease of %s: %w", n.name, err)
			}
		}
		if lease == nil {
			out, err = leases.Create(ctx, s.newLease(n, node, now), metav1.CreateOptions{})
		} else {
			l := lease.DeepCopy()
			l.Spec.HolderIdentity = ptr.To(n.name)
			l.Spec.LeaseDurationSeconds = ptr.To(int32(s.cfg.LeaseDuration.Seconds()))
			l.Spec.RenewTime = &now
			if len(l.OwnerReferences) == 0 && node != nil {
				l.OwnerReferences = nodeOwner(node)
			}
			out, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		}
		if err == nil {
			break
		}
		if attempt > 0 || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)) {
			return fmt.Errorf("renewing lease of %s: %w", n.name, err)
		}
		lease = nil // read it again
	}
	n.mu.Lock()
	n.lease = out
	n.mu.Unlock()
	return nil
}

func (s *Sim) newLease(n *simNode, node *corev1.Node, now metav1.MicroTime) *coordinationv1.Lease {
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: NodeLeaseNamespace},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(n.name),
			LeaseDurationSeconds: ptr.To(int32(s.cfg.LeaseDuration.Seconds())),
			RenewTime:            &now,
		},
	}
	if node != nil {
		l.OwnerReferences = nodeOwner(node)
	}
	return l
}

func nodeOwner(node *corev1.Node) []metav1.OwnerReference {
	if node.UID == "" {
		return nil
	}
	return []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
}

// processBeat renews one Lease or node status that is due, and schedules
// the next one.
func (s *Sim) processBeat(ctx context.Context) bool {
	b, quit := s.beats.Get()
	if quit {
		return false
	}
	defer s.beats.Done(b)
	n := s.nodes[b.node]
	if n == nil || n.isStopped() {
		return true // StartNode schedules it again
	}
	var (
		err      error
		interval = s.cfg.RenewInterval
	)
	switch b.kind {
	case beatLease:
		node, _ := s.nodeLister.Get(n.name)
		err = s.renewLease(ctx, n, node)
	case beatStatus:
		interval = s.cfg.StatusInterval
		_, err = s.postStatus(ctx, n)
	}
	if err != nil {
		if ctx.Err() != nil {
			return true
		}
		s.log.Info("node heartbeat failed, will retry", "node", n.name, "err", err)
		s.beatRetries.AddRateLimited(b)
		return true
	}
	s.beatRetries.Forget(b)
	s.beats.AddAfter(b, interval)
	return true
}
