package queue

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"
)

func pod(name string, prio int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"a": "b"}},
		Spec:       corev1.PodSpec{Priority: &prio},
	}
}

func newTestQueue() (*Queue, *testingclock.FakeClock) {
	clk := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return New(Config{Clock: clk}), clk
}

func mustPop(t *testing.T, q *Queue) (*QueuedPod, int64) {
	t.Helper()
	if a, _, _ := q.Lens(); a == 0 {
		t.Fatal("active queue is empty")
	}
	qp, cycle, ok := q.Pop()
	if !ok {
		t.Fatal("queue closed")
	}
	return qp, cycle
}

func subQueue(q *Queue, name string) string {
	w, _ := q.Has("ns/" + name)
	return w
}

func TestPopOrder(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(pod("low-1", 0))
	clk.Step(time.Millisecond)
	q.Add(pod("high", 100))
	clk.Step(time.Millisecond)
	q.Add(pod("low-2", 0))
	q.Add(pod("low-3", 0)) // same timestamp as low-2: arrival order
	q.Add(pod("mid", 10))
	var got []string
	for range 5 {
		qp, _ := mustPop(t, q)
		got = append(got, qp.Pod.Name)
		q.Done(qp.Key)
	}
	want := []string{"high", "mid", "low-1", "low-2", "low-3"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pop order %v, want %v", got, want)
		}
	}
}

func TestBackoffDuration(t *testing.T) {
	q, _ := newTestQueue()
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := q.BackoffDuration(&QueuedPod{Attempts: i + 1}); got != w {
			t.Errorf("attempt %d: backoff %v, want %v", i+1, got, w)
		}
	}
}

func TestBackoffFlush(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(pod("p", 0))
	qp, _ := mustPop(t, q)
	qp, _ = failTimes(t, q, clk, qp, 2) // two more attempts: the next backoff is 4s
	if qp.Attempts != 3 {
		t.Fatalf("attempts %d, want 3", qp.Attempts)
	}
	q.AddBackoff(qp)
	q.Done(qp.Key)
	if w := subQueue(q, "p"); w != "backoff" {
		t.Fatalf("pod in %q, want backoff", w)
	}
	clk.Step(4*time.Second - time.Millisecond)
	q.FlushBackoffCompleted()
	if w := subQueue(q, "p"); w != "backoff" {
		t.Fatalf("pod in %q before its 4s backoff ended, want backoff", w)
	}
	clk.Step(time.Millisecond)
	q.FlushBackoffCompleted()
	if w := subQueue(q, "p"); w != "active" {
		t.Fatalf("pod in %q after its backoff, want active", w)
	}
}

// failTimes makes qp fail n times through backoff, popping it again each time.
func failTimes(t *testing.T, q *Queue, clk *testingclock.FakeClock, qp *QueuedPod, n int) (*QueuedPod, int64) {
	t.Helper()
	var cycle int64
	for range n {
		q.AddBackoff(qp)
		q.Done(qp.Key)
		clk.Step(q.BackoffDuration(qp))
		q.FlushBackoffCompleted()
		qp, cycle = mustPop(t, q)
	}
	return qp, cycle
}

func TestUnschedulableMovedOnClusterChange(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(pod("p", 0))
	qp, cycle := mustPop(t, q)
	q.AddUnschedulable(qp, cycle)
	q.Done(qp.Key)
	if w := subQueue(q, "p"); w != "unschedulable" {
		t.Fatalf("pod in %q, want unschedulable", w)
	}
	// Nothing changes: it stays, even after its backoff.
	clk.Step(2 * time.Second)
	q.FlushBackoffCompleted()
	if w := subQueue(q, "p"); w != "unschedulable" {
		t.Fatalf("pod in %q, want unschedulable", w)
	}
	// A node is added: its backoff is over, so straight to active.
	q.MoveAllToActiveOrBackoff(nil)
	if w := subQueue(q, "p"); w != "active" {
		t.Fatalf("pod in %q after a move, want active", w)
	}
}

func TestMoveDuringBackoffGoesThroughBackoff(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(pod("p", 0))
	qp, cycle := mustPop(t, q)
	q.AddUnschedulable(qp, cycle)
	q.Done(qp.Key)
	clk.Step(500 * time.Millisecond)
	q.MoveAllToActiveOrBackoff(nil)
	if w := subQueue(q, "p"); w != "backoff" {
		t.Fatalf("pod in %q, want backoff (1s backoff not over)", w)
	}
	clk.Step(500 * time.Millisecond)
	q.FlushBackoffCompleted()
	if w := subQueue(q, "p"); w != "active" {
		t.Fatalf("pod in %q, want active", w)
	}
}

func TestMoveFilter(t *testing.T) {
	q, _ := newTestQueue()
	for _, n := range []string{"a", "b"} {
		q.Add(pod(n, 0))
		qp, cycle := mustPop(t, q)
		q.AddUnschedulable(qp, cycle)
		q.Done(qp.Key)
	}
	q.MoveAllToActiveOrBackoff(func(p *corev1.Pod) bool { return p.Name == "a" })
	if w := subQueue(q, "a"); w == "unschedulable" {
		t.Errorf("a still unschedulable")
	}
	if w := subQueue(q, "b"); w != "unschedulable" {
		t.Errorf("b in %q, want unschedulable", w)
	}
}

