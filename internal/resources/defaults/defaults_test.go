package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/sampan-dev/sampan/internal/resources"
)

// decode turns a manifest into its typed object without defaulting it.
func decode(t *testing.T, manifest string) runtime.Object {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatalf("parsing manifest: %v\n%s", err, manifest)
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(js, nil, nil)
	if err != nil {
		t.Fatalf("decoding manifest: %v\n%s", err, manifest)
	}
	return obj
}

func toYAML(t *testing.T, obj runtime.Object) string {
	t.Helper()
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatalf("encoding %T: %v", obj, err)
	}
	return string(b)
}

type defaultingCase struct {
	name, in, want string
}

// defaultingCases are manifests as users write them and the objects the API
// server stores for them. They are also the inputs of the idempotence test.
func defaultingCases() []defaultingCase {
	return []defaultingCase{
		{
			name: "seed nginx deployment",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx-deployment, labels: {app: nginx}}
spec:
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx:latest
        ports:
        - containerPort: 80
`,
			want: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx-deployment, labels: {app: nginx}}
spec:
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 25%, maxSurge: 25%}
  revisionHistoryLimit: 10
  progressDeadlineSeconds: 600
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx:latest
        imagePullPolicy: Always
        ports:
        - {containerPort: 80, protocol: TCP}
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
      restartPolicy: Always
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "deployment with Recreate strategy gets no rollingUpdate",
			in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 0
  strategy: {type: Recreate}
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers: [{name: c, image: "registry.local:5000/team/app:v1.2"}]
`,
			want: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 0
  strategy: {type: Recreate}
  revisionHistoryLimit: 10
  progressDeadlineSeconds: 600
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
      - {name: c, image: "registry.local:5000/team/app:v1.2", imagePullPolicy: IfNotPresent,
         terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}
      restartPolicy: Always
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "pod",
			in: `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  hostNetwork: true
  initContainers:
  - name: init
    image: busybox
    resources:
      limits: {cpu: 200m}
  containers:
  - name: app
    image: "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    ports:
    - {containerPort: 8080, name: http}
    env:
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    resources:
      limits: {cpu: "1", memory: 128Mi}
      requests: {cpu: 500m}
    livenessProbe:
      httpGet: {port: 8080}
    readinessProbe:
      grpc: {port: 9090}
      periodSeconds: 5
    startupProbe:
      exec: {command: ["true"]}
    lifecycle:
      preStop:
        httpGet: {port: 8080, path: /quit}
  - name: sidecar
    image: nginx:1.27
    imagePullPolicy: Never
  volumes:
  - name: scratch
  - name: cfg
    configMap: {name: cfg}
  - name: creds
    secret: {secretName: creds}
  - name: host
    hostPath: {path: /var/log}
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
  - name: token
    projected:
      sources:
      - serviceAccountToken: {path: token}
      - downwardAPI:
          items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]
  - name: data
    ephemeral:
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
`,
			want: `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  hostNetwork: true
  enableServiceLinks: true
  restartPolicy: Always
  dnsPolicy: ClusterFirst
  schedulerName: default-scheduler
  securityContext: {}
  terminationGracePeriodSeconds: 30
  initContainers:
  - name: init
    image: busybox
    imagePullPolicy: Always
    resources:
      limits: {cpu: 200m}
      requests: {cpu: 200m}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  containers:
  - name: app
    image: "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    imagePullPolicy: IfNotPresent
    ports:
    - {containerPort: 8080, hostPort: 8080, name: http, protocol: TCP}
    env:
    - name: NODE
      valueFrom: {fieldRef: {apiVersion: v1, fieldPath: spec.nodeName}}
    resources:
      limits: {cpu: "1", memory: 128Mi}
      requests: {cpu: 500m, memory: 128Mi}
    livenessProbe:
      httpGet: {port: 8080, path: /, scheme: HTTP}
      timeoutSeconds: 1
      periodSeconds: 10
      successThreshold: 1
      failureThreshold: 3
    readinessProbe:
      grpc: {port: 9090, service: ""}
      timeoutSeconds: 1
      periodSeconds: 5
      successThreshold: 1
      failureThreshold: 3
    startupProbe:
      exec: {command: ["true"]}
      timeoutSeconds: 1
      periodSeconds: 10
      successThreshold: 1
      failureThreshold: 3
    lifecycle:
      preStop:
        httpGet: {port: 8080, path: /quit, scheme: HTTP}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  - name: sidecar
    image: nginx:1.27
    imagePullPolicy: Never
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
  volumes:
  - name: scratch
    emptyDir: {}
  - name: cfg
    configMap: {name: cfg, defaultMode: 420}
  - name: creds
    secret: {secretName: creds, defaultMode: 420}
  - name: host
    hostPath: {path: /var/log, type: ""}
  - name: info
    downwardAPI:
      defaultMode: 420
      items: [{path: labels, fieldRef: {apiVersion: v1, fieldPath: metadata.labels}}]
  - name: token
    projected:
      defaultMode: 420
      sources:
      - serviceAccountToken: {path: token, expirationSeconds: 3600}
      - downwardAPI:
          items: [{path: ns, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]
  - name: data
    ephemeral:
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
          volumeMode: Filesystem
`,
		},
		{
			name: "pod with pod-level resources",
			in: `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources:
    limits: {cpu: "2", memory: 1Gi}
  containers:
  - {name: a, image: a:1, resources: {requests: {cpu: 300m}}}
  - {name: b, image: b:1, resources: {requests: {cpu: 200m}}}
`,
			want: `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources:
    limits: {cpu: "2", memory: 1Gi}
    requests: {cpu: 500m, memory: 1Gi}
  containers:
  - {name: a, image: a:1, imagePullPolicy: IfNotPresent, resources: {requests: {cpu: 300m}},
     terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}
  - {name: b, image: b:1, imagePullPolicy: IfNotPresent, resources: {requests: {cpu: 200m}},
     terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}
  enableServiceLinks: true
  restartPolicy: Always
  dnsPolicy: ClusterFirst
  schedulerName: default-scheduler
  securityContext: {}
  terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "pod template gets pod spec defaults only",
			in: `
apiVersion: v1
kind: PodTemplate
metadata: {name: t}
template:
  spec:
    restartPolicy: Never
    containers:
    - {name: c, image: c, resources: {limits: {cpu: "1"}}}
`,
			want: `
apiVersion: v1
kind: PodTemplate
metadata: {name: t}
template:
  spec:
    restartPolicy: Never
    containers:
    - {name: c, image: c, imagePullPolicy: Always, resources: {limits: {cpu: "1"}},
       terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}
    dnsPolicy: ClusterFirst
    schedulerName: default-scheduler
    securityContext: {}
    terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "service with port 88",
			in: `
apiVersion: v1
kind: Service
metadata: {name: nginx-service}
spec:
  selector: {app: nginx}
  ports:
  - port: 88
`,
			want: `
apiVersion: v1
kind: Service
metadata: {name: nginx-service}
spec:
  selector: {app: nginx}
  type: ClusterIP
  sessionAffinity: None
  internalTrafficPolicy: Cluster
  ports:
  - {port: 88, targetPort: 88, protocol: TCP}
`,
		},
		{
			name: "nodeport service",
			in: `
apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
  sessionAffinity: ClientIP
  ports:
  - {port: 80, targetPort: http, protocol: UDP, nodePort: 30080}
`,
			want: `
apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 10800}}
  externalTrafficPolicy: Cluster
  internalTrafficPolicy: Cluster
  ports:
  - {port: 80, targetPort: http, protocol: UDP, nodePort: 30080}
`,
		},
		{
			name: "load balancer service",
			in: `
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  ports: [{port: 443}]
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.10}, {hostname: lb.example.com}]
`,
			want: `
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  sessionAffinity: None
  externalTrafficPolicy: Cluster
  internalTrafficPolicy: Cluster
  allocateLoadBalancerNodePorts: true
  ports: [{port: 443, targetPort: 443, protocol: TCP}]
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.10, ipMode: VIP}, {hostname: lb.example.com}]
`,
		},
		{
			name: "external name service",
			in: `
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.com}
`,
			want: `
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.com, sessionAffinity: None}
`,
		},
		{
			name: "namespace",
			in: `
apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {owner: a}}
`,
			want: `
apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {owner: a, kubernetes.io/metadata.name: team-a}}
status: {phase: Active}
`,
		},
		{
			name: "node",
			in: `
apiVersion: v1
kind: Node
metadata: {name: n1}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
`,
			want: `
apiVersion: v1
kind: Node
metadata: {name: n1}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
`,
		},
		{
			name: "persistent volume",
			in: `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /data/pv1}
`,
			want: `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /data/pv1, type: ""}
  persistentVolumeReclaimPolicy: Retain
  volumeMode: Filesystem
status: {phase: Pending}
`,
		},
		{
			name: "persistent volume claim",
			in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`,
			want: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  volumeMode: Filesystem
status: {phase: Pending}
`,
		},
		{
			name: "secret",
			in: `
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {password: hunter2}
`,
			want: `
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {password: hunter2}
type: Opaque
`,
		},
		{
			name: "endpoints",
			in: `
apiVersion: v1
kind: Endpoints
metadata: {name: e}
subsets:
- addresses: [{ip: 10.244.1.5}]
  ports: [{port: 80}, {port: 53, protocol: UDP}]
`,
			want: `
apiVersion: v1
kind: Endpoints
metadata: {name: e}
subsets:
- addresses: [{ip: 10.244.1.5}]
  ports: [{port: 80, protocol: TCP}, {port: 53, protocol: UDP}]
`,
		},
		{
			name: "limit range",
			in: `
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    max: {cpu: "2", memory: 1Gi}
    min: {cpu: 100m, ephemeral-storage: 1Gi}
    default: {cpu: "1"}
  - type: Pod
    max: {cpu: "4"}
`,
			want: `
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    max: {cpu: "2", memory: 1Gi}
    min: {cpu: 100m, ephemeral-storage: 1Gi}
    default: {cpu: "1", memory: 1Gi}
    defaultRequest: {cpu: "1", memory: 1Gi, ephemeral-storage: 1Gi}
  - type: Pod
    max: {cpu: "4"}
`,
		},
		{
			name: "resource quota rounds up to milli",
			in: `
apiVersion: v1
kind: ResourceQuota
metadata: {name: q}
spec:
  hard: {cpu: 100u, pods: "10"}
`,
			want: `
apiVersion: v1
kind: ResourceQuota
metadata: {name: q}
spec:
  hard: {cpu: 1m, pods: "10"}
`,
		},
		{
			name: "replica set",
			in: `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec: {containers: [{name: c, image: "c:2"}]}
`,
			want: `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  replicas: 1
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec:
      containers: [{name: c, image: "c:2", imagePullPolicy: IfNotPresent,
                    terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}]
      restartPolicy: Always
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "stateful set",
			in: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "c:2"}]}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`,
			want: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 1
  serviceName: web
  podManagementPolicy: OrderedReady
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {partition: 0, maxUnavailable: 1}
  revisionHistoryLimit: 10
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "c:2", imagePullPolicy: IfNotPresent,
                    terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}]
      restartPolicy: Always
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
  volumeClaimTemplates:
  - apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
      volumeMode: Filesystem
    status: {phase: Pending}
