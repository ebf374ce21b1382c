package validation

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// Fixtures carry the values upstream's defaulting would have set, since the
// API server defaults before it validates.

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceDefault}
}

func defaultedContainer(name, image string) corev1.Container {
	return corev1.Container{
		Name:                     name,
		Image:                    image,
		ImagePullPolicy:          corev1.PullAlways,
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

func defaultedPodSpec(containers ...corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{
		Containers:                    containers,
		RestartPolicy:                 corev1.RestartPolicyAlways,
		DNSPolicy:                     corev1.DNSClusterFirst,
		TerminationGracePeriodSeconds: ptr.To[int64](30),
		SchedulerName:                 corev1.DefaultSchedulerName,
		SecurityContext:               &corev1.PodSecurityContext{},
	}
}

func validPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: objectMeta("web"), Spec: defaultedPodSpec(defaultedContainer("web", "nginx:1.27"))}
}

// nginxDeployment is the seeds' nginx-deployment after defaulting.
func nginxDeployment() *appsv1.Deployment {
	c := defaultedContainer("nginx", "nginx:latest")
	c.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
	pct := intstr.FromString("25%")
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-deployment", Namespace: "default", Labels: map[string]string{"app": "nginx"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
				Spec:       defaultedPodSpec(c),
			},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &pct, MaxSurge: &pct},
			},
			RevisionHistoryLimit:    ptr.To[int32](10),
			ProgressDeadlineSeconds: ptr.To[int32](600),
		},
	}
}

// nginxService is the seeds' NodePort nginx-service after defaulting.
func nginxService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: objectMeta("nginx-service"),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": "nginx"},
			Ports: []corev1.ServicePort{{
				Protocol:   corev1.ProtocolTCP,
				Port:       88,
				TargetPort: intstr.FromInt32(80),
			}},
			SessionAffinity:       corev1.ServiceAffinityNone,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
			InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyCluster),
		},
	}
}

// allocated returns svc as the server stores it after allocating addresses.
func allocated(svc *corev1.Service, ip string, nodePort int32) *corev1.Service {
	s := svc.DeepCopy()
	s.ResourceVersion = "5"
	s.Spec.ClusterIP = ip
	s.Spec.ClusterIPs = []string{ip}
	s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
	for i := range s.Spec.Ports {
		s.Spec.Ports[i].NodePort = nodePort
	}
	return s
}

func validJob() *batchv1.Job {
	spec := defaultedPodSpec(defaultedContainer("pi", "perl:5.34"))
	spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{
		ObjectMeta: objectMeta("pi"),
		Spec: batchv1.JobSpec{
			Parallelism:    ptr.To[int32](1),
			Completions:    ptr.To[int32](1),
			BackoffLimit:   ptr.To[int32](6),
			CompletionMode: ptr.To(batchv1.NonIndexedCompletion),
			Suspend:        ptr.To(false),
			Template:       corev1.PodTemplateSpec{Spec: spec},
		},
	}
}

// wantErr is one expected error: its type and field, and when detail is set,
// the whole rendered message ("field: Type: value: detail").
type wantErr struct {
	typ   field.ErrorType
	field string
	msg   string
}

func req(f string) wantErr              { return wantErr{typ: field.ErrorTypeRequired, field: f} }
func inv(f string) wantErr              { return wantErr{typ: field.ErrorTypeInvalid, field: f} }
func forb(f string) wantErr             { return wantErr{typ: field.ErrorTypeForbidden, field: f} }
func unsup(f string) wantErr            { return wantErr{typ: field.ErrorTypeNotSupported, field: f} }
func dup(f string) wantErr              { return wantErr{typ: field.ErrorTypeDuplicate, field: f} }
func notFound(f string) wantErr         { return wantErr{typ: field.ErrorTypeNotFound, field: f} }
func tooLong(f string) wantErr          { return wantErr{typ: field.ErrorTypeTooLong, field: f} }
func (w wantErr) with(m string) wantErr { w.msg = m; return w }

// checkErrs compares errors as a multiset of (type, field), and the full
// messages of the expectations that give one.
func checkErrs(t *testing.T, got field.ErrorList, want ...wantErr) {
	t.Helper()
	key := func(typ field.ErrorType, f string) string { return string(typ) + " " + f }
	var g, w []string
	for _, e := range got {
		g = append(g, key(e.Type, e.Field))
	}
	for _, e := range want {
		w = append(w, key(e.typ, e.field))
	}
	sort.Strings(g)
	sort.Strings(w)
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Fatalf("errors differ\n got: %v\nwant: %v\nfull: %v", g, w, render(got))
	}
	for _, e := range want {
		if e.msg == "" {
			continue
		}
		found := false
		for _, ge := range got {
			if ge.Type == e.typ && ge.Field == e.field && ge.Error() == e.msg {
				found = true
			}
		}
		if !found {
			t.Errorf("no error renders as\n  %s\ngot:\n%s", e.msg, render(got))
		}
	}
}

func render(errs field.ErrorList) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  %s\n", e.Error())
	}
	return b.String()
}

func validStatefulSet() *appsv1.StatefulSet {
	c := defaultedContainer("db", "postgres:17")
	c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql"}}
	return &appsv1.StatefulSet{
		ObjectMeta: objectMeta("db"),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To[int32](1),
			ServiceName:         "db",
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0)},
			},
			RevisionHistoryLimit: ptr.To[int32](10),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}},
				Spec:       defaultedPodSpec(c),
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
}

func validDaemonSet() *appsv1.DaemonSet {
	one := intstr.FromInt32(1)
	zero := intstr.FromInt32(0)
	return &appsv1.DaemonSet{
		ObjectMeta: objectMeta("agent"),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       defaultedPodSpec(defaultedContainer("agent", "agent:1")),
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &zero},
			},
			RevisionHistoryLimit: ptr.To[int32](10),
		},
	}
}

func validReplicaSet() *appsv1.ReplicaSet {
	d := nginxDeployment()
	return &appsv1.ReplicaSet{
		ObjectMeta: objectMeta("nginx-5d4f"),
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](3), Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
}

func validCronJob() *batchv1.CronJob {
	j := validJob()
	return &batchv1.CronJob{
		ObjectMeta: objectMeta("hello"),
		Spec: batchv1.CronJobSpec{
			Schedule:                   "*/5 * * * *",
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			Suspend:                    ptr.To(false),
			SuccessfulJobsHistoryLimit: ptr.To[int32](3),
			FailedJobsHistoryLimit:     ptr.To[int32](1),
			JobTemplate:                batchv1.JobTemplateSpec{Spec: j.Spec},
		},
	}
}
