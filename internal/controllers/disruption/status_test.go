package disruption

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func mkPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func ready(p *corev1.Pod) {
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})
}
func notReady(p *corev1.Pod) {
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse})
}
func deleting(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: now} }
func ownedBy(kind, apiVersion, name string) podOpt {
	return func(p *corev1.Pod) {
		p.OwnerReferences = append(p.OwnerReferences, metav1.OwnerReference{
			APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: ptrTo(true),
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func pdbWith(minAvailable, maxUnavailable *intstr.IntOrString) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pdb", Generation: 3},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: minAvailable, MaxUnavailable: maxUnavailable},
	}
}

func intOr(i int) *intstr.IntOrString      { v := intstr.FromInt32(int32(i)); return &v }
func percent(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }

// finder knows controllers by name: web (RS, 4), db (StatefulSet, 3).
func finder(ns string, ref *metav1.OwnerReference) (controller, error) {
	switch ref.Name {
	case "web":
		return controller{uid: "uid-web", scale: 4, found: true}, nil
	case "db":
		return controller{uid: "uid-db", scale: 3, found: true}, nil
	case "broken":
		return controller{}, errors.New("lister failed")
	}
	return controller{}, nil
}

func TestExpectedPodCount(t *testing.T) {
	web := ownedBy("ReplicaSet", "apps/v1", "web")
	db := ownedBy("StatefulSet", "apps/v1", "db")
	threeWeb := []*corev1.Pod{mkPod("a", web), mkPod("b", web), mkPod("c", web)}
	for _, tc := range []struct {
		name                      string
		pdb                       *policyv1.PodDisruptionBudget
		pods                      []*corev1.Pod
		wantExpected, wantDesired int32
		wantUnmanaged             []string
		wantErr                   string
	}{
		{name: "minAvailable int counts pods", pdb: pdbWith(intOr(2), nil), pods: threeWeb, wantExpected: 3, wantDesired: 2},
		{name: "minAvailable int needs no controller", pdb: pdbWith(intOr(5), nil), pods: []*corev1.Pod{mkPod("x")}, wantExpected: 1, wantDesired: 5},
		{name: "minAvailable percent of the controller scale, rounded up", pdb: pdbWith(percent("50%"), nil), pods: threeWeb, wantExpected: 4, wantDesired: 2},
		{name: "minAvailable percent rounds up", pdb: pdbWith(percent("30%"), nil), pods: threeWeb, wantExpected: 4, wantDesired: 2},
		{name: "maxUnavailable int", pdb: pdbWith(nil, intOr(1)), pods: threeWeb, wantExpected: 4, wantDesired: 3},
		{name: "maxUnavailable percent rounds unavailable up", pdb: pdbWith(nil, percent("30%")), pods: threeWeb, wantExpected: 4, wantDesired: 2},
		{name: "maxUnavailable beyond scale", pdb: pdbWith(nil, intOr(10)), pods: threeWeb, wantExpected: 4, wantDesired: 0},
		{
			name: "two controllers add up", pdb: pdbWith(nil, intOr(1)),
			pods:         []*corev1.Pod{mkPod("a", web), mkPod("b", db), mkPod("c", db)},
			wantExpected: 7, wantDesired: 6,
		},
		{
			name: "unmanaged pods are reported and left out", pdb: pdbWith(nil, intOr(1)),
			pods:         []*corev1.Pod{mkPod("a", web), mkPod("lonely")},
			wantExpected: 4, wantDesired: 3, wantUnmanaged: []string{"lonely"},
		},
		{
			name: "unknown controller", pdb: pdbWith(percent("50%"), nil),
			pods:    []*corev1.Pod{mkPod("a", ownedBy("ReplicaSet", "apps/v1", "gone"))},
			wantErr: `found no controllers for pod "a"`,
		},
		{
			name: "lister error", pdb: pdbWith(nil, intOr(1)),
			pods:    []*corev1.Pod{mkPod("a", ownedBy("ReplicaSet", "apps/v1", "broken"))},
			wantErr: "lister failed",
		},
		{name: "no pods", pdb: pdbWith(nil, intOr(1)), wantExpected: 0, wantDesired: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expected, desired, unmanaged, err := expectedPodCount(tc.pdb, tc.pods, finder)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if expected != tc.wantExpected || desired != tc.wantDesired || !slices.Equal(unmanaged, tc.wantUnmanaged) {
				t.Errorf("got expected %d desired %d unmanaged %v, want %d %d %v", expected, desired, unmanaged, tc.wantExpected, tc.wantDesired, tc.wantUnmanaged)
			}
		})
	}
}

func TestDisruptedPodsAndHealth(t *testing.T) {
	recent := metav1.NewTime(now.Add(-30 * time.Second))
	old := metav1.NewTime(now.Add(-DeletionTimeout - time.Second))
	for _, tc := range []struct {
		name        string
		disrupted   map[string]metav1.Time
		pods        []*corev1.Pod
		wantKeep    []string
		wantExpired []string
		wantRecheck time.Duration // after now; 0 for none
		wantHealthy int32
	}{
		{
			name:        "ready pods count, others do not",
			pods:        []*corev1.Pod{mkPod("a", ready), mkPod("b", notReady), mkPod("c"), mkPod("d", ready, deleting)},
			wantHealthy: 1,
		},
		{
			name:        "a recently evicted pod is not healthy and is rechecked when it expires",
			disrupted:   map[string]metav1.Time{"a": recent},
			pods:        []*corev1.Pod{mkPod("a", ready), mkPod("b", ready)},
			wantKeep:    []string{"a"},
			wantRecheck: DeletionTimeout - 30*time.Second,
			wantHealthy: 1,
		},
		{
			name:        "an entry whose pod is being deleted or gone is dropped",
			disrupted:   map[string]metav1.Time{"a": recent, "gone": recent},
			pods:        []*corev1.Pod{mkPod("a", ready, deleting), mkPod("b", ready)},
			wantHealthy: 1,
		},
		{
			name:        "an entry that overstayed is dropped and the pod counts again",
			disrupted:   map[string]metav1.Time{"a": old, "b": recent},
			pods:        []*corev1.Pod{mkPod("a", ready), mkPod("b", ready), mkPod("c", ready)},
			wantKeep:    []string{"b"},
			wantExpired: []string{"a"},
			wantRecheck: DeletionTimeout - 30*time.Second,
			wantHealthy: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pdb := pdbWith(intOr(1), nil)
			pdb.Status.DisruptedPods = tc.disrupted
			keep, expired, recheck := disruptedPodMap(pdb, tc.pods, now)
			if got := slices.Sorted(maps.Keys(keep)); !slices.Equal(got, tc.wantKeep) {
				t.Errorf("kept %v, want %v", got, tc.wantKeep)
			}
			var expiredNames []string
			for _, p := range expired {
				expiredNames = append(expiredNames, p.Name)
			}
			if !slices.Equal(expiredNames, tc.wantExpired) {
				t.Errorf("expired %v, want %v", expiredNames, tc.wantExpired)
			}
			switch {
			case tc.wantRecheck == 0 && recheck != nil:
				t.Errorf("recheck at %v, want none", recheck)
			case tc.wantRecheck != 0 && (recheck == nil || !recheck.Equal(now.Add(tc.wantRecheck))):
				t.Errorf("recheck at %v, want %v", recheck, now.Add(tc.wantRecheck))
			}
			if got := countHealthy(tc.pods, keep, now); got != tc.wantHealthy {
				t.Errorf("healthy %d, want %d", got, tc.wantHealthy)
			}
		})
	}
}