`,
		},
		{
			name: "stateful set with OnDelete",
			in: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  replicas: 2
  podManagementPolicy: Parallel
  updateStrategy: {type: OnDelete}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}
  selector: {matchLabels: {app: s}}
  template:
    metadata: {labels: {app: s}}
    spec: {containers: [{name: c, image: "c:2"}]}
`,
			want: `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  replicas: 2
  podManagementPolicy: Parallel
  updateStrategy: {type: OnDelete}
  revisionHistoryLimit: 10
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Retain}
  selector: {matchLabels: {app: s}}
  template:
    metadata: {labels: {app: s}}
    spec:
      containers: [{name: c, image: "c:2", imagePullPolicy: IfNotPresent,
                    terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}]
      restartPolicy: Always
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "daemon set",
			in: `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: "c:2"}]}
`,
			want: `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1, maxSurge: 0}
  revisionHistoryLimit: 10
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: c, image: "c:2", imagePullPolicy: IfNotPresent,
                    terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}]
      restartPolicy: Always
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "job",
			in: `
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    metadata: {labels: {app: pi}}
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: "perl:5.34"}]
`,
			want: `
apiVersion: batch/v1
kind: Job
metadata: {name: pi, labels: {app: pi}}
spec:
  parallelism: 1
  completions: 1
  backoffLimit: 6
  completionMode: NonIndexed
  suspend: false
  manualSelector: false
  podReplacementPolicy: TerminatingOrFailed
  template:
    metadata: {labels: {app: pi}}
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: "perl:5.34", imagePullPolicy: IfNotPresent,
                    terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}]
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "indexed job with pod failure policy",
			in: `
