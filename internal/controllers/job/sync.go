package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

var everything = labels.Everything()

func labelsOf(pod *corev1.Pod) labels.Set { return labels.Set(pod.Labels) }

// Messages of the conditions and events, as upstream writes them.
const (
	msgBackoffLimit   = "Job has reached the specified backoff limit"
	msgDeadline       = "Job was active longer than specified deadline"
	msgCompletions    = "Reached expected number of succeeded pods"
	reasonSuspended   = "JobSuspended"
	reasonResumed     = "JobResumed"
	msgSuspended      = "Job suspended"
	msgResumed        = "Job resumed"
	eventCompleted    = "Completed"
	msgEventCompleted = "Job completed"
)

// state is one sync's view of a Job and its pods.
type state struct {
	key  string
	job  *batchv1.Job // a copy: the status is edited in place
	orig batchv1.JobStatus

	pods        []*corev1.Pod
	active      []*corev1.Pod
	ready       int32
	terminating int32
	succeeded   int32
	failed      int32

	uncountedSucceeded sets.Set[string]
	uncountedFailed    sets.Set[string]
	expectedRm         sets.Set[string]

	prevSucceededIndexes indexSet
	succeededIndexes     indexSet

	// finished is the terminal (or interim) condition decided this sync.
	finished   *batchv1.JobCondition
	newBackoff backoffRecord
}

