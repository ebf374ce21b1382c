package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// Requests that count for scoring a pod that requests nothing (upstream's
// non-zero defaults), so empty pods still spread by load.
const (
	defaultMilliCPURequest int64 = 100
	defaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// resources is an amount of the resources the scheduler accounts.
type resources struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// Scalar holds extended resources (e.g. nvidia.com/gpu, hugepages-*).
	Scalar map[corev1.ResourceName]int64
}

func (r *resources) addList(l corev1.ResourceList) {
	for name, q := range l {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
		default:
			if isScalar(name) {
				if r.Scalar == nil {
					r.Scalar = map[corev1.ResourceName]int64{}
				}
				r.Scalar[name] += q.Value()
			}
		}
	}
}

func (r *resources) add(o resources) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[k] += v
	}
}

func (r *resources) sub(o resources) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	for k, v := range o.Scalar {
		if r.Scalar != nil {
			r.Scalar[k] -= v
		}
	}
}

func (r *resources) setMax(o resources) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[k] = max(r.Scalar[k], v)
	}
}

func (r resources) clone() resources {
	c := r
	if r.Scalar != nil {
		c.Scalar = make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return c
}

// isScalar reports whether name is an extended resource, hugepages or an
// attachable-volumes count: anything but cpu, memory, ephemeral-storage and
// pods, which have fields of their own.
func isScalar(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourcePods:
		return false
	}
	return true
}

// podRequests returns what pod requests, as upstream computes it: the sum
// of its containers and sidecars, or the largest init container plus the
// sidecars started before it if that is more, plus the pod overhead; pod
// level resources replace the container sum when set. nonZero is the same
// for cpu and memory with containers that request nothing counted at the
// non-zero defaults.
func podRequests(pod *corev1.Pod) (req resources, nonZeroCPU, nonZeroMem int64) {
	var sum, sidecars, initMax resources
	var nzCPU, nzMem, nzSideCPU, nzSideMem, nzInitCPU, nzInitMem int64
	for i := range pod.Spec.Containers {
		r := pod.Spec.Containers[i].Resources.Requests
		sum.addList(r)
		c, m := nonZero(r)
		nzCPU += c
		nzMem += m
	}
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		var r resources
		r.addList(ic.Resources.Requests)
		c, m := nonZero(ic.Resources.Requests)
		if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars.add(r)
			nzSideCPU += c
			nzSideMem += m
			// A sidecar runs alongside the init containers after it.
			withPrev := sidecars.clone()
			initMax.setMax(withPrev)
			nzInitCPU, nzInitMem = max(nzInitCPU, nzSideCPU), max(nzInitMem, nzSideMem)
			continue
		}
		r.add(sidecars)
		initMax.setMax(r)
		nzInitCPU, nzInitMem = max(nzInitCPU, c+nzSideCPU), max(nzInitMem, m+nzSideMem)
	}
	if pod.Spec.Resources != nil && len(pod.Spec.Resources.Requests) > 0 {
		// Pod-level requests cover every container.
		sum, sidecars = resources{}, resources{}
		sum.addList(pod.Spec.Resources.Requests)
		nzCPU, nzMem = nonZero(pod.Spec.Resources.Requests)
		nzSideCPU, nzSideMem = 0, 0
		initMax = resources{}
		nzInitCPU, nzInitMem = 0, 0
	}
	sum.add(sidecars)
	sum.setMax(initMax)
	sum.addList(pod.Spec.Overhead)
	nonZeroCPU = max(nzCPU+nzSideCPU, nzInitCPU)
	nonZeroMem = max(nzMem+nzSideMem, nzInitMem)
	if pod.Spec.Overhead != nil {
		nonZeroCPU += pod.Spec.Overhead.Cpu().MilliValue()
		nonZeroMem += pod.Spec.Overhead.Memory().Value()
	}
	return sum, nonZeroCPU, nonZeroMem
}

func nonZero(l corev1.ResourceList) (milliCPU, mem int64) {
	milliCPU, mem = defaultMilliCPURequest, defaultMemoryRequest
	if q, ok := l[corev1.ResourceCPU]; ok {
		milliCPU = q.MilliValue()
	}
	if q, ok := l[corev1.ResourceMemory]; ok {
		mem = q.Value()
	}
	return milliCPU, mem
}