apiVersion: batch/v1
kind: Job
metadata: {name: idx, labels: {own: label}}
spec:
  completions: 4
  completionMode: Indexed
  backoffLimitPerIndex: 1
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
  template:
    metadata: {labels: {app: idx}}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "c:1"}]
`,
			want: `
apiVersion: batch/v1
kind: Job
metadata: {name: idx, labels: {own: label}}
spec:
  parallelism: 1
  completions: 4
  completionMode: Indexed
  backoffLimitPerIndex: 1
  backoffLimit: 2147483647
  suspend: false
  manualSelector: false
  podReplacementPolicy: Failed
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget, status: "True"}]
  template:
    metadata: {labels: {app: idx}}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "c:1", imagePullPolicy: IfNotPresent,
                    terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}]
      dnsPolicy: ClusterFirst
      schedulerName: default-scheduler
      securityContext: {}
      terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "cron job defaults its template's pod spec, not the job spec",
			in: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: hello, image: busybox:1.28}]
`,
			want: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Allow
  suspend: false
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: hello, image: "busybox:1.28", imagePullPolicy: IfNotPresent,
                        terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}]
          dnsPolicy: ClusterFirst
          schedulerName: default-scheduler
          securityContext: {}
          terminationGracePeriodSeconds: 30
`,
		},
		{
			name: "hpa v1",
			in: `
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
`,
			want: `
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
`,
		},
		{
			name: "hpa v2 without metrics",
			in: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
`,
			want: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
`,
		},
		{
			name: "hpa v2 behavior is completed",
			in: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 500Mi}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 300}
