// Package cronjob creates Jobs from CronJobs at their scheduled times, as
// upstream's CronJob controller (v2) does: one Job per schedule time, named
// <cronjob>-<minutes since the epoch>, with the concurrency policy
// (Allow/Forbid/Replace), startingDeadlineSeconds, suspend, time zones and
// history limits applied, and the CronJob's status (active,
// lastScheduleTime, lastSuccessfulTime) kept. The controller requeues each
// CronJob for its next schedule time on the injected clock.
package cronjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

var controllerKind = batchv1.SchemeGroupVersion.WithKind("CronJob")

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of CronJobs synced at once. Default 5.
	Workers int
}

// Controller is the CronJob controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	client   kubernetes.Interface
	clock    clock.WithTicker
	cronJobs batchlisters.CronJobLister
	jobs     batchlisters.JobLister
	jobIndex cache.Indexer
	synced   []cache.InformerSynced
	queue    controllerutil.Queue
	recorder record.EventRecorder
	deleted  *recentlyDeleted
}

// New checks cfg, fills defaults and registers informer handlers. It
// starts nothing.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("cronjob controller: a client and an informer factory are required")
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
	cjInf := cfg.Informers.Batch().V1().CronJobs()
	jobInf := cfg.Informers.Batch().V1().Jobs()
	if err := controllerutil.AddControllerIndex(jobInf.Informer()); err != nil {
		return nil, fmt.Errorf("cronjob controller: indexing jobs: %w", err)
	}
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("controller", "cronjob"),
		client:   cfg.Client,
		clock:    cfg.Clock,
		cronJobs: cjInf.Lister(),
		jobs:     jobInf.Lister(),
		jobIndex: jobInf.Informer().GetIndexer(),
		queue:    controllerutil.NewQueue("cronjob", cfg.Clock),
		deleted:  &recentlyDeleted{m: map[types.UID]time.Time{}},
	}
	cjReg, err := cjInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("cronjob controller: watching cronjobs: %w", err)
	}
	jobReg, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueOwner,
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := oldObj.(*batchv1.Job)
			job, ok2 := obj.(*batchv1.Job)
			if ok1 && ok2 && old.ResourceVersion == job.ResourceVersion {
				return
			}
			c.enqueueOwner(oldObj)
			c.enqueueOwner(obj)
		},
		DeleteFunc: c.enqueueOwner,
	})
	if err != nil {
		return nil, fmt.Errorf("cronjob controller: watching jobs: %w", err)
	}
	c.synced = []cache.InformerSynced{cjInf.Informer().HasSynced, jobInf.Informer().HasSynced, cjReg.HasSynced, jobReg.HasSynced}
	return c, nil
}

// Run syncs CronJobs until ctx ends. The informers are started by the
// owner of the factory.
func (c *Controller) Run(ctx context.Context) error {
	recorder, stop := controllerutil.NewRecorder(ctx, c.client, "cronjob-controller")
	defer stop()
	c.recorder = recorder
	defer c.queue.ShutDown()
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("cronjob controller started", "workers", c.cfg.Workers)
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

func (c *Controller) enqueue(obj any) {
	if key, ok := controllerutil.KeyOf(obj); ok {
		c.queue.Add(key)
	}
}

// enqueueOwner queues the CronJob controlling a Job.
func (c *Controller) enqueueOwner(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if job, ok = tomb.Obj.(*batchv1.Job); !ok {
			return
		}
	}
	ref := metav1.GetControllerOfNoCopy(job)
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return
	}
	cj, err := c.cronJobs.CronJobs(job.Namespace).Get(ref.Name)
	if err != nil || cj.UID != ref.UID {
		return
	}
	c.queue.Add(job.Namespace + "/" + ref.Name)
}

// jobsOf returns the Jobs cj controls.
func (c *Controller) jobsOf(cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	objs, err := c.jobIndex.ByIndex(controllerutil.ControllerIndex, string(cj.UID))
	if err != nil {
		return nil, err
	}
	out := make([]*batchv1.Job, 0, len(objs))
	for _, o := range objs {
		if j, ok := o.(*batchv1.Job); ok && j.Namespace == cj.Namespace {
			out = append(out, j)
		}
	}
	return out, nil
}

func (c *Controller) event(obj *batchv1.CronJob, eventType, reason, format string, args ...any) {
	if c.recorder != nil {
		c.recorder.Eventf(obj, eventType, reason, format, args...)
	}
}

func isJobFinished(j *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true, c.Type
		}
	}
	return false, ""
}

// nextSyncDelta is added to the wait for the next schedule time, so the
// sync runs after it rather than a hair before.
const nextSyncDelta = 100 * time.Millisecond

// recentlyDeleted remembers the UIDs of Jobs the controller deleted for a
// while, so a Job still in the cache is not taken for a running one.
type recentlyDeleted struct {
	mu sync.Mutex
	m  map[types.UID]time.Time
}

const deletedMemory = 5 * time.Minute

func (r *recentlyDeleted) add(uid types.UID, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for u, at := range r.m {
		if now.Sub(at) > deletedMemory {
			delete(r.m, u)
		}
	}
	r.m[uid] = now
}

func (r *recentlyDeleted) has(uid types.UID, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.m[uid]
	return ok && now.Sub(at) <= deletedMemory
}
