package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestPodCreate(t *testing.T) {
	pod := func(mutate func(*corev1.Pod)) *corev1.Pod {
		p := validPod()
		mutate(p)
		return p
	}
	ctr := func(mutate func(*corev1.Container)) *corev1.Pod {
		return pod(func(p *corev1.Pod) { mutate(&p.Spec.Containers[0]) })
	}
	probe := &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80), Scheme: corev1.URISchemeHTTP}},
		TimeoutSeconds:   1,
		PeriodSeconds:    10,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []wantErr
	}{
		{name: "valid", pod: validPod()},
		{name: "no containers", pod: pod(func(p *corev1.Pod) { p.Spec.Containers = nil }), want: []wantErr{req("spec.containers")}},
		{
			name: "missing image",
			pod:  ctr(func(c *corev1.Container) { c.Image = "" }),
			want: []wantErr{req("spec.containers[0].image").with("spec.containers[0].image: Required value")},
		},
		{name: "image with whitespace", pod: ctr(func(c *corev1.Container) { c.Image = " nginx" }), want: []wantErr{inv("spec.containers[0].image")}},
		{name: "container name not a DNS label", pod: ctr(func(c *corev1.Container) { c.Name = "Web" }), want: []wantErr{inv("spec.containers[0].name")}},
		{name: "container name missing", pod: ctr(func(c *corev1.Container) { c.Name = "" }), want: []wantErr{req("spec.containers[0].name")}},
		{
			name: "duplicate container names across init and regular",
			pod: pod(func(p *corev1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, defaultedContainer("web", "nginx"))
				p.Spec.InitContainers = []corev1.Container{defaultedContainer("web", "busybox")}
			}),
			want: []wantErr{dup("spec.containers[1].name"), dup("spec.initContainers[0].name")},
		},
		{
			name: "container port out of range",
			pod: ctr(func(c *corev1.Container) {
				c.Ports = []corev1.ContainerPort{{ContainerPort: 70000, Protocol: corev1.ProtocolTCP}}
			}),
			want: []wantErr{inv("spec.containers[0].ports[0].containerPort").with("spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive")},
		},
		{
			name: "container port missing, bad protocol",
			pod:  ctr(func(c *corev1.Container) { c.Ports = []corev1.ContainerPort{{Protocol: "HTTP"}} }),
			want: []wantErr{
				req("spec.containers[0].ports[0].containerPort"),
				unsup("spec.containers[0].ports[0].protocol").with(`spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`),
			},
		},
		{
			name: "port names: IANA_SVC_NAME and unique",
			pod: ctr(func(c *corev1.Container) {
				c.Ports = []corev1.ContainerPort{
					{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP},
					{Name: "http", ContainerPort: 81, Protocol: corev1.ProtocolTCP},
					{Name: "Metrics_Port", ContainerPort: 82, Protocol: corev1.ProtocolTCP},
				}
			}),
			want: []wantErr{dup("spec.containers[0].ports[1].name"), inv("spec.containers[0].ports[2].name")},
		},
		{
			name: "host port conflict",
			pod: ctr(func(c *corev1.Container) {
				c.Ports = []corev1.ContainerPort{
					{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP},
					{ContainerPort: 81, HostPort: 8080, Protocol: corev1.ProtocolTCP},
				}
			}),
			want: []wantErr{dup("spec.containers[0].ports[1].hostPort")},
		},
		{
			name: "env names: relaxed rules, '=' rejected, required",
			pod: ctr(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{{Name: "1.dotted-OK"}, {Name: "A=B"}, {Name: ""}}
			}),
			want: []wantErr{inv("spec.containers[0].env[1].name"), req("spec.containers[0].env[2].name")},
		},
		{
			name: "valueFrom needs exactly one source and no value",
			pod: ctr(func(c *corev1.Container) {
				c.Env = []corev1.EnvVar{
					{Name: "A", ValueFrom: &corev1.EnvVarSource{}},
					{Name: "B", ValueFrom: &corev1.EnvVarSource{
						ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k"},
						SecretKeyRef:    &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"},
					}},
					{Name: "C", Value: "x", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
					{Name: "D", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.hostname"}}},
				}
			}),
			want: []wantErr{
				inv("spec.containers[0].env[0].valueFrom").with("spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
				inv("spec.containers[0].env[1].valueFrom"),
				inv("spec.containers[0].env[2].valueFrom"),
				unsup("spec.containers[0].env[3].valueFrom.fieldRef.fieldPath"),
			},
		},
		{
			name: "envFrom needs a source",
			pod:  ctr(func(c *corev1.Container) { c.EnvFrom = []corev1.EnvFromSource{{Prefix: "P_"}} }),
			want: []wantErr{inv("spec.containers[0].envFrom")},
		},
		{
			name: "volumes: unique names, exactly one source",
			pod: pod(func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{
					{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					{Name: "b"},
					{Name: "c", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
				}
			}),
			want: []wantErr{
				dup("spec.volumes[1].name"),
				req("spec.volumes[2]").with("spec.volumes[2]: Required value: must specify a volume type"),
				forb("spec.volumes[3].hostPath").with("spec.volumes[3].hostPath: Forbidden: may not specify more than 1 volume type"),
			},
		},
		{
			name: "volume sources: required fields",
			pod: pod(func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{
					{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{DefaultMode: ptr.To[int32](01000)}}},
					{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", Items: []corev1.KeyToPath{{Key: "k", Path: "../x"}}}}},
					{Name: "hp", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{}}},
					{Name: "pvc", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{}}},
					{Name: "dapi", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{Path: "labels"}}}}},
				}
			}),
			want: []wantErr{
				req("spec.volumes[0].configMap.name"), inv("spec.volumes[0].configMap.defaultMode"),
				inv("spec.volumes[1].secret.items[0].path"),
				req("spec.volumes[2].hostPath.path"),
				req("spec.volumes[3].persistentVolumeClaim.claimName"),
				req("spec.volumes[4].downwardAPI"),
			},
		},
		{
			name: "volume mounts: existing volume, path required and unique",
			pod: pod(func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
				p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
					{Name: "data", MountPath: "/data"},
					{Name: "data", MountPath: "/data"},
					{Name: "missing", MountPath: "/m"},
					{Name: "data"},
				}
			}),
			want: []wantErr{
				inv("spec.containers[0].volumeMounts[1].mountPath"),
				notFound("spec.containers[0].volumeMounts[2].name").with(`spec.containers[0].volumeMounts[2].name: Not found: "missing"`),
				req("spec.containers[0].volumeMounts[3].mountPath"),
			},
		},
		{
			name: "resources: names, quantities, requests within limits",
			pod: ctr(func(c *corev1.Container) {
				c.Resources = corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("-1Mi"), "pods": resource.MustParse("1")},
				}
			}),
			want: []wantErr{
				inv("spec.containers[0].resources.requests").with(`spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m`),
				inv("spec.containers[0].resources.requests[memory]"),
				inv("spec.containers[0].resources.requests[pods]").with(`spec.containers[0].resources.requests[pods]: Invalid value: "pods": must be a standard resource for containers`),
			},
		},
		{
			name: "extended resources need equal limits",
			pod: ctr(func(c *corev1.Container) {
				c.Resources.Requests = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
			}),
			want: []wantErr{req("spec.containers[0].resources.limits")},
		},
		{
			name: "probes: one handler, thresholds",
			pod: ctr(func(c *corev1.Container) {
				l := probe.DeepCopy()
				l.SuccessThreshold = 2
				r := probe.DeepCopy()
				r.ProbeHandler = corev1.ProbeHandler{}
				s := probe.DeepCopy()
				s.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}
				s.PeriodSeconds = -1
				c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = l, r, s
			}),
			want: []wantErr{
				inv("spec.containers[0].livenessProbe.successThreshold"),
				req("spec.containers[0].readinessProbe").with("spec.containers[0].readinessProbe: Required value: must specify a handler type"),
				forb("spec.containers[0].startupProbe.tcpSocket"),
				inv("spec.containers[0].startupProbe.periodSeconds"),
			},
		},
		{name: "valid probes", pod: ctr(func(c *corev1.Container) { c.LivenessProbe, c.ReadinessProbe = probe, probe })},
		{
			name: "init containers without restartPolicy may not have probes",
			pod: pod(func(p *corev1.Pod) {
				ic := defaultedContainer("init", "busybox")
				ic.ReadinessProbe = probe
				p.Spec.InitContainers = []corev1.Container{ic}
			}),
			want: []wantErr{forb("spec.initContainers[0].readinessProbe")},
		},
		{
			name: "sidecar init container may have probes",
			pod: pod(func(p *corev1.Pod) {
				ic := defaultedContainer("proxy", "envoy")
				ic.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
				ic.ReadinessProbe = probe
				p.Spec.InitContainers = []corev1.Container{ic}
			}),
		},
		{
			name: "restartPolicy and dnsPolicy values",
			pod:  pod(func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes"; p.Spec.DNSPolicy = "" }),
			want: []wantErr{
				unsup("spec.restartPolicy").with(`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`),
				req("spec.dnsPolicy"),
			},
		},
		{name: "terminationGracePeriodSeconds required", pod: pod(func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = nil }), want: []wantErr{req("spec.terminationGracePeriodSeconds")}},
		{
			name: "activeDeadlineSeconds positive",
			pod:  pod(func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](0) }),
			want: []wantErr{inv("spec.activeDeadlineSeconds").with("spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive")},
		},
		{name: "nodeSelector labels", pod: pod(func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "fast ssd"} }), want: []wantErr{inv("spec.nodeSelector")}},
		{
			name: "names: hostname, subdomain, serviceAccountName, nodeName",
			pod: pod(func(p *corev1.Pod) {
				p.Spec.Hostname, p.Spec.Subdomain, p.Spec.ServiceAccountName, p.Spec.NodeName = "a.b", "Sub", "SA", "node_1"
			}),
			want: []wantErr{inv("spec.hostname"), inv("spec.subdomain"), inv("spec.serviceAccountName"), inv("spec.nodeName")},
		},
		{
			name: "tolerations",
			pod: pod(func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{
					{Operator: corev1.TolerationOpEqual, Value: "x"},
					{Key: "k", Operator: corev1.TolerationOpExists, Value: "v"},
					{Key: "k", Operator: "Like"},
					{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr.To[int64](5)},
					{Key: "k", Operator: corev1.TolerationOpExists, Effect: "Never"},
					{Operator: corev1.TolerationOpExists},
				}
			}),
			want: []wantErr{
				inv("spec.tolerations[0].operator"),
				inv("spec.tolerations[1].operator"),
				unsup("spec.tolerations[2].operator"),
				inv("spec.tolerations[3].effect"),
				unsup("spec.tolerations[4].effect"),
			},
		},
		{
			name: "hostNetwork pods must expose their ports on the host",
			pod: pod(func(p *corev1.Pod) {
				p.Spec.HostNetwork = true
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
			}),
			want: []wantErr{inv("spec.containers[0].ports[0].hostPort")},
		},
		{
			name: "affinity",
			pod: pod(func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{
					NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}},
					PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
						Weight:          200,
						PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
					}}},
				}
			}),
			want: []wantErr{
				req("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"),
				inv("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"),
				req("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey"),
				inv("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey"),
				inv("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey"),
			},
		},
		{
			name: "security context",
			pod: pod(func(p *corev1.Pod) {
				p.Spec.SecurityContext.RunAsUser = ptr.To[int64](-1)
				p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Privileged:               ptr.To(true),
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost},
				}
			}),
			want: []wantErr{
				inv("spec.securityContext.runAsUser"),
				inv("spec.containers[0].securityContext"),
				req("spec.containers[0].securityContext.seccompProfile.localhostProfile"),
			},
		},
		{
			name: "dnsPolicy None needs dnsConfig",
			pod:  pod(func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }),
			want: []wantErr{req("spec.dnsConfig")},
		},
		{name: "ephemeral containers cannot be set on create", pod: pod(func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(defaultedContainer("debug", "busybox"))}}
		}), want: []wantErr{forb("spec.ephemeralContainers")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.pod), tc.want...)
		})
	}
}