func (c *Controller) syncJob(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	shared, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expect.Forget(key)
		c.finalizer.forget(key)
		c.backoff.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if isFinished(shared) {
		c.backoff.forget(key)
		return nil
	}
	if m := shared.Spec.ManagedBy; m != nil && *m != batchv1.JobControllerName {
		return nil // another controller runs this Job
	}
	if shared.Spec.Selector == nil || shared.Spec.Parallelism == nil || shared.Spec.BackoffLimit == nil {
		return nil // not defaulted: nothing sensible to do
	}
	job := shared.DeepCopy()
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	// Expectations are read before the pods, so a pod created after the
	// listing cannot slip by: the next sync sees it.
	satisfied := c.expect.Satisfied(key)
	pods, err := c.podsForJob(ctx, job)
	if err != nil {
		return err
	}
	now := c.clock.Now()
	s := &state{
		key:                key,
		job:                job,
		orig:               *shared.Status.DeepCopy(),
		pods:               pods,
		active:             controllerutil.FilterActivePods(pods),
		uncountedSucceeded: sets.New(uidStrings(job.Status.UncountedTerminatedPods.Succeeded)...),
		uncountedFailed:    sets.New(uidStrings(job.Status.UncountedTerminatedPods.Failed)...),
		expectedRm:         c.finalizer.expected(key),
	}
	for _, p := range s.active {
		if controllerutil.IsPodReady(p) {
			s.ready++
		}
	}
	for _, p := range pods {
		if controllerutil.IsPodTerminating(p) {
			s.terminating++
		}
	}
	newSucceeded, newFailed := s.newlyFinished()
	s.succeeded = job.Status.Succeeded + int32(len(newSucceeded)+s.uncountedSucceeded.Len())
	counted := 0
	for _, p := range newFailed {
		if judgeFailedPod(job.Spec.PodFailurePolicy, p).count {
			counted++
		}
	}
	s.failed = job.Status.Failed + int32(counted+s.uncountedFailed.Len())
	if job.Status.StartTime == nil && !isSuspended(job) {
		job.Status.StartTime = ptr.To(metav1.NewTime(now))
	}
	s.newBackoff = c.backoff.get(key).next(newSucceeded, newFailed, now)

	// A condition decided in an earlier sync stands.
	if cond := findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet); cond != nil && cond.Status == corev1.ConditionTrue {
		s.finished = cond.DeepCopy()
	} else if cond := findCondition(job.Status.Conditions, batchv1.JobFailureTarget); cond != nil && cond.Status == corev1.ConditionTrue {
		s.finished = newCondition(batchv1.JobFailed, cond.Reason, cond.Message, now)
	}
	if s.finished == nil && job.Spec.PodFailurePolicy != nil {
		for _, p := range pods {
			if !isPodFailed(p, job) {
				continue
			}
			if msg := judgeFailedPod(job.Spec.PodFailurePolicy, p).failJob; msg != "" {
				s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonPodFailurePolicy, msg, now)
				break
			}
		}
	}
	if s.finished == nil {
		switch {
		case s.failed > *job.Spec.BackoffLimit || pastBackoffLimitOnFailure(job, pods):
			s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimit, now)
		case pastActiveDeadline(job, now):
			s.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, msgDeadline, now)
		case job.Spec.ActiveDeadlineSeconds != nil && !isSuspended(job):
			left := time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second - now.Sub(job.Status.StartTime.Time)
			c.queue.AddAfter(key, left)
		}
	}
	if isIndexed(job) {
		s.prevSucceededIndexes, s.succeededIndexes = s.succeededIndexSets()
		s.succeeded = int32(s.succeededIndexes.total())
	}

	active := int32(len(s.active))
	var manageErr error
	if s.finished != nil {
		// Failing or succeeded: whatever still runs goes, keeping the
		// finalizers so the pods are counted.
		deletedReady, deleted, err := c.deleteActivePods(ctx, job, s.active)
		if deleted != active || !satisfied {
			// Pods or finalizers may be left that the cache does not show
			// yet: not finished this time.
			s.finished = nil
		}
		active -= deleted
		s.terminating += deleted
		s.ready -= deletedReady
		manageErr = err
	} else {
		managed := false
		if satisfied && job.DeletionTimestamp == nil {
			active, manageErr = c.manageJob(ctx, s)
			managed = true
		}
		var complete bool
		if job.Spec.Completions == nil {
			complete = s.succeeded > 0 && active == 0
		} else {
			complete = s.succeeded >= *job.Spec.Completions && active == 0
		}
		switch {
		case complete:
			s.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, msgCompletions, now)
		case managed && isSuspended(job):
			if setCondition(job, batchv1.JobSuspended, corev1.ConditionTrue, reasonSuspended, msgSuspended, now) {
				c.recorder.Event(job, corev1.EventTypeNormal, "Suspended", msgSuspended)
			}
		case managed:
			if setCondition(job, batchv1.JobSuspended, corev1.ConditionFalse, reasonResumed, msgResumed, now) {
				c.recorder.Event(job, corev1.EventTypeNormal, "Resumed", msgResumed)
				// activeDeadlineSeconds counts continuous activity.
				job.Status.StartTime = ptr.To(metav1.NewTime(now))
			}
		}
	}
	job.Status.Active = active
	job.Status.Ready = ptr.To(s.ready)
	job.Status.Terminating = ptr.To(s.terminating)
	if err := c.trackStatus(ctx, s); err != nil {
		return fmt.Errorf("tracking status of job %s: %w", key, err)
	}
	return manageErr
}

// newlyFinished returns the finished pods still carrying the finalizer
// that no earlier sync has recorded.
func (s *state) newlyFinished() (succeeded, failed []*corev1.Pod) {
	for _, p := range s.pods {
		uid := string(p.UID)
		if !hasTrackingFinalizer(p) || s.expectedRm.Has(uid) {
			continue
		}
		if isIndexed(s.job) {
			if ix := completionIndex(p); ix == noIndex || ix >= int(*s.job.Spec.Completions) {
				continue
			}
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !s.uncountedSucceeded.Has(uid):
			succeeded = append(succeeded, p)
		case isPodFailed(p, s.job) && !s.uncountedFailed.Has(uid):
			failed = append(failed, p)
		}
	}
	return succeeded, failed
}

// succeededIndexSets returns the indexes recorded in the status and those
// plus the indexes of succeeded pods not yet recorded.
func (s *state) succeededIndexSets() (prev, all indexSet) {
	completions := int(*s.job.Spec.Completions)
	prev = parseIndexSet(s.job.Status.CompletedIndexes, completions)
	var add []int
	for _, p := range s.pods {
		if p.Status.Phase != corev1.PodSucceeded || !hasTrackingFinalizer(p) || s.expectedRm.Has(string(p.UID)) {
			continue
		}
		if ix := completionIndex(p); ix != noIndex && ix < completions {
			add = append(add, ix)
		}
	}
	return prev, prev.with(add)
}