`,
			want: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 500Mi}}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      selectPolicy: Max
      policies:
      - {type: Pods, value: 4, periodSeconds: 15}
      - {type: Percent, value: 100, periodSeconds: 15}
    scaleDown:
      stabilizationWindowSeconds: 300
      selectPolicy: Max
      policies:
      - {type: Percent, value: 100, periodSeconds: 15}
`,
		},
		{
			name: "token request",
			in: `
apiVersion: authentication.k8s.io/v1
kind: TokenRequest
spec: {audiences: [api]}
`,
			want: `
apiVersion: authentication.k8s.io/v1
kind: TokenRequest
spec: {audiences: [api], expirationSeconds: 3600}
`,
		},
		{
			name: "endpoint slice",
			in: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s}
addressType: IPv4
endpoints: [{addresses: [10.244.0.5]}]
ports: [{port: 80}, {name: dns, port: 53, protocol: UDP}]
`,
			want: `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s}
addressType: IPv4
endpoints: [{addresses: [10.244.0.5]}]
ports: [{name: "", port: 80, protocol: TCP}, {name: dns, port: 53, protocol: UDP}]
`,
		},
		{
			name: "network policy with egress",
			in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 80}]}]
  egress: [{ports: [{port: 53, protocol: UDP}]}]
`,
			want: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{ports: [{port: 80, protocol: TCP}]}]
  egress: [{ports: [{port: 53, protocol: UDP}]}]
`,
		},
		{
			name: "ingress-only network policy",
			in: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {}}
`,
			want: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {}, policyTypes: [Ingress]}
`,
		},
		{
			name: "ingress class parameters",
			in: `
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec:
  controller: k8s.io/ingress-nginx
  parameters: {apiGroup: k8s.example.com, kind: IngressParameters, name: external-lb}
`,
			want: `
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec:
  controller: k8s.io/ingress-nginx
  parameters: {apiGroup: k8s.example.com, kind: IngressParameters, name: external-lb, scope: Cluster}
`,
		},
		{
			name: "role binding",
			in: `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: default}
roleRef: {kind: Role, name: reader}
subjects:
- {kind: User, name: jane}
- {kind: Group, name: devs}
- {kind: ServiceAccount, name: default, namespace: default}
`,
			want: `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: jane}
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: devs}
- {kind: ServiceAccount, name: default, namespace: default}
`,
		},
		{
			name: "cluster role binding",
			in: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {kind: ClusterRole, name: view}
subjects: [{kind: Group, name: system:authenticated}]
`,
			want: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:authenticated}]
`,
		},
		{
			name: "storage class",
			in: `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: kubernetes.io/no-provisioner
`,
			want: `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Delete
