package deployment

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestComputeHash(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}},
	}
	h := ComputeHash(tmpl, nil)
	if h != ComputeHash(tmpl.DeepCopy(), nil) {
		t.Error("hash is not deterministic")
	}
	if h == ComputeHash(tmpl, ptr.To[int32](1)) {
		t.Error("collision count does not change the hash")
	}
	other := tmpl.DeepCopy()
	other.Spec.Containers[0].Image = "nginx:2"
	if h == ComputeHash(other, nil) {
		t.Error("a different template has the same hash")
	}
	for _, r := range h {
		if strings.ContainsRune("aeiou013", r) {
			t.Errorf("hash %q has characters SafeEncodeString never emits", h)
		}
	}
}

func TestEqualIgnoreHash(t *testing.T) {
	a := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", PodTemplateHashLabel: "abc"}}}
	b := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}
	if !equalIgnoreHash(a, b) {
		t.Error("templates differing only in the hash label should be equal")
	}
	b.Labels["app"] = "api"
	if equalIgnoreHash(a, b) {
		t.Error("templates with different labels should differ")
	}
	if _, ok := a.Labels[PodTemplateHashLabel]; !ok {
		t.Error("equalIgnoreHash modified its argument")
	}
}

func rolling(n int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(n),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
	}}
}

func TestFenceposts(t *testing.T) {
	for _, tc := range []struct {
		name               string
		d                  *appsv1.Deployment
		surge, unavailable int32
	}{
		{"25% of 3", rolling(3, intstr.FromString("25%"), intstr.FromString("25%")), 1, 0},
		{"25% of 10", rolling(10, intstr.FromString("25%"), intstr.FromString("25%")), 3, 2},
		{"both round to zero", rolling(1, intstr.FromString("0%"), intstr.FromString("25%")), 0, 1},
		{"ints", rolling(5, intstr.FromInt32(2), intstr.FromInt32(1)), 2, 1},
		{"unavailable capped at replicas", rolling(2, intstr.FromInt32(0), intstr.FromInt32(5)), 0, 2},
		{"recreate", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxSurge(tc.d); got != tc.surge {
				t.Errorf("maxSurge = %d, want %d", got, tc.surge)
			}
			if got := maxUnavailable(tc.d); got != tc.unavailable {
				t.Errorf("maxUnavailable = %d, want %d", got, tc.unavailable)
			}
		})
	}
}

