package apiserver_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

func nginxDeployment(name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "nginx"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "nginx", Image: "nginx:latest", Ports: []corev1.ContainerPort{{ContainerPort: 80}},
				}}},
			},
		},
	}
}

func TestCreateGetUpdateConflictDelete(t *testing.T) {
	c := testcluster.Start(t)
	ctx := context.Background()
	deps := c.Client.AppsV1().Deployments("default")

	d, err := deps.Create(ctx, nginxDeployment("nginx-deployment"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.ResourceVersion == "" || d.CreationTimestamp.IsZero() || d.Generation != 1 {
		t.Fatalf("server-set metadata missing: uid=%q rv=%q created=%v generation=%d", d.UID, d.ResourceVersion, d.CreationTimestamp, d.Generation)
	}
	// Upstream defaults.
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" {
		t.Errorf("strategy not defaulted: %+v", d.Spec.Strategy)
	}
	if got := d.Spec.Template.Spec.Containers[0].ImagePullPolicy; got != corev1.PullAlways {
		t.Errorf("imagePullPolicy for :latest = %q, want Always", got)
	}

	if _, err := deps.Create(ctx, nginxDeployment("nginx-deployment"), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: want AlreadyExists, got %v", err)
	}

	got, err := deps.Get(ctx, "nginx-deployment", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != d.ResourceVersion {
		t.Fatalf("get rv %s, created rv %s", got.ResourceVersion, d.ResourceVersion)
	}

	// An update bumps generation on a spec change; a stale one gets 409.
	got.Spec.Replicas = ptr.To[int32](5)
	updated, err := deps.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Generation != 2 || updated.ResourceVersion == got.ResourceVersion {
		t.Fatalf("update: generation %d rv %s (old %s)", updated.Generation, updated.ResourceVersion, got.ResourceVersion)
	}
	got.Spec.Replicas = ptr.To[int32](7)
	_, err = deps.Update(ctx, got, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale update: want 409 Conflict, got %v", err)
	}
	if !strings.Contains(err.Error(), "the object has been modified; please apply your changes to the latest version and try again") {
		t.Errorf("conflict message: %v", err)
	}

	// Status written through the main endpoint is ignored.
	updated.Status.Replicas = 42
	updated.Labels["x"] = "y"
	u2, err := deps.Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u2.Status.Replicas != 0 || u2.Generation != 2 {
		t.Fatalf("main endpoint changed status or bumped generation for a label change: %+v gen %d", u2.Status, u2.Generation)
	}
	// And the status endpoint ignores spec.
	u2.Status.Replicas = 3
	u2.Spec.Replicas = ptr.To[int32](1)
	u3, err := deps.UpdateStatus(ctx, u2, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u3.Status.Replicas != 3 || *u3.Spec.Replicas != 5 {
		t.Fatalf("status update: status.replicas=%d spec.replicas=%d", u3.Status.Replicas, *u3.Spec.Replicas)
	}

	// Scale subresource.
	sc, err := deps.GetScale(ctx, "nginx-deployment", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Spec.Replicas != 5 || sc.Status.Selector != "app=nginx" {
		t.Fatalf("scale: %+v", sc)
	}
	sc.Spec.Replicas = 2
	if _, err := deps.UpdateScale(ctx, "nginx-deployment", &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "nginx-deployment"}, Spec: autoscalingv1.ScaleSpec{Replicas: 2}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if d, _ := deps.Get(ctx, "nginx-deployment", metav1.GetOptions{}); *d.Spec.Replicas != 2 {
		t.Fatalf("scale did not change replicas: %d", *d.Spec.Replicas)
	}

	if err := deps.Delete(ctx, "nginx-deployment", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := deps.Get(ctx, "nginx-deployment", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := deps.Delete(ctx, "nginx-deployment", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestValidationErrors(t *testing.T) {
	c := testcluster.Start(t)
	ctx := context.Background()
	_, err := c.Client.AppsV1().Deployments("default").Create(ctx, nginxDeployment("Nginx"), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422 Invalid, got %v", err)
	}
	st := err.(apierrors.APIStatus).Status()
	if st.Code != 422 || st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Field != "metadata.name" {
		t.Fatalf("status: %+v", st)
	}
	if !strings.Contains(st.Message, `Deployment.apps "Nginx" is invalid: metadata.name: Invalid value: "Nginx": a lowercase RFC 1123 subdomain`) {
		t.Errorf("message: %s", st.Message)
	}

	// Missing namespace.
	_, err = c.Client.CoreV1().ConfigMaps("nope").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `namespaces "nope" not found`) {
		t.Fatalf("create in missing namespace: %v", err)
	}

	// generateName.
	cm, err := c.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}, metav1.CreateOptions{})
	if err != nil || !strings.HasPrefix(cm.Name, "gen-") || len(cm.Name) != len("gen-")+5 {
		t.Fatalf("generateName: %v %v", cm, err)
	}
	_, err = c.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "name or generateName is required") {
		t.Fatalf("no name: %v", err)
	}
}

// rawClient sends requests with the admin credentials.
func rawClient(t *testing.T, c *testcluster.Cluster) *http.Client {
	t.Helper()
	hc, err := rest.HTTPClientFor(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

func do(t *testing.T, hc *http.Client, method, url, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBadInputGetsStatus(t *testing.T) {
	c := testcluster.Start(t)
	hc := rawClient(t, c)
	base := c.URL + "/apis/apps/v1/namespaces/default/deployments"
	cases := []struct {
		name, contentType, body string
		query                   string
		code                    int
		reason, contains        string
	}{
		{"malformed json", "application/json", `{"apiVersion":`, "", 400, "BadRequest", ""},
		{"malformed yaml", "application/yaml", "apiVersion: apps/v1\nkind: [", "", 400, "BadRequest", ""},
		{"wrong apiVersion", "application/json", `{"apiVersion":"apps/v2","kind":"Deployment","metadata":{"name":"x"}}`, "", 400, "BadRequest", "does not match the expected API version"},
		{"wrong kind", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, "", 400, "BadRequest", ""},
		{"unknown field strict", "application/json", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"foo":1}}`, "?fieldValidation=Strict", 400, "BadRequest", `strict decoding error: unknown field "spec.foo"`},
		{"unsupported media type", "text/plain", `hello`, "", 415, "UnsupportedMediaType", ""},
		{"oversize body", "application/json", `{"x":"` + strings.Repeat("a", 3<<20) + `"}`, "", 413, "RequestEntityTooLarge", "limit is 3145728"},
		{"bad dryRun", "application/json", `{}`, "?dryRun=Yes", 400, "BadRequest", "Invalid dry run value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, hc, "POST", base+tc.query, tc.contentType, tc.body)
			if code != tc.code {
				t.Fatalf("code %d, want %d: %s", code, tc.code, body)
			}
			var st metav1.Status
			if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" {
				t.Fatalf("body is not a Status: %s", body)
			}
			if string(st.Reason) != tc.reason || !strings.Contains(st.Message, tc.contains) {
				t.Fatalf("status %s %q, want %s containing %q", st.Reason, st.Message, tc.reason, tc.contains)
			}
		})
	}

	// Unknown fields under the default (Warn) are accepted with a warning.
	req, _ := http.NewRequest("POST", c.URL+"/api/v1/namespaces/default/configmaps", strings.NewReader(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},"bogus":1}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(resp.Header.Get("Warning"), `unknown field \"bogus\"`) {
		t.Fatalf("warn: %d %q", resp.StatusCode, resp.Header.Get("Warning"))
	}

	// A large object under the body limit but over the object limit.
	big := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":%q}}`, strings.Repeat("a", 2<<20))
	code, body := do(t, hc, "POST", c.URL+"/api/v1/namespaces/default/configmaps", "application/json", big)
	if code != 413 && code != 422 {
		t.Fatalf("oversize object: %d %s", code, body)
	}
}

func TestUnauthenticated(t *testing.T) {
	c := testcluster.Start(t)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test checks the server refuses anonymous callers
	code, body := do(t, hc, "GET", c.URL+"/api/v1/namespaces", "", "")
	if code != 401 || !strings.Contains(body, `"reason":"Unauthorized"`) {
		t.Fatalf("anonymous list: %d %s", code, body)
	}
	code, _ = do(t, hc, "GET", c.URL+"/healthz", "", "")
	if code != 200 {
		t.Fatalf("healthz: %d", code)
	}
}

func TestListSelectorsAndPaging(t *testing.T) {
	c := testcluster.Start(t)
	ctx := context.Background()
	cms := c.Client.CoreV1().ConfigMaps("default")
	for i := 0; i < 25; i++ {
		lbl := map[string]string{"parity": []string{"even", "odd"}[i%2]}
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%02d", i), Labels: lbl}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "parity=odd"})
	if err != nil || len(l.Items) != 12 {
		t.Fatalf("label selector: %d items, %v", len(l.Items), err)
	}
	l, err = cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=cm-07"})
	if err != nil || len(l.Items) != 1 || l.Items[0].Name != "cm-07" {
		t.Fatalf("field selector: %v %v", l, err)
	}
	if _, err := cms.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=x"}); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "field label not supported: spec.nodeName") {
		t.Fatalf("unsupported field selector: %v", err)
	}
	var names []string
	opts := metav1.ListOptions{Limit: 10}
	pages := 0
	for {
		l, err := cms.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, cm := range l.Items {
			names = append(names, cm.Name)
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	// 25 of ours plus kube-root-ca.crt-like objects the server may add: at least ours, in order.
	if pages < 3 || len(names) < 25 {
		t.Fatalf("paging: %d pages, %d names", pages, len(names))
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("not in key order: %v", names)
		}
	}
	// Pods by spec.nodeName.
	pods := c.Client.CoreV1().Pods("default")
	for i, node := range []string{"a", "b", ""} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i)}, Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pl, err := pods.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "b").String()})
	if err != nil || len(pl.Items) != 1 || pl.Items[0].Name != "p1" {
		t.Fatalf("spec.nodeName selector: %v %v", pl, err)
	}
	if pl.Items[0].Status.Phase != corev1.PodPending || pl.Items[0].Status.QOSClass != corev1.PodQOSBestEffort {
		t.Fatalf("pod status on create: %+v", pl.Items[0].Status)
	}
}

func TestWatch(t *testing.T) {
	c := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cms := c.Client.CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"w": "1"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// From a revision: replays what came after it.
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion, LabelSelector: "w=1"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: map[string]string{"w": "1"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Moving out of the selection is a DELETED for this watcher.
	patch := []byte(`{"metadata":{"labels":{"w":"2"}}}`)
	if _, err := cms.Patch(ctx, "a", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDED b", "DELETED a", "DELETED b"}
	var got []string
	for len(got) < len(want) {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed after %v", got)
			}
			got = append(got, fmt.Sprintf("%s %s", ev.Type, ev.Object.(*corev1.ConfigMap).Name))
		case <-ctx.Done():
			t.Fatalf("timed out; got %v", got)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}

	// Too old a revision: 410 Gone as an ERROR event (client-go turns it into an error).
	w2, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: "1"})
	if err == nil {
		ev := <-w2.ResultChan()
		w2.Stop()
		if ev.Type != watch.Error && ev.Type != watch.Added {
			t.Fatalf("old revision: %v", ev.Type)
		}
	}
}

func TestServiceAllocation(t *testing.T) {
	c := testcluster.Start(t)
	ctx := context.Background()
	svcs := c.Client.CoreV1().Services("default")
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-service", Labels: map[string]string{"app": "nginx"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "nginx"},
			Ports: []corev1.ServicePort{{Port: 88, TargetPort: intstr.FromInt32(80)}}},
	}
	s, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	np := s.Spec.Ports[0].NodePort
	if s.Spec.ClusterIP == "" || !strings.HasPrefix(s.Spec.ClusterIP, "10.") || np < 30000 || np > 32767 {
		t.Fatalf("allocation: ip %q nodePort %d", s.Spec.ClusterIP, np)
	}
	// Taken ones are refused.
	dup := svc.DeepCopy()
	dup.Name = "dup"
	dup.Spec.ClusterIP = s.Spec.ClusterIP
	if _, err := svcs.Create(ctx, dup, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provided IP is already allocated") {
		t.Fatalf("duplicate IP: %v", err)
	}
	dup.Spec.ClusterIP = ""
	dup.Spec.Ports[0].NodePort = np
	if _, err := svcs.Create(ctx, dup, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provided port is already allocated") {
		t.Fatalf("duplicate nodePort: %v", err)
	}
	// Released on delete: the same IP and port can be taken again.
	if err := svcs.Delete(ctx, "nginx-service", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again := svc.DeepCopy()
	again.Spec.ClusterIP = s.Spec.ClusterIP
	again.Spec.Ports[0].NodePort = np
	if _, err := svcs.Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Fatalf("reuse after delete: %v", err)
	}
	// The kubernetes service.
	k, err := svcs.Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || k.Spec.ClusterIP != "10.96.0.1" || k.Spec.Ports[0].Port != 443 {
		t.Fatalf("kubernetes service: %v %v", k, err)
	}
}

