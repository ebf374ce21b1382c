package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/resources"
)

// fuzzKinds are the kinds request bodies are decoded into.
var fuzzKinds = []schema.GroupVersionKind{
	appsv1.SchemeGroupVersion.WithKind("Deployment"),
	corev1.SchemeGroupVersion.WithKind("Pod"),
	corev1.SchemeGroupVersion.WithKind("Service"),
	corev1.SchemeGroupVersion.WithKind("ConfigMap"),
	corev1.SchemeGroupVersion.WithKind("Secret"),
	corev1.SchemeGroupVersion.WithKind("Namespace"),
	schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"},
}

func fuzzDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-deployment", Labels: map[string]string{"app": "nginx"}},
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

// requireClientError fails unless err is an API StatusError with a 4xx code:
// malformed input is the client's fault and must never look like a server failure.
func requireClientError(t *testing.T, err error) {
	t.Helper()
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error is %T, not an API StatusError: %v", err, err)
	}
	if c := se.ErrStatus.Code; c < 400 || c > 499 {
		t.Fatalf("error code %d, want 4xx: %v", c, err)
	}
}

func FuzzDecodeBody(f *testing.F) {
	c := newCodec()
	dep := fuzzDeployment()
	depJSON, err := json.Marshal(dep)
	if err != nil {
		f.Fatal(err)
	}
	var depProto bytes.Buffer
	if err := c.protobuf.Encode(dep, &depProto); err != nil {
		f.Fatal(err)
	}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": "v"}}
	var cmProto bytes.Buffer
	if err := c.protobuf.Encode(cm, &cmProto); err != nil {
		f.Fatal(err)
	}
	seeds := []struct {
		ct   string
		kind uint8
		body []byte
	}{
		{"application/json", 0, depJSON},
		{"application/json", 0, []byte(`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicass":3}}`)},
		{"application/json", 0, []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a","name":"b"}}`)},
		{"application/json", 3, []byte(`{"apiVersion":"v1","kind":"Pod"}`)},
		{"application/json; charset=utf-8", 3, []byte(`{"data":{"k":1}}`)},
		{"", 1, []byte(`{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"1x"}}}]}}`)},
		{"application/yaml", 0, []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: 3\n")},
		{"application/yaml", 2, []byte("kind: Service\nspec:\n  ports:\n  - port: &a 80\n    targetPort: *a\n")},
		{"application/yaml", 4, []byte("data: !!binary AAAA\n")},
		{"application/vnd.kubernetes.protobuf", 0, depProto.Bytes()},
		{"application/vnd.kubernetes.protobuf", 3, cmProto.Bytes()},
		{"application/vnd.kubernetes.protobuf", 0, cmProto.Bytes()},
		{"application/vnd.kubernetes.protobuf", 6, []byte("k8s\x00\x0a\x02\x0a\x00")},
		{"text/plain", 5, []byte("hello")},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.kind, s.body)
	}
	f.Fuzz(func(t *testing.T, ct string, kind uint8, body []byte) {
		gvk := fuzzKinds[int(kind)%len(fuzzKinds)]
		for _, fv := range []fieldValidation{validationStrict, validationWarn, validationIgnore} {
			obj, _, err := c.decodeBody(ct, body, gvk, fv)
			if err != nil {
				requireClientError(t, err)
				continue
			}
			if obj == nil {
				t.Fatalf("decodeBody(%q, %s): nil object and nil error", ct, gvk)
			}
			if got := obj.GetObjectKind().GroupVersionKind(); got != gvk {
				t.Fatalf("decodeBody(%q, %s): decoded kind %s", ct, gvk, got)
			}
			if _, err := c.encodeStored(obj); err != nil {
				t.Fatalf("decoded object does not encode: %v", err)
			}
		}
	})
}

func FuzzParseSelectors(f *testing.F) {
	res, ok := resources.Builtin().Lookup(corev1.SchemeGroupVersion.WithResource("pods"))
	if !ok {
		f.Fatal("no pods resource")
	}
	for _, s := range [][3]string{
		{"app=nginx", "", ""},
		{"app in (a,b),!canary,tier!=web", "spec.nodeName=n1", ""},
		{"", "metadata.name=x,status.phase!=Running", ""},
		{"x", "metadata.namespace==default", "p1"},
		{"a,,b", "spec.nodeName", "p2"},
		{"k notin (", "unknown.field=1", ""},
		{"gt>1,lt<3", `metadata.name=a\,b`, ""},
		{"example.com/x=y", "spec.schedulerName=default-scheduler,status.podIP=10.0.0.1", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, labelSelector, fieldSelector, name string) {
		q := url.Values{}
		if labelSelector != "" {
			q.Set("labelSelector", labelSelector)
		}
		if fieldSelector != "" {
			q.Set("fieldSelector", fieldSelector)
		}
		r := httptest.NewRequest("GET", "/api/v1/pods?"+q.Encode(), nil)
		sel, err := parseSelectors(r, res, name)
		if err != nil {
			requireClientError(t, err)
			if c := err.(*apierrors.StatusError).ErrStatus.Code; c != 400 {
				t.Fatalf("selector error code %d, want 400: %v", c, err)
			}
			return
		}
		_ = sel.empty()
		e := &entry{name: name, labels: labels.Set{"app": "nginx"}, fields: fields.Set{"metadata.name": name, "metadata.namespace": "default"}}
		_ = sel.matches(e)
		_ = sel.label.String()
		_ = sel.field.String()
	})
}

func FuzzApplyPatch(f *testing.F) {
	cur, err := json.Marshal(fuzzDeployment())
	if err != nil {
		f.Fatal(err)
	}
	const (
		jsonPatch      = "application/json-patch+json"
		mergePatch     = "application/merge-patch+json"
		strategicPatch = "application/strategic-merge-patch+json"
	)
	for _, s := range []struct{ ct, patch string }{
		{strategicPatch, `{"spec":{"replicas":5}}`},
		{strategicPatch, `{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}`},
		{strategicPatch, `{"spec":{"template":{"spec":{"containers":[{"$patch":"delete","name":"nginx"}]}}}}`},
		{strategicPatch, `{"metadata":{"labels":{"$patch":"replace","a":"b"}},"$setElementOrder/x":[1]}`},
		{strategicPatch, `{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"x"}],"containers":null}}}}`},
		{strategicPatch, `{"spec":{"template":{"spec":{"containers":[{"ports":[{"$retainKeys":["x"]}]}]}}}}`},
		{strategicPatch, `[1,2]`},
		{mergePatch, `{"metadata":{"labels":{"app":null,"x":"y"}}}`},
		{mergePatch, `{"spec":null}`},
		{mergePatch, `"x"`},
		{jsonPatch, `[{"op":"replace","path":"/spec/replicas","value":7}]`},
		{jsonPatch, `[{"op":"add","path":"/metadata/labels/x~1y","value":"z"},{"op":"remove","path":"/spec/template/spec/containers/0"}]`},
		{jsonPatch, `[{"op":"move","from":"/spec","path":"/spec/x"}]`},
		{jsonPatch, `[{"op":"copy","from":"/spec/template","path":"/spec/template/spec/x"},{"op":"test","path":"/kind","value":"Deployment"}]`},
		{jsonPatch, `[{"op":"add","path":"/spec/template/spec/containers/-","value":{}}]`},
		{jsonPatch, `[{"op":"add","path":"/spec/template/spec/containers/99999999999","value":1}]`},
		{"application/apply-patch+yaml", `{}`},
	} {
		f.Add(s.ct, []byte(s.patch))
	}
	f.Fuzz(func(t *testing.T, ct string, patch []byte) {
		out, err := applyPatch(ct, cur, patch, &appsv1.Deployment{})
		if err != nil {
			requireClientError(t, err)
			return
		}
		if !json.Valid(out) {
			t.Fatalf("applyPatch(%q) returned invalid JSON: %q", ct, out)
		}
	})
}