func TestPodUpdate(t *testing.T) {
	old := validPod()
	old.ResourceVersion = "4"
	old.Spec.NodeName = "node-1"
	old.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}}
	update := func(mutate func(*corev1.Pod)) *corev1.Pod {
		p := old.DeepCopy()
		mutate(p)
		return p
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []wantErr
	}{
		{name: "image may change", pod: update(func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" })},
		{name: "tolerations may be added", pod: update(func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists})
		})},
		{name: "activeDeadlineSeconds may be set", pod: update(func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) })},
		{
			name: "other spec fields may not change",
			pod: update(func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
			}),
			want: []wantErr{forb("spec")},
		},
		{
			name: "containers may not be added",
			pod: update(func(p *corev1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, defaultedContainer("side", "busybox"))
			}),
			want: []wantErr{forb("spec.containers").with("spec.containers: Forbidden: pod updates may not add or remove containers")},
		},
		{
			name: "tolerations may not be removed",
			pod:  update(func(p *corev1.Pod) { p.Spec.Tolerations = nil }),
			want: []wantErr{forb("spec.tolerations")},
		},
		{
			name: "image may not be emptied",
			pod:  update(func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }),
			want: []wantErr{req("spec.containers[0].image"), req("spec.containers[0].image")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateUpdate(tc.pod, old)
			checkErrs(t, errs, tc.want...)
			for _, e := range errs {
				if e.Field == "spec" && !strings.HasPrefix(e.Detail, "pod updates may not change fields other than `spec.containers[*].image`,") {
					t.Errorf("detail %q", e.Detail)
				}
			}
		})
	}

	t.Run("activeDeadlineSeconds may only decrease", func(t *testing.T) {
		o := update(func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) })
		n := o.DeepCopy()
		n.Spec.ActiveDeadlineSeconds = ptr.To[int64](120)
		checkErrs(t, ValidateUpdate(n, o), inv("spec.activeDeadlineSeconds").with("spec.activeDeadlineSeconds: Invalid value: 120: must be less than or equal to previous value"))
	})
}

