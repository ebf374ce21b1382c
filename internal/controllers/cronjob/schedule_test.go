package cronjob

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestMostRecentScheduleTime(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		name     string
		schedule string
		tz       *string
		created  string
		last     string
		deadline *int64
		now      string
		want     string // "" for none
		missed   int    // checked when non-zero
		many     bool   // more than tooManyMissed
	}{
		{name: "not yet", schedule: "* * * * *", created: "2025-03-03T10:00:30Z", now: "2025-03-03T10:00:59Z"},
		{name: "first", schedule: "* * * * *", created: "2025-03-03T10:00:30Z", now: "2025-03-03T10:01:00Z", want: "2025-03-03T10:01:00Z", missed: 1},
		{name: "several missed", schedule: "* * * * *", created: "2025-03-03T10:00:30Z", now: "2025-03-03T10:05:10Z", want: "2025-03-03T10:05:00Z", missed: 5},
		{name: "already started", schedule: "* * * * *", created: "2025-03-03T10:00:30Z", last: "2025-03-03T10:05:00Z", now: "2025-03-03T10:05:30Z"},
		{name: "after last", schedule: "*/5 * * * *", created: "2025-03-03T10:00:30Z", last: "2025-03-03T10:05:00Z", now: "2025-03-03T10:10:30Z", want: "2025-03-03T10:10:00Z", missed: 1},
		{name: "starting deadline", schedule: "* * * * *", created: "2025-03-03T10:00:30Z", deadline: ptr.To[int64](120), now: "2025-03-03T10:10:10Z", want: "2025-03-03T10:10:00Z", missed: 2},
		{name: "hourly descriptor", schedule: "@hourly", created: "2025-03-03T10:00:30Z", now: "2025-03-03T12:30:00Z", want: "2025-03-03T12:00:00Z", missed: 2},
		{name: "too many", schedule: "* * * * *", created: "2025-03-03T10:00:30Z", now: "2025-03-03T13:00:30Z", want: "2025-03-03T13:00:00Z", many: true},
		{name: "too many, irregular, monday morning", schedule: "0 9 * * 1-5", created: "2025-01-03T10:00:00Z", now: "2025-09-01T08:00:00Z", want: "2025-08-29T09:00:00Z", many: true},
		{name: "time zone field", schedule: "0 9 * * *", tz: ptr.To("Asia/Tokyo"), created: "2025-01-01T00:30:00Z", now: "2025-01-02T00:00:30Z", want: "2025-01-02T00:00:00Z", missed: 1},
		{name: "CRON_TZ in schedule", schedule: "CRON_TZ=America/New_York 0 9 * * *", created: "2025-01-01T00:00:00Z", now: "2025-01-01T14:00:00Z", want: "2025-01-01T14:00:00Z", missed: 1},
		{name: "clock behind creation", schedule: "* * * * *", created: "2025-03-03T10:00:30Z", now: "2025-03-03T09:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cj := &batchv1.CronJob{
				ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at(tc.created))},
				Spec:       batchv1.CronJobSpec{Schedule: tc.schedule, TimeZone: tc.tz, StartingDeadlineSeconds: tc.deadline},
			}
			if tc.last != "" {
				cj.Status.LastScheduleTime = ptr.To(metav1.NewTime(at(tc.last)))
			}
			sched, err := cron.ParseStandard(scheduleWithZone(cj))
			if err != nil {
				t.Fatal(err)
			}
			got, missed := mostRecentScheduleTime(cj, at(tc.now), sched)
			switch {
			case tc.want == "" && got != nil:
				t.Fatalf("got %v, want none", got)
			case tc.want == "":
				return
			case got == nil:
				t.Fatalf("got none, want %s", tc.want)
			case !got.Equal(at(tc.want)):
				t.Fatalf("got %v, want %s", got.UTC(), tc.want)
			}
			if tc.missed != 0 && missed != tc.missed {
				t.Errorf("missed %d, want %d", missed, tc.missed)
			}
			if tc.many != (missed > tooManyMissed) {
				t.Errorf("missed %d, too many: %v", missed, tc.many)
			}
		})
	}
}

func TestJobFromTemplate(t *testing.T) {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "ns", UID: "cj-uid"},
		Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "backup"}, Annotations: map[string]string{"a": "b"}},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr.To[int32](2)},
		}},
	}
	scheduled := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	j := jobFromTemplate(cj, scheduled, tokyo)
	if want := "backup-28929600"; j.Name != want {
		t.Errorf("name %s, want %s", j.Name, want)
	}
	if got := j.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2025-01-02T09:00:00+09:00" {
		t.Errorf("scheduled timestamp %q", got)
	}
	if j.Annotations["a"] != "b" || j.Labels["app"] != "backup" || *j.Spec.BackoffLimit != 2 || j.Namespace != "ns" {
		t.Errorf("job %+v", j)
	}
	if ref := metav1.GetControllerOf(j); ref == nil || ref.UID != "cj-uid" || ref.Kind != "CronJob" || !*ref.BlockOwnerDeletion {
		t.Errorf("controller ref %+v", ref)
	}
	// The template is copied, not shared.
	j.Labels["app"] = "x"
	if cj.Spec.JobTemplate.Labels["app"] != "backup" {
		t.Error("job labels share the template's map")
	}
}
