package cli

import (
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sampan-dev/sampan/internal/controlplane"
)

func newServerCommand(r *root) *cobra.Command {
	var (
		dataDir, bind, advertise, serviceCIDR, clusterCIDR string
		port                                               int
		verbose                                            bool
		notReadySecs, unreachableSecs                      int64
		gracePeriod                                        time.Duration
		controllers                                        []string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (API server) in the foreground",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := controlplane.Config{DataDir: dataDir, SecurePort: port}
			if bind != "" {
				if cfg.BindAddress = net.ParseIP(bind); cfg.BindAddress == nil {
					return fmt.Errorf("--bind-address %q is not an IP address", bind)
				}
			}
			if advertise != "" {
				if cfg.AdvertiseAddress = net.ParseIP(advertise); cfg.AdvertiseAddress == nil {
					return fmt.Errorf("--advertise-address %q is not an IP address", advertise)
				}
			}
			_, cidr, err := net.ParseCIDR(serviceCIDR)
			if err != nil {
				return fmt.Errorf("--service-cidr: %w", err)
			}
			cfg.ServiceCIDR = cidr
			if _, cfg.ClusterCIDR, err = net.ParseCIDR(clusterCIDR); err != nil {
				return fmt.Errorf("--cluster-cidr: %w", err)
			}
			cfg.NodeMonitorGracePeriod = gracePeriod
			cfg.DefaultNotReadyTolerationSeconds = &notReadySecs
			cfg.DefaultUnreachableTolerationSeconds = &unreachableSecs
			if cfg.Controllers, err = selectControllers(controllers); err != nil {
				return err
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			cfg.Logger = r.logger(level)
			cp, err := controlplane.New(cfg)
			if err != nil {
				return err
			}
			return cp.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", defaultDataDir, "directory for state, PKI and the admin kubeconfig")
	f.IntVar(&port, "secure-port", 6443, "HTTPS port of the API server")
	f.StringVar(&bind, "bind-address", "0.0.0.0", "address to listen on")
	f.StringVar(&advertise, "advertise-address", "", "address published to the cluster (default: the host's first non-loopback IPv4)")
	f.StringVar(&serviceCIDR, "service-cidr", "10.96.0.0/12", "range of Service ClusterIPs")
	f.StringVar(&clusterCIDR, "cluster-cidr", "10.244.0.0/16", "pod network, cut into one podCIDR per node")
	f.DurationVar(&gracePeriod, "node-monitor-grace-period", 40*time.Second, "how long a node may go without renewing its Lease before it is marked NotReady")
	f.Int64Var(&notReadySecs, "default-not-ready-toleration-seconds", 300, "tolerationSeconds given to pods for the node.kubernetes.io/not-ready:NoExecute taint")
	f.Int64Var(&unreachableSecs, "default-unreachable-toleration-seconds", 300, "tolerationSeconds given to pods for the node.kubernetes.io/unreachable:NoExecute taint")
	f.StringSliceVar(&controllers, "controllers", []string{"*"}, "control loops to run: '*' for all, 'foo' to enable, '-foo' to disable (names: "+strings.Join(controlplane.ControllerNames(), ", ")+")")
	f.BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	return cmd
}

// selectControllers turns upstream-style --controllers values ("*",
// "name", "-name") into the list of control loops to run.
func selectControllers(spec []string) ([]string, error) {
	known := controlplane.ControllerNames()
	isKnown := func(n string) bool { return slices.Contains(known, n) }
	on := map[string]bool{}
	for _, s := range spec {
		switch {
		case s == "*":
			for _, n := range known {
				on[n] = true
			}
		case strings.HasPrefix(s, "-") && isKnown(s[1:]):
			on[s[1:]] = false
		case isKnown(s):
			on[s] = true
		default:
			return nil, fmt.Errorf("--controllers: unknown controller %q (known: %s)", strings.TrimPrefix(s, "-"), strings.Join(known, ", "))
		}
	}
	out := []string{}
	for _, n := range known {
		if on[n] {
			out = append(out, n)
		}
	}
	return out, nil
}
