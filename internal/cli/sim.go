package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sampan-dev/sampan/internal/sim"
)

// newSimCommand runs simulated nodes against a cluster (like kwok).
func newSimCommand(r *root) *cobra.Command {
	var (
		kubeconfig, kubeContext string
		cpu, memory, storage    string
		pods                    int
		labels                  []string
		verbose                 bool
		progress                time.Duration
		cfg                     sim.Config
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run simulated nodes: they register, keep their Leases fresh and run the pods bound to them without containers",
		Long: `Register --nodes simulated nodes and act as their kubelet until interrupted.

Each node renews its Lease in kube-node-lease and posts a Ready status. Pods
bound to a simulated node become Running and Ready at once, with an address
from the node's podCIDR; pods of Jobs succeed after --job-pod-duration;
deleted pods are removed. Nodes stay registered when the simulator stops
(and go NotReady) unless --delete-on-exit.`,
		Example: `  sampan sim --kubeconfig /var/lib/sampan/admin.conf --nodes 100
  sampan sim --nodes 1000 --node-cpu 8 --node-memory 32Gi --pods-per-node 110 --name-prefix rack1-`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.CPU, err = resource.ParseQuantity(cpu); err != nil {
				return fmt.Errorf("--node-cpu: %w", err)
			}
			if cfg.Memory, err = resource.ParseQuantity(memory); err != nil {
				return fmt.Errorf("--node-memory: %w", err)
			}
			if cfg.EphemeralStorage, err = resource.ParseQuantity(storage); err != nil {
				return fmt.Errorf("--node-ephemeral-storage: %w", err)
			}
			if pods <= 0 {
				return fmt.Errorf("--pods-per-node must be positive, not %d", pods)
			}
			cfg.Pods = *resource.NewQuantity(int64(pods), resource.DecimalSI)
			if cfg.Nodes <= 0 {
				return fmt.Errorf("--nodes must be positive, not %d", cfg.Nodes)
			}
			if len(labels) > 0 {
				cfg.Labels = map[string]string{}
				for _, l := range labels {
					k, v, ok := strings.Cut(l, "=")
					if !ok || k == "" {
						return fmt.Errorf("--labels: %q is not key=value", l)
					}
					cfg.Labels[k] = v
				}
			}
			rc, err := benchRESTConfig(kubeconfig, kubeContext)
			if err != nil {
				return err
			}
			rc = rest.AddUserAgent(rest.CopyConfig(rc), "sampan-sim")
			rc.QPS, rc.Burst = -1, 0 // a kubelet per node: no shared client-side limit
			// Protobuf costs less CPU than JSON on both sides, where the server speaks it.
			rc.ContentType = "application/vnd.kubernetes.protobuf"
			rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
			if cfg.Client, err = kubernetes.NewForConfig(rc); err != nil {
				return fmt.Errorf("building client: %w", err)
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			cfg.Logger = r.logger(level)
			s, err := sim.New(cfg)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			go logProgress(ctx, s, cfg.Logger, progress)
			cfg.Logger.Info("starting simulated nodes", "nodes", cfg.Nodes, "prefix", cfg.NamePrefix, "server", rc.Host)
			return s.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG, ~/.kube/config, then Sampan's admin.conf)")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context to use")
	f.IntVar(&cfg.Nodes, "nodes", 1, "number of simulated nodes")
	f.StringVar(&cfg.NamePrefix, "name-prefix", sim.DefaultNamePrefix, "node names are this prefix followed by 0, 1, …")
	f.StringVar(&cpu, "node-cpu", "32", "CPU capacity of each node")
	f.StringVar(&memory, "node-memory", "256Gi", "memory capacity of each node")
	f.StringVar(&storage, "node-ephemeral-storage", "100Gi", "ephemeral-storage capacity of each node")
	f.IntVar(&pods, "pods-per-node", 110, "pod capacity of each node")
	f.StringSliceVar(&labels, "labels", nil, "extra node labels, key=value")
	f.DurationVar(&cfg.JobPodDuration, "job-pod-duration", sim.DefaultJobPodDuration, "how long pods of Jobs run before they succeed")
	f.IntVar(&cfg.Workers, "workers", sim.DefaultWorkers, "pod status updates in flight at once")
	f.BoolVar(&cfg.DeleteOnExit, "delete-on-exit", false, "delete the nodes when stopped")
	f.DurationVar(&progress, "progress", 10*time.Second, "how often to log pod counts (0: never)")
	f.BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	return cmd
}

// logProgress logs the pods on the simulated nodes by phase when they change.
func logProgress(ctx context.Context, s *sim.Sim, log *slog.Logger, every time.Duration) {
	if every <= 0 {
		return
	}
	select {
	case <-s.Registered():
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var last map[corev1.PodPhase]int
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := s.PodCounts()
		if fmt.Sprint(c) == fmt.Sprint(last) {
			continue
		}
		last = c
		log.Info("pods on simulated nodes", "pending", c[corev1.PodPending], "running", c[corev1.PodRunning],
			"succeeded", c[corev1.PodSucceeded], "failed", c[corev1.PodFailed])
	}
}
