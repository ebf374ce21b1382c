package printers_test

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

type goldenCase struct {
	resource string // names the golden file and the kubectl command line
	gk       schema.GroupKind
	objs     []runtime.Object
}

func goldenCases() []goldenCase {
	core := func(kind string) schema.GroupKind { return schema.GroupKind{Kind: kind} }
	gk := func(group, kind string) schema.GroupKind { return schema.GroupKind{Group: group, Kind: kind} }
	return []goldenCase{
		{"pods", core("Pod"), pods()},
		{"services", core("Service"), services()},
		{"nodes", core("Node"), nodes()},
		{"namespaces", core("Namespace"), namespaces()},
		{"configmaps", core("ConfigMap"), configMaps()},
		{"secrets", core("Secret"), secrets()},
		{"serviceaccounts", core("ServiceAccount"), serviceAccounts()},
		{"endpoints", core("Endpoints"), endpoints()},
		{"events", core("Event"), coreEvents()},
		{"limitranges", core("LimitRange"), limitRanges()},
		{"persistentvolumes", core("PersistentVolume"), persistentVolumes()},
		{"persistentvolumeclaims", core("PersistentVolumeClaim"), persistentVolumeClaims()},
		{"podtemplates", core("PodTemplate"), podTemplates()},
		{"resourcequotas", core("ResourceQuota"), resourceQuotas()},
		{"deployments", gk("apps", "Deployment"), deployments()},
		{"replicasets", gk("apps", "ReplicaSet"), replicaSets()},
		{"statefulsets", gk("apps", "StatefulSet"), statefulSets()},
		{"daemonsets", gk("apps", "DaemonSet"), daemonSets()},
		{"controllerrevisions", gk("apps", "ControllerRevision"), controllerRevisions()},
		{"horizontalpodautoscalers.v2.autoscaling", gk("autoscaling", "HorizontalPodAutoscaler"), hpasV2()},
		{"horizontalpodautoscalers.v1.autoscaling", gk("autoscaling", "HorizontalPodAutoscaler"), hpasV1()},
		{"jobs", gk("batch", "Job"), jobs()},
		{"cronjobs", gk("batch", "CronJob"), cronJobs()},
		{"certificatesigningrequests", gk("certificates.k8s.io", "CertificateSigningRequest"), csrs()},
		{"leases", gk("coordination.k8s.io", "Lease"), leases()},
		{"endpointslices", gk("discovery.k8s.io", "EndpointSlice"), endpointSlices()},
		{"events.events.k8s.io", gk("events.k8s.io", "Event"), eventsV1()},
		{"ingresses", gk("networking.k8s.io", "Ingress"), ingresses()},
		{"ingressclasses", gk("networking.k8s.io", "IngressClass"), ingressClasses()},
		{"networkpolicies", gk("networking.k8s.io", "NetworkPolicy"), networkPolicies()},
		{"poddisruptionbudgets", gk("policy", "PodDisruptionBudget"), pdbs()},
		{"roles", gk("rbac.authorization.k8s.io", "Role"), roles()},
		{"clusterroles", gk("rbac.authorization.k8s.io", "ClusterRole"), clusterRoles()},
		{"rolebindings", gk("rbac.authorization.k8s.io", "RoleBinding"), roleBindings()},
		{"clusterrolebindings", gk("rbac.authorization.k8s.io", "ClusterRoleBinding"), clusterRoleBindings()},
		{"storageclasses", gk("storage.k8s.io", "StorageClass"), storageClasses()},
	}
}

// Helpers.

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func agoPtr(d time.Duration) *metav1.Time { t := ago(d); return &t }

func om(name string, created time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(created)}
}

const day = 24 * time.Hour

func qty(s string) resource.Quantity { return resource.MustParse(s) }

func qtyPtr(s string) *resource.Quantity { q := resource.MustParse(s); return &q }

func containers(pairs ...string) []corev1.Container {
	var out []corev1.Container
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, corev1.Container{Name: pairs[i], Image: pairs[i+1]})
	}
	return out
}

func template(labels map[string]string, cs ...corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: cs}}
}

// Pods: one in each status kubectl shows.

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Hour)}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, FinishedAt: ago(time.Minute)}}
}

func lastTerminated(d time.Duration) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, FinishedAt: ago(d)}}
}

func cond(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

type podOpt func(*corev1.Pod)

func pod(name string, phase corev1.PodPhase, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: om(name, 25*time.Minute),
		Spec:       corev1.PodSpec{Containers: containers("app", "nginx:1.14.2")},
		Status:     corev1.PodStatus{Phase: phase},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func scheduled(node, ip string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = node
		p.Status.PodIP = ip
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
}

func statuses(cs ...corev1.ContainerStatus) podOpt {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = cs }
}

func conditions(cs ...corev1.PodCondition) podOpt {
	return func(p *corev1.Pod) { p.Status.Conditions = cs }
}

func initContainers(n int, sts ...corev1.ContainerStatus) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.InitContainers = nil
		for i := 0; i < n; i++ {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "init" + string(rune('0'+i)), Image: "busybox"})
		}
		p.Status.InitContainerStatuses = sts
	}
}

func deleting(p *corev1.Pod) { p.DeletionTimestamp = agoPtr(10 * time.Second) }

func cs(name string, state corev1.ContainerState, ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: state, Ready: ready}
}

func restarted(c corev1.ContainerStatus, n int32, last time.Duration) corev1.ContainerStatus {
	c.RestartCount = n
	c.LastTerminationState = lastTerminated(last)
	return c
}

