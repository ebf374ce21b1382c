package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// `sampan sim` registers its nodes, and with --delete-on-exit removes them
// when interrupted.
func TestSimCommand(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	r := newRoot(streams{in: strings.NewReader(""), out: &out, err: &errOut})
	done := make(chan error, 1)
	go func() {
		done <- r.run(ctx, []string{"sampan", "sim", "--kubeconfig", c.Kubeconfig, "--nodes", "2",
			"--name-prefix", "cli-", "--node-cpu", "4", "--labels", "rack=r1", "--delete-on-exit"})
	}()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "rack=r1"})
		if err != nil || len(nodes.Items) != 2 {
			return false, err
		}
		for _, n := range nodes.Items {
			if cpu := n.Status.Capacity.Cpu(); cpu.Value() != 4 || !strings.HasPrefix(n.Name, "cli-") {
				t.Fatalf("node %s: cpu %v", n.Name, cpu)
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("waiting for nodes: %v\nstderr:\n%s", err, errOut.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sim: %v", err)
	}
	nodes, err := c.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 0 {
		t.Errorf("%d nodes left after --delete-on-exit", len(nodes.Items))
	}
}

func TestSimCommandFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--nodes", "0"}, "--nodes must be positive"},
		{[]string{"--node-cpu", "lots"}, "--node-cpu"},
		{[]string{"--node-memory", "x"}, "--node-memory"},
		{[]string{"--pods-per-node", "-1"}, "--pods-per-node must be positive"},
		{[]string{"--labels", "novalue"}, "not key=value"},
	}
	for _, tt := range tests {
		r := newRoot(streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &bytes.Buffer{}})
		err := r.run(context.Background(), append([]string{"sampan", "sim", "--kubeconfig", "/nonexistent"}, tt.args...))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("sim %v: error %v, want it to mention %q", tt.args, err, tt.want)
		}
	}
}
