package statefulset

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/controllers/history"
)

// memberName splits "<set>-<ordinal>" pod names.
var memberName = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// parentAndOrdinal returns the set name and ordinal encoded in a pod's
// name, or ordinal -1 when the name has no ordinal.
func parentAndOrdinal(pod *corev1.Pod) (string, int) {
	m := memberName.FindStringSubmatch(pod.Name)
	if m == nil {
		return "", -1
	}
	n, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(n)
}

func ordinalOf(pod *corev1.Pod) int {
	_, ord := parentAndOrdinal(pod)
	return ord
}

// isMember reports whether pod's name makes it one of set's pods.
func isMember(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, ord := parentAndOrdinal(pod)
	return ord >= 0 && parent == set.Name
}

// startOrdinal is the first ordinal of set (spec.ordinals.start, default 0).
func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func replicasOf(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inRange reports whether ordinal belongs to the set's current replicas.
func inRange(set *appsv1.StatefulSet, ord int) bool {
	start := startOrdinal(set)
	return ord >= start && ord < start+replicasOf(set)
}

func podName(set *appsv1.StatefulSet, ord int) string {
	return fmt.Sprintf("%s-%d", set.Name, ord)
}

// claimName is the name of the claim of template for the pod with ordinal.
func claimName(set *appsv1.StatefulSet, claim *corev1.PersistentVolumeClaim, ord int) string {
	return fmt.Sprintf("%s-%s-%d", claim.Name, set.Name, ord)
}

// newPod returns the pod with ordinal ord of set, built from set's template
// and labelled with revision.
func newPod(set *appsv1.StatefulSet, ord int, revision string) *corev1.Pod {
	pod := controllerutil.PodFromTemplate(&set.Spec.Template, set, controllerKind)
	pod.GenerateName = ""
	pod.Name = podName(set, ord)
	setIdentity(set, pod)
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName
	setStorage(set, pod)
	pod.Labels[history.HashLabel] = revision
	return pod
}

// setIdentity sets the labels that name a pod within its set.
func setIdentity(set *appsv1.StatefulSet, pod *corev1.Pod) {
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = pod.Name
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(ordinalOf(pod))
}

// identityMatches reports whether pod carries its identity within set.
func identityMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, ord := parentAndOrdinal(pod)
	return ord >= 0 && parent == set.Name && pod.Namespace == set.Namespace &&
		pod.Labels[appsv1.StatefulSetPodNameLabel] == pod.Name &&
		pod.Labels[appsv1.PodIndexLabel] == strconv.Itoa(ord)
}

// claimsFor returns the claims the pod with ordinal ord needs, by the
// volume name they back.
func claimsFor(set *appsv1.StatefulSet, ord int) map[string]*corev1.PersistentVolumeClaim {
	out := make(map[string]*corev1.PersistentVolumeClaim, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		tmpl := &set.Spec.VolumeClaimTemplates[i]
		claim := tmpl.DeepCopy()
		claim.TypeMeta = metav1.TypeMeta{}
		claim.Name = claimName(set, tmpl, ord)
		claim.Namespace = set.Namespace
		claim.Status = corev1.PersistentVolumeClaimStatus{}
		if set.Spec.Selector != nil {
			if claim.Labels == nil {
				claim.Labels = map[string]string{}
			}
			for k, v := range set.Spec.Selector.MatchLabels {
				claim.Labels[k] = v
			}
		}
		out[tmpl.Name] = claim
	}
	return out
}

// setStorage points the pod's volumes named after claim templates at
// the pod's own claims, adding the volumes that are missing.
func setStorage(set *appsv1.StatefulSet, pod *corev1.Pod) {
	claims := claimsFor(set, ordinalOf(pod))
	if len(claims) == 0 {
		return
	}
	vols := make([]corev1.Volume, 0, len(pod.Spec.Volumes)+len(claims))
	for _, tmpl := range set.Spec.VolumeClaimTemplates {
		vols = append(vols, corev1.Volume{
			Name: tmpl.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: claims[tmpl.Name].Name,
			}},
		})
	}
	for _, v := range pod.Spec.Volumes {
		if _, ok := claims[v.Name]; !ok {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
}

// setForRevision returns set with its template replaced by the one stored in rev.
func setForRevision(set *appsv1.StatefulSet, rev *appsv1.ControllerRevision) (*appsv1.StatefulSet, error) {
	var data struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &data); err != nil {
		return nil, fmt.Errorf("decoding revision %s: %w", rev.Name, err)
	}
	out := set.DeepCopy()
	out.Spec.Template = data.Spec.Template
	return out, nil
}

func isCreated(pod *corev1.Pod) bool { return pod.Status.Phase != "" }

func isFailed(pod *corev1.Pod) bool { return pod.Status.Phase == corev1.PodFailed }

func isSucceeded(pod *corev1.Pod) bool { return pod.Status.Phase == corev1.PodSucceeded }

func isPending(pod *corev1.Pod) bool { return pod.Status.Phase == corev1.PodPending }

func isTerminating(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil }

func isRunningAndReady(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodRunning && controllerutil.IsPodReady(pod)
}

func isRunningAndAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	return pod.Status.Phase == corev1.PodRunning && controllerutil.IsPodAvailable(pod, minReadySeconds, now)
}

// isHealthy: running, ready and not going away.
func isHealthy(pod *corev1.Pod) bool { return isRunningAndReady(pod) && !isTerminating(pod) }

func revisionOf(pod *corev1.Pod) string { return pod.Labels[history.HashLabel] }

// isRollingUpdate reports whether set updates its pods itself (the
// default strategy, also when the type was left empty).
func isRollingUpdate(set *appsv1.StatefulSet) bool {
	t := set.Spec.UpdateStrategy.Type
	return t == "" || t == appsv1.RollingUpdateStatefulSetStrategyType
}
