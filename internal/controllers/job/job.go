// Package job runs Jobs to completion as upstream's job controller does:
// it creates pods from the template (parallelism at a time, never more than
// the completions left), counts succeeded and failed pods into the Job's
// status through the batch.kubernetes.io/job-tracking finalizer, retries
// failed pods with an exponential delay until backoffLimit, enforces
// activeDeadlineSeconds and suspend, and marks the Job Complete or Failed
// once its pods are gone.
//
// Counting follows upstream's status.uncountedTerminatedPods protocol, so a
// restart of the controller at any point neither loses nor repeats a
// count: a finished pod's UID is first written into the Job's
// uncountedTerminatedPods (while the pod still carries the finalizer), then
// the finalizer is removed, then the UID moves from the uncounted list into
// status.succeeded/failed. A UID in the uncounted list whose pod no longer
// has the finalizer (or is gone) is counted; a pod with the finalizer whose
// UID is already listed is not listed again.
package job

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
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

const (
	// DefaultBackoff is the delay before a pod replaces a failed one; it
	// doubles with every further failure up to MaxBackoff.
	DefaultBackoff = 10 * time.Second
	// MaxBackoff caps the delay between pod failures and replacements.
	MaxBackoff = 6 * time.Minute
	// maxUncountedPods bounds the UIDs one sync adds to
	// status.uncountedTerminatedPods (upstream's limit, keeping the status small).
	maxUncountedPods = 500
	// maxPodChangesPerSync bounds the pods one sync creates or deletes.
	maxPodChangesPerSync = 500
)

var controllerKind = batchv1.SchemeGroupVersion.WithKind("Job")

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of Jobs synced at once. Default 5.
	Workers int
}

// Controller is the Job controller.
type Controller struct {
	cfg       Config
	log       *slog.Logger
	client    kubernetes.Interface
	clock     clock.WithTicker
	jobs      batchlisters.JobLister
	pods      corelisters.PodLister
	podIndex  cache.Indexer
	synced    []cache.InformerSynced
	queue     controllerutil.Queue
	orphans   controllerutil.Queue
	expect    *controllerutil.Expectations
	finalizer *finalizerExpectations
	backoff   *backoffStore

	recorder   record.EventRecorder
	podControl controllerutil.PodControl
}

// New checks cfg, fills defaults and registers informer handlers. It
// starts nothing.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("job controller: a client and an informer factory are required")
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
	jobInf := cfg.Informers.Batch().V1().Jobs()
	podInf := cfg.Informers.Core().V1().Pods()
	if err := controllerutil.AddControllerIndex(podInf.Informer()); err != nil {
		return nil, fmt.Errorf("job controller: indexing pods: %w", err)
	}
	c := &Controller{
		cfg:       cfg,
		log:       cfg.Logger.With("controller", "job"),
		client:    cfg.Client,
		clock:     cfg.Clock,
		jobs:      jobInf.Lister(),
		pods:      podInf.Lister(),
		podIndex:  podInf.Informer().GetIndexer(),
		queue:     controllerutil.NewQueue("job", cfg.Clock),
		orphans:   controllerutil.NewQueue("job-orphan-pods", cfg.Clock),
		expect:    controllerutil.NewExpectations(cfg.Clock),
		finalizer: newFinalizerExpectations(),
		backoff:   newBackoffStore(),
	}
	jobReg, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueJob,
		UpdateFunc: func(_, obj any) { c.enqueueJob(obj) },
		DeleteFunc: c.deleteJob,
	})
	if err != nil {
		return nil, fmt.Errorf("job controller: watching jobs: %w", err)
	}
	podReg, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	})
	if err != nil {
		return nil, fmt.Errorf("job controller: watching pods: %w", err)
	}
	c.synced = []cache.InformerSynced{jobInf.Informer().HasSynced, podInf.Informer().HasSynced, jobReg.HasSynced, podReg.HasSynced}
	return c, nil
}

// Run syncs Jobs until ctx ends. The informers are started by the owner of
// the factory.
func (c *Controller) Run(ctx context.Context) error {
	recorder, stop := controllerutil.NewRecorder(ctx, c.client, "job-controller")
	defer stop()
	c.recorder = recorder
	c.podControl = controllerutil.PodControl{Client: c.client, Recorder: recorder}
	defer c.queue.ShutDown()
	defer c.orphans.ShutDown()
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("job controller started", "workers", c.cfg.Workers)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		controllerutil.RunWorkers(ctx, c.orphans, 1, c.syncOrphanPod, c.log)
	}()
	go func() {
		defer wg.Done()
		controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.syncJob, c.log)
	}()
	wg.Wait()
	return nil
}

func (c *Controller) enqueueJob(obj any) {
	if key, ok := controllerutil.KeyOf(obj); ok {
		c.queue.Add(key)
	}
}

func (c *Controller) deleteJob(obj any) {
	c.enqueueJob(obj)
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
	// Its pods keep their finalizers until someone removes them.
	objs, err := c.podIndex.ByIndex(controllerutil.ControllerIndex, string(job.UID))
	if err != nil {
		return
	}
	for _, o := range objs {
		if pod, ok := o.(*corev1.Pod); ok && hasTrackingFinalizer(pod) {
			c.orphans.Add(controllerutil.PodKey(pod))
		}
	}
}