func pods() []runtime.Object {
	node := scheduled("cp1", "10.244.0.12")
	readyConds := conditions(cond(corev1.PodInitialized, "True"), cond(corev1.PodReady, "True"), cond(corev1.PodScheduled, "True"))
	sidecar := func(p *corev1.Pod) {
		always := corev1.ContainerRestartPolicyAlways
		p.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "envoy:1.30", RestartPolicy: &always}}
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{
			restarted(corev1.ContainerStatus{Name: "proxy", State: running(), Ready: true, Started: ptr.To(true)}, 1, 3*time.Hour),
		}
		p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb-ready"}}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "example.com/lb-ready", Status: "True"})
		p.Status.NominatedNodeName = "worker1"
	}
	return []runtime.Object{
		pod("pending", corev1.PodPending, conditions(corev1.PodCondition{Type: corev1.PodScheduled, Status: "False", Reason: "Unschedulable"})),
		pod("gated", corev1.PodPending, conditions(corev1.PodCondition{Type: corev1.PodScheduled, Status: "False", Reason: corev1.PodReasonSchedulingGated})),
		pod("creating", corev1.PodPending, node, statuses(cs("app", waiting("ContainerCreating"), false))),
		pod("nginx-deployment-66b6c48dd5-4jw2p", corev1.PodRunning, node, readyConds, statuses(cs("app", running(), true))),
		pod("restarted", corev1.PodRunning, node, readyConds, statuses(restarted(cs("app", running(), true), 2, 5*time.Minute))),
		pod("completed", corev1.PodSucceeded, node, statuses(cs("app", terminated("Completed", 0), false))),
		pod("failed", corev1.PodFailed, node, statuses(cs("app", terminated("Error", 1), false))),
		pod("killed", corev1.PodFailed, node, statuses(cs("app", corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Signal: 9, ExitCode: 137}}, false))),
		pod("crashloop", corev1.PodRunning, node, statuses(restarted(cs("app", waiting("CrashLoopBackOff"), false), 5, 2*time.Minute))),
		pod("errimagepull", corev1.PodPending, node, statuses(cs("app", waiting("ErrImagePull"), false))),
		pod("imagepullbackoff", corev1.PodPending, node, statuses(cs("app", waiting("ImagePullBackOff"), false))),
		pod("init-first", corev1.PodPending, node, initContainers(2,
			cs("init0", running(), false), cs("init1", waiting("PodInitializing"), false)),
			statuses(cs("app", waiting("PodInitializing"), false))),
		pod("init-second", corev1.PodPending, node, initContainers(2,
			cs("init0", terminated("Completed", 0), false), cs("init1", running(), false)),
			statuses(cs("app", waiting("PodInitializing"), false))),
		pod("init-crashloop", corev1.PodPending, node, initContainers(1,
			restarted(cs("init0", waiting("CrashLoopBackOff"), false), 3, 30*time.Second)),
			statuses(cs("app", waiting("PodInitializing"), false))),
		pod("init-error", corev1.PodPending, node, initContainers(1, cs("init0", terminated("Error", 1), false)),
			statuses(cs("app", waiting("PodInitializing"), false))),
		pod("podinitializing", corev1.PodPending, node, initContainers(1, cs("init0", terminated("Completed", 0), false)),
			conditions(cond(corev1.PodInitialized, "True")), statuses(cs("app", waiting("PodInitializing"), false))),
		pod("terminating", corev1.PodRunning, node, readyConds, statuses(cs("app", running(), true)), deleting),
		pod("deleted-after-success", corev1.PodSucceeded, node, statuses(cs("app", terminated("Completed", 0), false)), deleting),
		pod("nodelost", corev1.PodRunning, node, func(p *corev1.Pod) { p.Status.Reason = "NodeLost" }, statuses(cs("app", running(), true))),
		pod("nodelost-deleting", corev1.PodRunning, node, func(p *corev1.Pod) { p.Status.Reason = "NodeLost" }, deleting),
		pod("notready", corev1.PodRunning, node, conditions(cond(corev1.PodReady, "False")), func(p *corev1.Pod) {
			p.Spec.Containers = containers("app", "nginx:1.14.2", "migrate", "busybox")
		}, statuses(cs("app", running(), true), cs("migrate", terminated("Completed", 0), false))),
		pod("with-sidecar", corev1.PodRunning, node, readyConds, statuses(cs("app", running(), true)), sidecar),
		pod("evicted", corev1.PodFailed, node, func(p *corev1.Pod) { p.Status.Reason = "Evicted" }),
		pod("unknown-age", corev1.PodPending, func(p *corev1.Pod) { p.CreationTimestamp = metav1.Time{} }),
	}
}

// Workloads.

func nginxDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: om("nginx-deployment", 3*time.Minute+17*time.Second),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Template: template(map[string]string{"app": "nginx"}, containers("nginx", "nginx:1.14.2")...),
		},
		Status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3},
	}
}

func deployments() []runtime.Object {
	rolling := &appsv1.Deployment{
		ObjectMeta: om("web", 2*day),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](4),
			Selector: &metav1.LabelSelector{
				MatchLabels:      map[string]string{"app": "web"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front", "edge"}}},
			},
			Template: template(nil, containers("web", "registry.local/web:2.1", "sidecar", "envoy:1.30")...),
		},
		Status: appsv1.DeploymentStatus{Replicas: 5, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3},
	}
	coredns := &appsv1.Deployment{
		ObjectMeta: om("coredns", 40*day),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
			Template: template(nil, containers("coredns", "registry.k8s.io/coredns/coredns:v1.12.0")...),
		},
	}
	return []runtime.Object{nginxDeployment(), rolling, coredns}
}

