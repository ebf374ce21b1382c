package cronjob

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// tooManyMissed is the number of missed schedule times above which the
// controller warns (it still starts the most recent one).
const tooManyMissed = 100

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	shared, err := c.cronJobs.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	jobs, err := c.jobsOf(shared)
	if err != nil {
		return err
	}
	cj := shared.DeepCopy()
	jobs = c.withoutDeleted(jobs)
	if hasUnlistedJob(cj, jobs) {
		// A running Job of ours missing from the active list: the cached
		// CronJob may predate our own status write. Read it fresh.
		fresh, err := c.client.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("getting cronjob %s: %w", key, err)
		}
		if fresh.UID == cj.UID {
			cj = fresh
		}
	}
	base := cj.Status.DeepCopy()
	requeue, syncErr := c.syncCronJob(ctx, cj, jobs)
	if cj.DeletionTimestamp == nil {
		c.cleanupFinishedJobs(ctx, cj, jobs)
	}
	if !apiequality.Semantic.DeepEqual(*base, cj.Status) {
		if _, err := c.client.BatchV1().CronJobs(ns).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating status of cronjob %s: %w", key, err)
		}
	}
	if requeue > 0 {
		c.queue.AddAfter(key, requeue)
	}
	return syncErr
}

// syncCronJob brings cj's active list up to date with its jobs and starts
// the Job of the most recent unmet schedule time. It returns how long to
// wait before the next schedule time (0: no requeue).
func (c *Controller) syncCronJob(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (time.Duration, error) {
	now := c.clock.Now()
	mine := make(map[types.UID]bool, len(jobs))
	for _, j := range jobs {
		mine[j.UID] = true
		active := inActiveList(cj, j.UID)
		finished, condType := isJobFinished(j)
		if !active && !finished && j.DeletionTimestamp == nil {
			// Ours but unknown: created by a sync whose status write was
			// lost, or by someone else on our behalf. It counts as running.
			c.event(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
			cj.Status.Active = append(cj.Status.Active, jobRef(j))
		}
		if active && finished {
			deleteFromActiveList(cj, j.UID)
			c.event(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, condType)
		}
		if finished && condType == batchv1.JobComplete && j.Status.CompletionTime != nil {
			if cj.Status.LastSuccessfulTime == nil || cj.Status.LastSuccessfulTime.Before(j.Status.CompletionTime) {
				cj.Status.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
			}
		}
	}
	// Active jobs that are gone (checked with the server: the cache may lag).
	for _, ref := range append([]corev1.ObjectReference(nil), cj.Status.Active...) {
		if mine[ref.UID] {
			continue
		}
		_, err := c.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			c.event(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
			deleteFromActiveList(cj, ref.UID)
		case err != nil:
			return 0, fmt.Errorf("getting job %s/%s: %w", ref.Namespace, ref.Name, err)
		}
	}

	if cj.DeletionTimestamp != nil {
		return 0, nil // the garbage collector takes the jobs
	}
	loc := time.UTC
	if tz := cj.Spec.TimeZone; tz != nil {
		l, err := time.LoadLocation(*tz)
		if err != nil {
			c.event(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return 0, nil
		}
		loc = l
	}
	if ptr.Deref(cj.Spec.Suspend, false) {
		return 0, nil
	}
	sched, err := cron.ParseStandard(scheduleWithZone(cj))
	if err != nil {
		c.event(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return 0, nil
	}
	untilNext := func() time.Duration {
		next := sched.Next(now)
		if next.IsZero() {
			return 0
		}
		return next.Sub(now) + nextSyncDelta
	}
	scheduled, missed := mostRecentScheduleTime(cj, now, sched)
	if scheduled == nil {
		return untilNext(), nil
	}
	if missed > tooManyMissed {
		c.event(cj, corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		c.event(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return untilNext(), nil
	}
	name := jobName(cj, *scheduled)
	if inActiveListByName(cj, name) || (cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Time.Equal(*scheduled)) {
		return untilNext(), nil // started already
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.event(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return untilNext(), nil
		}
	case batchv1.ReplaceConcurrent:
		for _, ref := range append([]corev1.ObjectReference(nil), cj.Status.Active...) {
			if err := c.deleteJob(ctx, cj, ref.Namespace, ref.Name, ref.UID); err != nil {
				return 0, err
			}
		}
	}

	job := jobFromTemplate(cj, *scheduled, loc)
	created, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return 0, nil
	case apierrors.IsAlreadyExists(err):
		// Created by an earlier sync whose status write was lost: take it.
		existing, gerr := c.client.BatchV1().Jobs(cj.Namespace).Get(ctx, name, metav1.GetOptions{})
		if gerr != nil {
			return 0, fmt.Errorf("getting existing job %s: %w", name, gerr)
		}
		if !metav1.IsControlledBy(existing, cj) {
			return 0, fmt.Errorf("job %s/%s exists and is not controlled by cronjob %s", cj.Namespace, name, cj.Name)
		}
		created = existing
	case err != nil:
		c.event(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return 0, fmt.Errorf("creating job %s/%s: %w", cj.Namespace, name, err)
	default:
		c.event(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
	}
	if finished, _ := isJobFinished(created); !finished && !inActiveList(cj, created.UID) {
		cj.Status.Active = append(cj.Status.Active, jobRef(created))
	}
	cj.Status.LastScheduleTime = ptr.To(metav1.NewTime(*scheduled))
	return untilNext(), nil
}

// hasUnlistedJob reports whether a running Job of cj is not in its active list.
func hasUnlistedJob(cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	for _, j := range jobs {
		if finished, _ := isJobFinished(j); !finished && j.DeletionTimestamp == nil && !inActiveList(cj, j.UID) {
			return true
		}
	}
	return false
}

// mostRecentScheduleTime returns the latest schedule time of cj at or
// before now that came after the last one started (or the CronJob's
// creation), within startingDeadlineSeconds, and how many such times there
// were; nil when there is none.
func mostRecentScheduleTime(cj *batchv1.CronJob, now time.Time, sched cron.Schedule) (*time.Time, int) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		if limit := now.Add(-time.Duration(*d) * time.Second); limit.After(earliest) {
			earliest = limit
		}
	}
	if earliest.After(now) {
		return nil, 0
	}
	first := sched.Next(earliest)
	if first.IsZero() || first.After(now) {
		return nil, 0
	}
	last, n := first, 1
	for n <= tooManyMissed {
		next := sched.Next(last)
		if next.IsZero() || next.After(now) {
			return &last, n
		}
		last, n = next, n+1
	}
	// Very many missed times (a long outage, a clock jump): find the most
	// recent one from a window before now that widens until it holds one,
	// instead of walking through all of them.
	interval := max(sched.Next(first).Sub(first), time.Minute)
	for window := interval; ; window *= 2 {
		start := now.Add(-window)
		if start.Before(last) {
			start = last
		}
		t := sched.Next(start)
		if t.IsZero() || t.After(now) {
			if !start.After(last) {
				return &last, n
			}
			continue
		}
		for {
			next := sched.Next(t)
			if next.IsZero() || next.After(now) {
				break
			}
			t = next
		}
		missed := n + int(t.Sub(last)/interval)
		return &t, missed
	}
}

// scheduleWithZone is the schedule as robfig/cron reads it, with
// spec.timeZone as a CRON_TZ prefix.
func scheduleWithZone(cj *batchv1.CronJob) string {
	if cj.Spec.TimeZone != nil && !strings.Contains(cj.Spec.Schedule, "TZ=") {
		return fmt.Sprintf("CRON_TZ=%s %s", *cj.Spec.TimeZone, cj.Spec.Schedule)
	}
	return cj.Spec.Schedule
}

// jobName is the deterministic name of cj's Job for scheduled: the same
// time never makes two Jobs.
func jobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}

// jobFromTemplate builds the Job cj runs at scheduled.
func jobFromTemplate(cj *batchv1.CronJob, scheduled time.Time, loc *time.Location) *batchv1.Job {
	labels := make(map[string]string, len(cj.Spec.JobTemplate.Labels))
	for k, v := range cj.Spec.JobTemplate.Labels {
		labels[k] = v
	}
	annotations := make(map[string]string, len(cj.Spec.JobTemplate.Annotations)+1)
	for k, v := range cj.Spec.JobTemplate.Annotations {
		annotations[k] = v
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            jobName(cj, scheduled),
			Namespace:       cj.Namespace,
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, controllerKind)},
		},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
}

// cleanupFinishedJobs deletes the oldest finished Jobs beyond the history
// limits.
func (c *Controller) cleanupFinishedJobs(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) {
	if cj.Spec.SuccessfulJobsHistoryLimit == nil && cj.Spec.FailedJobsHistoryLimit == nil {
		return
	}
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		if j.DeletionTimestamp != nil {
			continue
		}
		switch finished, t := isJobFinished(j); {
		case finished && t == batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case finished && t == batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	if l := cj.Spec.SuccessfulJobsHistoryLimit; l != nil {
		c.removeOldest(ctx, cj, succeeded, int(*l))
	}
	if l := cj.Spec.FailedJobsHistoryLimit; l != nil {
		c.removeOldest(ctx, cj, failed, int(*l))
	}
}

func (c *Controller) removeOldest(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job, keep int) {
	if len(jobs) <= keep {
		return
	}
	sort.Slice(jobs, func(a, b int) bool { return olderJob(jobs[a], jobs[b]) })
	for _, j := range jobs[:len(jobs)-keep] {
		if err := c.deleteJob(ctx, cj, j.Namespace, j.Name, j.UID); err != nil {
			c.log.Info("deleting old job failed", "job", j.Namespace+"/"+j.Name, "err", err)
		}
	}
}

// olderJob orders jobs by start time, jobs that never started last, the
// name breaking ties.
func olderJob(a, b *batchv1.Job) bool {
	if b.Status.StartTime == nil {
		return a.Status.StartTime != nil || a.Name < b.Name
	}
	if a.Status.StartTime == nil {
		return false
	}
	if a.Status.StartTime.Equal(b.Status.StartTime) {
		return a.Name < b.Name
	}
	return a.Status.StartTime.Before(b.Status.StartTime)
}

// deleteJob deletes one of cj's Jobs (its pods go in the background) and
// drops it from the active list.
func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, ns, name string, uid types.UID) error {
	policy := metav1.DeletePropagationBackground
	err := c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		deleteFromActiveList(cj, uid)
		return nil
	}
	if err != nil {
		c.event(cj, corev1.EventTypeWarning, "FailedDelete", "Error deleting job: %v", err)
		return fmt.Errorf("deleting job %s/%s: %w", ns, name, err)
	}
	deleteFromActiveList(cj, uid)
	c.deleted.add(uid, c.clock.Now())
	c.event(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", name)
	return nil
}

// withoutDeleted drops the Jobs this controller deleted recently, which
// the cache may still show.
func (c *Controller) withoutDeleted(jobs []*batchv1.Job) []*batchv1.Job {
	out := jobs[:0:0]
	for _, j := range jobs {
		if !c.deleted.has(j.UID, c.clock.Now()) {
			out = append(out, j)
		}
	}
	return out
}

func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind:            "Job",
		APIVersion:      batchv1.SchemeGroupVersion.String(),
		Namespace:       j.Namespace,
		Name:            j.Name,
		UID:             j.UID,
		ResourceVersion: j.ResourceVersion,
	}
}

func inActiveList(cj *batchv1.CronJob, uid types.UID) bool {
	for _, r := range cj.Status.Active {
		if r.UID == uid {
			return true
		}
	}
	return false
}

func inActiveListByName(cj *batchv1.CronJob, name string) bool {
	for _, r := range cj.Status.Active {
		if r.Name == name && r.Namespace == cj.Namespace {
			return true
		}
	}
	return false
}

func deleteFromActiveList(cj *batchv1.CronJob, uid types.UID) {
	var out []corev1.ObjectReference
	for _, r := range cj.Status.Active {
		if r.UID != uid {
			out = append(out, r)
		}
	}
	cj.Status.Active = out
}
