package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sampan-dev/sampan/internal/controllers/leader"
	"github.com/sampan-dev/sampan/internal/controllers/manager"
	"github.com/sampan-dev/sampan/internal/scheduler"
)

// controllerCertValidity is how long the controller manager's client
// certificate is valid; a new one is issued at every start.
const controllerCertValidity = 365 * 24 * time.Hour

// runControllers runs the controller manager against this control plane's
// API server, as an ordinary client over the network, once the server
// serves. It returns when ctx ends.
func (cp *ControlPlane) runControllers(ctx context.Context) error {
	if err := cp.WaitReady(ctx); err != nil {
		return nil // ctx ended first
	}
	cfg, err := cp.componentRESTConfig("system:kube-controller-manager")
	if err != nil {
		return err
	}
	mcfg := manager.Config{
		RESTConfig:             cfg,
		Logger:                 cp.cfg.Logger,
		Clock:                  cp.cfg.Clock,
		Controllers:            cp.cfg.Controllers,
		ClusterCIDR:            cp.cfg.ClusterCIDR,
		NodeMonitorGracePeriod: cp.cfg.NodeMonitorGracePeriod,
		RootCA:                 cp.ca.CertPEM,
	}
	if mcfg.Controllers != nil && len(mcfg.Controllers) == 0 {
		return nil
	}
	return cp.whileLeading(ctx, cfg, "kube-controller-manager", func(ctx context.Context) error {
		return manager.Run(ctx, mcfg)
	})
}

// whileLeading runs fn while this control plane holds the Lease
// kube-system/name, so that of several control planes one runs it.
func (cp *ControlPlane) whileLeading(ctx context.Context, cfg *rest.Config, name string, fn func(ctx context.Context) error) error {
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(cfg), name+"/leader-election"))
	if err != nil {
		return fmt.Errorf("building leader election client: %w", err)
	}
	return leader.Run(ctx, leader.Config{Client: client, Name: name, Identity: cp.identity(), Logger: cp.cfg.Logger}, fn)
}

// identity names this control plane in leader election: stable across
// restarts (so a restarted server takes its leases back at once) and
// distinct between data dirs on one host (the lab).
func (cp *ControlPlane) identity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	dir, err := filepath.Abs(cp.cfg.DataDir)
	if err != nil {
		dir = cp.cfg.DataDir
	}
	sum := sha256.Sum256([]byte(dir))
	return host + "_" + hex.EncodeToString(sum[:4])
}

// runScheduler runs the scheduler, under leader election, once the server
// serves (unless Config.Controllers leaves it out). It returns when ctx ends.
func (cp *ControlPlane) runScheduler(ctx context.Context) error {
	if cp.cfg.Controllers != nil && !slices.Contains(cp.cfg.Controllers, "scheduler") {
		return nil
	}
	if err := cp.WaitReady(ctx); err != nil {
		return nil // ctx ended first
	}
	cfg, err := cp.componentRESTConfig("system:kube-scheduler")
	if err != nil {
		return err
	}
	return cp.whileLeading(ctx, cfg, "kube-scheduler", func(ctx context.Context) error {
		// A Scheduler runs once: every term builds a new one.
		return scheduler.RunWithRESTConfig(ctx, cfg, scheduler.Config{Logger: cp.cfg.Logger.With("component", "scheduler"), Clock: cp.cfg.Clock})
	})
}

// componentRESTConfig reaches cp.url, in protobuf, with a client
// certificate from the cluster CA for user (a control-plane component).
func (cp *ControlPlane) componentRESTConfig(user string) (*rest.Config, error) {
	// Group system:masters for now: there is no RBAC yet to grant the
	// components their own roles. Drop the group once RBAC arrives.
	certPEM, keyPEM, err := cp.ca.IssueClientCert(user, []string{"system:masters"}, controllerCertValidity, cp.cfg.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("issuing a certificate for %s: %w", user, err)
	}
	return &rest.Config{
		Host: cp.url,
		// Protobuf decodes several times faster than JSON in client-go.
		ContentConfig: rest.ContentConfig{
			ContentType:        "application/vnd.kubernetes.protobuf",
			AcceptContentTypes: "application/vnd.kubernetes.protobuf,application/json",
		},
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   cp.ca.CertPEM,
			CertData: certPEM,
			KeyData:  keyPEM,
		},
	}, nil
}

// ControllerNames lists the control loops a control plane can run, for
// Config.Controllers.
func ControllerNames() []string {
	return append([]string{"scheduler"}, manager.Names()...)
}
