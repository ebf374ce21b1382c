// Package manager runs Sampan's controllers (the kube-controller-manager
// role) against an API server. Every controller is an ordinary API client.
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/cronjob"
	"github.com/sampan-dev/sampan/internal/controllers/daemonset"
	"github.com/sampan-dev/sampan/internal/controllers/deployment"
	"github.com/sampan-dev/sampan/internal/controllers/disruption"
	"github.com/sampan-dev/sampan/internal/controllers/endpoints"
	"github.com/sampan-dev/sampan/internal/controllers/endpointslice"
	"github.com/sampan-dev/sampan/internal/controllers/garbagecollector"
	"github.com/sampan-dev/sampan/internal/controllers/job"
	"github.com/sampan-dev/sampan/internal/controllers/namespace"
	"github.com/sampan-dev/sampan/internal/controllers/nodeipam"
	"github.com/sampan-dev/sampan/internal/controllers/nodelifecycle"
	"github.com/sampan-dev/sampan/internal/controllers/podgc"
	"github.com/sampan-dev/sampan/internal/controllers/replicaset"
	"github.com/sampan-dev/sampan/internal/controllers/rootcacert"
	"github.com/sampan-dev/sampan/internal/controllers/serviceaccount"
	"github.com/sampan-dev/sampan/internal/controllers/statefulset"
	"github.com/sampan-dev/sampan/internal/controllers/ttlafterfinished"
)

// Config configures the controller manager.
type Config struct {
	RESTConfig *rest.Config
	Logger     *slog.Logger
	Clock      clock.WithTicker
	// Controllers names the controllers to run; nil runs all of them
	// (Names), an empty non-nil slice none.
	Controllers []string
	// ClusterCIDR is the pod network node IPAM cuts podCIDRs from.
	ClusterCIDR *net.IPNet
	// NodeMonitorGracePeriod: how long before a silent node is NotReady.
	NodeMonitorGracePeriod time.Duration
	// RootCA is the cluster CA bundle published as kube-root-ca.crt.
	RootCA []byte
}

// Names lists every controller the manager can run, in start order.
func Names() []string {
	var out []string
	for _, c := range controllers() {
		out = append(out, c.name)
	}
	return out
}

// runner is a built controller.
type runner interface {
	Run(ctx context.Context) error
}

// controller names a controller and builds it. Building has no side effects
// beyond asking the shared informer factory for informers.
type controller struct {
	name string
	new  func(cc *controllerContext) (runner, error)
}

// burstReplicas caps the pods one ReplicaSet sync creates or deletes.
// Upstream's 500, reached through slow-start batches that each wait a round
// trip, holds a large Deployment to about 500 pods/s; creates still start
// with one pod and double only while they succeed.
const burstReplicas = 5000

// statusBatchPeriod lets the readiness changes of a ReplicaSet's pods
// share a sync (see replicaset.Config.StatusBatchPeriod).
const statusBatchPeriod = 500 * time.Millisecond

