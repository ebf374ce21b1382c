package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/sampan-dev/sampan/internal/controlplane"
	"github.com/sampan-dev/sampan/internal/sim"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// workloadTimeout bounds waits on controllers, scheduler and simulated nodes.
const workloadTimeout = 90 * time.Second

// workloadCluster is an in-process control plane (API server, scheduler,
// every controller) with simulated nodes, driven by the real kubectl.
type workloadCluster struct {
	*server // kubectl helpers; no subprocess behind it
	c       *testcluster.Cluster
	client  kubernetes.Interface
	sim     *sim.Sim
}

// startWorkloads starts the control plane and n simulated nodes and waits
// until they are Ready.
func startWorkloads(t *testing.T, n int, configure func(*controlplane.Config)) *workloadCluster {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Configure: configure})
	w := &workloadCluster{server: &server{dataDir: c.DataDir, kubeconfig: c.Kubeconfig}, c: c, client: c.Client}
	w.sim = w.addNodes(t, "node-", n)
	return w
}

// addNodes runs n more simulated nodes named prefix0..prefixN-1 until the
// test ends and waits until they are Ready.
func (w *workloadCluster) addNodes(t *testing.T, prefix string, n int) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Config{Client: w.client, Nodes: n, NamePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulated nodes: %v", err)
		}
	})
	for _, name := range s.NodeNames() {
		w.waitFor(t, "node "+name+" Ready", func(ctx context.Context) (bool, error) {
			node, err := w.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			return nodeReady(node) == corev1.ConditionTrue, nil
		})
	}
	return s
}

func nodeReady(node *corev1.Node) corev1.ConditionStatus {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

func (w *workloadCluster) waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, workloadTimeout, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// runningPods lists the Running, Ready pods matching selector in ns that are not being deleted.
func (w *workloadCluster) runningPods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	list, err := w.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && podReady(&p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitRunning waits until exactly n pods matching selector run, and returns them.
func (w *workloadCluster) waitRunning(t *testing.T, ns, selector string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	w.waitFor(t, fmt.Sprintf("%d running pods %s", n, selector), func(ctx context.Context) (bool, error) {
		var err error
		pods, err = w.runningPods(ctx, ns, selector)
		return err == nil && len(pods) == n, nil
	})
	return pods
}

func distinctNodes(pods []corev1.Pod) map[string]int {
	m := map[string]int{}
	for _, p := range pods {
		m[p.Spec.NodeName]++
	}
	return m
}

// The seeds' flow: 3 nginx replicas on 3 nodes, one per node; a deleted
// pod is replaced.
func TestSeedDeploymentSpreadsAndHeals(t *testing.T) {
	w := startWorkloads(t, 3, nil)
	w.kubectl(t, "apply", "-f", "../../examples/seed/nginx-deployment.yaml", "-f", "../../examples/seed/nginx-service.yaml")
	out := w.kubectl(t, "rollout", "status", "deployment/nginx-deployment", "--timeout=90s")
	contains(t, "rollout status", out, `deployment "nginx-deployment" successfully rolled out`)

	pods := w.waitRunning(t, "default", "app=nginx", 3)
	if nodes := distinctNodes(pods); len(nodes) != 3 {
		t.Fatalf("3 replicas on 3 nodes landed on %v", nodes)
	}
	out = w.kubectl(t, "get", "deployment", "nginx-deployment")
	if !strings.Contains(out, "3/3") {
		t.Errorf("kubectl get deployment does not show 3/3:\n%s", out)
	}

	victim := pods[0].Name
	w.kubectl(t, "delete", "pod", victim)
	pods = w.waitRunning(t, "default", "app=nginx", 3)
	for _, p := range pods {
		if p.Name == victim {
			t.Fatalf("deleted pod %s still counted", victim)
		}
	}
	// Endpoints follow the pods.
	w.waitFor(t, "3 ready endpoints", func(ctx context.Context) (bool, error) {
		slices, err := w.client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=nginx-service"})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready++
				}
			}
		}
		return ready == 3, nil
	})
}