func TestNewStatus(t *testing.T) {
	earlier := metav1.NewTime(now.Add(-time.Hour))
	for _, tc := range []struct {
		name                       string
		old                        []metav1.Condition
		healthy, desired, expected int32
		wantAllowed                int32
		wantStatus                 metav1.ConditionStatus
		wantReason                 string
		wantLTT                    time.Time
	}{
		{name: "sufficient", healthy: 3, desired: 2, expected: 3, wantAllowed: 1, wantStatus: metav1.ConditionTrue, wantReason: policyv1.SufficientPodsReason, wantLTT: now},
		{name: "exactly enough", healthy: 2, desired: 2, expected: 3, wantAllowed: 0, wantStatus: metav1.ConditionFalse, wantReason: policyv1.InsufficientPodsReason, wantLTT: now},
		{name: "too few", healthy: 1, desired: 2, expected: 3, wantAllowed: 0, wantStatus: metav1.ConditionFalse, wantReason: policyv1.InsufficientPodsReason, wantLTT: now},
		{name: "nothing expected allows nothing", healthy: 2, desired: 0, expected: 0, wantAllowed: 0, wantStatus: metav1.ConditionFalse, wantReason: policyv1.InsufficientPodsReason, wantLTT: now},
		{
			name:    "unchanged status keeps its transition time",
			old:     []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionTrue, Reason: policyv1.SufficientPodsReason, LastTransitionTime: earlier}},
			healthy: 5, desired: 2, expected: 5, wantAllowed: 3, wantStatus: metav1.ConditionTrue, wantReason: policyv1.SufficientPodsReason, wantLTT: earlier.Time,
		},
		{
			name:    "recovery from a failed sync",
			old:     []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.SyncFailedReason, Message: "boom", LastTransitionTime: earlier}},
			healthy: 1, desired: 2, expected: 2, wantAllowed: 0, wantStatus: metav1.ConditionFalse, wantReason: policyv1.InsufficientPodsReason, wantLTT: earlier.Time,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pdb := pdbWith(intOr(2), nil)
			pdb.Status.Conditions = tc.old
			st := newStatus(pdb, tc.healthy, tc.desired, tc.expected, nil, now)
			if st.DisruptionsAllowed != tc.wantAllowed || st.CurrentHealthy != tc.healthy || st.DesiredHealthy != tc.desired || st.ExpectedPods != tc.expected || st.ObservedGeneration != 3 {
				t.Errorf("status %+v", st)
			}
			if len(st.Conditions) != 1 {
				t.Fatalf("conditions %+v", st.Conditions)
			}
			c := st.Conditions[0]
			if c.Type != policyv1.DisruptionAllowedCondition || c.Status != tc.wantStatus || c.Reason != tc.wantReason || c.Message != "" || c.ObservedGeneration != 3 || !c.LastTransitionTime.Time.Equal(tc.wantLTT) {
				t.Errorf("condition %+v, want %s/%s at %v", c, tc.wantStatus, tc.wantReason, tc.wantLTT)
			}
			if !statusEqual(st, newStatus(&policyv1.PodDisruptionBudget{ObjectMeta: pdb.ObjectMeta, Status: st}, tc.healthy, tc.desired, tc.expected, map[string]metav1.Time{}, now.Add(time.Minute))) {
				t.Error("recomputing the same status is not a no-op")
			}
		})
	}
}
