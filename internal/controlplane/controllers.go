package controlplane

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/rest"

	"github.com/sampan-dev/sampan/internal/controllers/manager"
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
	cfg, err := cp.controllerRESTConfig()
	if err != nil {
		return err
	}
	return manager.Run(ctx, manager.Config{RESTConfig: cfg, Logger: cp.cfg.Logger, Clock: cp.cfg.Clock, Controllers: cp.cfg.Controllers})
}

// controllerRESTConfig reaches cp.url with a client certificate from the
// cluster CA for the user system:kube-controller-manager.
func (cp *ControlPlane) controllerRESTConfig() (*rest.Config, error) {
	// Group system:masters for now: there is no RBAC yet to grant the
	// controller manager its own role. Drop the group once RBAC arrives.
	certPEM, keyPEM, err := cp.ca.IssueClientCert("system:kube-controller-manager", []string{"system:masters"}, controllerCertValidity, cp.cfg.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("issuing controller manager certificate: %w", err)
	}
	return &rest.Config{
		Host: cp.url,
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
