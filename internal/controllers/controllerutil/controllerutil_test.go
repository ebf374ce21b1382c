package controllerutil

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestExpectations(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	e := NewExpectations(clk)
	if !e.Satisfied("ns/rs") {
		t.Fatal("no record must be satisfied")
	}
	e.ExpectCreations("ns/rs", 2)
	if e.Satisfied("ns/rs") {
		t.Fatal("2 creates outstanding, satisfied")
	}
	e.CreationObserved("ns/rs")
	if e.Satisfied("ns/rs") {
		t.Fatal("1 create outstanding, satisfied")
	}
	e.CreationObserved("ns/rs")
	if !e.Satisfied("ns/rs") {
		t.Fatal("all creates seen, not satisfied")
	}

	e.ExpectDeletions("ns/rs", []string{"ns/a", "ns/b"})
	e.DeletionObserved("ns/rs", "ns/a")
	e.DeletionObserved("ns/rs", "ns/a") // seen twice (update then delete): counts once
	e.DeletionObserved("ns/rs", "ns/other")
	if e.Satisfied("ns/rs") {
		t.Fatal("b's deletion outstanding, satisfied")
	}
	clk.Step(ExpectationsTTL + time.Second)
	if !e.Satisfied("ns/rs") {
		t.Fatal("expired expectations must be satisfied")
	}
	e.ExpectCreations("ns/rs", 1)
	e.Forget("ns/rs")
	if !e.Satisfied("ns/rs") {
		t.Fatal("forgotten key not satisfied")
	}
}

func TestSlowStartBatch(t *testing.T) {
	var calls atomic.Int32
	n, err := SlowStartBatch(10, 1, func() error { calls.Add(1); return nil })
	if n != 10 || err != nil || calls.Load() != 10 {
		t.Fatalf("all succeed: n=%d err=%v calls=%d", n, err, calls.Load())
	}
	// Batches are 1, 2, 4, 3: failing from the 4th call on stops after the batch of 4.
	calls.Store(0)
	var mu sync.Mutex
	seen := 0
	n, err = SlowStartBatch(10, 1, func() error {
		calls.Add(1)
		mu.Lock()
		defer mu.Unlock()
		seen++
		if seen >= 4 {
			return errors.New("quota")
		}
		return nil
	})
	if err == nil || n != 3 || calls.Load() != 7 {
		t.Fatalf("failing: n=%d err=%v calls=%d, want 3 successes of 7 calls", n, err, calls.Load())
	}
	if n, err := SlowStartBatch(0, 1, func() error { t.Fatal("called"); return nil }); n != 0 || err != nil {
		t.Fatal("zero count")
	}
}

func TestIsPodAvailable(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ready := func(since time.Duration) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
			Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-since)),
		}}}}
	}
	cases := []struct {
		name string
		pod  *corev1.Pod
		min  int32
		want bool
	}{
		{"not ready", &corev1.Pod{}, 0, false},
		{"ready, no minReadySeconds", ready(0), 0, true},
		{"ready long enough", ready(10 * time.Second), 10, true},
		{"ready too briefly", ready(9 * time.Second), 10, false},
	}
	for _, c := range cases {
		if got := IsPodAvailable(c.pod, c.min, now); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

type patchRecord struct {
	name string
	data string
}

func TestClaim(t *testing.T) {
	owner := &metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "owner"}
	kind := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	ref := metav1.NewControllerRef(owner, kind)
	other := metav1.NewControllerRef(&metav1.ObjectMeta{Name: "x", UID: "other"}, kind)
	pod := func(name string, app string, ref *metav1.OwnerReference) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"app": app}}}
		if ref != nil {
			p.OwnerReferences = []metav1.OwnerReference{*ref}
		}
		return p
	}
	pods := []*corev1.Pod{
		pod("owned", "web", ref),     // kept
		pod("orphan", "web", nil),    // adopted
		pod("moved", "db", ref),      // released
		pod("foreign", "web", other), // someone else's
		pod("stranger", "db", nil),   // not ours
	}
	var mu sync.Mutex
	var patches []patchRecord
	c := &Claimer{
		Owner: owner, OwnerKind: kind, Selector: labels.SelectorFromSet(labels.Set{"app": "web"}),
		Patch: func(_ context.Context, _, name string, pt types.PatchType, data []byte) error {
			mu.Lock()
			defer mu.Unlock()
			if pt != types.StrategicMergePatchType {
				t.Errorf("patch type %s", pt)
			}
			patches = append(patches, patchRecord{name, string(data)})
			return nil
		},
	}
	got, err := Claim(context.Background(), c, pods)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "owned,orphan" {
		t.Fatalf("claimed %v, want owned,orphan", names)
	}
	if len(patches) != 2 || patches[0].name != "orphan" || !strings.Contains(patches[0].data, `"controller":true`) ||
		patches[1].name != "moved" || !strings.Contains(patches[1].data, `"$patch":"delete"`) {
		t.Fatalf("patches = %+v", patches)
	}

	// An owner that cannot adopt (deleted meanwhile) claims no orphan.
	c2 := &Claimer{Owner: owner, OwnerKind: kind, Selector: labels.Everything(),
		Patch:    func(context.Context, string, string, types.PatchType, []byte) error { return nil },
		CanAdopt: func(context.Context) error { return errors.New("gone") }}
	if got, err := Claim(context.Background(), c2, []*corev1.Pod{pod("orphan", "web", nil)}); err == nil || len(got) != 0 {
		t.Fatalf("adopted despite CanAdopt failing: %v %v", got, err)
	}
}