func replicaSets() []runtime.Object {
	sel := map[string]string{"app": "nginx", "pod-template-hash": "66b6c48dd5"}
	return []runtime.Object{
		&appsv1.ReplicaSet{
			ObjectMeta: om("nginx-deployment-66b6c48dd5", 3*time.Minute+17*time.Second),
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: template(sel, containers("nginx", "nginx:1.14.2")...),
			},
			Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3},
		},
		&appsv1.ReplicaSet{
			ObjectMeta: om("web-7d4b9c8f6", 90*time.Second),
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: template(nil, containers("web", "registry.local/web:2.1")...),
			},
			Status: appsv1.ReplicaSetStatus{Replicas: 2},
		},
	}
}

func statefulSets() []runtime.Object {
	return []runtime.Object{
		&appsv1.StatefulSet{
			ObjectMeta: om("web", 8*day),
			Spec: appsv1.StatefulSetSpec{
				Replicas: ptr.To[int32](3),
				Template: template(nil, containers("nginx", "registry.k8s.io/nginx-slim:0.8")...),
			},
			Status: appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 2},
		},
		&appsv1.StatefulSet{
			ObjectMeta: om("db", 100*time.Hour),
			Spec: appsv1.StatefulSetSpec{
				Replicas: ptr.To[int32](1),
				Template: template(nil, containers("postgres", "postgres:16", "exporter", "prom/postgres-exporter")...),
			},
			Status: appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1},
		},
	}
}

func daemonSets() []runtime.Object {
	proxy := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: "kube-system", CreationTimestamp: ago(12 * day)},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-proxy"}},
			Template: template(nil, containers("kube-proxy", "registry.k8s.io/kube-proxy:v1.37.2")...),
		},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 3, UpdatedNumberScheduled: 3, NumberAvailable: 3},
	}
	proxy.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	agent := &appsv1.DaemonSet{
		ObjectMeta: om("log-agent", 5*time.Hour),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "log-agent"}},
			Template: template(nil, containers("fluent-bit", "fluent/fluent-bit:3.0")...),
		},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 2, NumberReady: 1, UpdatedNumberScheduled: 2, NumberAvailable: 1},
	}
	return []runtime.Object{proxy, agent}
}

func controllerRevisions() []runtime.Object {
	owned := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kube-proxy-5d8f7c9b6", Namespace: "kube-system", CreationTimestamp: ago(12 * day),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "kube-proxy", Controller: ptr.To(true)}},
		},
		Revision: 1,
	}
	sts := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-6b9f8d7c5", Namespace: "default", CreationTimestamp: ago(time.Hour),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", Controller: ptr.To(true)}},
		},
		Revision: 4,
	}
	orphan := &appsv1.ControllerRevision{ObjectMeta: om("orphan-1", 3*day), Revision: 2}
	return []runtime.Object{owned, sts, orphan}
}

func jobs() []runtime.Object {
	complete := &batchv1.Job{
		ObjectMeta: om("pi", 10*time.Minute),
		Spec: batchv1.JobSpec{
			Completions: ptr.To[int32](1), Parallelism: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "8e2a"}},
			Template: template(nil, containers("pi", "perl:5.34.0")...),
		},
		Status: batchv1.JobStatus{
			Succeeded: 1, StartTime: agoPtr(10 * time.Minute), CompletionTime: agoPtr(10*time.Minute - 34*time.Second),
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: "True"}},
		},
	}
	running := &batchv1.Job{
		ObjectMeta: om("work-queue", 3*time.Minute),
		Spec: batchv1.JobSpec{
			Parallelism: ptr.To[int32](3),
			Template:    template(nil, containers("worker", "busybox")...),
		},
		Status: batchv1.JobStatus{Active: 3, StartTime: agoPtr(3 * time.Minute)},
	}
	failed := &batchv1.Job{
		ObjectMeta: om("flaky", 2*time.Hour),
		Spec:       batchv1.JobSpec{Completions: ptr.To[int32](5), Template: template(nil, containers("t", "busybox")...)},
		Status: batchv1.JobStatus{
			Succeeded: 2, Failed: 6, StartTime: agoPtr(2 * time.Hour),
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailureTarget, Status: "True"}, {Type: batchv1.JobFailed, Status: "True"}},
		},
	}
	suspended := &batchv1.Job{
		ObjectMeta: om("later", time.Minute),
		Spec:       batchv1.JobSpec{Suspend: ptr.To(true), Template: template(nil, containers("t", "busybox")...)},
		Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: "True"}}},
	}
	terminating := &batchv1.Job{
		ObjectMeta: om("going", 4*time.Minute),
		Spec:       batchv1.JobSpec{Template: template(nil, containers("t", "busybox")...)},
		Status:     batchv1.JobStatus{StartTime: agoPtr(4 * time.Minute)},
	}
	terminating.DeletionTimestamp = agoPtr(5 * time.Second)
	return []runtime.Object{complete, running, failed, suspended, terminating}
}

