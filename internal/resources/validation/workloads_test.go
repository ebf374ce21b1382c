package validation

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestDeployment(t *testing.T) {
	d := func(mutate func(*appsv1.Deployment)) *appsv1.Deployment {
		x := nginxDeployment()
		mutate(x)
		return x
	}
	zero := intstr.FromInt32(0)
	tests := []struct {
		name string
		obj  *appsv1.Deployment
		want []wantErr
	}{
		{
			name: "selector does not match template labels",
			obj:  d(func(x *appsv1.Deployment) { x.Spec.Template.Labels = map[string]string{"app": "x"} }),
			want: []wantErr{inv("spec.template.metadata.labels").with("spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`")},
		},
		{
			name: "selector required",
			obj:  d(func(x *appsv1.Deployment) { x.Spec.Selector = nil }),
			want: []wantErr{req("spec.selector"), inv("spec.template.metadata.labels")},
		},
		{
			name: "empty selector",
			obj:  d(func(x *appsv1.Deployment) { x.Spec.Selector = &metav1.LabelSelector{} }),
			want: []wantErr{inv("spec.selector").with(`spec.selector: Invalid value: {}: empty selector is invalid for deployment`)},
		},
		{
			name: "bad selector operator",
			obj: d(func(x *appsv1.Deployment) {
				x.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Like"}}
			}),
			want: []wantErr{inv("spec.selector.matchExpressions[0].operator"), inv("spec.selector")},
		},
		{name: "negative replicas", obj: d(func(x *appsv1.Deployment) { x.Spec.Replicas = ptr.To[int32](-1) }), want: []wantErr{inv("spec.replicas")}},
		{
			name: "maxSurge and maxUnavailable both zero",
			obj: d(func(x *appsv1.Deployment) {
				x.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &zero, MaxUnavailable: &zero}
			}),
			want: []wantErr{inv("spec.strategy.rollingUpdate.maxUnavailable").with("spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0")},
		},
		{
			name: "bad percentages",
			obj: d(func(x *appsv1.Deployment) {
				over, bad := intstr.FromString("110%"), intstr.FromString("ten")
				x.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &bad, MaxUnavailable: &over}
			}),
			want: []wantErr{inv("spec.strategy.rollingUpdate.maxSurge"), inv("spec.strategy.rollingUpdate.maxUnavailable")},
		},
		{
			name: "unknown strategy type",
			obj:  d(func(x *appsv1.Deployment) { x.Spec.Strategy = appsv1.DeploymentStrategy{Type: "BlueGreen"} }),
			want: []wantErr{unsup("spec.strategy")},
		},
		{
			name: "rollingUpdate with Recreate",
			obj:  d(func(x *appsv1.Deployment) { x.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType }),
			want: []wantErr{forb("spec.strategy.rollingUpdate")},
		},
		{
			name: "history and timing fields",
			obj: d(func(x *appsv1.Deployment) {
				x.Spec.RevisionHistoryLimit = ptr.To[int32](-1)
				x.Spec.MinReadySeconds = 700
			}),
			want: []wantErr{inv("spec.revisionHistoryLimit"), inv("spec.progressDeadlineSeconds").with("spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds")},
		},
		{
			name: "template restartPolicy must be Always",
			obj:  d(func(x *appsv1.Deployment) { x.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }),
			want: []wantErr{unsup("spec.template.spec.restartPolicy").with(`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`)},
		},
		{
			name: "template pod spec is validated",
			obj:  d(func(x *appsv1.Deployment) { x.Spec.Template.Spec.Containers[0].Image = "" }),
			want: []wantErr{req("spec.template.spec.containers[0].image")},
		},
		{
			name: "template activeDeadlineSeconds is forbidden",
			obj:  d(func(x *appsv1.Deployment) { x.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](10) }),
			want: []wantErr{forb("spec.template.spec.activeDeadlineSeconds")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}
}