// manageJob creates or deletes pods so that the right number is active,
// and returns that number.
func (c *Controller) manageJob(ctx context.Context, s *state) (int32, error) {
	job := s.job
	active := int32(len(s.active))
	if isSuspended(job) {
		removedReady, removed, err := c.deleteJobPods(ctx, s, podsForRemoval(job, s.active, len(s.active)))
		s.ready -= removedReady
		s.terminating += removed
		return active - removed, err
	}
	parallelism := *job.Spec.Parallelism
	var want int32
	if job.Spec.Completions == nil {
		// Any success ends the job: keep what runs, start nothing more.
		if s.succeeded > 0 {
			want = active
		} else {
			want = parallelism
		}
	} else {
		want = max(0, min(*job.Spec.Completions-s.succeeded, parallelism))
	}
	rm := podsForRemoval(job, s.active, int(max(0, active-want)))
	if len(rm) > maxPodChangesPerSync {
		rm = rm[:maxPodChangesPerSync]
	}
	if len(rm) > 0 {
		// Creation and deletion never happen in the same sync.
		removedReady, removed, err := c.deleteJobPods(ctx, s, rm)
		s.ready -= removedReady
		s.terminating += removed
		return active - removed, err
	}
	var terminating int32
	if ptr.Deref(job.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed) == batchv1.Failed {
		terminating = s.terminating // a terminating pod still holds its place
	}
	diff := want - terminating - active
	if diff <= 0 {
		return active, nil
	}
	if wait := s.newBackoff.remaining(c.clock.Now(), DefaultBackoff, MaxBackoff); wait > 0 {
		c.queue.AddAfter(s.key, wait)
		return active, nil
	}
	diff = min(diff, maxPodChangesPerSync)
	var indexes []int
	if isIndexed(job) {
		busy := s.active
		if terminating > 0 {
			busy = append(append([]*corev1.Pod(nil), s.active...), terminatingPods(s.pods)...)
		}
		indexes = firstPendingIndexes(s.succeededIndexes, busy, int(diff), int(*job.Spec.Completions))
		diff = int32(len(indexes))
		if diff == 0 {
			return active, nil
		}
	}
	template := job.Spec.Template.DeepCopy()
	if isIndexed(job) {
		addCompletionIndexEnv(template)
	}
	if !hasString(template.Finalizers, batchv1.JobTrackingFinalizer) {
		template.Finalizers = append(template.Finalizers, batchv1.JobTrackingFinalizer)
	}
	c.expect.ExpectCreations(s.key, int(diff))
	var next, attempted atomic.Int32
	created, err := controllerutil.SlowStartBatch(int(diff), 1, func() error {
		attempted.Add(1)
		pod := controllerutil.PodFromTemplate(template, job, controllerKind)
		if indexes != nil {
			ix := indexes[next.Add(1)-1]
			v := strconv.Itoa(ix)
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[batchv1.JobCompletionIndexAnnotation] = v
			if pod.Labels == nil {
				pod.Labels = map[string]string{}
			}
			pod.Labels[batchv1.JobCompletionIndexAnnotation] = v
			if pod.Spec.Hostname == "" {
				pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, ix)
			}
			pod.GenerateName = fmt.Sprintf("%s-%d-", job.Name, ix)
		}
		if _, err := c.podControl.CreatePod(ctx, pod, job); err != nil {
			c.expect.CreationObserved(s.key)
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return err
		}
		return nil
	})
	for range int(diff) - int(attempted.Load()) {
		c.expect.CreationObserved(s.key) // skipped after a failing batch
	}
	return active + int32(created), err
}

