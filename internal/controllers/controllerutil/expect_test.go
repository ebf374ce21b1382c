package controllerutil

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestExpectBoth(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	e := NewExpectations(clk)
	e.Expect("ds", 2, []string{"ns/a"})
	steps := []struct {
		do   func()
		want bool
	}{
		{func() {}, false},
		{func() { e.CreationObserved("ds") }, false},
		{func() { e.DeletionObserved("ds", "ns/a") }, false},
		{func() { e.DeletionObserved("ds", "ns/a") }, false}, // counted once
		{func() { e.CreationObserved("ds") }, true},
	}
	for i, s := range steps {
		s.do()
		if got := e.Satisfied("ds"); got != s.want {
			t.Fatalf("step %d: Satisfied = %v, want %v", i, got, s.want)
		}
	}
	e.Expect("ds", 1, nil)
	clk.Step(ExpectationsTTL + time.Second)
	if !e.Satisfied("ds") {
		t.Fatal("expired expectations should be satisfied")
	}
}