func TestWorkloadUpdates(t *testing.T) {
	stored := func(o runtime.Object) runtime.Object {
		o.(interface{ SetResourceVersion(string) }).SetResourceVersion("9")
		return o
	}
	deploy := stored(nginxDeployment()).(*appsv1.Deployment)
	newSel := deploy.DeepCopy()
	newSel.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	newSel.Spec.Template.Labels = map[string]string{"app": "web"}
	scaled := deploy.DeepCopy()
	scaled.Spec.Replicas = ptr.To[int32](10)
	scaled.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"

	rs := stored(validReplicaSet()).(*appsv1.ReplicaSet)
	rsSel := rs.DeepCopy()
	rsSel.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx", "v": "2"}}
	rsSel.Spec.Template.Labels = map[string]string{"app": "nginx", "v": "2"}

	sts := stored(validStatefulSet()).(*appsv1.StatefulSet)
	stsClaims := sts.DeepCopy()
	stsClaims.Spec.VolumeClaimTemplates[0].Name = "other"
	stsClaims.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "other"
	stsAllowed := sts.DeepCopy()
	stsAllowed.Spec.Replicas = ptr.To[int32](3)
	stsAllowed.Spec.MinReadySeconds = 5
	stsAllowed.Spec.RevisionHistoryLimit = ptr.To[int32](2)
	stsAllowed.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}

	ds := stored(validDaemonSet()).(*appsv1.DaemonSet)
	dsSel := ds.DeepCopy()
	dsSel.Spec.Selector.MatchLabels["tier"] = "node"
	dsSel.Spec.Template.Labels["tier"] = "node"

	job := stored(validJob()).(*batchv1.Job)
	job.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u1"}}
	job.Spec.Template.Labels = map[string]string{"batch.kubernetes.io/controller-uid": "u1"}
	jobImage := job.DeepCopy()
	jobImage.Spec.Template.Spec.Containers[0].Image = "perl:5.40"
	jobSuspend := job.DeepCopy()
	jobSuspend.Spec.Suspend = ptr.To(true)
	jobSuspend.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
	jobCompletions := job.DeepCopy()
	jobCompletions.Spec.Completions = ptr.To[int32](5)

	tests := []struct {
		name     string
		obj, old runtime.Object
		want     []wantErr
	}{
		{
			name: "deployment selector is immutable",
			obj:  newSel, old: deploy,
			want: []wantErr{inv("spec.selector").with(`spec.selector: Invalid value: {"matchLabels":{"app":"web"}}: field is immutable`)},
		},
		{name: "deployment replicas and image may change", obj: scaled, old: deploy},
		{name: "replicaset selector is immutable", obj: rsSel, old: rs, want: []wantErr{inv("spec.selector")}},
		{
			name: "statefulset volumeClaimTemplates are immutable",
			obj:  stsClaims, old: sts,
			want: []wantErr{forb("spec").with("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")},
		},
		{name: "statefulset allowed fields", obj: stsAllowed, old: sts},
		{name: "daemonset selector is immutable", obj: dsSel, old: ds, want: []wantErr{inv("spec.selector")}},
		{name: "job template is immutable", obj: jobImage, old: job, want: []wantErr{inv("spec.template")}},
		{name: "suspended job scheduling directives may change", obj: jobSuspend, old: job},
		{name: "job completions are immutable", obj: jobCompletions, old: job, want: []wantErr{inv("spec.completions")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateUpdate(tc.obj, tc.old), tc.want...)
		})
	}
}

func TestWorkloadStatusUpdates(t *testing.T) {
	deploy := nginxDeployment()
	deploy.ResourceVersion = "2"
	deploy.Status = appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3, CollisionCount: ptr.To[int32](2)}
	tooMany := deploy.DeepCopy()
	tooMany.Status.ReadyReplicas = 4
	tooMany.Status.CollisionCount = ptr.To[int32](1)
	rs := validReplicaSet()
	rs.ResourceVersion = "2"
	rsNeg := rs.DeepCopy()
	rsNeg.Status.Replicas = -1
	tests := []struct {
		name     string
		obj, old runtime.Object
		want     []wantErr
	}{
		{name: "consistent status", obj: deploy.DeepCopy(), old: deploy},
		{
			name: "ready above replicas, collisionCount down",
			obj:  tooMany, old: deploy,
			want: []wantErr{inv("status.readyReplicas"), inv("status.collisionCount").with("status.collisionCount: Invalid value: 1: cannot be decremented")},
		},
		{name: "negative replicaset count", obj: rsNeg, old: rs, want: []wantErr{
			inv("status.replicas"), inv("status.fullyLabeledReplicas"), inv("status.readyReplicas"), inv("status.availableReplicas"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateStatusUpdate(tc.obj, tc.old), tc.want...)
		})
	}
}