// deleteJobPods deletes pods the job no longer wants (scale down,
// suspend): their finalizers go first, so they are not counted as failed.
func (c *Controller) deleteJobPods(ctx context.Context, s *state, pods []*corev1.Pod) (int32, int32, error) {
	if len(pods) == 0 {
		return 0, 0, nil
	}
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = controllerutil.PodKey(p)
	}
	c.expect.ExpectDeletions(s.key, keys)
	var ready, removed atomic.Int32
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if hasTrackingFinalizer(p) {
				if err := c.removeFinalizer(ctx, p); err != nil {
					c.expect.DeletionObserved(s.key, keys[i])
					errs[i] = err
					return
				}
			}
			if err := c.podControl.DeletePod(ctx, p.Namespace, p.Name, s.job); err != nil {
				c.expect.DeletionObserved(s.key, keys[i])
				errs[i] = err
				return
			}
			removed.Add(1)
			if controllerutil.IsPodReady(p) {
				ready.Add(1)
			}
		}()
	}
	wg.Wait()
	return ready.Load(), removed.Load(), errors.Join(errs...)
}

// deleteActivePods deletes the pods of a finishing job, keeping their
// finalizers: they are counted (as failed) before they go.
func (c *Controller) deleteActivePods(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) (int32, int32, error) {
	var ready, removed atomic.Int32
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.podControl.DeletePod(ctx, p.Namespace, p.Name, job); err != nil {
				errs[i] = err
				return
			}
			removed.Add(1)
			if controllerutil.IsPodReady(p) {
				ready.Add(1)
			}
		}()
	}
	wg.Wait()
	return ready.Load(), removed.Load(), errors.Join(errs...)
}

