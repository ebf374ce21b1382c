// Package leader runs a component only while it holds a Lease, so several
// control-plane nodes can run the scheduler and the controller manager and
// exactly one of each acts at a time.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Config names the Lease and who competes for it.
type Config struct {
	Client kubernetes.Interface
	// Namespace and Name of the Lease (upstream: kube-system/kube-scheduler,
	// kube-system/kube-controller-manager).
	Namespace, Name string
	// Identity of this contender. A stable identity lets a restarted
	// process take its lease back at once instead of waiting it out.
	Identity string
	Logger   *slog.Logger
	// LeaseDuration, RenewDeadline and RetryPeriod default to upstream's
	// 15 s, 10 s and 2 s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Run calls fn while this contender leads, with a context cancelled when
// leadership is lost; it then competes again. It returns when ctx ends
// (releasing the lease) or with fn's error.
func Run(ctx context.Context, cfg Config, fn func(ctx context.Context) error) error {
	if cfg.Client == nil || cfg.Name == "" || cfg.Identity == "" {
		return errors.New("leader election: client, lease name and identity are required")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "kube-system"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 15 * time.Second
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = 10 * time.Second
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = 2 * time.Second
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
		Client:     cfg.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	log := cfg.Logger.With("lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
	for ctx.Err() == nil {
		if err := lead(ctx, cfg, lock, log, fn); err != nil {
			return err
		}
	}
	return nil
}

// lead competes once: it returns when leadership is lost or ctx ends, after
// fn (if it was started) has returned. fn's error ends the term and is returned.
func lead(ctx context.Context, cfg Config, lock resourcelock.Interface, log *slog.Logger, fn func(ctx context.Context) error) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		finished bool // the term is over: fn must not start any more
		running  bool
		done     = make(chan error, 1)
	)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			// client-go calls this in its own goroutine and does not wait for it.
			OnStartedLeading: func(c context.Context) {
				mu.Lock()
				if finished {
					mu.Unlock()
					return
				}
				running = true
				mu.Unlock()
				log.Info("became leader")
				err := fn(c)
				done <- err
				cancel() // fn ended on its own: end the term and release the lease
			},
			OnStoppedLeading: func() { log.Info("stopped leading") },
		},
	})
	if err != nil {
		return fmt.Errorf("leader election for %s: %w", cfg.Name, err)
	}
	le.Run(lctx)
	cancel()
	mu.Lock()
	finished = true
	wasRunning := running
	mu.Unlock()
	if !wasRunning {
		return nil
	}
	if err := <-done; err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
