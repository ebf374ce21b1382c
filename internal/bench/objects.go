package bench

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Labels put on every object the benchmark creates, so that it lists,
// watches and deletes only its own objects even in a shared namespace.
const (
	labelRun   = "bench.sampan.dev/run"
	labelPhase = "bench.sampan.dev/phase"
)

// unscheduledSchedulerName is a scheduler that no cluster runs: the pods the
// benchmark creates stay Pending and unbound, so no node ever starts them.
const unscheduledSchedulerName = "sampan-bench-unscheduled"

// configMapPayloadSize is the size of a benchmark ConfigMap's data.
const configMapPayloadSize = 1024

// payload returns n bytes of printable text that differ per seed, so that
// a compressing store or transport cannot shrink every object to nothing.
func payload(seed, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	b.Grow(n)
	x := uint32(seed)*2654435761 + 1
	for b.Len() < n {
		// xorshift32: cheap, deterministic, good enough to defeat compression.
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(alphabet[x%uint32(len(alphabet))])
	}
	return b.String()
}

func benchLabels(run, phase string) map[string]string {
	return map[string]string{labelRun: run, labelPhase: phase, "app.kubernetes.io/managed-by": "sampan-bench"}
}

// newConfigMap returns a ConfigMap with 1 KiB of data.
func newConfigMap(ns, name, run, phase string, seed int) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: benchLabels(run, phase)},
		Data:       map[string]string{"payload": payload(seed, configMapPayloadSize)},
	}
}

// newPod returns a realistic pod of about 2 KiB: one container with an
// image, ports, environment, resources and probes. Its scheduler does not
// exist, so it is stored but never bound to a node.
func newPod(ns, name, run, phase string, seed int) *corev1.Pod {
	f := false
	t := true
	uid := int64(10001)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, Labels: benchLabels(run, phase),
			Annotations: map[string]string{
				"bench.sampan.dev/seed":                   fmt.Sprint(seed),
				"prometheus.io/scrape":                    "true",
				"prometheus.io/port":                      "9090",
				"kubectl.kubernetes.io/default-container": "app",
			},
		},
		Spec: corev1.PodSpec{
			SchedulerName:                unscheduledSchedulerName,
			AutomountServiceAccountToken: &f,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   &t,
				RunAsUser:      &uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:    "app",
				Image:   "registry.example.com/team/web-frontend:v1.27.3",
				Command: []string{"/app/server"},
				Args:    []string{"--listen=:8080", "--metrics=:9090", "--log-format=json"},
				Ports: []corev1.ContainerPort{
					{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
					{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
				},
				Env: []corev1.EnvVar{
					{Name: "APP_ENV", Value: "benchmark"},
					{Name: "APP_REGION", Value: "eu-west-1"},
					{Name: "APP_FEATURE_FLAGS", Value: "checkout-v2,search-suggestions,dark-mode"},
					{Name: "APP_SEED", Value: payload(seed, 64)},
					{Name: "APP_DATABASE_URL", Value: "postgres://web@db.internal.example.com:5432/shop?sslmode=require"},
					{Name: "APP_CACHE_URL", Value: "redis://cache.internal.example.com:6379/0"},
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
				},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
				LivenessProbe: &corev1.Probe{
					ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
					InitialDelaySeconds: 10, PeriodSeconds: 10, TimeoutSeconds: 2, FailureThreshold: 3,
				},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 5, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: &f,
					ReadOnlyRootFilesystem:   &t,
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				ImagePullPolicy: corev1.PullIfNotPresent,
			}},
		},
	}
}
