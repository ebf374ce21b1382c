package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sampan-dev/sampan/internal/bench"
)

// newBenchCommand groups the benchmarks. Each one takes a kubeconfig, so the
// same run measures Sampan and any other cluster.
func newBenchCommand(r *root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a cluster (Sampan or any other, through its kubeconfig)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchAPICommand(r))
	cmd.AddCommand(newBenchSchedulerCommand(r))
	cmd.AddCommand(newBenchDensityCommand(r))
	return cmd
}

func newBenchSchedulerCommand(r *root) *cobra.Command {
	var (
		kubeconfig, kubeContext, jsonFile string
		opts                              bench.SchedulerOptions
	)
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Measure the scheduler: pods bound per second on many simulated nodes",
		Long: `Measure how fast a scheduler binds pods: create --nodes Ready nodes through
the API (no kubelet behind them), then --pods pods from --concurrency clients,
and watch them being bound. It reports the pods bound per second from the
first binding observed to the last, and the p50/p99 time from sending a
pod's create to seeing it bound.

Without --kubeconfig it starts a control plane in this process, in a
temporary directory, and runs Sampan's scheduler against it. With
--kubeconfig the cluster's own scheduler does the work; the nodes, pods and
namespace are deleted at the end.`,
		Example: `  sampan bench scheduler
  sampan bench scheduler --nodes 1000 --pods 3000
  sampan bench scheduler --kubeconfig /var/lib/sampan/admin.conf --json sched.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kubeconfig != "" || kubeContext != "" {
				cfg, err := benchRESTConfig(kubeconfig, kubeContext)
				if err != nil {
					return err
				}
				opts.RESTConfig = cfg
			}
			opts.Out = r.out
			res, err := bench.RunScheduler(cmd.Context(), opts)
			if jsonFile != "" {
				if werr := writeJSON(r, jsonFile, res); werr != nil {
					return errors.Join(err, werr)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to measure (default: an in-process control plane and scheduler)")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context to use")
	f.IntVar(&opts.Nodes, "nodes", bench.DefaultSchedulerNodes, "nodes to create")
	f.IntVar(&opts.Pods, "pods", bench.DefaultSchedulerPods, "pods to create")
	f.StringVar(&opts.NodeCPU, "node-cpu", bench.DefaultSchedulerNodeCPU, "allocatable cpu of each node")
	f.StringVar(&opts.NodeMemory, "node-memory", bench.DefaultSchedulerNodeMemory, "allocatable memory of each node")
	f.IntVar(&opts.PodsPerNode, "pods-per-node", bench.DefaultSchedulerPodsPerNode, "allocatable pods of each node")
	f.IntVar(&opts.Concurrency, "concurrency", bench.DefaultSchedulerConcurrency, "concurrent clients creating nodes and pods")
	f.BoolVar(&opts.ScheduleAfterCreate, "schedule-after-create", false, "in-process only: start the scheduler once every pod exists, to measure scheduling alone")
	f.DurationVar(&opts.Timeout, "timeout", bench.DefaultSchedulerTimeout, "longest wait for every pod to be bound")
	f.StringVar(&jsonFile, "json", "", "also write the figures as JSON to this file (- for standard output)")
	return cmd
}

// writeJSON writes v as indented JSON to path (- for standard output).
func writeJSON(r *root, path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = r.out.Write(data)
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

func newBenchAPICommand(r *root) *cobra.Command {
	var (
		kubeconfig, kubeContext, jsonFile string
		opts                              bench.APIConfig
	)
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Measure the API server: ops/s and p50/p99 latency per verb, full LISTs, watch fan-out",
		Long: `Measure the API server with client-go: create, get, list, update and delete
of 1 KiB ConfigMaps and ~2 KiB Pods at each concurrency, full LISTs of
--list-size pods, and the delivery of writes to --watchers watchers.

The pods name a scheduler that does not exist, so no node ever runs them.
Everything is created in a fresh namespace (or --namespace) and deleted at
the end. Client-side rate limits are off.`,
		Example: `  sampan bench api --kubeconfig /var/lib/sampan/admin.conf
  sampan bench api --kubeconfig ~/.kube/config --context kind-kind --json kind.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := benchRESTConfig(kubeconfig, kubeContext)
			if err != nil {
				return err
			}
			report, err := bench.RunAPI(cmd.Context(), cfg, opts, r.out)
			if jsonFile != "" && report != nil {
				if werr := writeReportJSON(r, jsonFile, report); werr != nil {
					return werr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to measure (default: $KUBECONFIG, ~/.kube/config, then Sampan's admin.conf)")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context to use")
	f.IntSliceVar(&opts.Concurrency, "concurrency", bench.DefaultConcurrency(), "concurrent clients of the create/get/list/update/delete phases")
	f.IntVar(&opts.Objects, "objects", bench.DefaultObjects, "operations per create/get/list/update/delete phase")
	f.DurationVar(&opts.PhaseDuration, "duration", bench.DefaultPhaseDuration, "longest time a timed phase starts operations for")
	f.IntVar(&opts.ListSize, "list-size", bench.DefaultListSize, "pods in the full-LIST phase (negative: skip it)")
	f.IntVar(&opts.ListRepeats, "list-repeats", bench.DefaultListRepeats, "full LISTs timed")
	f.IntVar(&opts.Watchers, "watchers", bench.DefaultWatchers, "watchers in the watch fan-out phase (negative: skip it)")
	f.IntVar(&opts.WatchWrites, "watch-writes", bench.DefaultWatchWrites, "ConfigMaps written in the watch fan-out phase")
	f.StringVar(&opts.Namespace, "namespace", "", "namespace to work in (default: a fresh sampan-bench-<random>, deleted at the end)")
	f.DurationVar(&opts.CleanupWait, "cleanup-wait", bench.DefaultCleanupWait, "how long to wait for the deleted namespace to go")
	f.StringVar(&jsonFile, "json", "", "also write the figures as JSON to this file (- for standard output)")
	return cmd
}

// benchRESTConfig loads a kubeconfig the way kubectl does; with no
// --kubeconfig and nothing in $KUBECONFIG or ~/.kube/config, it falls back
// to Sampan's admin kubeconfig.
func benchRESTConfig(kubeconfig, kubeContext string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	} else if os.Getenv(clientcmd.RecommendedConfigPathEnvVar) == "" {
		if _, err := os.Stat(clientcmd.RecommendedHomeFile); err != nil {
			for _, p := range defaultKubeconfigs() {
				if _, err := os.Stat(p); err == nil {
					rules.ExplicitPath = p
					break
				}
			}
		}
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	return cfg, nil
}

func writeReportJSON(r *root, path string, report *bench.APIReport) error {
	if path == "-" {
		return report.WriteJSON(r.out)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if err := report.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

func newBenchDensityCommand(r *root) *cobra.Command {
	var (
		kubeconfig, kubeContext, jsonFile string
		opts                              bench.DensityConfig
	)
	cmd := &cobra.Command{
		Use:   "density",
		Short: "Measure the control plane end to end: a large Deployment on simulated nodes, from apply to all Running",
		Long: `Start --nodes simulated nodes (as "sampan sim" does) against the cluster,
create one Deployment of --replicas pause pods in a fresh namespace and time
it until every replica is Running and Ready: Deployment and ReplicaSet
controllers, the scheduler and the nodes' status writes are all on the path.
The API server's resident memory is read from its /metrics during the run.
The namespace and the simulated nodes are deleted at the end.`,
		Example: `  sampan bench density --kubeconfig /var/lib/sampan/admin.conf
  sampan bench density --nodes 100 --replicas 3000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := benchRESTConfig(kubeconfig, kubeContext)
			if err != nil {
				return err
			}
			report, err := bench.RunDensity(cmd.Context(), cfg, opts, r.out)
			if jsonFile != "" && report != nil {
				if werr := writeJSON(r, jsonFile, report); werr != nil {
					return werr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to measure (default: $KUBECONFIG, ~/.kube/config, then Sampan's admin.conf)")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context to use")
	f.IntVar(&opts.Nodes, "nodes", bench.DefaultDensityNodes, "simulated nodes")
	f.IntVar(&opts.PodsPerNode, "pods-per-node", 110, "pod capacity of each simulated node")
	f.IntVar(&opts.Replicas, "replicas", bench.DefaultDensityReplicas, "replicas of the Deployment")
	f.BoolVar(&opts.ExistingNodes, "existing-nodes", false, "use the cluster's Ready nodes instead of starting simulated ones")
	f.DurationVar(&opts.Timeout, "timeout", bench.DefaultDensityTimeout, "longest wait for all replicas to run")
	f.StringVar(&jsonFile, "json", "", "also write the figures as JSON to this file (- for standard output)")
	return cmd
}
