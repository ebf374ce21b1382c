package apiserver_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

func protobufConfig(c *testcluster.Cluster) *rest.Config {
	cfg := rest.CopyConfig(c.Config)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return cfg
}

// client-go speaking protobuf (as controllers do) gets protobuf answers
// for GET, LIST, WATCH and writes, identical in content to JSON ones.
func TestProtobufResponses(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx := context.Background()
	pb, err := kubernetes.NewForConfig(protobufConfig(c))
	if err != nil {
		t.Fatal(err)
	}

	created, err := pb.AppsV1().Deployments("default").Create(ctx, nginxDeployment("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.UID == "" || created.ResourceVersion == "" || *created.Spec.Replicas != 3 {
		t.Fatalf("create answer: %+v", created.ObjectMeta)
	}
	got, err := pb.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	viaJSON, err := c.Client.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != viaJSON.ResourceVersion || got.Spec.Template.Spec.Containers[0].Image != "nginx:latest" ||
		got.Spec.Strategy.RollingUpdate == nil || got.Labels["app"] != "nginx" {
		t.Fatalf("protobuf GET differs from JSON GET:\n%+v\n%+v", got, viaJSON)
	}

	// The wire format really is protobuf.
	raw := pb.AppsV1().RESTClient().Get().Namespace("default").Resource("deployments").Name("web").Do(ctx)
	var ct string
	raw.ContentType(&ct)
	if ct != "application/vnd.kubernetes.protobuf" {
		t.Fatalf("content type %q", ct)
	}

	for i := range 3 {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p" + string(rune('a'+i)), Labels: map[string]string{"app": "x"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if _, err := pb.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := pb.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=x", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.Continue == "" || list.ResourceVersion == "" || list.Items[0].Name != "pa" {
		t.Fatalf("paged protobuf list: %d items, continue %q, rv %q", len(list.Items), list.Continue, list.ResourceVersion)
	}
	rest2, err := pb.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=x", Continue: list.Continue})
	if err != nil || len(rest2.Items) != 1 || rest2.Items[0].Name != "pc" {
		t.Fatalf("second page: %v %+v", err, rest2)
	}

	// Watch from the list's revision: the update arrives, decoded.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	wi, err := pb.CoreV1().Pods("default").Watch(wctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer wi.Stop()
	pa, _ := pb.CoreV1().Pods("default").Get(ctx, "pa", metav1.GetOptions{})
	pa.Labels["touched"] = "yes"
	updated, err := pb.CoreV1().Pods("default").Update(ctx, pa, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for ev := range wi.ResultChan() {
		if ev.Type == watch.Error {
			t.Fatalf("watch error: %+v", ev.Object)
		}
		p, ok := ev.Object.(*corev1.Pod)
		if ok && ev.Type == watch.Modified && p.Name == "pa" {
			if p.ResourceVersion != updated.ResourceVersion || p.Labels["touched"] != "yes" {
				t.Fatalf("watched update: rv %s labels %v", p.ResourceVersion, p.Labels)
			}
			break
		}
	}

	// Served versions other than the storage version are converted.
	hpa := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
		MaxReplicas:    5, TargetCPUUtilizationPercentage: ptr.To[int32](60),
	}}
	if _, err := pb.AutoscalingV1().HorizontalPodAutoscalers("default").Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h1, err := pb.AutoscalingV1().HorizontalPodAutoscalers("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || h1.Spec.TargetCPUUtilizationPercentage == nil || *h1.Spec.TargetCPUUtilizationPercentage != 60 {
		t.Fatalf("autoscaling/v1 over protobuf: %v %+v", err, h1)
	}

	// Errors stay Status objects clients understand.
	if _, err := pb.CoreV1().Pods("default").Get(ctx, "nope", metav1.GetOptions{}); err == nil || !isNotFound(err) {
		t.Fatalf("missing pod: %v", err)
	}
}

func isNotFound(err error) bool {
	type statusErr interface{ Status() metav1.Status }
	se, ok := err.(statusErr)
	return ok && se.Status().Code == http.StatusNotFound
}

// Informers (list + watch, bookmarks) and the metadata client work over protobuf.
func TestProtobufInformersAndMetadata(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pb, err := kubernetes.NewForConfig(protobufConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(pb, 0)
	pods := factory.Core().V1().Pods()
	seen := make(chan string, 10)
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) { seen <- obj.(*corev1.Pod).Name }})
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.Informer().HasSynced) {
		t.Fatal("informer did not sync")
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "late"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := c.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-seen:
		if name != "late" {
			t.Fatalf("informer saw %s", name)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("informer never saw the pod")
	}

	mcfg := metadata.ConfigFor(c.Config)
	md, err := metadata.NewForConfig(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	ml, err := md.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil || len(ml.Items) != 1 || ml.Items[0].Name != "late" {
		t.Fatalf("metadata list: %v %+v", err, ml)
	}
	mw, err := md.Resource(gvr).Namespace("default").Watch(ctx, metav1.ListOptions{ResourceVersion: ml.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Stop()
	if err := c.Client.CoreV1().Pods("default").Delete(ctx, "late", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for ev := range mw.ResultChan() {
		if ev.Type == watch.Deleted {
			if pm, ok := ev.Object.(*metav1.PartialObjectMetadata); !ok || pm.Name != "late" {
				t.Fatalf("metadata watch delete: %#v", ev.Object)
			}
			break
		}
	}
}