// kubectl set image rolls the pods with at most maxSurge extra, rollout
// undo rolls back, and the history shows both revisions.
func TestRollingUpdateAndUndo(t *testing.T) {
	w := startWorkloads(t, 3, nil)
	w.kubectl(t, "apply", "-f", "../../examples/seed/nginx-deployment.yaml")
	w.kubectl(t, "rollout", "status", "deployment/nginx-deployment", "--timeout=90s")

	// Watch ReplicaSets during the rollout: the sum of their desired replicas
	// must never exceed replicas + maxSurge (25% of 3, rounded up: 1).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	maxTotal := 0
	rsw, err := w.client.AppsV1().ReplicaSets("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		desired := map[string]int32{}
		for ev := range rsw.ResultChan() {
			rs, ok := ev.Object.(*appsv1.ReplicaSet)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(desired, rs.Name)
			} else {
				desired[rs.Name] = *rs.Spec.Replicas
			}
			total := 0
			for _, n := range desired {
				total += int(n)
			}
			mu.Lock()
			maxTotal = max(maxTotal, total)
			mu.Unlock()
		}
	}()

	w.kubectl(t, "set", "image", "deployment/nginx-deployment", "nginx=nginx:1.27")
	w.kubectl(t, "rollout", "status", "deployment/nginx-deployment", "--timeout=90s")
	pods := w.waitRunning(t, "default", "app=nginx", 3)
	for _, p := range pods {
		if img := p.Spec.Containers[0].Image; img != "nginx:1.27" {
			t.Errorf("after set image, pod %s runs %s", p.Name, img)
		}
	}
	mu.Lock()
	if maxTotal > 4 {
		t.Errorf("during the rollout ReplicaSets wanted %d pods, more than replicas+maxSurge = 4", maxTotal)
	}
	mu.Unlock()
	out := w.kubectl(t, "rollout", "history", "deployment/nginx-deployment")
	contains(t, "rollout history", out, "REVISION", "1 ", "2 ")

	w.kubectl(t, "rollout", "undo", "deployment/nginx-deployment")
	w.kubectl(t, "rollout", "status", "deployment/nginx-deployment", "--timeout=90s")
	w.waitFor(t, "pods back on nginx:latest", func(ctx context.Context) (bool, error) {
		pods, err := w.runningPods(ctx, "default", "app=nginx")
		if err != nil || len(pods) != 3 {
			return false, nil
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Image != "nginx:latest" {
				return false, nil
			}
		}
		return true, nil
	})
	dep, err := w.client.AppsV1().Deployments("default").Get(context.Background(), "nginx-deployment", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rev := dep.Annotations["deployment.kubernetes.io/revision"]; rev != "3" {
		t.Errorf("revision after undo = %q, want 3", rev)
	}
}