func TestNamespaceLifecycle(t *testing.T) {
	c := testcluster.Start(t)
	ctx := context.Background()
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		n, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil || n.Status.Phase != corev1.NamespaceActive || n.Labels[corev1.LabelMetadataName] != ns {
			t.Fatalf("namespace %s: %v %v", ns, n, err)
		}
	}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Client.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Terminating (or already gone, once a namespace controller runs): creating into it is refused.
	_, err := c.Client.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) && !apierrors.IsNotFound(err) {
		t.Fatalf("create in terminating namespace: %v", err)
	}
	if apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "because it is being terminated") {
		t.Fatalf("message: %v", err)
	}
}

func TestConcurrentWritesAndReadYourWrites(t *testing.T) {
	c := testcluster.Start(t)
	ctx := context.Background()
	cms := c.Client.CoreV1().ConfigMaps("default")
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				name := fmt.Sprintf("c-%d-%d", g, i)
				if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
				// Read-your-writes: a GET right after the create sees it.
				if _, err := cms.Get(ctx, name, metav1.GetOptions{}); err != nil {
					errs <- fmt.Errorf("get after create: %w", err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	l, err := cms.List(ctx, metav1.ListOptions{LabelSelector: ""})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, cm := range l.Items {
		if strings.HasPrefix(cm.Name, "c-") {
			n++
		}
	}
	if n != 160 {
		t.Fatalf("listed %d, want 160", n)
	}
}

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	c := testcluster.Start(t, testcluster.Options{DataDir: dir})
	ctx := context.Background()
	if _, err := c.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keep"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	c2 := testcluster.Start(t, testcluster.Options{DataDir: dir})
	cm, err := c2.Client.CoreV1().ConfigMaps("default").Get(ctx, "keep", metav1.GetOptions{})
	if err != nil || cm.Data["k"] != "v" {
		t.Fatalf("after restart: %v %v", cm, err)
	}
}

func TestBindingAndEviction(t *testing.T) {
	c := testcluster.Start(t)
	ctx := context.Background()
	pods := c.Client.CoreV1().Pods("default")
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
	if err := pods.Bind(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ := pods.Get(ctx, "p", metav1.GetOptions{})
	if got.Spec.NodeName != "node-1" {
		t.Fatalf("nodeName %q", got.Spec.NodeName)
	}
	if err := pods.Bind(ctx, b, metav1.CreateOptions{}); !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `already assigned to node "node-1"`) {
		t.Fatalf("rebind: %v", err)
	}
	// A bound pod deletes gracefully: it stays with a deletionTimestamp until grace 0.
	if err := pods.Delete(ctx, "p", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "p", metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp == nil || *got.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("graceful delete: %v %v", got, err)
	}
	if err := pods.Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, "p", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatal("pod not deleted with grace 0")
	}
}

var _ kubernetes.Interface = (*kubernetes.Clientset)(nil)