func cronJobs() []runtime.Object {
	hello := &batchv1.CronJob{
		ObjectMeta: om("hello", 2*time.Hour),
		Spec: batchv1.CronJobSpec{
			Schedule: "* * * * *",
			Suspend:  ptr.To(false),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template: template(nil, containers("hello", "busybox:1.28")...),
			}},
		},
		Status: batchv1.CronJobStatus{Active: []corev1.ObjectReference{{Name: "hello-29012345"}}, LastScheduleTime: agoPtr(45 * time.Second)},
	}
	nightly := &batchv1.CronJob{
		ObjectMeta: om("nightly-backup", 3*day),
		Spec: batchv1.CronJobSpec{
			Schedule: "0 2 * * *",
			TimeZone: ptr.To("Etc/UTC"),
			Suspend:  ptr.To(true),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"job": "backup"}},
				Template: template(nil, containers("backup", "restic/restic:0.17", "notify", "curlimages/curl")...),
			}},
		},
	}
	unset := &batchv1.CronJob{
		ObjectMeta: om("unset", 10*time.Second),
		Spec: batchv1.CronJobSpec{
			Schedule:    "@hourly",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template(nil, containers("x", "busybox")...)}},
		},
	}
	return []runtime.Object{hello, nightly, unset}
}

// Services and networking.

func services() []runtime.Object {
	kubernetes := &corev1.Service{
		ObjectMeta: om("kubernetes", 40*day),
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1"},
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}},
		},
	}
	nodePort := &corev1.Service{
		ObjectMeta: om("nginx-service", 3*time.Minute),
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, ClusterIP: "10.108.203.132", ClusterIPs: []string{"10.108.203.132"},
			Selector: map[string]string{"app": "nginx"},
			Ports:    []corev1.ServicePort{{Port: 88, NodePort: 30755, Protocol: corev1.ProtocolTCP}},
		},
	}
	dns := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system", CreationTimestamp: ago(40 * day)},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10",
			Selector: map[string]string{"k8s-app": "kube-dns"},
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP},
				{Name: "metrics", Port: 9153, Protocol: corev1.ProtocolTCP},
			},
		},
	}
	pending := &corev1.Service{
		ObjectMeta: om("lb-pending", time.Hour),
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.100.12.7",
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80, NodePort: 31080, Protocol: corev1.ProtocolTCP}},
		},
	}
	lb := pending.DeepCopy()
	lb.Name = "lb-ready"
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{
		{IP: "203.0.113.20"}, {Hostname: "a1b2c3-1234567890.elb.example.com"}, {IP: "203.0.113.10", Hostname: "ignored.example.com"},
	}
	lb.Spec.ExternalIPs = []string{"198.51.100.5"}
	withExternal := kubernetes.DeepCopy()
	withExternal.Name = "with-external-ips"
	withExternal.Spec.ExternalIPs = []string{"198.51.100.7", "198.51.100.8"}
	external := &corev1.Service{
		ObjectMeta: om("db", 5*day),
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"},
	}
	headless := &corev1.Service{
		ObjectMeta: om("web-headless", 8*day),
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: corev1.ClusterIPNone, ClusterIPs: []string{corev1.ClusterIPNone},
			Selector: map[string]string{"app": "web"},
		},
	}
	return []runtime.Object{kubernetes, nodePort, dns, pending, lb, withExternal, external, headless}
}

func endpoints() []runtime.Object {
	addrs := func(ips ...string) []corev1.EndpointAddress {
		var out []corev1.EndpointAddress
		for _, ip := range ips {
			out = append(out, corev1.EndpointAddress{IP: ip})
		}
		return out
	}
	return []runtime.Object{
		&corev1.Endpoints{
			ObjectMeta: om("kubernetes", 40*day),
			Subsets:    []corev1.EndpointSubset{{Addresses: addrs("192.168.1.10"), Ports: []corev1.EndpointPort{{Name: "https", Port: 6443}}}},
		},
		&corev1.Endpoints{
			ObjectMeta: om("nginx-service", 3*time.Minute),
			Subsets: []corev1.EndpointSubset{{
				Addresses: addrs("10.244.0.12", "10.244.1.7", "10.244.2.3", "10.244.2.9", "10.244.1.11"),
				Ports:     []corev1.EndpointPort{{Port: 80}},
			}},
		},
		&corev1.Endpoints{
			ObjectMeta: om("web-headless", 8*day),
			Subsets:    []corev1.EndpointSubset{{Addresses: addrs("10.244.1.20", "fd00::5")}},
		},
		&corev1.Endpoints{ObjectMeta: om("lb-pending", time.Hour)},
	}
}

func endpointSlices() []runtime.Object {
	eps := func(ips ...string) []discoveryv1.Endpoint {
		var out []discoveryv1.Endpoint
		for _, ip := range ips {
			out = append(out, discoveryv1.Endpoint{Addresses: []string{ip}})
		}
		return out
	}
	return []runtime.Object{
		&discoveryv1.EndpointSlice{
			ObjectMeta:  om("kubernetes", 40*day),
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](6443)}},
			Endpoints:   eps("192.168.1.10"),
		},
		&discoveryv1.EndpointSlice{
			ObjectMeta:  om("nginx-service-x7k2p", 3*time.Minute),
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}},
			Endpoints:   eps("10.244.0.12", "10.244.1.7", "10.244.2.3", "10.244.2.9"),
		},
		&discoveryv1.EndpointSlice{
			ObjectMeta:  om("kube-dns-4mz8q", 40*day),
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports: []discoveryv1.EndpointPort{
				{Name: ptr.To("dns"), Port: ptr.To[int32](53)}, {Name: ptr.To("dns-tcp"), Port: ptr.To[int32](53)},
				{Name: ptr.To("metrics"), Port: ptr.To[int32](9153)}, {Name: ptr.To("named")}, {},
			},
			Endpoints: eps("10.244.0.2", "10.244.0.3"),
		},
		&discoveryv1.EndpointSlice{ObjectMeta: om("lb-pending-abcde", time.Hour), AddressType: discoveryv1.AddressTypeIPv6},
	}
}