// controllers is every controller the manager runs: adding one is one entry.
func controllers() []controller {
	return []controller{
		{"garbagecollector", func(cc *controllerContext) (runner, error) {
			return garbagecollector.New(garbagecollector.Config{Metadata: cc.metadata, Discovery: cc.client.Discovery(), Logger: cc.logger, Clock: cc.clock})
		}},
		{"namespace", func(cc *controllerContext) (runner, error) {
			return namespace.New(namespace.Config{Client: cc.client, Metadata: cc.metadata, Namespaces: cc.informers.Core().V1().Namespaces(), Logger: cc.logger, Clock: cc.clock})
		}},
		{"deployment", func(cc *controllerContext) (runner, error) {
			return deployment.New(deployment.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"replicaset", func(cc *controllerContext) (runner, error) {
			return replicaset.New(replicaset.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock, BurstReplicas: burstReplicas, StatusBatchPeriod: statusBatchPeriod})
		}},
		{"daemonset", func(cc *controllerContext) (runner, error) {
			return daemonset.New(daemonset.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"statefulset", func(cc *controllerContext) (runner, error) {
			return statefulset.New(statefulset.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"job", func(cc *controllerContext) (runner, error) {
			return job.New(job.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"cronjob", func(cc *controllerContext) (runner, error) {
			return cronjob.New(cronjob.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"ttl-after-finished", func(cc *controllerContext) (runner, error) {
			return ttlafterfinished.New(ttlafterfinished.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"endpointslice", func(cc *controllerContext) (runner, error) {
			return endpointslice.New(endpointslice.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"endpoint", func(cc *controllerContext) (runner, error) {
			return endpoints.New(endpoints.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"serviceaccount", func(cc *controllerContext) (runner, error) {
			return serviceaccount.New(serviceaccount.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"root-ca-cert-publisher", func(cc *controllerContext) (runner, error) {
			return rootcacert.New(rootcacert.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock, RootCA: cc.cfg.RootCA})
		}},
		{"disruption", func(cc *controllerContext) (runner, error) {
			return disruption.New(disruption.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"podgc", func(cc *controllerContext) (runner, error) {
			return podgc.New(podgc.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock})
		}},
		{"nodeipam", func(cc *controllerContext) (runner, error) {
			return nodeipam.New(nodeipam.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock, ClusterCIDR: cc.cfg.ClusterCIDR})
		}},
		{"nodelifecycle", func(cc *controllerContext) (runner, error) {
			return nodelifecycle.New(nodelifecycle.Config{Client: cc.client, Informers: cc.informers, Logger: cc.logger, Clock: cc.clock, NodeMonitorGracePeriod: cc.cfg.NodeMonitorGracePeriod})
		}},
	}
}

// controllerContext is what a controller is built from. Its clients carry
// the controller's name in their user agent; the informer factory is shared.
type controllerContext struct {
	client    kubernetes.Interface
	metadata  metadata.Interface
	informers informers.SharedInformerFactory
	logger    *slog.Logger
	clock     clock.WithTicker
	cfg       Config
}

// Run builds every controller, runs them until ctx ends and returns. A
// controller that fails stops the others and its error is returned.
func Run(ctx context.Context, cfg Config) error {
	if cfg.RESTConfig == nil {
		return errors.New("controller manager: a REST config is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	base := rest.CopyConfig(cfg.RESTConfig)
	// No client-side rate limit: controllers talk to a local server in
	// bursts (a 30,000-replica Deployment, a namespace deletion) and
	// client-go's default of 5 requests/s would be the bottleneck. The
	// server protects itself.
	base.QPS, base.Burst = -1, 0
	shared, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(base), "sampan-controller-manager/shared-informers"))
	if err != nil {
		return fmt.Errorf("building client: %w", err)
	}
	factory := informers.NewSharedInformerFactory(shared, 0)

	type built struct {
		name string
		r    runner
	}
	var all []built
	enabled := map[string]bool{}
	for _, n := range cfg.Controllers {
		enabled[n] = true
	}
	for _, c := range controllers() {
		if cfg.Controllers != nil && !enabled[c.name] {
			continue
		}
		cc, err := newControllerContext(base, c.name, factory, cfg)
		if err != nil {
			return err
		}
		r, err := c.new(cc)
		if err != nil {
			return fmt.Errorf("creating %s controller: %w", c.name, err)
		}
		all = append(all, built{c.name, r})
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	factory.Start(ctx.Done())
	cfg.Logger.Info("controller manager started", "controllers", len(all))
	errc := make(chan error, len(all))
	for _, b := range all {
		go func() {
			err := b.r.Run(ctx)
			if err != nil {
				err = fmt.Errorf("%s controller: %w", b.name, err)
				cancel()
			}
			errc <- err
		}()
	}
	var first error
	for range all {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	cancel()
	factory.Shutdown()
	return first
}

func newControllerContext(base *rest.Config, name string, factory informers.SharedInformerFactory, cfg Config) (*controllerContext, error) {
	rc := rest.AddUserAgent(rest.CopyConfig(base), "sampan-controller-manager/"+name)
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("building client for %s: %w", name, err)
	}
	md, err := metadata.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("building metadata client for %s: %w", name, err)
	}
	return &controllerContext{
		client:    client,
		metadata:  md,
		informers: factory,
		logger:    cfg.Logger.With("component", "controller-manager", "controller", name),
		clock:     cfg.Clock,
		cfg:       cfg,
	}, nil
}
