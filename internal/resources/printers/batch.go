package printers

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

func jobPrinter() *Printer {
	return printerOf(
		append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Status", "string", "The state of the job: Running, Complete, Failed, Suspended, FailureTarget or Terminating."),
			column("Completions", "string", batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
			column("Duration", "string", "How long the job ran, or has been running."),
			ageColumn(),
		}, append(templateColumns(), wide(column("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"])))...),
		func(j *batchv1.Job, now time.Time) []interface{} {
			names, images := containerCells(j.Spec.Template.Spec.Containers)
			return []interface{}{
				j.Name, jobStatus(j), jobCompletions(j), jobDuration(j, now), age(j.CreationTimestamp, now),
				names, images, metav1.FormatLabelSelector(j.Spec.Selector),
			}
		},
	)
}

// jobCompletions is "succeeded/completions"; a job without a completion
// count needs one success, and says how many pods run in parallel.
func jobCompletions(j *batchv1.Job) string {
	if j.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	}
	if j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1 {
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/1", j.Status.Succeeded)
}

func jobDuration(j *batchv1.Job, now time.Time) string {
	switch {
	case j.Status.StartTime == nil:
		return ""
	case j.Status.CompletionTime == nil:
		return duration.HumanDuration(now.Sub(j.Status.StartTime.Time))
	default:
		return duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}
}

func jobStatus(j *batchv1.Job) string {
	switch {
	case jobCondition(j, batchv1.JobComplete):
		return "Complete"
	case jobCondition(j, batchv1.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case jobCondition(j, batchv1.JobSuspended):
		return "Suspended"
	case jobCondition(j, batchv1.JobFailureTarget):
		return "FailureTarget"
	default:
		return "Running"
	}
}

// jobCondition reports whether the first condition of type ct is True.
func jobCondition(j *batchv1.Job, ct batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == ct {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func cronJobPrinter() *Printer {
	spec := batchv1.CronJobSpec{}.SwaggerDoc()
	return printerOf(
		append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Schedule", "string", spec["schedule"]),
			column("Timezone", "string", spec["timeZone"]),
			column("Suspend", "boolean", spec["suspend"]),
			column("Active", "integer", batchv1.CronJobStatus{}.SwaggerDoc()["active"]),
			column("Last Schedule", "string", batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
			ageColumn(),
		}, append(templateColumns(), wide(column("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"])))...),
		func(cj *batchv1.CronJob, now time.Time) []interface{} {
			last := "<none>"
			if cj.Status.LastScheduleTime != nil {
				last = age(*cj.Status.LastScheduleTime, now)
			}
			tz := "<none>"
			if cj.Spec.TimeZone != nil {
				tz = *cj.Spec.TimeZone
			}
			tmpl := cj.Spec.JobTemplate.Spec
			names, images := containerCells(tmpl.Template.Spec.Containers)
			return []interface{}{
				cj.Name, cj.Spec.Schedule, tz, boolPtrString(cj.Spec.Suspend), int64(len(cj.Status.Active)),
				last, age(cj.CreationTimestamp, now),
				names, images, metav1.FormatLabelSelector(tmpl.Selector),
			}
		},
	)
}
