package scheduler

import (
	"context"
	"fmt"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// RunWithRESTConfig runs a scheduler against the API server restCfg
// reaches until ctx ends: it builds a client without client-side rate
// limit (user agent "default-scheduler" or cfg.SchedulerName), an informer
// factory of its own, and a Scheduler from cfg with those filled in. A
// Scheduler runs once; this is what a control plane calls for each term
// it leads.
func RunWithRESTConfig(ctx context.Context, restCfg *rest.Config, cfg Config) error {
	name := cfg.SchedulerName
	if name == "" {
		name = DefaultSchedulerName
	}
	c := rest.AddUserAgent(rest.CopyConfig(restCfg), name)
	c.QPS, c.Burst, c.RateLimiter = -1, 0, nil
	client, err := kubernetes.NewForConfig(c)
	if err != nil {
		return fmt.Errorf("building scheduler client: %w", err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	cfg.Client, cfg.Informers = client, factory
	s, err := New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		factory.Shutdown()
	}()
	factory.Start(ctx.Done())
	return s.Run(ctx)
}