func ingresses() []runtime.Object {
	rule := func(host string) networkingv1.IngressRule { return networkingv1.IngressRule{Host: host} }
	return []runtime.Object{
		&networkingv1.Ingress{
			ObjectMeta: om("web", 6*day),
			Spec: networkingv1.IngressSpec{
				IngressClassName: ptr.To("nginx"),
				Rules:            []networkingv1.IngressRule{rule("foo.example.com"), rule("bar.example.com")},
				TLS:              []networkingv1.IngressTLS{{Hosts: []string{"foo.example.com"}}},
			},
			Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{
				Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "192.168.1.240"}, {Hostname: "lb.example.com"}},
			}},
		},
		&networkingv1.Ingress{
			ObjectMeta: om("catch-all", 20*time.Minute),
			Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{rule("")}},
		},
		&networkingv1.Ingress{
			ObjectMeta: om("many-hosts", 2*time.Hour),
			Spec: networkingv1.IngressSpec{
				IngressClassName: ptr.To("nginx"),
				Rules:            []networkingv1.IngressRule{rule("a.example.com"), rule(""), rule("b.example.com"), rule("c.example.com"), rule("d.example.com")},
			},
		},
	}
}

func ingressClasses() []runtime.Object {
	return []runtime.Object{
		&networkingv1.IngressClass{
			ObjectMeta: metav1.ObjectMeta{Name: "nginx", CreationTimestamp: ago(6 * day)},
			Spec: networkingv1.IngressClassSpec{
				Controller: "k8s.io/ingress-nginx",
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr.To("k8s.example.com"), Kind: "IngressParameters", Name: "external-lb"},
			},
		},
		&networkingv1.IngressClass{
			ObjectMeta: metav1.ObjectMeta{Name: "traefik", CreationTimestamp: ago(time.Hour)},
			Spec:       networkingv1.IngressClassSpec{Controller: "traefik.io/ingress-controller"},
		},
	}
}

func networkPolicies() []runtime.Object {
	return []runtime.Object{
		&networkingv1.NetworkPolicy{ObjectMeta: om("default-deny", 9*day)},
		&networkingv1.NetworkPolicy{
			ObjectMeta: om("allow-nginx", time.Hour),
			Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}},
		},
	}
}

// Nodes.

func nodes() []runtime.Object {
	info := corev1.NodeSystemInfo{
		KubeletVersion: "v1.37.2-sampan", OSImage: "Ubuntu 24.04.1 LTS", KernelVersion: "6.8.0-45-generic",
		ContainerRuntimeVersion: "containerd://2.1.4",
	}
	ready := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: "False"},
		{Type: corev1.NodeReady, Status: "True"},
	}
	cp := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "cp1", CreationTimestamp: ago(40 * day), Labels: map[string]string{
			"node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "cp1",
		}},
		Status: corev1.NodeStatus{
			Conditions: ready, NodeInfo: info,
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "cp1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}},
		},
	}
	cordoned := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "worker1", CreationTimestamp: ago(39 * day), Labels: map[string]string{
			"kubernetes.io/role": "worker", "node-role.kubernetes.io/ingress": "true",
		}},
		Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{
			Conditions: ready, NodeInfo: info,
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.11"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.11"}},
		},
	}
	notReady := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "worker2", CreationTimestamp: ago(39 * day)},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: "Unknown"}}, NodeInfo: info,
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.12"}},
		},
	}
	fresh := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "joining", CreationTimestamp: ago(5 * time.Second)}}
	return []runtime.Object{cp, cordoned, notReady, fresh}
}

// Configuration objects.

func namespaces() []runtime.Object {
	ns := func(name string, phase corev1.NamespacePhase, created time.Duration) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: ago(created)}, Status: corev1.NamespaceStatus{Phase: phase}}
	}
	return []runtime.Object{
		ns("default", corev1.NamespaceActive, 40*day),
		ns("kube-system", corev1.NamespaceActive, 40*day),
		ns("old-project", corev1.NamespaceTerminating, 400*day),
	}
}

func configMaps() []runtime.Object {
	return []runtime.Object{
		&corev1.ConfigMap{ObjectMeta: om("kube-root-ca.crt", 40*day), Data: map[string]string{"ca.crt": "..."}},
		&corev1.ConfigMap{
			ObjectMeta: om("app-config", 2*time.Hour),
			Data:       map[string]string{"a": "1", "b": "2"},
			BinaryData: map[string][]byte{"logo.png": {0x89}},
		},
		&corev1.ConfigMap{ObjectMeta: om("empty", 30*time.Second)},
	}
}

func secrets() []runtime.Object {
	return []runtime.Object{
		&corev1.Secret{ObjectMeta: om("db-credentials", 3*day), Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"username": []byte("admin"), "password": []byte("s3cret")}},
		&corev1.Secret{ObjectMeta: om("web-tls", 6*day), Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-abcdef", Namespace: "kube-system", CreationTimestamp: ago(time.Hour)},
			Type:       corev1.SecretTypeBootstrapToken,
			Data:       map[string][]byte{"token-id": nil, "token-secret": nil, "usage-bootstrap-authentication": nil},
			StringData: map[string]string{"token-id": "abcdef", "expiration": "2026-03-15T12:00:00Z"}},
	}
}

