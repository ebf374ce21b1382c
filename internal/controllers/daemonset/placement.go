package daemonset

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/sampan-dev/sampan/internal/controllers/history"
)

const (
	// TemplateGenerationAnnotation is where the API server keeps a
	// DaemonSet's template generation (apps/v1 has no field for it).
	TemplateGenerationAnnotation = appsv1.DeprecatedTemplateGeneration
	// TemplateGenerationLabel marks a pod with the template generation it
	// was created from.
	TemplateGenerationLabel = "pod-template-generation"
	// nodeNameField is the node field a DaemonSet pod's affinity pins.
	nodeNameField = "metadata.name"
)

// daemonTolerations are added to every DaemonSet pod, as upstream does:
// daemons keep running on nodes that are not ready, unreachable, under
// pressure or cordoned.
var daemonTolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
}

// hostNetworkToleration is added to pods on the host network, which do not
// need the pod network to be up.
var hostNetworkToleration = corev1.Toleration{Key: corev1.TaintNodeNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}

// addDaemonTolerations adds (or replaces with) the daemon tolerations in spec.
func addDaemonTolerations(spec *corev1.PodSpec) {
	tols := daemonTolerations
	if spec.HostNetwork {
		tols = append(append([]corev1.Toleration(nil), daemonTolerations...), hostNetworkToleration)
	}
	for _, t := range tols {
		addOrUpdateToleration(spec, t)
	}
}

// addOrUpdateToleration puts t into spec: a toleration of the same key,
// operator, value and effect is replaced, otherwise t is appended.
func addOrUpdateToleration(spec *corev1.PodSpec, t corev1.Toleration) {
	for i := range spec.Tolerations {
		if spec.Tolerations[i].MatchToleration(&t) {
			if !apiequality.Semantic.DeepEqual(spec.Tolerations[i], t) {
				spec.Tolerations[i] = t
			}
			return
		}
	}
	spec.Tolerations = append(spec.Tolerations, t)
}

// templateGeneration returns the DaemonSet's template generation from its
// annotation, or nil when the API server did not set one.
func templateGeneration(ds *appsv1.DaemonSet) *int64 {
	v, ok := ds.Annotations[TemplateGenerationAnnotation]
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// podTemplate returns the template pods of ds are created from: the
// DaemonSet's template with the daemon tolerations, the revision hash and
// template generation labels.
func podTemplate(ds *appsv1.DaemonSet, hash string) *corev1.PodTemplateSpec {
	t := ds.Spec.Template.DeepCopy()
	addDaemonTolerations(&t.Spec)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if gen := templateGeneration(ds); gen != nil {
		t.Labels[TemplateGenerationLabel] = strconv.FormatInt(*gen, 10)
	}
	if hash != "" {
		t.Labels[history.HashLabel] = hash
	}
	return t
}

// pinToNode returns affinity with its required node affinity pinning the
// pod to nodeName through a metadata.name matchFields term, replacing any
// node-name term the template had. The scheduler then places the pod.
func pinToNode(affinity *corev1.Affinity, nodeName string) *corev1.Affinity {
	term := corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{
		Key: nodeNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{nodeName},
	}}}
	if affinity == nil {
		affinity = &corev1.Affinity{}
	}
	if affinity.NodeAffinity == nil {
		affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil || len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) == 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}}
		return affinity
	}
	// Terms are ORed: pin each one to the node, keeping its label requirements.
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i := range terms {
		var fields []corev1.NodeSelectorRequirement
		for _, r := range terms[i].MatchFields {
			if r.Key != nodeNameField {
				fields = append(fields, r)
			}
		}
		terms[i].MatchFields = append(fields, term.MatchFields[0])
	}
	return affinity
}

// targetNode returns the node a pod of a DaemonSet is for: its
// spec.nodeName once bound, else the node its affinity pins it to.
func targetNode(pod *corev1.Pod) (string, error) {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName, nil
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return "", fmt.Errorf("pod %s has no node affinity", pod.Name)
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, r := range term.MatchFields {
			if r.Key == nodeNameField && r.Operator == corev1.NodeSelectorOpIn && len(r.Values) == 1 {
				return r.Values[0], nil
			}
		}
	}
	return "", fmt.Errorf("pod %s is not pinned to a node", pod.Name)
}

// shouldRun decides for one node: whether a daemon pod should be created
// there (run), and whether an existing one may stay (keep). A pod that
// does not tolerate a NoSchedule taint is not placed but may keep running;
// one that does not tolerate a NoExecute taint must go.
func shouldRun(node *corev1.Node, ds *appsv1.DaemonSet) (run, keep bool) {
	spec := &ds.Spec.Template.Spec
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return false, false
	}
	ok, err := nodeaffinity.NewRequiredNodeAffinity(spec.NodeSelector, spec.Affinity).Match(node)
	if err != nil || !ok {
		return false, false
	}
	tols := make([]corev1.Toleration, 0, len(spec.Tolerations)+len(daemonTolerations)+1)
	tols = append(tols, spec.Tolerations...)
	ps := corev1.PodSpec{Tolerations: tols, HostNetwork: spec.HostNetwork}
	addDaemonTolerations(&ps)
	logger := klog.Background()
	_, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, ps.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}, false)
	if !untolerated {
		return true, true
	}
	_, mustGo := corev1helpers.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, ps.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	}, false)
	return false, !mustGo
}

// isUpdated reports whether pod was created from the current template:
// its revision hash or template generation matches.
func isUpdated(pod *corev1.Pod, hash string, gen *int64) bool {
	if hash != "" && pod.Labels[history.HashLabel] == hash {
		return true
	}
	return gen != nil && pod.Labels[TemplateGenerationLabel] == strconv.FormatInt(*gen, 10)
}

// olderFirst orders daemon pods to keep: scheduled before unscheduled,
// then older before newer.
func olderFirst(a, b *corev1.Pod) int {
	if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
		if a.Spec.NodeName != "" {
			return -1
		}
		return 1
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		if a.CreationTimestamp.Before(&b.CreationTimestamp) {
			return -1
		}
		return 1
	}
	return compareStrings(a.Name, b.Name)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