func TestStatefulSetAndDaemonSet(t *testing.T) {
	sts := func(mutate func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
		x := validStatefulSet()
		mutate(x)
		return x
	}
	ds := func(mutate func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
		x := validDaemonSet()
		mutate(x)
		return x
	}
	one := intstr.FromInt32(1)
	zero := intstr.FromInt32(0)
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "statefulset mounts its claim templates", obj: validStatefulSet()},
		{name: "statefulset without serviceName", obj: sts(func(x *appsv1.StatefulSet) { x.Spec.ServiceName = "" })},
		{
			name: "statefulset policies",
			obj: sts(func(x *appsv1.StatefulSet) {
				x.Spec.PodManagementPolicy = "Random"
				x.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: "Canary"}
			}),
			want: []wantErr{
				inv("spec.podManagementPolicy").with(`spec.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'`),
				inv("spec.updateStrategy"),
			},
		},
		{
			name: "statefulset rollingUpdate with OnDelete, empty selector",
			obj: sts(func(x *appsv1.StatefulSet) {
				x.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
				x.Spec.Selector = &metav1.LabelSelector{}
			}),
			want: []wantErr{inv("spec.updateStrategy.rollingUpdate"), inv("spec.selector")},
		},
		{
			name: "statefulset mount of an unknown volume",
			obj:  sts(func(x *appsv1.StatefulSet) { x.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "logs" }),
			want: []wantErr{notFound("spec.template.spec.containers[0].volumeMounts[0].name")},
		},
		{
			name: "daemonset surge and unavailable both set",
			obj:  ds(func(x *appsv1.DaemonSet) { x.Spec.UpdateStrategy.RollingUpdate.MaxSurge = &one }),
			want: []wantErr{inv("spec.updateStrategy.rollingUpdate.maxSurge")},
		},
		{
			name: "daemonset surge and unavailable both zero",
			obj:  ds(func(x *appsv1.DaemonSet) { x.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &zero }),
			want: []wantErr{req("spec.updateStrategy.rollingUpdate.maxUnavailable")},
		},
		{
			name: "daemonset selector mismatch and restartPolicy",
			obj: ds(func(x *appsv1.DaemonSet) {
				x.Spec.Template.Labels = nil
				x.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			}),
			want: []wantErr{inv("spec.template.metadata.labels"), unsup("spec.template.spec.restartPolicy")},
		},
		{name: "controller revision needs data", obj: &appsv1.ControllerRevision{ObjectMeta: objectMeta("web-5d4f"), Revision: -1},
			want: []wantErr{req("data"), inv("revision")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}
}