func rs(name string, spec, status int32, created time.Time) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(created)},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To(spec)},
		Status:     appsv1.ReplicaSetStatus{Replicas: status},
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestNewRSReplicas(t *testing.T) {
	d := rolling(10, intstr.FromInt32(3), intstr.FromInt32(2))
	for _, tc := range []struct {
		name string
		old  *appsv1.ReplicaSet
		new  *appsv1.ReplicaSet
		want int32
	}{
		{"surge from full old", rs("old", 10, 10, t0), rs("new", 0, 0, t0), 3},
		{"old scaled down but its pods not yet gone", rs("old", 8, 10, t0), rs("new", 3, 3, t0), 3},
		{"old pods gone", rs("old", 8, 8, t0), rs("new", 3, 3, t0), 5},
		{"capped at replicas", rs("old", 0, 0, t0), rs("new", 8, 8, t0), 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := newRSReplicas(d, []*appsv1.ReplicaSet{tc.old, tc.new}, tc.new); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
	recreate := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	if got := newRSReplicas(recreate, nil, rs("new", 0, 0, t0)); got != 4 {
		t.Errorf("recreate: got %d, want 4", got)
	}
}

func TestProportion(t *testing.T) {
	d := rolling(20, intstr.FromInt32(3), intstr.FromInt32(2))
	withMax := func(r *appsv1.ReplicaSet, m string) *appsv1.ReplicaSet {
		r.Annotations = map[string]string{MaxReplicasAnnotation: m}
		return r
	}
	old := withMax(rs("old", 8, 8, t0), "13")
	nw := withMax(rs("new", 5, 5, t0.Add(time.Minute)), "13")
	p1 := proportion(old, d, 10, 0)
	p2 := proportion(nw, d, 10, p1)
	if p1 != 6 || p2 != 4 {
		t.Errorf("proportions %d, %d; want 6, 4", p1, p2)
	}
	// Scaling to zero takes everything.
	zero := rolling(0, intstr.FromInt32(3), intstr.FromInt32(2))
	if p := proportion(old, zero, -13, 0); p != -8 {
		t.Errorf("scale to zero: %d, want -8", p)
	}
	// Never more than allowed.
	if p := proportion(old, d, 2, 0); p != 2 {
		t.Errorf("capped: %d, want 2", p)
	}
}

func TestNewReplicaSetAnnotations(t *testing.T) {
	d := rolling(3, intstr.FromString("25%"), intstr.FromString("25%"))
	d.Annotations = map[string]string{
		"kubernetes.io/change-cause":                       "kubectl set image",
		RevisionAnnotation:                                 "7",
		"kubectl.kubernetes.io/last-applied-configuration": "{}",
	}
	fresh := &appsv1.ReplicaSet{}
	if !setNewReplicaSetAnnotations(d, fresh, "1", false) {
		t.Fatal("no change reported")
	}
	want := map[string]string{"kubernetes.io/change-cause": "kubectl set image", RevisionAnnotation: "1", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4"}
	if len(fresh.Annotations) != len(want) {
		t.Errorf("annotations %v, want %v", fresh.Annotations, want)
	}
	for k, v := range want {
		if fresh.Annotations[k] != v {
			t.Errorf("%s = %q, want %q", k, fresh.Annotations[k], v)
		}
	}
	// Reusing an old ReplicaSet: new revision, old ones in the history.
	reused := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{RevisionAnnotation: "3", RevisionHistoryAnnotation: "1"}}}
	setNewReplicaSetAnnotations(d, reused, "5", true)
	if reused.Annotations[RevisionAnnotation] != "5" || reused.Annotations[RevisionHistoryAnnotation] != "1,3" {
		t.Errorf("reused: %v", reused.Annotations)
	}
	if _, ok := reused.Annotations[DesiredReplicasAnnotation]; ok {
		t.Error("an existing replica set got replica annotations from the revision sync")
	}
	// The current revision is not lowered.
	if setNewReplicaSetAnnotations(d, reused, "4", true) || reused.Annotations[RevisionAnnotation] != "5" {
		t.Errorf("revision went back: %v", reused.Annotations)
	}
}

func TestRevisionHistoryBounded(t *testing.T) {
	h := ""
	for i := range 1000 {
		h = appendRevisionHistory(h, strings.Repeat("9", 3)+string(rune('0'+i%10)))
	}
	if len(h) > maxRevisionHistoryChars {
		t.Errorf("history grew to %d chars", len(h))
	}
	if !strings.HasSuffix(h, ",9999") {
		t.Errorf("latest entry dropped: ...%s", h[len(h)-20:])
	}
}

func TestConditions(t *testing.T) {
	now := t0.Add(time.Hour)
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), ProgressDeadlineSeconds: ptr.To[int32](60)}}
	progressing := func(reason string, updated time.Time) appsv1.DeploymentStatus {
		return appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: reason, LastUpdateTime: metav1.NewTime(updated),
		}}}
	}
	for _, tc := range []struct {
		name string
		st   appsv1.DeploymentStatus
		want bool
	}{
		{"within deadline", progressing(ReasonRSUpdated, now.Add(-59*time.Second)), false},
		{"past deadline", progressing(ReasonRSUpdated, now.Add(-61*time.Second)), true},
		{"complete never times out", progressing(ReasonNewRSAvailable, now.Add(-time.Hour)), false},
		{"already timed out", progressing(ReasonTimedOut, now), true},
		{"no condition", appsv1.DeploymentStatus{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deploymentTimedOut(d, &tc.st, now); got != tc.want {
				t.Errorf("timed out = %v, want %v", got, tc.want)
			}
		})
	}

	// setCondition keeps a condition with the same status and reason, and
	// the transition time when only the reason changes.
	st := appsv1.DeploymentStatus{}
	setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated, "a", t0))
	setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated, "b", now))
	if c := getCondition(&st, appsv1.DeploymentProgressing); c.Message != "a" {
		t.Errorf("same reason replaced the condition: %+v", c)
	}
	setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonRSUpdated, "c", now))
	if c := getCondition(&st, appsv1.DeploymentProgressing); c.Message != "c" || !c.LastTransitionTime.Time.Equal(t0) || !c.LastUpdateTime.Time.Equal(now) {
		t.Errorf("reason change: %+v", c)
	}
	if len(st.Conditions) != 1 {
		t.Errorf("got %d conditions", len(st.Conditions))
	}
}

func TestActiveOrLatest(t *testing.T) {
	a, b := rs("a", 0, 0, t0), rs("b", 0, 0, t0.Add(time.Minute))
	if got := activeOrLatest(nil, []*appsv1.ReplicaSet{b, a}); got != b {
		t.Errorf("no active: got %v, want newest", got.Name)
	}
	a.Spec.Replicas = ptr.To[int32](2)
	if got := activeOrLatest(nil, []*appsv1.ReplicaSet{a, b}); got != a {
		t.Errorf("one active: got %v", got.Name)
	}
	b.Spec.Replicas = ptr.To[int32](1)
	if got := activeOrLatest(nil, []*appsv1.ReplicaSet{a, b}); got != nil {
		t.Errorf("two active: got %v, want nil", got.Name)
	}
}