// hostPort is a port a pod takes on its node's addresses.
type hostPort struct {
	protocol corev1.Protocol
	ip       string // "" for every address
	port     int32
}

func podHostPorts(pod *corev1.Pod) []hostPort {
	var out []hostPort
	add := func(cs []corev1.Container) {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if p.HostPort <= 0 {
					continue
				}
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				ip := p.HostIP
				if ip == "0.0.0.0" || ip == "::" {
					ip = ""
				}
				out = append(out, hostPort{protocol: proto, ip: ip, port: p.HostPort})
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}

// affinityTerm is a parsed pod (anti-)affinity term.
type affinityTerm struct {
	namespaces  sets.Set[string]
	nsSelector  labels.Selector // nil: only namespaces
	selector    labels.Selector
	topologyKey string
	weight      int32 // preferred terms only
}

// matches reports whether pod (in a namespace with labels nsLabels) is
// selected by the term.
func (t *affinityTerm) matches(pod *corev1.Pod, nsLabels func(string) labels.Set) bool {
	if !t.namespaces.Has(pod.Namespace) {
		if t.nsSelector == nil || !t.nsSelector.Matches(nsLabels(pod.Namespace)) {
			return false
		}
	}
	return t.selector.Matches(labels.Set(pod.Labels))
}

func newAffinityTerm(pod *corev1.Pod, t *corev1.PodAffinityTerm, weight int32) (affinityTerm, error) {
	out := affinityTerm{topologyKey: t.TopologyKey, weight: weight, namespaces: sets.New(t.Namespaces...)}
	if t.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
		if err != nil {
			return out, err
		}
		out.nsSelector = sel
	}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		out.namespaces.Insert(pod.Namespace)
	}
	sel := labels.Everything()
	if t.LabelSelector != nil {
		// A nil selector matches nothing, as upstream.
		var err error
		sel, err = metav1.LabelSelectorAsSelector(t.LabelSelector)
		if err != nil {
			return out, err
		}
		if len(t.MatchLabelKeys) > 0 || len(t.MismatchLabelKeys) > 0 {
			sel = withLabelKeys(sel, pod.Labels, t.MatchLabelKeys, t.MismatchLabelKeys)
		}
	} else {
		sel = labels.Nothing()
	}
	out.selector = sel
	return out, nil
}

// withLabelKeys adds key=value (matchLabelKeys) and key!=value
// (mismatchLabelKeys) requirements for the pod's own label values.
func withLabelKeys(sel labels.Selector, podLabels map[string]string, match, mismatch []string) labels.Selector {
	for _, k := range match {
		if v, ok := podLabels[k]; ok {
			if r, err := labels.NewRequirement(k, "=", []string{v}); err == nil {
				sel = sel.Add(*r)
			}
		}
	}
	for _, k := range mismatch {
		if v, ok := podLabels[k]; ok {
			if r, err := labels.NewRequirement(k, "!=", []string{v}); err == nil {
				sel = sel.Add(*r)
			}
		}
	}
	return sel
}

// spreadConstraint is a parsed topology spread constraint.
type spreadConstraint struct {
	maxSkew       int32
	topologyKey   string
	hard          bool // DoNotSchedule
	selector      labels.Selector
	minDomains    int32
	honorAffinity bool // nodeAffinityPolicy Honor (the default)
	honorTaints   bool // nodeTaintsPolicy Honor (default Ignore)
}

// podInfo is what the scheduler computes once per pod: for the pod being
// scheduled, and for every pod in the cache.
type podInfo struct {
	pod        *corev1.Pod
	key        string
	req        resources
	nonZeroCPU int64
	nonZeroMem int64
	hostPorts  []hostPort

	// Scheduling inputs of a pod to place.
	nodeAffinity     *nodeaffinity.RequiredNodeAffinity // nil: none
	preferredNode    *nodeaffinity.PreferredSchedulingTerms
	tolerations      []corev1.Toleration
	spread           []spreadConstraint
	volumeSelectors  []*nodeaffinity.NodeSelector // from bound local PVs
	requiredAffinity []affinityTerm

	// Terms that also matter for the pods already placed.
	requiredAntiAffinity  []affinityTerm
	preferredAffinity     []affinityTerm
	preferredAntiAffinity []affinityTerm

	// groups are the spreading groups the pod belongs to: its controller
	// and the Services selecting it.
	groups []string

	parseErr error // of an invalid selector; the pod fits nowhere
}

