package deployment_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/deployment"
	"github.com/sampan-dev/sampan/internal/controllers/replicaset"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

const timeout = 30 * time.Second

type env struct {
	client kubernetes.Interface
	clock  *clocktesting.FakeClock
}

// start runs a control plane plus the ReplicaSet and Deployment
// controllers on one fake clock until the test ends.
func start(t *testing.T) *env {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	clk := clocktesting.NewFakeClock(time.Now())
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rs, err := replicaset.New(replicaset.Config{Client: c.Client, Informers: factory, Clock: clk, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := deployment.New(deployment.Config{Client: c.Client, Informers: factory, Clock: clk, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	factory.Start(ctx.Done())
	go func() { errs <- rs.Run(ctx) }()
	go func() { errs <- dc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("controller: %v", err)
			}
		}
		factory.Shutdown()
	})
	return &env{client: c.Client, clock: clk}
}

// namespace creates a namespace; with kubelet, its pods become Running and
// Ready (on the fake clock) as soon as they appear. Pods stay unbound, so
// deleting one removes it at once.
func (e *env) namespace(t *testing.T, kubelet bool) string {
	t.Helper()
	ns, err := e.client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "deploy-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kubelet {
		e.runKubelet(t, ns.Name)
	}
	return ns.Name
}

func (e *env) runKubelet(t *testing.T, ns string) {
	factory := informers.NewSharedInformerFactoryWithOptions(e.client, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ready := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodRunning {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := pod.DeepCopy()
			p.Status.Phase = corev1.PodRunning
			p.Status.PodIP = "10.244.1.1"
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(e.clock.Now())}}
			_, err := e.client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
				t.Errorf("kubelet: %v", err)
			}
		}()
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: ready, UpdateFunc: func(_, o any) { ready(o) }}); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	t.Cleanup(func() { cancel(); wg.Wait(); factory.Shutdown() })
}

func newDeployment(name string, n int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(n),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}},
			},
		},
	}
}

func (e *env) create(t *testing.T, ns string, d *appsv1.Deployment) *appsv1.Deployment {
	t.Helper()
	out, err := e.client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// update changes a deployment with retries on conflict.
func (e *env) update(t *testing.T, ns, name string, change func(*appsv1.Deployment)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := e.client.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(d)
		_, err = e.client.AppsV1().Deployments(ns).Update(t.Context(), d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, msg := cond(ctx)
		last = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last: %s)", what, err, last)
	}
}

// rolledOut waits until kubectl's `rollout status` logic calls the rollout done.
func (e *env) rolledOut(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	viewer, err := polymorphichelpers.StatusViewerFor(schema.GroupKind{Group: "apps", Kind: "Deployment"})
	if err != nil {
		t.Fatal(err)
	}
	var d *appsv1.Deployment
	waitFor(t, "rollout of "+name, func(ctx context.Context) (bool, string) {
		d, err = e.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
		if err != nil {
			return false, err.Error()
		}
		msg, done, err := viewer.Status(&unstructured.Unstructured{Object: u}, 0)
		if err != nil {
			return false, err.Error()
		}
		return done, strings.TrimSpace(msg)
	})
	return d
}