func serviceAccounts() []runtime.Object {
	return []runtime.Object{
		&corev1.ServiceAccount{ObjectMeta: om("default", 40*day)},
		&corev1.ServiceAccount{ObjectMeta: om("legacy", 400*day), Secrets: []corev1.ObjectReference{{Name: "legacy-token-x"}}},
	}
}

func limitRanges() []runtime.Object {
	lr := &corev1.LimitRange{ObjectMeta: om("cpu-limit-range", 0)}
	lr.CreationTimestamp = metav1.NewTime(time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC))
	return []runtime.Object{lr}
}

func podTemplates() []runtime.Object {
	return []runtime.Object{
		&corev1.PodTemplate{
			ObjectMeta: om("nginx-template", time.Hour),
			Template:   template(map[string]string{"app": "nginx", "tier": "web"}, containers("nginx", "nginx:1.14.2", "log", "busybox")...),
		},
		&corev1.PodTemplate{ObjectMeta: om("bare", time.Hour), Template: template(nil, containers("x", "busybox")...)},
	}
}

func resourceQuotas() []runtime.Object {
	rl := func(kv ...string) corev1.ResourceList {
		out := corev1.ResourceList{}
		for i := 0; i+1 < len(kv); i += 2 {
			out[corev1.ResourceName(kv[i])] = qty(kv[i+1])
		}
		return out
	}
	return []runtime.Object{
		&corev1.ResourceQuota{
			ObjectMeta: om("compute", 14*day),
			Status: corev1.ResourceQuotaStatus{
				Hard: rl("requests.cpu", "4", "requests.memory", "4Gi", "limits.cpu", "8", "limits.memory", "8Gi", "pods", "10"),
				Used: rl("requests.cpu", "100m", "requests.memory", "256Mi", "limits.cpu", "1", "limits.memory", "1Gi", "pods", "3"),
			},
		},
		&corev1.ResourceQuota{
			ObjectMeta: om("objects", time.Hour),
			Status:     corev1.ResourceQuotaStatus{Hard: rl("configmaps", "10", "services", "5"), Used: rl("configmaps", "1")},
		},
		&corev1.ResourceQuota{ObjectMeta: om("new", time.Second)},
	}
}

// Storage.

func persistentVolumes() []runtime.Object {
	fs := corev1.PersistentVolumeFilesystem
	bound := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pvc-3f6c2a1e", CreationTimestamp: ago(5 * day)},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: qty("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data-web-0"},
			StorageClassName:              "local-path",
			VolumeMode:                    &fs,
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
	}
	failed := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "nfs-old", CreationTimestamp: ago(90 * day),
			Annotations: map[string]string{corev1.BetaStorageClassAnnotation: "legacy-nfs"}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: qty("500Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany, corev1.ReadWriteOncePod},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRecycle,
			VolumeAttributesClassName:     ptr.To("gold"),
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeFailed, Reason: "RecyclerFailed"},
	}
	releasing := bound.DeepCopy()
	releasing.Name = "pvc-9a8b7c6d"
	releasing.DeletionTimestamp = agoPtr(time.Second)
	return []runtime.Object{bound, failed, releasing}
}

func persistentVolumeClaims() []runtime.Object {
	block := corev1.PersistentVolumeBlock
	return []runtime.Object{
		&corev1.PersistentVolumeClaim{
			ObjectMeta: om("data-web-0", 5*day),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("8Gi")}},
				VolumeName:       "pvc-3f6c2a1e",
				StorageClassName: ptr.To("local-path"),
			},
			Status: corev1.PersistentVolumeClaimStatus{
				Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadWriteMany},
				Capacity: corev1.ResourceList{corev1.ResourceStorage: qty("10Gi")},
			},
		},
		&corev1.PersistentVolumeClaim{
			ObjectMeta: om("waiting", 2*time.Minute),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:               []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:                 corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")}},
				StorageClassName:          ptr.To("fast"),
				VolumeAttributesClassName: ptr.To("silver"),
				VolumeMode:                &block,
			},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
		},
		&corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "default", CreationTimestamp: ago(300 * day),
				DeletionTimestamp: agoPtr(time.Minute), Annotations: map[string]string{corev1.BetaStorageClassAnnotation: "legacy-nfs"}},
			Spec:   corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("ignored")},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
		},
	}
}

func storageClasses() []runtime.Object {
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	retain := corev1.PersistentVolumeReclaimRetain
	return []runtime.Object{
		&storagev1.StorageClass{
			ObjectMeta: metav1.ObjectMeta{Name: "local-path", CreationTimestamp: ago(40 * day),
				Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
			Provisioner: "rancher.io/local-path", VolumeBindingMode: &wait,
		},
		&storagev1.StorageClass{
			ObjectMeta:    metav1.ObjectMeta{Name: "fast", CreationTimestamp: ago(3 * day)},
			Provisioner:   "ebs.csi.aws.com",
			ReclaimPolicy: &retain, AllowVolumeExpansion: ptr.To(true),
		},
		&storagev1.StorageClass{
			ObjectMeta: metav1.ObjectMeta{Name: "old-default", CreationTimestamp: ago(400 * day),
				Annotations: map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}},
			Provisioner: "kubernetes.io/no-provisioner",
		},
	}
}

