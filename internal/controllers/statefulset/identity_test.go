package statefulset

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/history"
)

func testSet(replicas int32) *appsv1.StatefulSet {
	lbls := map[string]string{"app": "web"}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "set-uid"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: "nginx",
			Selector:    &metav1.LabelSelector{MatchLabels: lbls},
			Template:    corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbls}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
				ObjectMeta: metav1.ObjectMeta{Name: "www"},
			}},
		},
	}
}

func TestParentAndOrdinal(t *testing.T) {
	tests := []struct {
		name   string
		parent string
		ord    int
	}{
		{"web-0", "web", 0},
		{"web-12", "web", 12},
		{"my-web-3", "my-web", 3},
		{"web", "", -1},
		{"web-x", "", -1},
		{"web-99999999999", "", -1},
	}
	for _, tc := range tests {
		parent, ord := parentAndOrdinal(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tc.name}})
		if parent != tc.parent || ord != tc.ord {
			t.Errorf("%s: got %q, %d; want %q, %d", tc.name, parent, ord, tc.parent, tc.ord)
		}
	}
}

func TestNewPod(t *testing.T) {
	set := testSet(3)
	set.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5}
	set.Spec.Template.Spec.Volumes = []corev1.Volume{
		{Name: "www", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, // replaced by the claim
		{Name: "config", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	pod := newPod(set, 6, "web-abc")
	if pod.Name != "web-6" || pod.Namespace != "ns" || pod.Spec.Hostname != "web-6" || pod.Spec.Subdomain != "nginx" {
		t.Errorf("pod %s/%s hostname %q subdomain %q", pod.Namespace, pod.Name, pod.Spec.Hostname, pod.Spec.Subdomain)
	}
	wantLabels := map[string]string{"app": "web", appsv1.StatefulSetPodNameLabel: "web-6", appsv1.PodIndexLabel: "6", history.HashLabel: "web-abc"}
	for k, v := range wantLabels {
		if pod.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
	if !metav1.IsControlledBy(pod, set) {
		t.Errorf("owner references %+v", pod.OwnerReferences)
	}
	if len(pod.Spec.Volumes) != 2 || pod.Spec.Volumes[0].PersistentVolumeClaim == nil ||
		pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "www-web-6" || pod.Spec.Volumes[1].Name != "config" {
		t.Errorf("volumes %+v", pod.Spec.Volumes)
	}
	if !identityMatches(set, pod) || !inRange(set, 6) || inRange(set, 4) || inRange(set, 8) {
		t.Error("identity or range wrong")
	}
	pod.Labels[appsv1.PodIndexLabel] = "1"
	if identityMatches(set, pod) {
		t.Error("identity matches with a wrong index label")
	}
	claims := claimsFor(set, 6)
	if c := claims["www"]; c == nil || c.Name != "www-web-6" || c.Namespace != "ns" || c.Labels["app"] != "web" || c.Kind != "" {
		t.Errorf("claims %+v", claims)
	}
}

func TestClaimOwners(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", UID: "pod-uid"}}
	oldPodRef := metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: "web-1", UID: "old-uid"}
	podRef := metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: "web-1", UID: "pod-uid"}
	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "cm"}
	const retain, del = appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	tests := []struct {
		name                string
		whenDeleted, scaled appsv1.PersistentVolumeClaimRetentionPolicyType
		replicas            int32 // web-1 is scaled away when 1
		have                []metav1.OwnerReference
		want                []types.UID
		changed             bool
	}{
		{"retain keeps others", retain, retain, 2, []metav1.OwnerReference{other}, []types.UID{"cm"}, false},
		{"retain drops ours", retain, retain, 2, []metav1.OwnerReference{setOwnerRef(testSet(2)), podRef}, nil, true},
		{"delete with set", del, retain, 2, nil, []types.UID{"set-uid"}, true},
		{"delete with set, already", del, retain, 1, []metav1.OwnerReference{setOwnerRef(testSet(2))}, []types.UID{"set-uid"}, false},
		{"scaled: in range", retain, del, 2, []metav1.OwnerReference{podRef}, nil, true},
		{"scaled: away", retain, del, 1, nil, []types.UID{"pod-uid"}, true},
		{"scaled: away, stale pod ref", retain, del, 1, []metav1.OwnerReference{oldPodRef}, []types.UID{"pod-uid"}, true},
		{"both: in range", del, del, 2, nil, []types.UID{"set-uid"}, true},
		{"both: away", del, del, 1, []metav1.OwnerReference{setOwnerRef(testSet(2))}, []types.UID{"pod-uid"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := testSet(tc.replicas)
			set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: tc.whenDeleted, WhenScaled: tc.scaled}
			claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{OwnerReferences: tc.have}}
			refs, changed := claimOwners(set, pod, claim)
			var got []types.UID
			for _, r := range refs {
				got = append(got, r.UID)
			}
			if changed != tc.changed || len(got) != len(tc.want) {
				t.Fatalf("claimOwners = %v, %v; want %v, %v", got, changed, tc.want, tc.changed)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("owners %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestCountStatus(t *testing.T) {
	now := time.Now()
	pod := func(rev string, phase corev1.PodPhase, readyFor time.Duration, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{history.HashLabel: rev}}, Status: corev1.PodStatus{Phase: phase}}
		if readyFor >= 0 {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-readyFor))}}
		}
		if deleting {
			p.DeletionTimestamp = ptr.To(metav1.NewTime(now))
		}
		return p
	}
	tests := []struct {
		name                                        string
		minReady                                    int32
		pods                                        []*corev1.Pod
		replicas, ready, available, current, update int32
		currentRev                                  string
	}{
		{name: "not created yet: nothing left to update", pods: []*corev1.Pod{pod("b", "", -1, false)}, currentRev: "b"},
		{name: "mid update", pods: []*corev1.Pod{pod("a", corev1.PodRunning, time.Minute, false), pod("b", corev1.PodRunning, time.Second, false), pod("b", corev1.PodPending, -1, false)},
			replicas: 3, ready: 2, available: 2, current: 1, update: 2, currentRev: "a"},
		{name: "min ready seconds", minReady: 10, pods: []*corev1.Pod{pod("a", corev1.PodRunning, time.Minute, false), pod("a", corev1.PodRunning, time.Second, false)},
			replicas: 2, ready: 2, available: 1, current: 2, update: 0, currentRev: "a"},
		{name: "terminating counts but not by revision", pods: []*corev1.Pod{pod("a", corev1.PodRunning, time.Minute, true), pod("b", corev1.PodRunning, time.Minute, false)},
			replicas: 2, ready: 2, available: 2, current: 0, update: 1, currentRev: "a"},
		{name: "update complete", pods: []*corev1.Pod{pod("b", corev1.PodRunning, time.Minute, false), pod("b", corev1.PodRunning, time.Minute, false)},
			replicas: 2, ready: 2, available: 2, current: 2, update: 2, currentRev: "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := testSet(int32(len(tc.pods)))
			set.Spec.MinReadySeconds = tc.minReady
			st := &appsv1.StatefulSetStatus{CurrentRevision: "a", UpdateRevision: "b"}
			countStatus(st, set, tc.pods, now)
			if st.Replicas != tc.replicas || st.ReadyReplicas != tc.ready || st.AvailableReplicas != tc.available ||
				st.CurrentReplicas != tc.current || st.UpdatedReplicas != tc.update || st.CurrentRevision != tc.currentRev {
				t.Errorf("status %+v", st)
			}
		})
	}
}