func (e *env) replicaSets(t *testing.T, ns string) []appsv1.ReplicaSet {
	t.Helper()
	l, err := e.client.AppsV1().ReplicaSets(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func (e *env) pods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	l, err := e.client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func condition(d *appsv1.Deployment, ct appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == ct {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// rsByImage returns the ReplicaSet whose pods run image.
func rsByImage(rss []appsv1.ReplicaSet, image string) *appsv1.ReplicaSet {
	for i := range rss {
		if rss[i].Spec.Template.Spec.Containers[0].Image == image {
			return &rss[i]
		}
	}
	return nil
}

// podCounter follows the pods of a namespace through a watch and keeps the
// largest number that existed at once.
type podCounter struct {
	mu       sync.Mutex
	live     map[string]string // name → image
	maxLive  int
	mixed    bool // old and new images at once
	oldImage string
}

func (e *env) countPods(t *testing.T, ns, oldImage string) *podCounter {
	pc := &podCounter{live: map[string]string{}, oldImage: oldImage}
	factory := informers.NewSharedInformerFactoryWithOptions(e.client, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			p := obj.(*corev1.Pod)
			pc.mu.Lock()
			defer pc.mu.Unlock()
			pc.live[p.Name] = p.Spec.Containers[0].Image
			pc.maxLive = max(pc.maxLive, len(pc.live))
			images := map[string]bool{}
			for _, img := range pc.live {
				images[img] = true
			}
			if len(images) > 1 {
				pc.mixed = true
			}
		},
		DeleteFunc: func(obj any) {
			key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
			_, name, _ := cache.SplitMetaNamespaceKey(key)
			pc.mu.Lock()
			delete(pc.live, name)
			pc.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	return pc
}

func (pc *podCounter) max() (int, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.maxLive, pc.mixed
}

func setImage(image string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = image }
}

func TestDeployment(t *testing.T) {
	e := start(t)

	t.Run("RollingUpdateAndRollback", func(t *testing.T) {
		ns := e.namespace(t, true)
		d := e.create(t, ns, newDeployment("web", 3))
		d = e.rolledOut(t, ns, "web")

		rss := e.replicaSets(t, ns)
		if len(rss) != 1 {
			t.Fatalf("got %d replica sets, want 1", len(rss))
		}
		rs := rss[0]
		hash := rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		if hash == "" || rs.Name != "web-"+hash || rs.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
			rs.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
			t.Errorf("replica set %s: labels %v, selector %v, template labels %v", rs.Name, rs.Labels, rs.Spec.Selector, rs.Spec.Template.Labels)
		}
		if ref := metav1.GetControllerOf(&rs); ref == nil || ref.UID != d.UID {
			t.Errorf("replica set not controlled by the deployment: %v", rs.OwnerReferences)
		}
		for k, want := range map[string]string{deployment.RevisionAnnotation: "1", deployment.DesiredReplicasAnnotation: "3", deployment.MaxReplicasAnnotation: "4"} {
			if got := rs.Annotations[k]; got != want {
				t.Errorf("replica set annotation %s = %q, want %q", k, got, want)
			}
		}
		if d.Annotations[deployment.RevisionAnnotation] != "1" {
			t.Errorf("deployment revision = %q, want 1", d.Annotations[deployment.RevisionAnnotation])
		}
		pods := e.pods(t, ns)
		if len(pods) != 3 {
			t.Fatalf("got %d pods, want 3", len(pods))
		}
		for _, p := range pods {
			if p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash || p.Labels["app"] != "web" {
				t.Errorf("pod %s labels %v", p.Name, p.Labels)
			}
		}
		if c := condition(d, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionTrue || c.Reason != "MinimumReplicasAvailable" || c.Message != "Deployment has minimum availability." {
			t.Errorf("Available condition: %+v", c)
		}
		if c := condition(d, appsv1.DeploymentProgressing); c == nil || c.Status != corev1.ConditionTrue || c.Reason != "NewReplicaSetAvailable" ||
			c.Message != fmt.Sprintf("ReplicaSet %q has successfully progressed.", rs.Name) {
			t.Errorf("Progressing condition: %+v", c)
		}
		e.waitEvent(t, ns, "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s from 0 to 3", rs.Name))

		// A deleted pod is replaced.
		if err := e.client.CoreV1().Pods(ns).Delete(t.Context(), pods[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a replacement pod", func(ctx context.Context) (bool, string) {
			ps := e.pods(t, ns)
			for _, p := range ps {
				if p.Name == pods[0].Name {
					return false, "deleted pod still there"
				}
			}
			return len(ps) == 3, fmt.Sprintf("%d pods", len(ps))
		})

		// A new image rolls out within maxSurge (25% of 3 rounds up to 1).
		counter := e.countPods(t, ns, "nginx:1")
		e.update(t, ns, "web", setImage("nginx:2"))
		d = e.rolledOut(t, ns, "web")
		if n, _ := counter.max(); n > 4 {
			t.Errorf("%d pods at once during the rollout, want at most replicas+maxSurge = 4", n)
		}
		rss = e.replicaSets(t, ns)
		oldRS, newRS := rsByImage(rss, "nginx:1"), rsByImage(rss, "nginx:2")
		if oldRS == nil || newRS == nil {
			t.Fatalf("replica sets after the update: %v", rss)
		}
		if *oldRS.Spec.Replicas != 0 || *newRS.Spec.Replicas != 3 {
			t.Errorf("old RS has %d replicas, new %d; want 0 and 3", *oldRS.Spec.Replicas, *newRS.Spec.Replicas)
		}
		if newRS.Annotations[deployment.RevisionAnnotation] != "2" || d.Annotations[deployment.RevisionAnnotation] != "2" {
			t.Errorf("revision: rs %q, deployment %q; want 2", newRS.Annotations[deployment.RevisionAnnotation], d.Annotations[deployment.RevisionAnnotation])
		}
		for _, p := range e.pods(t, ns) {
			if p.Spec.Containers[0].Image != "nginx:2" {
				t.Errorf("pod %s still runs %s", p.Name, p.Spec.Containers[0].Image)
			}
		}

		// kubectl rollout undo: the old template comes back, and with it the old ReplicaSet.
		rb, err := polymorphichelpers.RollbackerFor(schema.GroupKind{Group: "apps", Kind: "Deployment"}, e.client)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rb.Rollback(d, nil, 0, cmdutil.DryRunNone); err != nil {
			t.Fatalf("rollout undo: %v", err)
		}
		d = e.rolledOut(t, ns, "web")
		rss = e.replicaSets(t, ns)
		if len(rss) != 2 {
			t.Fatalf("got %d replica sets after the rollback, want 2", len(rss))
		}
		back := rsByImage(rss, "nginx:1")
		if back == nil || back.UID != oldRS.UID {
			t.Fatalf("rollback did not reuse the old replica set")
		}
		if back.Annotations[deployment.RevisionAnnotation] != "3" || back.Annotations[deployment.RevisionHistoryAnnotation] != "1" || *back.Spec.Replicas != 3 {
			t.Errorf("reused replica set: annotations %v, replicas %d", back.Annotations, *back.Spec.Replicas)
		}
		if d.Annotations[deployment.RevisionAnnotation] != "3" {
			t.Errorf("deployment revision %q, want 3", d.Annotations[deployment.RevisionAnnotation])
		}
	})

	t.Run("Recreate", func(t *testing.T) {
		ns := e.namespace(t, true)
		spec := newDeployment("db", 3)
		spec.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		e.create(t, ns, spec)
		e.rolledOut(t, ns, "db")
		counter := e.countPods(t, ns, "nginx:1")
		e.update(t, ns, "db", setImage("nginx:2"))
		e.rolledOut(t, ns, "db")
		if n, mixed := counter.max(); mixed || n > 3 {
			t.Errorf("recreate ran old and new pods together (mixed=%v) or too many (%d)", mixed, n)
		}
		for _, p := range e.pods(t, ns) {
			if p.Spec.Containers[0].Image != "nginx:2" {
				t.Errorf("pod %s runs %s", p.Name, p.Spec.Containers[0].Image)
			}
		}
	})

	t.Run("PauseScaleResume", func(t *testing.T) {
		ns := e.namespace(t, true)
		e.create(t, ns, newDeployment("api", 2))
		e.rolledOut(t, ns, "api")
		e.update(t, ns, "api", func(d *appsv1.Deployment) { d.Spec.Paused = true })
		e.update(t, ns, "api", setImage("nginx:2"))
		// Scaling applies while paused; the new template does not.
		e.update(t, ns, "api", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](4) })
		waitFor(t, "paused deployment scaled", func(ctx context.Context) (bool, string) {
			d, err := e.client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			c := condition(d, appsv1.DeploymentProgressing)
			ok := c != nil && c.Reason == "DeploymentPaused" && c.Status == corev1.ConditionUnknown &&
				d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 4
			return ok, fmt.Sprintf("%+v", d.Status)
		})
		rss := e.replicaSets(t, ns)
		if len(rss) != 1 || rss[0].Spec.Template.Spec.Containers[0].Image != "nginx:1" || *rss[0].Spec.Replicas != 4 {
			t.Fatalf("paused deployment rolled out or did not scale: %d replica sets", len(rss))
		}
		e.update(t, ns, "api", func(d *appsv1.Deployment) { d.Spec.Paused = false })
		e.rolledOut(t, ns, "api")
		rss = e.replicaSets(t, ns)
		if newRS := rsByImage(rss, "nginx:2"); newRS == nil || *newRS.Spec.Replicas != 4 {
			t.Fatalf("resumed deployment did not roll out: %v", rss)
		}
	})

	t.Run("ScaleAndRestart", func(t *testing.T) {
		ns := e.namespace(t, true)
		e.create(t, ns, newDeployment("svc", 2))
		e.rolledOut(t, ns, "svc")
		e.update(t, ns, "svc", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](5) })
		e.rolledOut(t, ns, "svc")
		rss := e.replicaSets(t, ns)
		if len(rss) != 1 || *rss[0].Spec.Replicas != 5 || rss[0].Annotations[deployment.DesiredReplicasAnnotation] != "5" ||
			rss[0].Annotations[deployment.MaxReplicasAnnotation] != "7" {
			t.Fatalf("after scaling to 5: %d replica sets, %v", len(rss), rss[0].Annotations)
		}
		if n := len(e.pods(t, ns)); n != 5 {
			t.Fatalf("%d pods, want 5", n)
		}
		e.waitEvent(t, ns, "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s from 2 to 5", rss[0].Name))

		// kubectl rollout restart: a template annotation, so a new ReplicaSet.
		before := map[string]bool{}
		for _, p := range e.pods(t, ns) {
			before[p.Name] = true
		}
		e.update(t, ns, "svc", func(d *appsv1.Deployment) {
			d.Spec.Template.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
		})
		d := e.rolledOut(t, ns, "svc")
		if d.Annotations[deployment.RevisionAnnotation] != "2" || len(e.replicaSets(t, ns)) != 2 {
			t.Errorf("restart: revision %q, %d replica sets", d.Annotations[deployment.RevisionAnnotation], len(e.replicaSets(t, ns)))
		}
		for _, p := range e.pods(t, ns) {
			if before[p.Name] {
				t.Errorf("pod %s survived the restart", p.Name)
			}
		}
	})

	t.Run("ProgressDeadline", func(t *testing.T) {
		ns := e.namespace(t, false) // pods never get ready
		spec := newDeployment("stuck", 2)
		spec.Spec.ProgressDeadlineSeconds = ptr.To[int32](30)
		e.create(t, ns, spec)
		waitFor(t, "pods", func(ctx context.Context) (bool, string) {
			n := len(e.pods(t, ns))
			return n == 2, fmt.Sprintf("%d pods", n)
		})
		get := func(ctx context.Context) *appsv1.Deployment {
			d, err := e.client.AppsV1().Deployments(ns).Get(ctx, "stuck", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		waitFor(t, "progressing", func(ctx context.Context) (bool, string) {
			d := get(ctx)
			c := condition(d, appsv1.DeploymentProgressing)
			a := condition(d, appsv1.DeploymentAvailable)
			return d.Status.Replicas == 2 && d.Status.UpdatedReplicas == 2 && c != nil && c.Reason == "ReplicaSetUpdated" &&
				c.Status == corev1.ConditionTrue && a != nil && a.Reason == "MinimumReplicasUnavailable" &&
				a.Message == "Deployment does not have minimum availability.", fmt.Sprintf("%+v", d.Status.Conditions)
		})
		e.clock.Step(20 * time.Second)
		// Not yet: a spec change makes the controller look (and record it
		// in observedGeneration); the deadline must not have passed.
		e.update(t, ns, "stuck", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 1 })
		waitFor(t, "the change observed", func(ctx context.Context) (bool, string) {
			d := get(ctx)
			return d.Status.ObservedGeneration == d.Generation, fmt.Sprintf("generation %d observed %d", d.Generation, d.Status.ObservedGeneration)
		})
		if c := condition(get(t.Context()), appsv1.DeploymentProgressing); c == nil || c.Reason == "ProgressDeadlineExceeded" {
			t.Fatalf("timed out early: %+v", c)
		}
		e.clock.Step(15 * time.Second)
		waitFor(t, "progress deadline exceeded", func(ctx context.Context) (bool, string) {
			d := get(ctx)
			c := condition(d, appsv1.DeploymentProgressing)
			return c != nil && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" &&
				strings.HasSuffix(c.Message, "has timed out progressing."), fmt.Sprintf("%+v", c)
		})
	})

	t.Run("RevisionHistoryLimit", func(t *testing.T) {
		ns := e.namespace(t, true)
		spec := newDeployment("hist", 1)
		spec.Spec.RevisionHistoryLimit = ptr.To[int32](1)
		e.create(t, ns, spec)
		e.rolledOut(t, ns, "hist")
		for _, img := range []string{"nginx:2", "nginx:3", "nginx:4"} {
			e.update(t, ns, "hist", setImage(img))
			e.rolledOut(t, ns, "hist")
		}
		waitFor(t, "old replica sets cleaned up", func(ctx context.Context) (bool, string) {
			rss := e.replicaSets(t, ns)
			var imgs []string
			for _, rs := range rss {
				imgs = append(imgs, rs.Spec.Template.Spec.Containers[0].Image)
			}
			return len(rss) == 2 && rsByImage(rss, "nginx:4") != nil && rsByImage(rss, "nginx:3") != nil, strings.Join(imgs, ",")
		})
	})

	t.Run("ScaleMidRollout", func(t *testing.T) {
		ns := e.namespace(t, false) // nothing becomes ready: the rollout stalls
		spec := newDeployment("prop", 10)
		spec.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.FromInt32(3)), MaxUnavailable: ptr.To(intstr.FromInt32(2))}
		e.create(t, ns, spec)
		waitFor(t, "first replica set", func(ctx context.Context) (bool, string) {
			rss := e.replicaSets(t, ns)
			return len(rss) == 1 && *rss[0].Spec.Replicas == 10, fmt.Sprint(len(rss))
		})
		e.update(t, ns, "prop", setImage("nginx:2"))
		// Nothing available: old scaled to 8 (maxUnavailable 2), new to 5 (13 total).
		waitFor(t, "rollout stalled at the surge", func(ctx context.Context) (bool, string) {
			rss := e.replicaSets(t, ns)
			o, n := rsByImage(rss, "nginx:1"), rsByImage(rss, "nginx:2")
			if o == nil || n == nil {
				return false, "no new RS"
			}
			return *o.Spec.Replicas == 8 && *n.Spec.Replicas == 5, fmt.Sprintf("old %d new %d", *o.Spec.Replicas, *n.Spec.Replicas)
		})
		// Scaling to 20 spreads 20+3-13 = 10 more in proportion to the
		// sizes out of 13: 8*23/13 ≈ 14 and 5*23/13 ≈ 9.
		e.update(t, ns, "prop", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](20) })
		waitFor(t, "proportional scale", func(ctx context.Context) (bool, string) {
			rss := e.replicaSets(t, ns)
			o, n := rsByImage(rss, "nginx:1"), rsByImage(rss, "nginx:2")
			return *o.Spec.Replicas == 14 && *n.Spec.Replicas == 9,
				fmt.Sprintf("old %d new %d", *o.Spec.Replicas, *n.Spec.Replicas)
		})
	})
}

func (e *env) waitEvent(t *testing.T, ns, reason, message string) {
	t.Helper()
	waitFor(t, "event "+reason, func(ctx context.Context) (bool, string) {
		l, err := e.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, ev := range l.Items {
			if ev.Reason == reason && ev.Message == message && ev.Source.Component == "deployment-controller" {
				return true, ""
			}
			seen = append(seen, ev.Reason+": "+ev.Message)
		}
		return false, strings.Join(seen, "; ")
	})
}
