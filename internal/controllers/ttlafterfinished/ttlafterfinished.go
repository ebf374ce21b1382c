// Package ttlafterfinished deletes finished Jobs that set
// spec.ttlSecondsAfterFinished once that many seconds have passed since
// their Complete or Failed condition, as upstream's TTL-after-finished
// controller does. Deletion is in the foreground, so the Job's pods go
// first.
package ttlafterfinished

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of Jobs looked at at once. Default 5.
	Workers int
}

// Controller is the TTL-after-finished controller.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	jobs   batchlisters.JobLister
	synced []cache.InformerSynced
	queue  controllerutil.Queue
}

// New checks cfg, fills defaults and registers a Job informer handler. It
// starts nothing.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("ttl-after-finished controller: a client and an informer factory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	inf := cfg.Informers.Batch().V1().Jobs()
	c := &Controller{
		cfg:   cfg,
		log:   cfg.Logger.With("controller", "ttl-after-finished"),
		jobs:  inf.Lister(),
		queue: controllerutil.NewQueue("ttl-after-finished", cfg.Clock),
	}
	enqueue := func(obj any) {
		if job, ok := obj.(*batchv1.Job); ok && needsCleanup(job) {
			if key, ok := controllerutil.KeyOf(job); ok {
				c.queue.Add(key)
			}
		}
	}
	reg, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("ttl-after-finished controller: watching jobs: %w", err)
	}
	c.synced = []cache.InformerSynced{inf.Informer().HasSynced, reg.HasSynced}
	return c, nil
}

// Run deletes expired Jobs until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("ttl-after-finished controller started", "workers", c.cfg.Workers)
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	job, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if left, expired := c.timeLeft(job); !expired {
		if left > 0 {
			c.queue.AddAfter(key, left)
		}
		return nil
	}
	// The cache may be behind: the TTL may have been changed or the Job
	// replaced. Check the latest version before deleting.
	fresh, err := c.cfg.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("getting job %s: %w", key, err)
	}
	if left, expired := c.timeLeft(fresh); !expired {
		if left > 0 {
			c.queue.AddAfter(key, left)
		}
		return nil
	}
	policy := metav1.DeletePropagationForeground
	err = c.cfg.Client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting job %s: %w", key, err)
	}
	c.log.Info("deleted finished job after its TTL", "job", key)
	return nil
}

// timeLeft reports whether job's TTL has run out and, if not, how long it
// has left (zero when the job does not need cleaning up at all).
func (c *Controller) timeLeft(job *batchv1.Job) (time.Duration, bool) {
	if !needsCleanup(job) {
		return 0, false
	}
	finished, ok := finishTime(job)
	if !ok {
		return 0, false
	}
	expireAt := finished.Add(time.Duration(*job.Spec.TTLSecondsAfterFinished) * time.Second)
	left := expireAt.Sub(c.cfg.Clock.Now())
	if left <= 0 {
		return 0, true
	}
	return left, false
}

// needsCleanup reports whether job has a TTL, has finished and is not
// being deleted already.
func needsCleanup(job *batchv1.Job) bool {
	if job.Spec.TTLSecondsAfterFinished == nil || job.DeletionTimestamp != nil {
		return false
	}
	_, ok := finishTime(job)
	return ok
}

// finishTime is the transition time of job's Complete or Failed condition.
func finishTime(job *batchv1.Job) (time.Time, bool) {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			if c.LastTransitionTime.IsZero() {
				return time.Time{}, false
			}
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}