// trackStatus records finished pods in the status, removes their
// finalizers, moves them into the counters and, when the job is done and
// nothing is left to count or terminate, adds Complete or Failed.
func (c *Controller) trackStatus(ctx context.Context, s *state) error {
	job := s.job
	indexed := isIndexed(job)
	if indexed {
		sort.SliceStable(s.pods, func(i, j int) bool { return completionIndex(s.pods[i]) < completionIndex(s.pods[j]) })
	}
	withFinalizer := sets.New[string]()
	for _, p := range s.pods {
		if hasTrackingFinalizer(p) && !s.expectedRm.Has(string(p.UID)) {
			withFinalizer.Insert(string(p.UID))
		}
	}
	countUncounted(&job.Status, withFinalizer)
	uncounted := job.Status.UncountedTerminatedPods
	var toRemove []*corev1.Pod
	var newIndexes []int
	full := false
	jobFailing := s.finished != nil && s.finished.Type != batchv1.JobSuccessCriteriaMet && s.finished.Type != batchv1.JobComplete
	for _, p := range s.pods {
		uid := string(p.UID)
		if !hasTrackingFinalizer(p) || s.expectedRm.Has(uid) {
			continue // counted in an earlier sync
		}
		failed := isPodFailed(p, job)
		if job.DeletionTimestamp == nil && s.finished == nil && p.Status.Phase != corev1.PodSucceeded && !failed {
			continue // still running
		}
		toRemove = append(toRemove, p)
		ix := completionIndex(p)
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !s.uncountedFailed.Has(uid):
			if indexed {
				if ix != noIndex && ix < int(*job.Spec.Completions) && !s.prevSucceededIndexes.has(ix) {
					newIndexes = append(newIndexes, ix)
				}
			} else if !s.uncountedSucceeded.Has(uid) {
				uncounted.Succeeded = append(uncounted.Succeeded, p.UID)
			}
		case failed || jobFailing:
			// A failing job's unfinished pods count as failed.
			valid := !indexed || (ix != noIndex && ix < int(*job.Spec.Completions))
			if !s.uncountedFailed.Has(uid) && valid && judgeFailedPod(job.Spec.PodFailurePolicy, p).count {
				uncounted.Failed = append(uncounted.Failed, p.UID)
			}
		}
		if len(newIndexes)+len(uncounted.Succeeded)+len(uncounted.Failed) >= maxUncountedPods {
			full = true // the rest next time: the status stays small
			break
		}
	}
	if indexed {
		s.succeededIndexes = s.prevSucceededIndexes.with(newIndexes)
		job.Status.CompletedIndexes = s.succeededIndexes.String()
		job.Status.Succeeded = int32(s.succeededIndexes.total())
	}
	now := c.clock.Now()
	switch {
	case s.finished == nil:
	case s.finished.Type == batchv1.JobFailureTarget:
		// Recorded before any finalizer goes, so the reason survives a restart.
		if findCondition(job.Status.Conditions, batchv1.JobFailureTarget) == nil {
			job.Status.Conditions = append(job.Status.Conditions, *s.finished)
		}
		s.finished = newCondition(batchv1.JobFailed, s.finished.Reason, s.finished.Message, now)
	case s.finished.Type == batchv1.JobSuccessCriteriaMet:
		if findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet) == nil {
			job.Status.Conditions = append(job.Status.Conditions, *s.finished)
		}
		s.finished = newCondition(batchv1.JobComplete, s.finished.Reason, s.finished.Message, now)
	}

	// 1. Write the UIDs about to lose their finalizers.
	if err := c.flush(ctx, s); err != nil {
		return fmt.Errorf("adding uncounted pods to status: %w", err)
	}
	c.backoff.set(s.key, s.newBackoff)
	// 2. Remove the finalizers.
	var rmErr error
	if len(toRemove) > 0 {
		uids := make([]string, len(toRemove))
		for i, p := range toRemove {
			uids[i] = string(p.UID)
		}
		c.finalizer.expect(s.key, uids)
		ok := make([]bool, len(toRemove))
		errs := make([]error, len(toRemove))
		var wg sync.WaitGroup
		for i, p := range toRemove {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := c.removeFinalizer(ctx, p)
				if err != nil {
					c.finalizer.observed(s.key, uids[i])
					if !apierrors.IsNotFound(err) {
						errs[i] = err
						return
					}
				}
				ok[i] = true
			}()
		}
		wg.Wait()
		for i, done := range ok {
			if done {
				withFinalizer.Delete(uids[i])
			}
		}
		rmErr = errors.Join(errs...)
	}
	// 3. Count what lost its finalizer.
	countUncounted(&job.Status, withFinalizer)
	if rmErr != nil {
		if err := c.flush(ctx, s); err != nil {
			return fmt.Errorf("removing uncounted pods from status: %w", err)
		}
		return rmErr
	}
	// 4. Finished once nothing is left to count or to terminate.
	done := false
	if s.finished != nil && !full && len(uncounted.Succeeded)+len(uncounted.Failed) == 0 && ptr.Deref(job.Status.Terminating, 0) == 0 {
		setCondition(job, s.finished.Type, corev1.ConditionTrue, s.finished.Reason, s.finished.Message, now)
		if s.finished.Type == batchv1.JobComplete {
			job.Status.CompletionTime = ptr.To(metav1.NewTime(now))
		}
		done = true
	}
	if err := c.flush(ctx, s); err != nil {
		return fmt.Errorf("updating status: %w", err)
	}
	if done {
		c.recordFinished(job, s.finished)
		c.backoff.forget(s.key)
	}
	return nil
}

