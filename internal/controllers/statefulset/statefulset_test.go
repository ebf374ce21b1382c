package statefulset_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/statefulset"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// env is a control plane with the StatefulSet controller and a fake
// kubelet for one namespace.
type env struct {
	t      *testing.T
	client kubernetes.Interface
	ns     string
	// hold keeps the kubelet from making pods ready while it returns true.
	hold atomic.Pointer[func(*corev1.Pod) bool]
	rec  *recorder
	// clock runs the controller and times the kubelet's readiness.
	clock clock.WithTicker
}

// setup starts everything; clk is the controller's and kubelet's clock
// (the real one when nil).
func setup(t *testing.T, ns string, clk clock.WithTicker) *env {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{"garbagecollector", "namespace"}})
	if clk == nil {
		clk = clock.RealClock{}
	}
	e := &env{t: t, client: c.Client, ns: ns, clock: clk}
	ctx := context.Background()
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.rec = recordPods(t, c.Client, ns)

	cctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	ctrl, err := statefulset.New(statefulset.Config{Client: c.Client, Informers: factory, Clock: clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(cctx) }()
	factory.Start(cctx.Done())
	kdone := make(chan struct{})
	go func() { defer close(kdone); e.kubelet(cctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		<-kdone
		factory.Shutdown()
	})
	return e
}

// kubelet binds pods to node-1, reports them Running and Ready unless
// held, and finishes graceful deletions.
func (e *env) kubelet(ctx context.Context) {
	_ = wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pods, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			switch {
			case p.DeletionTimestamp != nil:
				_ = e.client.CoreV1().Pods(e.ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
			case p.Spec.NodeName == "":
				_ = e.client.CoreV1().Pods(e.ns).Bind(ctx, &corev1.Binding{
					ObjectMeta: metav1.ObjectMeta{Name: p.Name},
					Target:     corev1.ObjectReference{Kind: "Node", Name: "node-1"},
				}, metav1.CreateOptions{})
			case p.Status.Phase == corev1.PodPending:
				if h := e.hold.Load(); h != nil && (*h)(p) {
					continue
				}
				p.Status.Phase = corev1.PodRunning
				p.Status.PodIP = "10.244.0.10"
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(e.clock.Now())}}
				_, _ = e.client.CoreV1().Pods(e.ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
			}
		}
		return false, nil
	})
}

func (e *env) holdPods(f func(*corev1.Pod) bool) { e.hold.Store(&f) }

// recorder keeps every pod watch event of a namespace, in order.
type recorder struct {
	mu     sync.Mutex
	events []watch.Event
}

func recordPods(t *testing.T, client kubernetes.Interface, ns string) *recorder {
	t.Helper()
	w, err := client.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	go func() {
		for ev := range w.ResultChan() {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(w.Stop)
	return r
}

func (r *recorder) snapshot() []watch.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// ready reports whether the pod of an event is Running and Ready.
func ready(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && len(p.Status.Conditions) > 0 && p.Status.Conditions[0].Status == corev1.ConditionTrue
}

func newSet(ns, name string, replicas int32) *appsv1.StatefulSet {
	lbls := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: "nginx",
			Selector:    &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "nginx", Image: "nginx:1",
					VolumeMounts: []corev1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}},
				}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "www"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
}

