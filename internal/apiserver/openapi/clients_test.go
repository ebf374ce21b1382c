package openapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	cachedopenapi "k8s.io/client-go/openapi/cached"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kubectl/pkg/explain"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"
	kubectlopenapi "k8s.io/kubectl/pkg/util/openapi"

	"github.com/sampan-dev/sampan/internal/resources"
)

// These tests read the documents the way kubectl and client-go do. The test
// server mounts only the Service: none of these clients needs discovery for
// the built-in group versions (the real /api and /apis come from the API
// server package).

type testClients struct {
	srv       *httptest.Server
	discovery *discovery.DiscoveryClient
	dynamic   dynamic.Interface
}

func newTestClients(t *testing.T, reg *resources.Registry) *testClients {
	t.Helper()
	mux := http.NewServeMux()
	New(reg).Install(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testClients{srv: srv, discovery: dc, dynamic: dyn}
}

func TestOpenAPIV3RootGVSpec(t *testing.T) {
	reg := resources.Builtin()
	c := newTestClients(t, reg)
	root := openapi3.NewRoot(c.discovery.OpenAPIV3())

	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[schema.GroupVersion]bool{}
	for _, gv := range gvs {
		listed[gv] = true
	}
	for _, gv := range reg.GroupVersions() {
		if !listed[gv] {
			t.Errorf("GroupVersions() lacks %s", gv)
		}
	}

	doc, err := root.GVSpec(schema.GroupVersion{Group: "apps", Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	for _, tc := range []struct {
		model  string
		fields []string
	}{
		{"io.k8s.api.apps.v1.Deployment", []string{"apiVersion", "kind", "metadata", "spec", "status"}},
		{"io.k8s.api.apps.v1.DeploymentSpec", []string{"replicas", "selector", "template", "strategy", "minReadySeconds"}},
		{"io.k8s.api.apps.v1.DeploymentStrategy", []string{"type", "rollingUpdate"}},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", []string{"name", "namespace", "labels", "annotations"}},
		{"io.k8s.api.core.v1.PodSpec", []string{"containers", "volumes"}},
	} {
		s, ok := schemas[tc.model]
		if !ok {
			t.Errorf("apps/v1 document has no schema %s", tc.model)
			continue
		}
		for _, f := range tc.fields {
			if _, ok := s.Properties[f]; !ok {
				t.Errorf("%s has no field %q", tc.model, f)
			}
		}
	}
	if got := gvkExtension(schemas["io.k8s.api.apps.v1.Deployment"].Extensions); !containsGVK(got, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}) {
		t.Errorf("Deployment schema x-kubernetes-group-version-kind = %v", got)
	}
}

// TestFieldValidationSupport asks what kubectl asks before sending
// fieldValidation: whether the PATCH operation of the kind takes it.
func TestFieldValidationSupport(t *testing.T) {
	c := newTestClients(t, resources.Builtin())
	// Cached as kubectl's factory caches them: one fetch of each document.
	v3 := resource.NewQueryParamVerifierV3(c.dynamic, cachedopenapi.NewClient(c.discovery.OpenAPIV3()), resource.QueryParamFieldValidation)
	v2doc, err := c.discovery.OpenAPISchema()
	if err != nil {
		t.Fatal(err)
	}
	v2 := resource.NewQueryParamVerifier(c.dynamic, fetchedV2{v2doc}, resource.QueryParamFieldValidation)

	// TestDocuments checks every PATCH operation; these are kinds of
	// each shape (namespaced, cluster-scoped, with subresources, a second
	// version of a group).
	tests := []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Version: "v1", Kind: "Service"},
		{Version: "v1", Kind: "ConfigMap"},
		{Version: "v1", Kind: "Namespace"},
		{Version: "v1", Kind: "Pod"},
		{Group: "autoscaling", Version: "v1", Kind: "HorizontalPodAutoscaler"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
		{Group: "certificates.k8s.io", Version: "v1", Kind: "CertificateSigningRequest"},
	}
	for _, gvk := range tests {
		if err := v3.HasSupport(gvk); err != nil {
			t.Errorf("v3 verifier: %s: %v", gvk, err)
		}
		if err := v2.HasSupport(gvk); err != nil {
			t.Errorf("v2 verifier: %s: %v", gvk, err)
		}
	}
	if err := v3.HasSupport(schema.GroupVersionKind{Version: "v1", Kind: "List"}); !resource.IsParamUnsupportedError(err) {
		t.Errorf("v3 verifier on v1 List: got %v, want unsupported", err)
	}
}

func TestExplain(t *testing.T) {
	c := newTestClients(t, resources.Builtin())
	tests := []struct {
		gvr    schema.GroupVersionResource
		fields []string
		want   []string
	}{
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, []string{"spec", "strategy"},
			[]string{"KIND:       Deployment", "FIELD: strategy <DeploymentStrategy>", "rollingUpdate", "type"}},
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, []string{"spec", "containers"},
			[]string{"KIND:       Pod", "image", "livenessProbe"}},
		{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, nil,
			[]string{"KIND:       ClusterRole", "aggregationRule", "rules"}},
	}
	for _, tc := range tests {
		t.Run(tc.gvr.Resource, func(t *testing.T) {
			var out bytes.Buffer
			if err := explainv2.PrintModelDescription(tc.fields, &out, c.discovery.OpenAPIV3(), tc.gvr, false, 0, "plaintext"); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("explain %s %v lacks %q:\n%s", tc.gvr, tc.fields, w, out.String())
				}
			}
		})
	}
}

// TestOpenAPIV2 reads /openapi/v2 as kubectl before v3 did: protobuf through
// the discovery client, models found by GroupVersionKind.
func TestOpenAPIV2(t *testing.T) {
	reg := resources.Builtin()
	c := newTestClients(t, reg)
	doc, err := c.discovery.OpenAPISchema() // asks for protobuf
	if err != nil {
		t.Fatal(err)
	}
	models, err := kubectlopenapi.NewOpenAPIData(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reg.All() {
		if models.LookupResource(r.GVK()) == nil {
			t.Errorf("no v2 model for %s", r.GVK())
		}
		if slices.Contains(r.Verbs, "patch") && !contains(models.GetConsumes(r.GVK(), "PATCH"), "application/strategic-merge-patch+json") {
			t.Errorf("PATCH of %s does not take strategic merge patches", r.GVK())
		}
	}

	deploy := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	var out bytes.Buffer
	if err := explain.PrintModelDescription([]string{"spec", "strategy"}, &out, models.LookupResource(deploy), deploy, false, 0); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"rollingUpdate", "type"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("v2 explain deployment.spec.strategy lacks %q:\n%s", w, out.String())
		}
	}

	// The JSON form parses as a swagger document with the same content.
	req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/openapi/v2", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sw spec.Swagger
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if err := sw.UnmarshalJSON(body.Bytes()); err != nil {
		t.Fatal(err)
	}
	if sw.Swagger != "2.0" || len(sw.Paths.Paths) != len(doc.Paths.Path) || len(sw.Definitions) != len(doc.Definitions.AdditionalProperties) {
		t.Errorf("JSON and protobuf documents differ: %d/%d paths, %d/%d definitions",
			len(sw.Paths.Paths), len(doc.Paths.Path), len(sw.Definitions), len(doc.Definitions.AdditionalProperties))
	}
}

// fetchedV2 serves a fetched v2 document, as kubectl's cached getter does.
type fetchedV2 struct{ doc *openapi_v2.Document }

func (f fetchedV2) OpenAPISchema() (*openapi_v2.Document, error) { return f.doc, nil }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