// flush writes s.job's status when it differs from what was last written.
func (c *Controller) flush(ctx context.Context, s *state) error {
	if apiequality.Semantic.DeepEqual(s.orig, s.job.Status) {
		return nil
	}
	updated, err := c.client.BatchV1().Jobs(s.job.Namespace).UpdateStatus(ctx, s.job, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	// s.job stays the object being edited (callers hold pointers into its
	// status); it takes the new resourceVersion for the next write.
	s.job.ObjectMeta = updated.ObjectMeta
	s.orig = *s.job.Status.DeepCopy()
	return nil
}

func (c *Controller) recordFinished(job *batchv1.Job, cond *batchv1.JobCondition) {
	if cond.Type == batchv1.JobComplete {
		if job.Spec.Completions != nil && job.Status.Succeeded > *job.Spec.Completions {
			c.recorder.Event(job, corev1.EventTypeWarning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
		}
		c.recorder.Event(job, corev1.EventTypeNormal, eventCompleted, msgEventCompleted)
		return
	}
	c.recorder.Event(job, corev1.EventTypeWarning, cond.Reason, cond.Message)
}

// countUncounted moves the uncounted UIDs whose pods lost the finalizer
// (not in withFinalizer) into the counters.
func countUncounted(status *batchv1.JobStatus, withFinalizer sets.Set[string]) {
	u := status.UncountedTerminatedPods
	keep := func(uids []types.UID) ([]types.UID, int32) {
		var out []types.UID
		for _, uid := range uids {
			if withFinalizer.Has(string(uid)) {
				out = append(out, uid)
			}
		}
		return out, int32(len(uids) - len(out))
	}
	var n int32
	u.Succeeded, n = keep(u.Succeeded)
	status.Succeeded += n
	u.Failed, n = keep(u.Failed)
	status.Failed += n
}

// removeFinalizer removes the tracking finalizer from pod.
func (c *Controller) removeFinalizer(ctx context.Context, pod *corev1.Pod) error {
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{
			"$deleteFromPrimitiveList/finalizers": []string{batchv1.JobTrackingFinalizer},
		},
	})
	_, err := c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("removing tracking finalizer of pod %s: %w", controllerutil.PodKey(pod), err)
	}
	return nil
}

// podsForJob returns the pods the job controls, adopting matching orphans
// (and giving them the tracking finalizer) and releasing pods that no
// longer match.
func (c *Controller) podsForJob(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("parsing selector of job %s: %w", jobKey(job), err)
	}
	candidates, err := controllerutil.ControlledOrOrphans[*corev1.Pod](c.podIndex, job.UID, job.Namespace)
	if err != nil {
		return nil, err
	}
	wasOrphan := map[types.UID]bool{}
	for _, p := range candidates {
		if metav1.GetControllerOfNoCopy(p) == nil {
			wasOrphan[p.UID] = true
		}
	}
	claimer := &controllerutil.Claimer{
		Owner:     job,
		OwnerKind: controllerKind,
		Selector:  sel,
		Patch: func(ctx context.Context, ns, name string, pt types.PatchType, data []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, pt, data, metav1.PatchOptions{})
			return err
		},
		CanAdopt: controllerutil.RecheckOwner(job, func(ctx context.Context) (metav1.Object, error) {
			return c.client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		}),
	}
	pods, err := controllerutil.Claim(ctx, claimer, candidates)
	for i, p := range pods {
		if !wasOrphan[p.UID] || hasTrackingFinalizer(p) || !controllerutil.IsPodActive(p) {
			continue
		}
		// An adopted running pod is tracked like one the controller made.
		patch := fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, batchv1.JobTrackingFinalizer)
		if _, perr := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); perr == nil {
			cp := p.DeepCopy()
			cp.Finalizers = append(cp.Finalizers, batchv1.JobTrackingFinalizer)
			pods[i] = cp
		}
	}
	return pods, err
}

// syncOrphanPod removes the tracking finalizer from a pod whose Job is gone
// or finished, or that no Job controls.
func (c *Controller) syncOrphanPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !hasTrackingFinalizer(pod) {
		return nil
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if !isJobPodRef(pod) {
			return nil // someone else's business
		}
		if job := c.jobOfPod(pod); job != nil && !isFinished(job) {
			return nil // its Job counts it
		}
	}
	if err := c.removeFinalizer(ctx, pod); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// podsForRemoval returns the active pods to delete: for an Indexed job
// first those with a repeated, missing or out-of-range index, then at least
// n in total, the least advanced first.
func podsForRemoval(job *batchv1.Job, active []*corev1.Pod, n int) []*corev1.Pod {
	var rm, left []*corev1.Pod
	if isIndexed(job) {
		seen := map[int]bool{}
		sorted := append([]*corev1.Pod(nil), active...)
		sort.SliceStable(sorted, func(i, j int) bool { return lessAdvanced(sorted[j], sorted[i]) })
		for _, p := range sorted {
			ix := completionIndex(p)
			if ix == noIndex || ix >= int(*job.Spec.Completions) || seen[ix] {
				rm = append(rm, p)
				continue
			}
			seen[ix] = true
			left = append(left, p)
		}
	} else {
		left = append([]*corev1.Pod(nil), active...)
	}
	if len(rm) < n {
		sort.SliceStable(left, func(i, j int) bool { return lessAdvanced(left[i], left[j]) })
		rm = append(rm, left[:min(len(left), n-len(rm))]...)
	}
	return rm
}