// rolledOut runs `kubectl rollout status sts/x`'s own test.
func rolledOut(t *testing.T, set *appsv1.StatefulSet) bool {
	t.Helper()
	viewer, err := polymorphichelpers.StatusViewerFor(schema.GroupKind{Group: "apps", Kind: "StatefulSet"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(set)
	if err != nil {
		t.Fatal(err)
	}
	_, done, err := viewer.Status(&unstructured.Unstructured{Object: u}, 0)
	if err != nil {
		t.Fatalf("rollout status: %v", err)
	}
	return done
}

func (e *env) waitFor(what string, cond func(ctx context.Context) (bool, error)) {
	e.t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, cond); err != nil {
		e.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (e *env) waitRolledOut(name string, replicas int32) *appsv1.StatefulSet {
	e.t.Helper()
	var set *appsv1.StatefulSet
	e.waitFor("rollout of "+name, func(ctx context.Context) (bool, error) {
		var err error
		set, err = e.client.AppsV1().StatefulSets(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pods, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return rolledOut(e.t, set) && set.Status.Replicas == replicas && len(pods.Items) == int(replicas), nil
	})
	return set
}

func (e *env) pods() map[string]corev1.Pod {
	e.t.Helper()
	list, err := e.client.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]corev1.Pod{}
	for _, p := range list.Items {
		out[p.Name] = p
	}
	return out
}

func TestOrderedCreateAndScaleDown(t *testing.T) {
	const ns = "sts-ordered"
	e := setup(t, ns, nil)
	ctx := context.Background()
	if _, err := e.client.AppsV1().StatefulSets(ns).Create(ctx, newSet(ns, "web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	set := e.waitRolledOut("web", 3)
	if set.Status.CurrentRevision == "" || set.Status.CurrentReplicas != 3 || set.Status.UpdatedReplicas != 3 || set.Status.AvailableReplicas != 3 {
		t.Errorf("status = %+v", set.Status)
	}

	// Each pod was created only after its predecessor was Running and Ready.
	readySeen := map[string]bool{}
	var created []string
	for _, ev := range e.rec.snapshot() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		if ev.Type == watch.Added {
			created = append(created, p.Name)
			var ord int
			if _, err := fmt.Sscanf(p.Name, "web-%d", &ord); err != nil {
				t.Fatalf("pod name %s: %v", p.Name, err)
			}
			if ord > 0 && !readySeen[fmt.Sprintf("web-%d", ord-1)] {
				t.Errorf("%s was created before web-%d was ready", p.Name, ord-1)
			}
		}
		if ready(p) {
			readySeen[p.Name] = true
		}
	}
	if !slices.Equal(created, []string{"web-0", "web-1", "web-2"}) {
		t.Errorf("created %v, want web-0, web-1, web-2", created)
	}

	pods := e.pods()
	for i := range 3 {
		name := fmt.Sprintf("web-%d", i)
		p, ok := pods[name]
		if !ok {
			t.Fatalf("no pod %s", name)
		}
		if p.Spec.Hostname != name || p.Spec.Subdomain != "nginx" ||
			p.Labels[appsv1.StatefulSetPodNameLabel] != name || p.Labels[appsv1.PodIndexLabel] != fmt.Sprint(i) ||
			p.Labels[appsv1.ControllerRevisionHashLabelKey] != set.Status.UpdateRevision {
			t.Errorf("pod %s: hostname %q subdomain %q labels %v", name, p.Spec.Hostname, p.Spec.Subdomain, p.Labels)
		}
		claim := fmt.Sprintf("www-web-%d", i)
		if len(p.Spec.Volumes) == 0 || p.Spec.Volumes[0].PersistentVolumeClaim == nil || p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != claim {
			t.Errorf("pod %s volumes = %+v", name, p.Spec.Volumes)
		}
		pvc, err := e.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
		if err != nil {
			t.Errorf("claim %s: %v", claim, err)
		} else if pvc.Labels["app"] != "web" {
			t.Errorf("claim %s labels %v", claim, pvc.Labels)
		}
	}
	e.waitFor("creation events", func(ctx context.Context) (bool, error) {
		evs, err := e.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var pod, claim bool
		for _, ev := range evs.Items {
			pod = pod || ev.Reason == "SuccessfulCreate" && ev.Message == "create Pod web-0 in StatefulSet web successful"
			claim = claim || ev.Reason == "SuccessfulCreate" && ev.Message == "create Claim www-web-0 Pod web-0 in StatefulSet web success"
		}
		return pod && claim, nil
	})

	// A failed pod is replaced.
	failed := pods["web-1"]
	failed.Status.Phase = corev1.PodFailed
	if _, err := e.client.CoreV1().Pods(ns).UpdateStatus(ctx, &failed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("web-1 to be replaced", func(ctx context.Context) (bool, error) {
		p, err := e.client.CoreV1().Pods(ns).Get(ctx, "web-1", metav1.GetOptions{})
		return err == nil && p.UID != failed.UID && ready(p), nil
	})
	e.waitRolledOut("web", 3)

	// Scale down to 1: web-2 goes, and only once it is gone, web-1.
	mark := len(e.rec.snapshot())
	if _, err := e.client.AppsV1().StatefulSets(ns).Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRolledOut("web", 1)
	var order []string
	for _, ev := range e.rec.snapshot()[mark:] {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		switch {
		case ev.Type == watch.Deleted:
			order = append(order, "gone:"+p.Name)
		case ev.Type == watch.Modified && p.DeletionTimestamp != nil && !slices.Contains(order, "deleting:"+p.Name):
			order = append(order, "deleting:"+p.Name)
		}
	}
	want := []string{"deleting:web-2", "gone:web-2", "deleting:web-1", "gone:web-1"}
	if !slices.Equal(order, want) {
		t.Errorf("scale-down order %v, want %v", order, want)
	}
	if _, ok := e.pods()["web-0"]; !ok {
		t.Error("web-0 is gone")
	}
	// Claims are retained by default.
	if _, err := e.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "www-web-2", metav1.GetOptions{}); err != nil {
		t.Errorf("claim of a scaled-down pod: %v", err)
	}
}

func TestParallelCreatesAllAtOnce(t *testing.T) {
	const ns = "sts-parallel"
	e := setup(t, ns, nil)
	ctx := context.Background()
	e.holdPods(func(*corev1.Pod) bool { return true })
	set := newSet(ns, "web", 3)
	set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	if _, err := e.client.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("three pods none of them ready", func(ctx context.Context) (bool, error) {
		pods := e.pods()
		for _, p := range pods {
			if ready(&p) {
				return false, fmt.Errorf("pod %s is ready while held", p.Name)
			}
		}
		return len(pods) == 3, nil
	})
	e.holdPods(func(*corev1.Pod) bool { return false })
	e.waitRolledOut("web", 3)
}

func TestOrderedWaitsForReady(t *testing.T) {
	const ns = "sts-held"
	e := setup(t, ns, nil)
	ctx := context.Background()
	e.holdPods(func(*corev1.Pod) bool { return true })
	if _, err := e.client.AppsV1().StatefulSets(ns).Create(ctx, newSet(ns, "web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The controller reports web-0 in its status, then has nothing to do until it is ready.
	e.waitFor("status with web-0", func(ctx context.Context) (bool, error) {
		set, err := e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && set.Status.Replicas == 1 && set.Status.ObservedGeneration == set.Generation, nil
	})
	if pods := e.pods(); len(pods) != 1 {
		t.Fatalf("pods %v before web-0 is ready, want only web-0", len(pods))
	}
	e.holdPods(func(*corev1.Pod) bool { return false })
	e.waitRolledOut("web", 3)
}

func TestRollingUpdate(t *testing.T) {
	const ns = "sts-update"
	e := setup(t, ns, nil)
	ctx := context.Background()
	if _, err := e.client.AppsV1().StatefulSets(ns).Create(ctx, newSet(ns, "web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := e.waitRolledOut("web", 3)
	mark := len(e.rec.snapshot())
	set, _ := e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
	set.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	if _, err := e.client.AppsV1().StatefulSets(ns).Update(ctx, set, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	after := e.waitRolledOut("web", 3)
	if after.Status.UpdateRevision == before.Status.UpdateRevision || after.Status.CurrentRevision != after.Status.UpdateRevision || after.Status.UpdatedReplicas != 3 || after.Status.CurrentReplicas != 3 {
		t.Errorf("status after update = %+v (before %+v)", after.Status, before.Status)
	}
	var order []string
	for _, ev := range e.rec.snapshot()[mark:] {
		if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Deleted {
			order = append(order, p.Name)
		}
	}
	if want := []string{"web-2", "web-1", "web-0"}; !slices.Equal(order, want) {
		t.Errorf("pods replaced in order %v, want %v", order, want)
	}
	for name, p := range e.pods() {
		if p.Spec.Containers[0].Image != "nginx:2" || p.Labels[appsv1.ControllerRevisionHashLabelKey] != after.Status.UpdateRevision {
			t.Errorf("pod %s: image %s revision %s", name, p.Spec.Containers[0].Image, p.Labels[appsv1.ControllerRevisionHashLabelKey])
		}
	}

	// `kubectl rollout undo` goes back to the first template.
	rb, err := polymorphichelpers.RollbackerFor(schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, e.client)
	if err != nil {
		t.Fatal(err)
	}
	set, _ = e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
	if _, err := rb.Rollback(set, nil, 0, cmdutil.DryRunNone); err != nil {
		t.Fatalf("rollout undo: %v", err)
	}
	undone := e.waitRolledOut("web", 3)
	if undone.Status.UpdateRevision != before.Status.UpdateRevision {
		t.Errorf("update revision after undo %s, want the first one %s", undone.Status.UpdateRevision, before.Status.UpdateRevision)
	}
	for name, p := range e.pods() {
		if p.Spec.Containers[0].Image != "nginx:1" {
			t.Errorf("pod %s runs %s after undo", name, p.Spec.Containers[0].Image)
		}
	}

	// A partition keeps the lower ordinals at the old revision.
	set, _ = e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
	set.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](2)}
	set.Spec.Template.Spec.Containers[0].Image = "nginx:3"
	if _, err := e.client.AppsV1().StatefulSets(ns).Update(ctx, set, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRolledOut("web", 3)
	images := map[string]string{}
	for name, p := range e.pods() {
		images[name] = p.Spec.Containers[0].Image
	}
	if images["web-0"] != "nginx:1" || images["web-1"] != "nginx:1" || images["web-2"] != "nginx:3" {
		t.Errorf("images with partition 2: %v", images)
	}
	revs, err := e.client.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(revs.Items) != 3 {
		t.Errorf("controller revisions: %v, %d", err, len(revs.Items))
	}
	for _, r := range revs.Items {
		if r.Name == before.Status.UpdateRevision && r.Revision != 3 {
			t.Errorf("revision rolled back to is numbered %d, want 3", r.Revision)
		}
	}
}

func TestMinReadySeconds(t *testing.T) {
	const ns = "sts-minready"
	clk := clocktesting.NewFakeClock(time.Now())
	e := setup(t, ns, clk)
	ctx := context.Background()
	set := newSet(ns, "web", 3)
	set.Spec.MinReadySeconds = 10
	if _, err := e.client.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Each pod is ready at once but available only 10s later; the next
	// ordinal waits for availability.
	for i := range 3 {
		e.waitFor(fmt.Sprintf("web-%d ready, not yet available", i), func(ctx context.Context) (bool, error) {
			if n := len(e.pods()); n > i+1 {
				return false, fmt.Errorf("%d pods exist while web-%d is not available", n, i)
			}
			set, err := e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return set.Status.ReadyReplicas == int32(i+1) && set.Status.AvailableReplicas == int32(i), nil
		})
		clk.Step(11 * time.Second)
	}
	e.waitFor("all available", func(ctx context.Context) (bool, error) {
		set, err := e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && set.Status.AvailableReplicas == 3, err
	})
}

func TestClaimRetentionDelete(t *testing.T) {
	const ns = "sts-retention"
	e := setup(t, ns, nil)
	ctx := context.Background()
	set := newSet(ns, "web", 2)
	set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
	}
	if _, err := e.client.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRolledOut("web", 2)
	gone := func(claim string) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			pvc, err := e.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
			return apierrors.IsNotFound(err) || err == nil && pvc.DeletionTimestamp != nil, nil
		}
	}
	if _, err := e.client.AppsV1().StatefulSets(ns).Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRolledOut("web", 1)
	e.waitFor("www-web-1 deleted with web-1", gone("www-web-1"))
	if _, err := e.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "www-web-0", metav1.GetOptions{}); err != nil {
		t.Fatalf("claim of the remaining pod: %v", err)
	}
	if err := e.client.AppsV1().StatefulSets(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("www-web-0 deleted with the set", gone("www-web-0"))
}

func TestOnDelete(t *testing.T) {
	const ns = "sts-ondelete"
	e := setup(t, ns, nil)
	ctx := context.Background()
	set := newSet(ns, "web", 2)
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	if _, err := e.client.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready2 := func(ctx context.Context) (bool, error) {
		set, err := e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && set.Status.ObservedGeneration == set.Generation && set.Status.ReadyReplicas == 2, err
	}
	e.waitFor("two ready pods", ready2)
	set, _ = e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
	set.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	if _, err := e.client.AppsV1().StatefulSets(ns).Update(ctx, set, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the update observed", func(ctx context.Context) (bool, error) {
		set, err := e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && set.Status.ObservedGeneration == set.Generation && set.Status.UpdateRevision != set.Status.CurrentRevision &&
			set.Status.UpdatedReplicas == 0 && set.Status.CurrentReplicas == 2, err
	})
	if err := e.client.CoreV1().Pods(ns).Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("web-1 recreated at the new template", func(ctx context.Context) (bool, error) {
		set, err := e.client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && set.Status.UpdatedReplicas == 1 && set.Status.ReadyReplicas == 2, err
	})
	pods := e.pods()
	if pods["web-0"].Spec.Containers[0].Image != "nginx:1" || pods["web-1"].Spec.Containers[0].Image != "nginx:2" {
		t.Errorf("images web-0 %s, web-1 %s", pods["web-0"].Spec.Containers[0].Image, pods["web-1"].Spec.Containers[0].Image)
	}
}