// jobOfPod returns the Job controlling pod, nil when there is none in the
// cache (or the reference names another Job with the same name).
func (c *Controller) jobOfPod(pod *corev1.Pod) *batchv1.Job {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return nil
	}
	job, err := c.jobs.Jobs(pod.Namespace).Get(ref.Name)
	if err != nil || job.UID != ref.UID {
		return nil
	}
	return job
}

// isJobPodRef reports whether pod's controller is a batch/v1 Job.
func isJobPodRef(pod *corev1.Pod) bool {
	ref := metav1.GetControllerOfNoCopy(pod)
	return ref != nil && ref.Kind == controllerKind.Kind && ref.APIVersion == controllerKind.GroupVersion().String()
}

func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	job := c.jobOfPod(pod)
	if pod.DeletionTimestamp != nil {
		// Seen for the first time while being deleted (e.g. after a
		// restart): no creation to observe, but maybe a finalizer to drop.
		c.deletePod(pod)
		if hasTrackingFinalizer(pod) && (job == nil || isFinished(job)) && (isJobPodRef(pod) || metav1.GetControllerOfNoCopy(pod) == nil) {
			c.orphans.Add(controllerutil.PodKey(pod))
		}
		return
	}
	if job != nil {
		key := jobKey(job)
		c.expect.CreationObserved(key)
		c.queue.Add(key)
		if hasTrackingFinalizer(pod) && isFinished(job) {
			c.orphans.Add(controllerutil.PodKey(pod))
		}
		return
	}
	if metav1.GetControllerOfNoCopy(pod) == nil {
		// An orphan: the Jobs that would adopt it take a look.
		for _, j := range c.jobsSelecting(pod) {
			c.queue.Add(jobKey(j))
		}
	}
	if hasTrackingFinalizer(pod) && (isJobPodRef(pod) || metav1.GetControllerOfNoCopy(pod) == nil) {
		c.orphans.Add(controllerutil.PodKey(pod))
	}
}

func (c *Controller) updatePod(oldObj, obj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := obj.(*corev1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == pod.ResourceVersion {
		return
	}
	oldJob := c.jobOfPod(old)
	job := c.jobOfPod(pod)
	if hasTrackingFinalizer(old) && !hasTrackingFinalizer(pod) {
		for _, j := range []*batchv1.Job{oldJob, job} {
			if j != nil {
				c.finalizer.observed(jobKey(j), string(pod.UID))
			}
		}
	}
	if pod.DeletionTimestamp != nil && old.DeletionTimestamp == nil && job != nil {
		c.expect.DeletionObserved(jobKey(job), controllerutil.PodKey(pod))
	}
	if oldJob != nil && (job == nil || oldJob.UID != job.UID) {
		c.queue.Add(jobKey(oldJob))
	}
	if job != nil {
		c.queue.Add(jobKey(job))
		if hasTrackingFinalizer(pod) && isFinished(job) {
			c.orphans.Add(controllerutil.PodKey(pod))
		}
		return
	}
	if metav1.GetControllerOfNoCopy(pod) == nil && pod.DeletionTimestamp == nil {
		for _, j := range c.jobsSelecting(pod) {
			c.queue.Add(jobKey(j))
		}
	}
	if hasTrackingFinalizer(pod) && (isJobPodRef(pod) || metav1.GetControllerOfNoCopy(pod) == nil) {
		c.orphans.Add(controllerutil.PodKey(pod))
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	job := c.jobOfPod(pod)
	if job == nil {
		return
	}
	key := jobKey(job)
	c.expect.DeletionObserved(key, controllerutil.PodKey(pod))
	c.finalizer.observed(key, string(pod.UID))
	c.queue.Add(key)
}

// jobsSelecting returns the Jobs of pod's namespace whose selector matches it.
func (c *Controller) jobsSelecting(pod *corev1.Pod) []*batchv1.Job {
	jobs, err := c.jobs.Jobs(pod.Namespace).List(everything)
	if err != nil {
		return nil
	}
	var out []*batchv1.Job
	for _, j := range jobs {
		sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labelsOf(pod)) {
			out = append(out, j)
		}
	}
	return out
}

func jobKey(job *batchv1.Job) string { return job.Namespace + "/" + job.Name }

// finalizerExpectations remember, per Job, the pods whose tracking
// finalizer the controller removed but whose update the informer has not
// shown yet: such a pod must not be counted a second time.
type finalizerExpectations struct {
	mu sync.Mutex
	m  map[string]sets.Set[string]
}

func newFinalizerExpectations() *finalizerExpectations {
	return &finalizerExpectations{m: map[string]sets.Set[string]{}}
}

func (f *finalizerExpectations) expect(key string, uids []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.m[key]
	if !ok {
		s = sets.New[string]()
		f.m[key] = s
	}
	s.Insert(uids...)
}

func (f *finalizerExpectations) observed(key, uid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.m[key]; ok {
		s.Delete(uid)
		if s.Len() == 0 {
			delete(f.m, key)
		}
	}
}

// expected returns a copy of the UIDs still expected for key.
func (f *finalizerExpectations) expected(key string) sets.Set[string] {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[key].Clone()
}

func (f *finalizerExpectations) forget(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key)
}