// lessAdvanced orders pods as upstream deletes them: unscheduled before
// scheduled, pending before running, not ready before ready, newer before
// older.
func lessAdvanced(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if ra, rb := phaseRank(a.Status.Phase), phaseRank(b.Status.Phase); ra != rb {
		return ra < rb
	}
	if ra, rb := controllerutil.IsPodReady(a), controllerutil.IsPodReady(b); ra != rb {
		return !ra
	}
	return b.CreationTimestamp.Before(&a.CreationTimestamp)
}

func phaseRank(p corev1.PodPhase) int {
	switch p {
	case corev1.PodPending:
		return 0
	case corev1.PodUnknown:
		return 1
	case corev1.PodRunning:
		return 2
	}
	return 0
}

func terminatingPods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if controllerutil.IsPodTerminating(p) {
			out = append(out, p)
		}
	}
	return out
}

// isPodFailed reports whether pod counts as failed: phase Failed, or (unless
// only failed pods are replaced) being deleted before it succeeded.
func isPodFailed(p *corev1.Pod, job *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if ptr.Deref(job.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed) == batchv1.Failed {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

// pastBackoffLimitOnFailure reports whether the container restarts of the
// running pods of an OnFailure job reach the backoff limit.
func pastBackoffLimitOnFailure(job *batchv1.Job, pods []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, st := range p.Status.InitContainerStatuses {
			restarts += st.RestartCount
		}
		for _, st := range p.Status.ContainerStatuses {
			restarts += st.RestartCount
		}
	}
	if *job.Spec.BackoffLimit == 0 {
		return restarts > 0
	}
	return restarts >= *job.Spec.BackoffLimit
}

func pastActiveDeadline(job *batchv1.Job, now time.Time) bool {
	if job.Spec.ActiveDeadlineSeconds == nil || job.Status.StartTime == nil || isSuspended(job) {
		return false
	}
	return now.Sub(job.Status.StartTime.Time) >= time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second
}

func isSuspended(job *batchv1.Job) bool { return ptr.Deref(job.Spec.Suspend, false) }

func isIndexed(job *batchv1.Job) bool {
	return ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion && job.Spec.Completions != nil
}

// isFinished reports whether job has a Complete or Failed condition.
func isFinished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func hasTrackingFinalizer(pod *corev1.Pod) bool {
	return hasString(pod.Finalizers, batchv1.JobTrackingFinalizer)
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func findCondition(conds []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func newCondition(t batchv1.JobConditionType, reason, message string, now time.Time) *batchv1.JobCondition {
	return &batchv1.JobCondition{
		Type:               t,
		Status:             corev1.ConditionTrue,
		LastProbeTime:      metav1.NewTime(now),
		LastTransitionTime: metav1.NewTime(now),
		Reason:             reason,
		Message:            message,
	}
}

// setCondition sets condition t of job, adding it unless it would be a
// new False condition. It reports whether anything changed.
func setCondition(job *batchv1.Job, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) bool {
	if c := findCondition(job.Status.Conditions, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == message {
			return false
		}
		*c = *newCondition(t, reason, message, now)
		c.Status = status
		return true
	}
	if status == corev1.ConditionFalse {
		return false
	}
	cond := newCondition(t, reason, message, now)
	cond.Status = status
	job.Status.Conditions = append(job.Status.Conditions, *cond)
	return true
}

func uidStrings(uids []types.UID) []string {
	out := make([]string, len(uids))
	for i, u := range uids {
		out[i] = string(u)
	}
	return out
}
