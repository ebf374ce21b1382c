package job

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
)

func TestIndexSet(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		add   []int
		want  string
		total int
	}{
		{in: "", limit: 10, want: "", total: 0},
		{in: "", limit: 10, add: []int{5, 1, 3, 4}, want: "1,3-5", total: 4},
		{in: "1,3-5", limit: 10, add: []int{2}, want: "1-5", total: 5},
		{in: "1,3-5", limit: 4, want: "1,3", total: 2},
		{in: "0-2,7", limit: 10, add: []int{2, 8, 9, 9}, want: "0-2,7-9", total: 6},
		{in: "x,2,5-3,-1,4", limit: 10, want: "2,4", total: 2},
	} {
		s := parseIndexSet(tc.in, tc.limit).with(tc.add)
		if got := s.String(); got != tc.want || s.total() != tc.total {
			t.Errorf("%q+%v: got %q (%d), want %q (%d)", tc.in, tc.add, got, s.total(), tc.want, tc.total)
		}
	}
	s := parseIndexSet("1,3-5,9", 10)
	for ix, want := range map[int]bool{0: false, 1: true, 2: false, 3: true, 5: true, 6: false, 9: true, 10: false} {
		if s.has(ix) != want {
			t.Errorf("has(%d) = %v", ix, !want)
		}
	}
}

func indexedPod(ix string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: ix}}}
}

func TestFirstPendingIndexes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		succeeded   string
		busy        []string
		n, complete int
		want        []int
	}{
		{name: "fresh", n: 2, complete: 5, want: []int{0, 1}},
		{name: "skips succeeded and running", succeeded: "0,2", busy: []string{"1"}, n: 3, complete: 6, want: []int{3, 4, 5}},
		{name: "nothing left", succeeded: "0-1", busy: []string{"2"}, n: 2, complete: 3},
		{name: "bad annotations ignored", busy: []string{"x", ""}, n: 1, complete: 2, want: []int{0}},
	} {
		var busy []*corev1.Pod
		for _, b := range tc.busy {
			busy = append(busy, indexedPod(b))
		}
		got := firstPendingIndexes(parseIndexSet(tc.succeeded, tc.complete), busy, tc.n, tc.complete)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

func TestBackoff(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failedAt := func(d time.Duration) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(t0.Add(d))}},
		}}}}
	}
	succeededAt := failedAt // the phase does not matter for the record
	for _, tc := range []struct {
		name      string
		start     backoffRecord
		succeeded []*corev1.Pod
		failed    []*corev1.Pod
		now       time.Duration
		want      time.Duration
	}{
		{name: "no failures", now: 0, want: 0},
		{name: "first failure waits 10s", failed: []*corev1.Pod{failedAt(0)}, now: 4 * time.Second, want: 6 * time.Second},
		{name: "elapsed", failed: []*corev1.Pod{failedAt(0)}, now: 10 * time.Second, want: 0},
		{name: "third failure waits 40s", start: backoffRecord{2, t0.Add(-time.Minute)}, failed: []*corev1.Pod{failedAt(0)}, now: 0, want: 40 * time.Second},
		{name: "capped at 6 minutes", start: backoffRecord{20, t0}, now: 0, want: 6 * time.Minute},
		{name: "success resets", start: backoffRecord{3, t0}, succeeded: []*corev1.Pod{succeededAt(time.Second)}, now: time.Second, want: 0},
		{name: "failure after success counts", start: backoffRecord{3, t0}, succeeded: []*corev1.Pod{succeededAt(time.Second)},
			failed: []*corev1.Pod{failedAt(2 * time.Second)}, now: 2 * time.Second, want: 10 * time.Second},
	} {
		r := tc.start.next(tc.succeeded, tc.failed, t0.Add(tc.now))
		if got := r.remaining(t0.Add(tc.now), DefaultBackoff, MaxBackoff); got != tc.want {
			t.Errorf("%s: remaining %v, want %v (record %+v)", tc.name, got, tc.want, r)
		}
	}
}

// The counting protocol: an uncounted UID is counted once its pod has lost
// the finalizer (or is gone), never while the pod still has it.
func TestCountUncounted(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		succeeded, failed    []types.UID
		withFinalizer        []string
		wantSucc, wantFailed int32
		wantLeft             int
	}{
		{name: "all still have finalizers", succeeded: []types.UID{"a"}, failed: []types.UID{"b"}, withFinalizer: []string{"a", "b"}, wantLeft: 2},
		{name: "finalizers removed", succeeded: []types.UID{"a", "c"}, failed: []types.UID{"b"}, withFinalizer: []string{"c"}, wantSucc: 11, wantFailed: 4, wantLeft: 1},
		{name: "nothing uncounted", wantSucc: 10, wantFailed: 3},
	} {
		status := batchv1.JobStatus{Succeeded: 10, Failed: 3, UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{Succeeded: tc.succeeded, Failed: tc.failed}}
		if tc.name == "nothing uncounted" {
			status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
		}
		countUncounted(&status, sets.New(tc.withFinalizer...))
		if tc.wantSucc == 0 {
			tc.wantSucc = 10
		}
		if tc.wantFailed == 0 {
			tc.wantFailed = 3
		}
		left := len(status.UncountedTerminatedPods.Succeeded) + len(status.UncountedTerminatedPods.Failed)
		if status.Succeeded != tc.wantSucc || status.Failed != tc.wantFailed || left != tc.wantLeft {
			t.Errorf("%s: succeeded %d failed %d left %d, want %d %d %d", tc.name, status.Succeeded, status.Failed, left, tc.wantSucc, tc.wantFailed, tc.wantLeft)
		}
	}
}