// A change reported while a pod is being scheduled may have made it fit:
// it goes to backoff, not to wait for another change.
func TestMoveRequestDuringAttempt(t *testing.T) {
	q, _ := newTestQueue()
	q.Add(pod("p", 0))
	qp, cycle := mustPop(t, q)
	q.MoveAllToActiveOrBackoff(nil)
	q.AddUnschedulable(qp, cycle)
	q.Done(qp.Key)
	if w := subQueue(q, "p"); w != "backoff" {
		t.Fatalf("pod in %q, want backoff", w)
	}
}

func TestUnschedulableLeftoverFlush(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(pod("p", 0))
	qp, cycle := mustPop(t, q)
	q.AddUnschedulable(qp, cycle)
	q.Done(qp.Key)
	clk.Step(5*time.Minute - time.Second)
	q.FlushUnschedulableLeftover()
	if w := subQueue(q, "p"); w != "unschedulable" {
		t.Fatalf("pod in %q before 5 minutes, want unschedulable", w)
	}
	clk.Step(time.Second)
	q.FlushUnschedulableLeftover()
	if w := subQueue(q, "p"); w != "active" {
		t.Fatalf("pod in %q after 5 minutes, want active", w)
	}
}

func TestDeletedDuringAttemptIsNotRequeued(t *testing.T) {
	q, _ := newTestQueue()
	p := pod("p", 0)
	q.Add(p)
	qp, cycle := mustPop(t, q)
	q.Delete(p)
	q.AddUnschedulable(qp, cycle)
	q.Done(qp.Key)
	if w, ok := q.Has("ns/p"); ok {
		t.Fatalf("deleted pod requeued in %s", w)
	}
}

func TestUpdatedDuringAttempt(t *testing.T) {
	q, _ := newTestQueue()
	p := pod("p", 0)
	q.Add(p)
	qp, cycle := mustPop(t, q)
	p2 := p.DeepCopy()
	p2.Labels["a"] = "c"
	q.Update(p2)
	if _, ok := q.Has("ns/p"); ok {
		t.Fatal("pod in flight was queued again by an update")
	}
	q.AddUnschedulable(qp, cycle)
	q.Done(qp.Key)
	if w := subQueue(q, "p"); w != "backoff" {
		t.Fatalf("pod updated during its attempt in %q, want backoff", w)
	}
	if qp.Pod.Labels["a"] != "c" {
		t.Errorf("queued copy not updated")
	}
}

func TestUpdateUnschedulable(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *corev1.Pod)
		want   string
	}{
		{"status only", func(p *corev1.Pod) { p.Status.Message = "x" }, "unschedulable"},
		{"labels", func(p *corev1.Pod) { p.Labels["a"] = "z" }, "active"},
		{"tolerations", func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{{Key: "k"}} }, "active"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, clk := newTestQueue()
			p := pod("p", 0)
			q.Add(p)
			qp, cycle := mustPop(t, q)
			q.AddUnschedulable(qp, cycle)
			q.Done(qp.Key)
			clk.Step(time.Second)
			p2 := p.DeepCopy()
			tt.change(p2)
			q.Update(p2)
			if w := subQueue(q, "p"); w != tt.want {
				t.Errorf("pod in %q, want %q", w, tt.want)
			}
		})
	}
}

func TestPopWaitsAndClose(t *testing.T) {
	q, _ := newTestQueue()
	got := make(chan string)
	go func() {
		qp, _, ok := q.Pop()
		if ok {
			got <- qp.Pod.Name
		} else {
			got <- ""
		}
		_, _, ok = q.Pop()
		if !ok {
			got <- "closed"
		}
	}()
	q.Add(pod("p", 0))
	if n := <-got; n != "p" {
		t.Fatalf("popped %q, want p", n)
	}
	q.Close()
	if n := <-got; n != "closed" {
		t.Fatalf("second pop: %q, want closed", n)
	}
}

func TestMoveTagged(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := New(Config{Clock: clk, Tag: func(p *corev1.Pod) bool { return p.Labels["a"] == "tagged" }})
	for _, n := range []string{"t", "u"} {
		p := pod(n, 0)
		if n == "t" {
			p.Labels["a"] = "tagged"
		}
		q.Add(p)
		qp, cycle := mustPop(t, q)
		q.AddUnschedulable(qp, cycle)
		q.Done(qp.Key)
	}
	clk.Step(time.Second)
	q.MoveTagged()
	if w := subQueue(q, "t"); w != "active" {
		t.Errorf("tagged pod in %q, want active", w)
	}
	if w := subQueue(q, "u"); w != "unschedulable" {
		t.Errorf("untagged pod in %q, want unschedulable", w)
	}
	if q.tagged != 0 {
		t.Errorf("%d tagged pods counted, want 0", q.tagged)
	}
}