// Events.

func coreEvents() []runtime.Object {
	scheduled := &corev1.Event{
		ObjectMeta:          om("nginx-deployment-66b6c48dd5-4jw2p.17c4a1b2c3d4e5f6", 3*time.Minute),
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "nginx-deployment-66b6c48dd5-4jw2p"},
		Reason:              "Scheduled",
		Message:             "Successfully assigned default/nginx-deployment-66b6c48dd5-4jw2p to cp1\n",
		Type:                corev1.EventTypeNormal,
		EventTime:           metav1.NewMicroTime(now.Add(-3 * time.Minute)),
		ReportingController: "default-scheduler",
		ReportingInstance:   "default-scheduler-cp1",
	}
	backoff := &corev1.Event{
		ObjectMeta:     om("crashloop.17c4a1b2c3d4e5f7", time.Hour),
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "crashloop", FieldPath: "spec.containers{app}"},
		Reason:         "BackOff",
		Message:        "Back-off restarting failed container app in pod crashloop_default(8e2a)",
		Type:           corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: "kubelet", Host: "cp1"},
		FirstTimestamp: ago(time.Hour),
		LastTimestamp:  ago(2 * time.Minute),
		Count:          12,
	}
	series := &corev1.Event{
		ObjectMeta:          om("web.17c4a1b2c3d4e5f8", 30*time.Minute),
		InvolvedObject:      corev1.ObjectReference{Kind: "Deployment", Namespace: "default", Name: "web"},
		Reason:              "ScalingReplicaSet",
		Message:             "Scaled up replica set web-7d4b9c8f6 from 0 to 2",
		Type:                corev1.EventTypeNormal,
		EventTime:           metav1.NewMicroTime(now.Add(-30 * time.Minute)),
		Series:              &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now.Add(-90 * time.Second))},
		ReportingController: "deployment-controller",
	}
	nodeEvent := &corev1.Event{
		ObjectMeta:     om("cp1.17c4a1b2c3d4e5f9", 40*day),
		InvolvedObject: corev1.ObjectReference{Kind: "Node"},
		Reason:         "RegisteredNode",
		Message:        "Node cp1 event: Registered Node cp1 in Controller",
		Type:           corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "node-controller"},
		FirstTimestamp: ago(40 * day),
		Count:          1,
	}
	return []runtime.Object{scheduled, backoff, series, nodeEvent}
}

// eventsV1 are the core events as events.k8s.io/v1 shows them.
func eventsV1() []runtime.Object {
	var out []runtime.Object
	for _, o := range coreEvents() {
		e := o.(*corev1.Event)
		v1 := &eventsv1.Event{
			ObjectMeta:               e.ObjectMeta,
			EventTime:                e.EventTime,
			ReportingController:      e.ReportingController,
			ReportingInstance:        e.ReportingInstance,
			Reason:                   e.Reason,
			Regarding:                e.InvolvedObject,
			Note:                     e.Message,
			Type:                     e.Type,
			DeprecatedSource:         e.Source,
			DeprecatedFirstTimestamp: e.FirstTimestamp,
			DeprecatedLastTimestamp:  e.LastTimestamp,
			DeprecatedCount:          e.Count,
		}
		if e.Series != nil {
			v1.Series = &eventsv1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
		}
		out = append(out, v1)
	}
	return out
}

// Autoscaling.

func hpasV2() []runtime.Object {
	ref := func(kind, name string) autoscalingv2.CrossVersionObjectReference {
		return autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: name}
	}
	cpu := func(target int32) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(target)},
		}}
	}
	return []runtime.Object{
		&autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: om("nginx", 10*time.Minute),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: ref("Deployment", "nginx-deployment"), MinReplicas: ptr.To[int32](1), MaxReplicas: 10,
				Metrics: []autoscalingv2.MetricSpec{cpu(80)},
			},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{
				CurrentReplicas: 3,
				CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](42), AverageValue: qtyPtr("84m")},
				}}},
			},
		},
		&autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: om("web", 2*day),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: ref("StatefulSet", "web"), MaxReplicas: 5,
				Metrics: []autoscalingv2.MetricSpec{
					{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
						Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qtyPtr("512Mi")},
					}},
					{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
						Metric: autoscalingv2.MetricIdentifier{Name: "requests_per_second"},
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qtyPtr("1k")},
					}},
					{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
						Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"},
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qtyPtr("30")},
					}},
				},
			},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{
				CurrentReplicas: 2,
				CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name: corev1.ResourceMemory, Current: autoscalingv2.MetricValueStatus{AverageValue: qtyPtr("300Mi")},
				}}},
			},
		},
		&autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: om("queue-worker", time.Hour),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: ref("Deployment", "worker"), MinReplicas: ptr.To[int32](2), MaxReplicas: 20,
				Metrics: []autoscalingv2.MetricSpec{
					{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
						DescribedObject: ref("Service", "queue"), Metric: autoscalingv2.MetricIdentifier{Name: "depth"},
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qtyPtr("5")},
					}},
					{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
						Name: corev1.ResourceCPU, Container: "worker", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](60)},
					}},
				},
			},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{
				CurrentReplicas: 4,
				CurrentMetrics: []autoscalingv2.MetricStatus{
					{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{Current: autoscalingv2.MetricValueStatus{AverageValue: qtyPtr("7")}}},
					{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{
						Name: corev1.ResourceCPU, Container: "worker", Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](55)},
					}},
				},
			},
		},
		&autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: om("no-metrics", time.Minute),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref("Deployment", "x"), MaxReplicas: 3},
		},
	}
}