func TestPodsForRemoval(t *testing.T) {
	now := time.Now()
	pod := func(name, node string, phase corev1.PodPhase, ready bool, age time.Duration, ix string) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Spec:       corev1.PodSpec{NodeName: node},
			Status:     corev1.PodStatus{Phase: phase},
		}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		if ix != "" {
			p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: ix}
		}
		return p
	}
	nonIndexed := &batchv1.Job{}
	indexed := &batchv1.Job{Spec: batchv1.JobSpec{Completions: ptr.To[int32](3), CompletionMode: ptr.To(batchv1.IndexedCompletion)}}
	for _, tc := range []struct {
		name string
		job  *batchv1.Job
		pods []*corev1.Pod
		n    int
		want []string
	}{
		{name: "least advanced first", job: nonIndexed, n: 3, pods: []*corev1.Pod{
			pod("ready", "n", corev1.PodRunning, true, time.Hour, ""),
			pod("running", "n", corev1.PodRunning, false, time.Hour, ""),
			pod("unscheduled", "", corev1.PodPending, false, time.Hour, ""),
			pod("pending", "n", corev1.PodPending, false, time.Hour, ""),
		}, want: []string{"unscheduled", "pending", "running"}},
		{name: "newer first", job: nonIndexed, n: 1, pods: []*corev1.Pod{
			pod("old", "n", corev1.PodRunning, true, time.Hour, ""),
			pod("new", "n", corev1.PodRunning, true, time.Minute, ""),
		}, want: []string{"new"}},
		{name: "indexed duplicates and strays", job: indexed, n: 0, pods: []*corev1.Pod{
			pod("zero", "n", corev1.PodRunning, true, time.Hour, "0"),
			pod("zero-again", "", corev1.PodPending, false, time.Minute, "0"),
			pod("out-of-range", "n", corev1.PodRunning, true, time.Hour, "3"),
			pod("one", "n", corev1.PodRunning, true, time.Hour, "1"),
		}, want: []string{"zero-again", "out-of-range"}},
	} {
		got := podsForRemoval(tc.job, tc.pods, tc.n)
		names := sets.New[string]()
		for _, p := range got {
			names.Insert(p.Name)
		}
		if len(got) != len(tc.want) || !names.HasAll(tc.want...) {
			t.Errorf("%s: got %v, want %v", tc.name, sets.List(names), tc.want)
		}
	}
}

func TestJudgeFailedPod(t *testing.T) {
	exited := func(name string, code int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
	}
	pod := func(statuses []corev1.ContainerStatus, conds ...corev1.PodCondition) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
			Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: statuses, Conditions: conds}}
	}
	policy := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr.To("main"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{1}}},
		{Action: batchv1.PodFailurePolicyActionIgnore, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}}},
	}}
	for _, tc := range []struct {
		name    string
		policy  *batchv1.PodFailurePolicy
		pod     *corev1.Pod
		failJob string
		count   bool
	}{
		{name: "no policy", pod: pod(nil), count: true},
		{name: "disruption ignored", policy: policy, pod: pod([]corev1.ContainerStatus{exited("main", 42)},
			corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}), count: false},
		{name: "exit code fails the job", policy: policy, pod: pod([]corev1.ContainerStatus{exited("side", 0), exited("main", 42)}), count: true,
			failJob: "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1"},
		{name: "other container's 42 only counts", policy: policy, pod: pod([]corev1.ContainerStatus{exited("side", 42)}), count: true},
		{name: "exit 1 ignored", policy: policy, pod: pod([]corev1.ContainerStatus{exited("main", 1)}), count: false},
		{name: "no match counts", policy: &batchv1.PodFailurePolicy{Rules: policy.Rules[:2]}, pod: pod([]corev1.ContainerStatus{exited("main", 3)}), count: true},
		{name: "condition FailJob message", policy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionFailJob,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}}},
			pod: pod(nil, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}), count: true,
			failJob: "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0"},
	} {
		got := judgeFailedPod(tc.policy, tc.pod)
		if got.failJob != tc.failJob || got.count != tc.count {
			t.Errorf("%s: got %+v, want failJob %q count %v", tc.name, got, tc.failJob, tc.count)
		}
	}
}