// A node that stops renewing its Lease goes NotReady; its pods are evicted
// after their tolerationSeconds and replaced on the other nodes.
func TestNodeFailureMovesPods(t *testing.T) {
	w := startWorkloads(t, 3, func(cfg *controlplane.Config) {
		// Short enough for a test; the defaults (40 s, 300 s) are the same code path.
		cfg.NodeMonitorGracePeriod = 3 * time.Second
		secs := int64(2)
		cfg.DefaultUnreachableTolerationSeconds = &secs
		cfg.DefaultNotReadyTolerationSeconds = &secs
	})
	w.kubectl(t, "apply", "-f", "../../examples/seed/nginx-deployment.yaml")
	pods := w.waitRunning(t, "default", "app=nginx", 3)
	dead := pods[0].Spec.NodeName
	w.sim.StopNode(dead)

	w.waitFor(t, "node "+dead+" NotReady", func(ctx context.Context) (bool, error) {
		node, err := w.client.CoreV1().Nodes().Get(ctx, dead, metav1.GetOptions{})
		return err == nil && nodeReady(node) == corev1.ConditionUnknown, nil
	})
	out := w.kubectl(t, "get", "node", dead)
	contains(t, "get node", out, "NotReady")

	w.waitFor(t, "3 replicas off "+dead, func(ctx context.Context) (bool, error) {
		pods, err := w.runningPods(ctx, "default", "app=nginx")
		if err != nil || len(pods) != 3 {
			return false, nil
		}
		return distinctNodes(pods)[dead] == 0, nil
	})
	node, err := w.client.CoreV1().Nodes().Get(context.Background(), dead, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var taints []string
	for _, tn := range node.Spec.Taints {
		taints = append(taints, tn.Key+":"+string(tn.Effect))
	}
	sort.Strings(taints)
	if got := strings.Join(taints, ","); got != "node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule" {
		t.Errorf("taints of the dead node = %s", got)
	}
}

// A DaemonSet runs one pod per node, including a node that joins later.
func TestDaemonSetOnEveryNode(t *testing.T) {
	w := startWorkloads(t, 3, nil)
	w.kubectl(t, "apply", "-f", writeFile(t, "ds.yaml", `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: busybox
`))
	pods := w.waitRunning(t, "default", "app=agent", 3)
	if n := distinctNodes(pods); len(n) != 3 {
		t.Fatalf("daemon pods on %v, want one on each of 3 nodes", n)
	}
	w.addNodes(t, "late-", 1)
	pods = w.waitRunning(t, "default", "app=agent", 4)
	if n := distinctNodes(pods); len(n) != 4 || n["late-0"] != 1 {
		t.Fatalf("daemon pods on %v, want one on each of 4 nodes", n)
	}
	w.kubectl(t, "rollout", "status", "daemonset/agent", "--timeout=90s")
}

// A StatefulSet creates web-0, web-1, web-2 in that order, each after the
// previous one is Ready. (Claims from volumeClaimTemplates stay Pending
// until storage exists; the statefulset package tests them.)
func TestStatefulSetOrdered(t *testing.T) {
	w := startWorkloads(t, 3, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pw, err := w.client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	orderDone := make(chan struct{})
	go func() {
		defer close(orderDone)
		for ev := range pw.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added {
				order = append(order, p.Name)
				if len(order) == 3 {
					return
				}
			}
		}
	}()
	w.kubectl(t, "apply", "-f", writeFile(t, "sts.yaml", `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector: {app: web}
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:latest
`))
	w.waitRunning(t, "default", "app=web", 3)
	select {
	case <-orderDone:
	case <-time.After(workloadTimeout):
		t.Fatal("pods not seen")
	}
	if got := strings.Join(order, ","); got != "web-0,web-1,web-2" {
		t.Errorf("creation order %s, want web-0,web-1,web-2", got)
	}
	for i, p := range w.waitRunning(t, "default", "app=web", 3) {
		if p.Spec.Hostname != p.Name || p.Spec.Subdomain != "web" {
			t.Errorf("pod %d: hostname %q subdomain %q, want its name and web", i, p.Spec.Hostname, p.Spec.Subdomain)
		}
	}
	w.kubectl(t, "rollout", "status", "statefulset/web", "--timeout=90s")
}

// A Job of 5 completions with parallelism 2 completes, never running more
// than 2 pods at once.
func TestJobCompletes(t *testing.T) {
	w := startWorkloads(t, 3, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pw, err := w.client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "job-name=count"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	maxActive := 0
	go func() {
		active := map[string]bool{}
		for ev := range pw.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				delete(active, p.Name)
			} else {
				active[p.Name] = true
			}
			mu.Lock()
			maxActive = max(maxActive, len(active))
			mu.Unlock()
		}
	}()
	w.kubectl(t, "apply", "-f", writeFile(t, "job.yaml", `apiVersion: batch/v1
kind: Job
metadata:
  name: count
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: count
        image: busybox
        command: ["sh", "-c", "echo done"]
`))
	w.kubectl(t, "wait", "--for=condition=complete", "job/count", "--timeout=90s")
	job, err := w.client.BatchV1().Jobs("default").Get(context.Background(), "count", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Status.Succeeded != 5 {
		t.Errorf("succeeded = %d, want 5", job.Status.Succeeded)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxActive > 2 {
		t.Errorf("%d pods ran at once, parallelism is 2", maxActive)
	}
}

// cordon + drain evicts a node's pods through the eviction API and a
// PodDisruptionBudget that allows no disruption stops it.
func TestDrainRespectsPDB(t *testing.T) {
	w := startWorkloads(t, 3, nil)
	w.kubectl(t, "apply", "-f", "../../examples/seed/nginx-deployment.yaml")
	pods := w.waitRunning(t, "default", "app=nginx", 3)
	w.kubectl(t, "apply", "-f", writeFile(t, "pdb.yaml", `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: nginx
spec:
  minAvailable: 3
  selector:
    matchLabels: {app: nginx}
`))
	w.waitFor(t, "PDB status", func(ctx context.Context) (bool, error) {
		pdb, err := w.client.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "nginx", metav1.GetOptions{})
		return err == nil && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.CurrentHealthy == 3, nil
	})
	node := pods[0].Spec.NodeName
	out := w.kubectl(t, "cordon", node)
	contains(t, "cordon", out, "cordoned")

	// minAvailable 3 of 3: the eviction is refused and drain gives up.
	r := w.kubectlRun(t, nil, "drain", node, "--ignore-daemonsets", "--timeout=5s")
	if r.code == 0 {
		t.Fatalf("drain succeeded despite a PDB allowing no disruption: %s", r)
	}
	contains(t, "drain", r.stderr+r.stdout, "disruption budget")
	if got := distinctNodes(w.waitRunning(t, "default", "app=nginx", 3))[node]; got != 1 {
		t.Fatalf("pod left %s despite the PDB", node)
	}

	// Allow one disruption: the drain evicts, and the replacement avoids the cordoned node.
	w.kubectl(t, "patch", "pdb", "nginx", "--type=merge", "-p", `{"spec":{"minAvailable":2}}`)
	w.kubectl(t, "drain", node, "--ignore-daemonsets", "--timeout=60s")
	w.waitFor(t, "3 replicas off the drained node", func(ctx context.Context) (bool, error) {
		pods, err := w.runningPods(ctx, "default", "app=nginx")
		return err == nil && len(pods) == 3 && distinctNodes(pods)[node] == 0, nil
	})
	n, err := w.client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil || !n.Spec.Unschedulable {
		t.Fatalf("node not cordoned: %v %v", err, n.Spec.Unschedulable)
	}
}

// Deleting a namespace deletes what is in it; a Foreground deletion of a
// Deployment removes its ReplicaSets and Pods before the Deployment.
func TestNamespaceAndForegroundDeletion(t *testing.T) {
	w := startWorkloads(t, 3, nil)
	w.kubectl(t, "create", "namespace", "shop")
	w.kubectl(t, "-n", "shop", "apply", "-f", "../../examples/seed/nginx-deployment.yaml", "-f", "../../examples/seed/nginx-service.yaml")
	w.waitRunning(t, "shop", "app=nginx", 3)
	w.kubectl(t, "delete", "namespace", "shop", "--timeout=90s")
	w.waitNotFound(t, workloadTimeout, "namespace", "shop")

	w.kubectl(t, "apply", "-f", "../../examples/seed/nginx-deployment.yaml")
	w.waitRunning(t, "default", "app=nginx", 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dw, err := w.client.AppsV1().Deployments("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=nginx-deployment"})
	if err != nil {
		t.Fatal(err)
	}
	sawTerminatingWithDependents := make(chan bool, 1)
	go func() {
		for ev := range dw.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || d.DeletionTimestamp == nil || ev.Type == watch.Deleted {
				continue
			}
			pods, err := w.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
			if err == nil && len(pods.Items) > 0 {
				sawTerminatingWithDependents <- true
				return
			}
		}
	}()
	w.kubectl(t, "delete", "deployment", "nginx-deployment", "--cascade=foreground", "--timeout=90s")
	_, err = w.client.AppsV1().Deployments("default").Get(context.Background(), "nginx-deployment", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("deployment still there after a foreground delete: %v", err)
	}
	for _, list := range []func() (int, error){
		func() (int, error) {
			l, err := w.client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=nginx"})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
		func() (int, error) {
			l, err := w.client.AppsV1().ReplicaSets("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=nginx"})
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		},
	} {
		if n, err := list(); err != nil || n != 0 {
			t.Errorf("dependents left after the foreground delete: %d (%v)", n, err)
		}
	}
	select {
	case <-sawTerminatingWithDependents:
	default:
		t.Error("never saw the Deployment waiting (deletionTimestamp set) while its pods existed")
	}
}