func TestPodStatusUpdate(t *testing.T) {
	old := validPod()
	old.ResourceVersion = "4"
	old.Spec.NodeName = "node-1"
	status := func(mutate func(*corev1.Pod)) *corev1.Pod {
		p := old.DeepCopy()
		mutate(p)
		return p
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []wantErr
	}{
		{name: "running with IPs", pod: status(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.PodIP, p.Status.PodIPs = "10.244.1.5", []corev1.PodIP{{IP: "10.244.1.5"}}
			p.Status.HostIP, p.Status.HostIPs = "192.168.1.10", []corev1.HostIP{{IP: "192.168.1.10"}}
		})},
		{name: "bad pod IP", pod: status(func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1"}} }), want: []wantErr{inv("status.podIPs[0]")}},
		{name: "two IPs of one family", pod: status(func(p *corev1.Pod) {
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}}
		}), want: []wantErr{inv("status.podIPs")}},
		{name: "nodeName may not change through status", pod: status(func(p *corev1.Pod) { p.Spec.NodeName = "node-2" }), want: []wantErr{forb("status.nodeName")}},
		{name: "hostIP must lead hostIPs", pod: status(func(p *corev1.Pod) {
			p.Status.HostIP, p.Status.HostIPs = "192.168.1.10", []corev1.HostIP{{IP: "192.168.1.11"}}
		}), want: []wantErr{inv("status.hostIPs[0].ip")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateStatusUpdate(tc.pod, old), tc.want...)
		})
	}
}