func TestJobAndCronJob(t *testing.T) {
	job := func(mutate func(*batchv1.Job)) *batchv1.Job {
		x := validJob()
		mutate(x)
		return x
	}
	cj := func(mutate func(*batchv1.CronJob)) *batchv1.CronJob {
		x := validCronJob()
		mutate(x)
		return x
	}
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{
			name: "job restartPolicy Always",
			obj:  job(func(x *batchv1.Job) { x.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways }),
			want: []wantErr{req("spec.template.spec.restartPolicy").with(`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`)},
		},
		{
			name: "job counts",
			obj: job(func(x *batchv1.Job) {
				x.Spec.Parallelism, x.Spec.Completions, x.Spec.BackoffLimit = ptr.To[int32](-1), ptr.To[int32](-1), ptr.To[int32](-1)
			}),
			want: []wantErr{inv("spec.parallelism"), inv("spec.completions"), inv("spec.backoffLimit")},
		},
		{
			name: "job completionMode",
			obj:  job(func(x *batchv1.Job) { x.Spec.CompletionMode = ptr.To[batchv1.CompletionMode]("Ordered") }),
			want: []wantErr{unsup("spec.completionMode")},
		},
		{
			name: "indexed job needs completions",
			obj: job(func(x *batchv1.Job) {
				x.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
				x.Spec.Completions = nil
			}),
			want: []wantErr{req("spec.completions")},
		},
		{
			name: "manual selector must be given",
			obj:  job(func(x *batchv1.Job) { x.Spec.ManualSelector = ptr.To(true) }),
			want: []wantErr{req("spec.selector")},
		},
		{
			name: "given selector must match the template",
			obj: job(func(x *batchv1.Job) {
				x.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"job": "pi"}}
			}),
			want: []wantErr{inv("spec.template.metadata.labels")},
		},
		{name: "cronjob descriptors", obj: cj(func(x *batchv1.CronJob) { x.Spec.Schedule = "@every 5m" })},
		{name: "cronjob hourly", obj: cj(func(x *batchv1.CronJob) { x.Spec.Schedule = "@hourly" })},
		{name: "cronjob with time zone", obj: cj(func(x *batchv1.CronJob) { x.Spec.TimeZone = ptr.To("Etc/UTC") })},
		{
			name: "bad cron schedule",
			obj:  cj(func(x *batchv1.CronJob) { x.Spec.Schedule = "every minute" }),
			want: []wantErr{inv("spec.schedule").with(`spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]`)},
		},
		{
			name: "schedule out of range",
			obj:  cj(func(x *batchv1.CronJob) { x.Spec.Schedule = "61 * * * *" }),
			want: []wantErr{inv("spec.schedule").with(`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`)},
		},
		{
			name: "TZ in schedule",
			obj:  cj(func(x *batchv1.CronJob) { x.Spec.Schedule = "TZ=UTC 0 * * * *" }),
			want: []wantErr{inv("spec.schedule").with(`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`)},
		},
		{name: "empty schedule", obj: cj(func(x *batchv1.CronJob) { x.Spec.Schedule = "" }), want: []wantErr{req("spec.schedule")}},
		{name: "unknown time zone", obj: cj(func(x *batchv1.CronJob) { x.Spec.TimeZone = ptr.To("Mars/Olympus") }), want: []wantErr{inv("spec.timeZone")}},
		{name: "Local time zone", obj: cj(func(x *batchv1.CronJob) { x.Spec.TimeZone = ptr.To("Local") }), want: []wantErr{inv("spec.timeZone")}},
		{
			name: "concurrencyPolicy",
			obj:  cj(func(x *batchv1.CronJob) { x.Spec.ConcurrencyPolicy = "Sometimes" }),
			want: []wantErr{unsup("spec.concurrencyPolicy")},
		},
		{
			name: "name at most 52 characters",
			obj:  cj(func(x *batchv1.CronJob) { x.Name = strings.Repeat("a", 53) }),
			want: []wantErr{inv("metadata.name").with(`metadata.name: Invalid value: "` + strings.Repeat("a", 53) + `": must be no more than 52 characters`)},
		},
		{
			name: "job template selector is generated",
			obj: cj(func(x *batchv1.CronJob) {
				x.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
				x.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			}),
			want: []wantErr{inv("spec.jobTemplate.spec.selector"), req("spec.jobTemplate.spec.template.spec.restartPolicy")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}

	t.Run("long cronjob names stay updatable", func(t *testing.T) {
		old := cj(func(x *batchv1.CronJob) { x.Name = strings.Repeat("a", 60); x.ResourceVersion = "3" })
		n := old.DeepCopy()
		n.Spec.Schedule = "0 * * * *"
		checkErrs(t, ValidateUpdate(n, old))
	})
	t.Run("TZ tolerated on objects that had it", func(t *testing.T) {
		old := cj(func(x *batchv1.CronJob) { x.Spec.Schedule = "TZ=UTC 0 * * * *"; x.ResourceVersion = "3" })
		checkErrs(t, ValidateUpdate(old.DeepCopy(), old))
	})
}