volumeBindingMode: Immediate
`,
		},
	}
}

func TestDefault(t *testing.T) {
	for _, tc := range defaultingCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := decode(t, tc.in)
			want := decode(t, tc.want)
			Default(got)
			if !apiequality.Semantic.DeepEqual(got, want) {
				t.Errorf("defaulted object differs\ngot:\n%s\nwant:\n%s", toYAML(t, got), toYAML(t, want))
			}
		})
	}
}

// TestUndefaultedKinds checks that kinds upstream does not default come out
// as they went in.
func TestUndefaultedKinds(t *testing.T) {
	for _, manifest := range []string{
		`{apiVersion: v1, kind: Event, metadata: {name: e}, involvedObject: {kind: Pod, name: p}, reason: Started}`,
		`{apiVersion: events.k8s.io/v1, kind: Event, metadata: {name: e}, regarding: {kind: Pod, name: p}, note: hi}`,
		`{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}}`,
		`{apiVersion: coordination.k8s.io/v1, kind: Lease, metadata: {name: l}, spec: {holderIdentity: a}}`,
		`{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: pdb}, spec: {minAvailable: 1}}`,
		`{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: i},
		  spec: {rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}}]}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: r}, rules: [{verbs: [get], resources: [pods], apiGroups: [""]}]}`,
		`{apiVersion: certificates.k8s.io/v1, kind: CertificateSigningRequest, metadata: {name: c},
		  spec: {request: "", signerName: kubernetes.io/kube-apiserver-client, usages: [client auth]}}`,
	} {
		obj := decode(t, manifest)
		want := obj.DeepCopyObject()
		Default(obj)
		if !apiequality.Semantic.DeepEqual(obj, want) {
			t.Errorf("%T changed by defaulting\ngot:\n%s\nwant:\n%s", obj, toYAML(t, obj), toYAML(t, want))
		}
	}
}

// TestConfigMapData checks the one default that equality on semantics
// cannot see: a configmap without data gets an empty, non-nil map.
func TestConfigMapData(t *testing.T) {
	cm := decode(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, binaryData: {k: AA==}}`).(*corev1.ConfigMap)
	Default(cm)
	if cm.Data == nil || len(cm.Data) != 0 || len(cm.BinaryData) != 1 {
		t.Errorf("data = %#v, binaryData = %#v; want an empty data map and the binary data kept", cm.Data, cm.BinaryData)
	}
}

func TestPullPolicy(t *testing.T) {
	for _, tc := range []struct {
		image string
		want  string
	}{
		{"nginx", "Always"},
		{"nginx:latest", "Always"},
		{"docker.io/library/nginx:latest", "Always"},
		{"localhost:5000/nginx", "Always"},
		{"nginx:1.27", "IfNotPresent"},
		{"localhost:5000/nginx:1.27", "IfNotPresent"},
		{"nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000", "IfNotPresent"},
		{"nginx:latest@sha256:0000000000000000000000000000000000000000000000000000000000000000", "Always"},
		{"", "IfNotPresent"},
		{"Not/A Valid:Ref", "IfNotPresent"},
	} {
		if got := string(pullPolicyFor(tc.image)); got != tc.want {
			t.Errorf("pullPolicyFor(%q) = %s, want %s", tc.image, got, tc.want)
		}
	}
}

// TestIdempotent defaults every case input, and an empty object of every
// served kind, twice: the second pass must change nothing.
func TestIdempotent(t *testing.T) {
	var objs []runtime.Object
	for _, tc := range defaultingCases() {
		objs = append(objs, decode(t, tc.in))
	}
	for _, r := range resources.Builtin().All() {
		objs = append(objs, r.New())
	}
	for _, obj := range objs {
		Default(obj)
		once := toYAML(t, obj)
		onceObj := obj.DeepCopyObject()
		Default(obj)
		if twice := toYAML(t, obj); twice != once || !apiequality.Semantic.DeepEqual(obj, onceObj) {
			t.Errorf("%T: second defaulting changed the object\nonce:\n%s\ntwice:\n%s", obj, once, twice)
		}
	}
}

// TestEveryServedKindIsCovered fails when a served kind has neither a
// defaulting case nor a place among the kinds upstream leaves alone, so a
// new resource in builtin.go gets its defaults looked at.
func TestEveryServedKindIsCovered(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range defaultingCases() {
		obj := decode(t, tc.in)
		gvk := obj.GetObjectKind().GroupVersionKind()
		covered[gvk.GroupVersion().String()+"/"+gvk.Kind] = true
	}
	// Kinds kube-apiserver applies no defaults to (ConfigMap has its own test).
	for _, k := range []string{
		"v1/Binding", "v1/ConfigMap", "v1/Event", "v1/ServiceAccount",
		"apps/v1/ControllerRevision",
		"authorization.k8s.io/v1/SelfSubjectAccessReview", "authorization.k8s.io/v1/SelfSubjectRulesReview",
		"authentication.k8s.io/v1/SelfSubjectReview",
		"certificates.k8s.io/v1/CertificateSigningRequest",
		"coordination.k8s.io/v1/Lease",
		"events.k8s.io/v1/Event",
		"networking.k8s.io/v1/Ingress",
		"policy/v1/PodDisruptionBudget",
		"rbac.authorization.k8s.io/v1/ClusterRole", "rbac.authorization.k8s.io/v1/Role",
	} {
		covered[k] = true
	}
	for _, r := range resources.Builtin().All() {
		gvk := r.GVK()
		if key := gvk.GroupVersion().String() + "/" + gvk.Kind; !covered[key] {
			t.Errorf("served kind %s has no defaulting case", key)
		}
	}
}
