package cli

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/spf13/cobra"

	"github.com/sampan-dev/sampan/internal/controlplane"
)

func newServerCommand(r *root) *cobra.Command {
	var (
		dataDir, bind, advertise, serviceCIDR string
		port                                  int
		verbose                               bool
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
	f.BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	return cmd
}