func (pi *podInfo) hasAffinityTerms() bool {
	return len(pi.requiredAffinity)+len(pi.requiredAntiAffinity)+len(pi.preferredAffinity)+len(pi.preferredAntiAffinity) > 0
}

func (pi *podInfo) hasExistingTerms() bool {
	return len(pi.requiredAntiAffinity)+len(pi.preferredAffinity)+len(pi.preferredAntiAffinity) > 0
}

// newPodInfo parses pod's scheduling inputs. Spreading groups and volume
// selectors are filled by the caller, which has the listers.
func newPodInfo(pod *corev1.Pod) *podInfo {
	pi := &podInfo{pod: pod, key: pod.Namespace + "/" + pod.Name, tolerations: pod.Spec.Tolerations, hostPorts: podHostPorts(pod)}
	pi.req, pi.nonZeroCPU, pi.nonZeroMem = podRequests(pod)
	aff := pod.Spec.Affinity
	hasRequiredNode := aff != nil && aff.NodeAffinity != nil && aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
	if len(pod.Spec.NodeSelector) > 0 || hasRequiredNode {
		na := nodeaffinity.GetRequiredNodeAffinity(pod)
		pi.nodeAffinity = &na
	}
	if aff != nil && aff.NodeAffinity != nil && len(aff.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
		p, err := nodeaffinity.NewPreferredSchedulingTerms(aff.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
		if err != nil {
			pi.parseErr = err
		} else {
			pi.preferredNode = p
		}
	}
	if aff != nil && aff.PodAffinity != nil {
		for i := range aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			pi.addTerm(&pi.requiredAffinity, &aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[i], 1)
		}
		for i := range aff.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			w := &aff.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution[i]
			pi.addTerm(&pi.preferredAffinity, &w.PodAffinityTerm, w.Weight)
		}
	}
	if aff != nil && aff.PodAntiAffinity != nil {
		for i := range aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			pi.addTerm(&pi.requiredAntiAffinity, &aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[i], 1)
		}
		for i := range aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			w := &aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[i]
			pi.addTerm(&pi.preferredAntiAffinity, &w.PodAffinityTerm, w.Weight)
		}
	}
	for i := range pod.Spec.TopologySpreadConstraints {
		c := &pod.Spec.TopologySpreadConstraints[i]
		sc := spreadConstraint{
			maxSkew:       c.MaxSkew,
			topologyKey:   c.TopologyKey,
			hard:          c.WhenUnsatisfiable == corev1.DoNotSchedule,
			minDomains:    1,
			honorAffinity: c.NodeAffinityPolicy == nil || *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor,
			honorTaints:   c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor,
		}
		if c.MinDomains != nil && *c.MinDomains > 0 {
			sc.minDomains = *c.MinDomains
		}
		sel := labels.Nothing()
		if c.LabelSelector != nil {
			s, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
			if err != nil {
				pi.parseErr = err
				continue
			}
			sel = withLabelKeys(s, pod.Labels, c.MatchLabelKeys, nil)
		}
		sc.selector = sel
		pi.spread = append(pi.spread, sc)
	}
	return pi
}

func (pi *podInfo) addTerm(dst *[]affinityTerm, t *corev1.PodAffinityTerm, weight int32) {
	at, err := newAffinityTerm(pi.pod, t, weight)
	if err != nil {
		pi.parseErr = err
		return
	}
	*dst = append(*dst, at)
}

// controllerGroup is the spreading group of pod's controller, "" if none.
func controllerGroup(pod *corev1.Pod) string {
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		return "o/" + string(ref.UID)
	}
	return ""
}
