package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// RunScheduler with no kubeconfig starts its own control plane and
// scheduler and sees every pod bound.
func TestRunSchedulerInProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := RunScheduler(ctx, SchedulerOptions{Nodes: 20, Pods: 200, Concurrency: 8, Out: &out})
	if err != nil {
		t.Fatalf("RunScheduler: %v\n%s", err, out.String())
	}
	if !res.InProcess || res.Created != 200 || res.Bound != 200 {
		t.Errorf("result %+v, want 200 pods created and bound in process", res)
	}
	if res.PodsPerSecond <= 0 || res.P99Ms < res.P50Ms {
		t.Errorf("figures do not add up: %+v", res)
	}
	if !strings.Contains(out.String(), "pods/s") {
		t.Errorf("no result line:\n%s", out.String())
	}
}