func hpasV1() []runtime.Object {
	ref := autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "nginx-deployment"}
	withAnnotations := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: om("mixed", time.Hour),
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: ref, MinReplicas: ptr.To[int32](2), MaxReplicas: 6, TargetCPUUtilizationPercentage: ptr.To[int32](70),
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, CurrentCPUUtilizationPercentage: ptr.To[int32](65)},
	}
	withAnnotations.Annotations = map[string]string{
		"autoscaling.alpha.kubernetes.io/metrics": `[{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"100"}}]`,
		"autoscaling.alpha.kubernetes.io/current-metrics": `[{"type":"Pods","pods":{"metricName":"rps","currentAverageValue":"80"}},` +
			`{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":65,"currentAverageValue":"130m"}}]`,
	}
	return []runtime.Object{
		&autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: om("nginx", 10*time.Minute),
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: ref, MinReplicas: ptr.To[int32](1), MaxReplicas: 10, TargetCPUUtilizationPercentage: ptr.To[int32](80),
			},
			Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentCPUUtilizationPercentage: ptr.To[int32](42)},
		},
		&autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: om("fresh", 5*time.Second),
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: ref, MinReplicas: ptr.To[int32](1), MaxReplicas: 4, TargetCPUUtilizationPercentage: ptr.To[int32](50),
			},
		},
		withAnnotations,
		// No target at all: v1 means 80% CPU.
		&autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: om("implicit", 2*time.Minute),
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 2},
		},
	}
}

// Policy, coordination, certificates, RBAC.

func pdbs() []runtime.Object {
	return []runtime.Object{
		&policyv1.PodDisruptionBudget{
			ObjectMeta: om("nginx-pdb", time.Hour),
			Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(2))},
			Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1},
		},
		&policyv1.PodDisruptionBudget{
			ObjectMeta: om("web-pdb", 2*day),
			Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromString("50%"))},
		},
	}
}

func leases() []runtime.Object {
	return []runtime.Object{
		&coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "kube-controller-manager", Namespace: "kube-system", CreationTimestamp: ago(40 * day)},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("cp1_5b1f0a3e-6c2d-4e8f-9a7b-1c2d3e4f5a6b")},
		},
		&coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "cp1", Namespace: "kube-node-lease", CreationTimestamp: ago(40 * day)},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("cp1")},
		},
		&coordinationv1.Lease{ObjectMeta: om("unheld", time.Minute)},
	}
}

func csrs() []runtime.Object {
	cond := func(t certificatesv1.RequestConditionType) certificatesv1.CertificateSigningRequestCondition {
		return certificatesv1.CertificateSigningRequestCondition{Type: t, Status: "True"}
	}
	return []runtime.Object{
		&certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "csr-8x2kq", CreationTimestamp: ago(40 * day)},
			Spec: certificatesv1.CertificateSigningRequestSpec{
				SignerName: "kubernetes.io/kube-apiserver-client-kubelet", Username: "system:bootstrap:abcdef",
			},
			Status: certificatesv1.CertificateSigningRequestStatus{
				Conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)}, Certificate: []byte("PEM"),
			},
		},
		&certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "jane", CreationTimestamp: ago(2 * time.Minute)},
			Spec: certificatesv1.CertificateSigningRequestSpec{
				SignerName: "kubernetes.io/kube-apiserver-client", Username: "kubernetes-admin", ExpirationSeconds: ptr.To[int32](86400),
			},
		},
		&certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "rejected", CreationTimestamp: ago(time.Hour)},
			Spec:       certificatesv1.CertificateSigningRequestSpec{Username: "mallory", ExpirationSeconds: ptr.To[int32](600)},
			Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{
				cond(certificatesv1.CertificateApproved), cond(certificatesv1.CertificateDenied), cond(certificatesv1.CertificateFailed),
			}},
		},
	}
}

func roles() []runtime.Object {
	r := &rbacv1.Role{ObjectMeta: om("pod-reader", 0)}
	r.CreationTimestamp = metav1.NewTime(time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC))
	return []runtime.Object{r}
}

func clusterRoles() []runtime.Object {
	r := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin",
		CreationTimestamp: metav1.NewTime(time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC))}}
	v := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view",
		CreationTimestamp: metav1.NewTime(time.Date(2026, 2, 1, 9, 0, 1, 0, time.UTC))}}
	return []runtime.Object{r, v}
}

func roleBindings() []runtime.Object {
	return []runtime.Object{
		&rbacv1.RoleBinding{
			ObjectMeta: om("read-pods", 3*day),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
			Subjects: []rbacv1.Subject{
				{Kind: rbacv1.UserKind, Name: "jane"}, {Kind: rbacv1.UserKind, Name: "joe"},
				{Kind: rbacv1.GroupKind, Name: "developers"},
				{Kind: rbacv1.ServiceAccountKind, Namespace: "kube-system", Name: "default"},
			},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: om("view-only", time.Hour),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		},
	}
}

func clusterRoleBindings() []runtime.Object {
	return []runtime.Object{
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin", CreationTimestamp: ago(40 * day)},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:masters"}},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "kubeadm:node-proxier", CreationTimestamp: ago(40 * day)},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-proxier"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "kube-system", Name: "kube-proxy"}},
		},
	}
}
