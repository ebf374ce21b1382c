package openapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/sampan-dev/sampan/internal/resources"
)

// builtDocs are the documents of the builtin registry, decoded.
type builtDocs struct {
	v2 *spec.Swagger
	v3 map[string]*spec3.OpenAPI
}

func buildDocs(t *testing.T, reg *resources.Registry) *builtDocs {
	t.Helper()
	s := New(reg)
	d2, err := s.documentV2()
	if err != nil {
		t.Fatal(err)
	}
	js, err := decompress(d2.json)
	if err != nil {
		t.Fatal(err)
	}
	out := &builtDocs{v2: &spec.Swagger{}, v3: map[string]*spec3.OpenAPI{}}
	if err := out.v2.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	docs, err := s.documentsV3()
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range docs {
		js, err := decompress(d.json)
		if err != nil {
			t.Fatal(err)
		}
		o := &spec3.OpenAPI{}
		if err := json.Unmarshal(js, o); err != nil {
			t.Fatalf("decoding %s: %v", name, err)
		}
		out.v3[name] = o
	}
	return out
}

func gvkExtension(ext spec.Extensions) []schema.GroupVersionKind {
	var raw []map[string]string
	if err := ext.GetObject(extGVK, &raw); err != nil {
		return nil
	}
	var out []schema.GroupVersionKind
	for _, m := range raw {
		out = append(out, schema.GroupVersionKind{Group: m["group"], Version: m["version"], Kind: m["kind"]})
	}
	return out
}

func containsGVK(list []schema.GroupVersionKind, gvk schema.GroupVersionKind) bool {
	for _, x := range list {
		if x == gvk {
			return true
		}
	}
	return false
}

func v2Op(p spec.PathItem, method string) *spec.Operation {
	switch method {
	case http.MethodGet:
		return p.Get
	case http.MethodPost:
		return p.Post
	case http.MethodPut:
		return p.Put
	case http.MethodPatch:
		return p.Patch
	case http.MethodDelete:
		return p.Delete
	}
	return nil
}

func v3Op(p *spec3.Path, method string) *spec3.Operation {
	switch method {
	case http.MethodGet:
		return p.Get
	case http.MethodPost:
		return p.Post
	case http.MethodPut:
		return p.Put
	case http.MethodPatch:
		return p.Patch
	case http.MethodDelete:
		return p.Delete
	}
	return nil
}

// docOf names the v3 document that holds a path.
func docOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case parts[0] == "api" && len(parts) > 1:
		return "api/" + parts[1]
	case parts[0] == "apis" && len(parts) > 2:
		return "apis/" + parts[1] + "/" + parts[2]
	case parts[0] == "apis" && len(parts) == 2:
		return "apis/" + parts[1]
	}
	return parts[0]
}

// TestDocuments checks the built documents of the builtin registry.
func TestDocuments(t *testing.T) {
	reg := resources.Builtin()
	docs := buildDocs(t, reg)
	t.Run("operation ids", func(t *testing.T) { testOperationIDs(t, docs) })
	t.Run("operation parameters", func(t *testing.T) { testOperationParameters(t, docs) })
	t.Run("kind schemas", func(t *testing.T) { testKindSchemas(t, reg, docs) })
	t.Run("delete responses", func(t *testing.T) { testDeleteResponses(t, docs) })
}

func testDeleteResponses(t *testing.T, docs *builtDocs) {
	tests := []struct{ path, model string }{
		{"/api/v1/namespaces/{namespace}/pods/{name}", "io.k8s.api.core.v1.Pod"},
		{"/api/v1/namespaces/{namespace}/services/{name}", "io.k8s.api.core.v1.Service"},
		{"/api/v1/namespaces/{namespace}/configmaps/{name}", modelStatus},
		{"/api/v1/namespaces/{name}", modelStatus},
		{"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", modelStatus},
		{"/apis/storage.k8s.io/v1/storageclasses/{name}", "io.k8s.api.storage.v1.StorageClass"},
	}
	for _, tc := range tests {
		op := docs.v2.Paths.Paths[tc.path].Delete
		if op == nil {
			t.Errorf("no DELETE %s", tc.path)
			continue
		}
		for _, code := range []int{http.StatusOK, http.StatusAccepted} {
			if got, want := op.Responses.StatusCodeResponses[code].Schema.Ref.String(), "#/definitions/"+tc.model; got != want {
				t.Errorf("DELETE %s %d: %s, want %s", tc.path, code, got, want)
			}
		}
	}
}

func testOperationIDs(t *testing.T, docs *builtDocs) {
	tests := []struct{ id, method, path, action string }{
		{"listCoreV1NamespacedPod", "GET", "/api/v1/namespaces/{namespace}/pods", "list"},
		{"listCoreV1PodForAllNamespaces", "GET", "/api/v1/pods", "list"},
		{"createCoreV1NamespacedPod", "POST", "/api/v1/namespaces/{namespace}/pods", "post"},
		{"deleteCoreV1CollectionNamespacedPod", "DELETE", "/api/v1/namespaces/{namespace}/pods", "deletecollection"},
		{"readCoreV1NamespacedPod", "GET", "/api/v1/namespaces/{namespace}/pods/{name}", "get"},
		{"replaceCoreV1NamespacedPod", "PUT", "/api/v1/namespaces/{namespace}/pods/{name}", "put"},
		{"deleteCoreV1NamespacedPod", "DELETE", "/api/v1/namespaces/{namespace}/pods/{name}", "delete"},
		{"readCoreV1NamespacedPodStatus", "GET", "/api/v1/namespaces/{namespace}/pods/{name}/status", "get"},
		{"readCoreV1NamespacedPodLog", "GET", "/api/v1/namespaces/{namespace}/pods/{name}/log", "get"},
		{"patchCoreV1NamespacedPodEphemeralcontainers", "PATCH", "/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers", "patch"},
		{"connectCoreV1GetNamespacedPodExec", "GET", "/api/v1/namespaces/{namespace}/pods/{name}/exec", "connect"},
		{"connectCoreV1PostNamespacedPodAttach", "POST", "/api/v1/namespaces/{namespace}/pods/{name}/attach", "connect"},
		{"connectCoreV1GetNamespacedPodPortforward", "GET", "/api/v1/namespaces/{namespace}/pods/{name}/portforward", "connect"},
		{"connectCoreV1DeleteNamespacedPodProxyWithPath", "DELETE", "/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}", "connect"},
		{"connectCoreV1GetNodeProxy", "GET", "/api/v1/nodes/{name}/proxy", "connect"},
		{"createCoreV1NamespacedPodBinding", "POST", "/api/v1/namespaces/{namespace}/pods/{name}/binding", "post"},
		{"createCoreV1NamespacedPodEviction", "POST", "/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post"},
		{"createCoreV1NamespacedBinding", "POST", "/api/v1/namespaces/{namespace}/bindings", "post"},
		{"createCoreV1NamespacedServiceAccountToken", "POST", "/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", "post"},
		{"replaceCoreV1NamespaceFinalize", "PUT", "/api/v1/namespaces/{name}/finalize", "put"},
		{"patchCoreV1NamespacedServiceStatus", "PATCH", "/api/v1/namespaces/{namespace}/services/{name}/status", "patch"},
		{"listCoreV1Node", "GET", "/api/v1/nodes", "list"},
		{"watchCoreV1Node", "GET", "/api/v1/watch/nodes/{name}", "watch"},
		{"watchCoreV1NamespacedPodList", "GET", "/api/v1/watch/namespaces/{namespace}/pods", "watchlist"},
		{"watchCoreV1PodListForAllNamespaces", "GET", "/api/v1/watch/pods", "watchlist"},
		{"getCoreV1APIResources", "GET", "/api/v1/", ""},
		{"createAppsV1NamespacedDeployment", "POST", "/apis/apps/v1/namespaces/{namespace}/deployments", "post"},
		{"patchAppsV1NamespacedDeployment", "PATCH", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "patch"},
		{"readAppsV1NamespacedDeploymentScale", "GET", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "get"},
		{"replaceAppsV1NamespacedStatefulSetScale", "PUT", "/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}/scale", "put"},
		{"listAppsV1DeploymentForAllNamespaces", "GET", "/apis/apps/v1/deployments", "list"},
		{"watchAppsV1NamespacedDeployment", "GET", "/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}", "watch"},
		{"getAppsV1APIResources", "GET", "/apis/apps/v1/", ""},
		{"getAppsAPIGroup", "GET", "/apis/apps/", ""},
		{"createAuthorizationV1SelfSubjectAccessReview", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "post"},
		{"createAuthenticationV1SelfSubjectReview", "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "post"},
		{"listAutoscalingV2NamespacedHorizontalPodAutoscaler", "GET", "/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers", "list"},
		{"replaceCertificatesV1CertificateSigningRequestApproval", "PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}/approval", "put"},
		{"listEventsV1EventForAllNamespaces", "GET", "/apis/events.k8s.io/v1/events", "list"},
		{"deleteRbacAuthorizationV1CollectionClusterRole", "DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterroles", "deletecollection"},
		{"getRbacAuthorizationAPIGroup", "GET", "/apis/rbac.authorization.k8s.io/", ""},
		{"getCoreAPIVersions", "GET", "/api/", ""},
		{"getAPIVersions", "GET", "/apis/", ""},
		{"getCodeVersion", "GET", "/version/", ""},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			item, ok := docs.v2.Paths.Paths[tc.path]
			if !ok {
				t.Fatalf("v2 has no path %s", tc.path)
			}
			op := v2Op(item, tc.method)
			if op == nil || op.ID != tc.id {
				t.Fatalf("v2 %s %s: got %+v, want operation %s", tc.method, tc.path, op, tc.id)
			}
			if got, _ := op.Extensions.GetString(extAction); got != tc.action {
				t.Errorf("v2 %s: x-kubernetes-action %q, want %q", tc.id, got, tc.action)
			}
			doc, ok := docs.v3[docOf(tc.path)]
			if !ok {
				t.Fatalf("no v3 document %s", docOf(tc.path))
			}
			p, ok := doc.Paths.Paths[tc.path]
			if !ok {
				t.Fatalf("v3 %s has no path %s", docOf(tc.path), tc.path)
			}
			if op := v3Op(p, tc.method); op == nil || op.OperationId != tc.id {
				t.Errorf("v3 %s %s: got %+v, want operation %s", tc.method, tc.path, op, tc.id)
			}
		})
	}
}

// testOperationParameters checks every operation of every resource in the v3
// documents: the parameters of its action, GVK, and request and response bodies.
func testOperationParameters(t *testing.T, docs *builtDocs) {
	want := map[string][]string{
		"list":             {"labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch", "watch", "timeoutSeconds", "allowWatchBookmarks", "sendInitialEvents", "pretty"},
		"post":             {"dryRun", "fieldManager", "fieldValidation", "pretty"},
		"put":              {"dryRun", "fieldManager", "fieldValidation", "pretty", "name"},
		"patch":            {"dryRun", "fieldManager", "fieldValidation", "force", "pretty", "name"},
		"delete":           {"gracePeriodSeconds", "propagationPolicy", "orphanDependents", "dryRun", "pretty", "name"},
		"deletecollection": {"gracePeriodSeconds", "propagationPolicy", "labelSelector", "fieldSelector", "dryRun", "pretty"},
		"get":              {"pretty", "name"},
	}
	seen := 0
	for name, doc := range docs.v3 {
		for path, item := range doc.Paths.Paths {
			for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				op := v3Op(item, method)
				if op == nil {
					continue
				}
				action, _ := op.Extensions.GetString(extAction)
				if action == "" {
					continue // discovery documents
				}
				seen++
				var gvk map[string]string
				if err := op.Extensions.GetObject(extGVK, &gvk); err != nil || gvk["kind"] == "" || gvk["version"] == "" {
					t.Errorf("%s %s %s: x-kubernetes-group-version-kind %v (%v)", name, method, path, gvk, err)
				}
				params := map[string]bool{}
				for _, p := range append(append([]*spec3.Parameter(nil), item.Parameters...), op.Parameters...) {
					params[p.Name] = true
				}
				if strings.Contains(path, "/namespaces/{namespace}/") && !params["namespace"] {
					t.Errorf("%s %s: no namespace parameter", method, path)
				}
				if strings.HasSuffix(path, "/log") || action == "connect" {
					continue
				}
				for _, p := range want[action] {
					if !params[p] {
						t.Errorf("%s %s (%s): no %q parameter", method, path, op.OperationId, p)
					}
				}
				switch action {
				case "post", "put", "patch":
					if op.RequestBody == nil || !op.RequestBody.Required {
						t.Errorf("%s %s: no required request body", method, path)
					}
				}
				if action == "patch" {
					for _, mt := range mediaPatch {
						if _, ok := op.RequestBody.Content[mt]; !ok {
							t.Errorf("%s %s: PATCH does not take %s", method, path, mt)
						}
					}
				}
				if op.Responses == nil || op.Responses.StatusCodeResponses[http.StatusOK] == nil {
					t.Errorf("%s %s: no 200 response", method, path)
				}
			}
		}
	}
	if seen < 450 {
		t.Errorf("checked only %d resource operations", seen)
	}
}

// testKindSchemas checks that every served kind is found by its
// x-kubernetes-group-version-kind, in the v2 document and in its group
// version's v3 document.
func testKindSchemas(t *testing.T, reg *resources.Registry, docs *builtDocs) {
	for _, r := range reg.All() {
		gv := r.GVR.GroupVersion()
		kinds := []schema.GroupVersionKind{r.GVK()}
		if slices.Contains(r.Verbs, "list") {
			kinds = append(kinds, r.ListGVK())
		}
		if slices.Contains(r.Verbs, "delete") {
			kinds = append(kinds, gv.WithKind("DeleteOptions"))
		}
		if slices.Contains(r.Verbs, "watch") {
			kinds = append(kinds, gv.WithKind("WatchEvent"))
		}
		for _, sub := range r.Subresources {
			if !connectSubresources[sub.Name] {
				kinds = append(kinds, sub.Kind)
			}
		}
		for _, gvk := range kinds {
			if !v2Has(docs.v2.Definitions, gvk) {
				t.Errorf("v2: no definition for %s", gvk)
			}
			if !v3Has(docs.v3[gvDocName(gv)].Components.Schemas, gvk) {
				t.Errorf("v3 %s: no schema for %s", gvDocName(gv), gvk)
			}
		}
	}
	status := schema.GroupVersionKind{Version: "v1", Kind: "Status"}
	if !v2Has(docs.v2.Definitions, status) || !v3Has(docs.v3["apis/apps/v1"].Components.Schemas, status) {
		t.Errorf("no schema for %s", status)
	}
	meta := docs.v2.Definitions["io.k8s.api.apps.v1.Deployment"].Properties["metadata"]
	if got, want := meta.Ref.String(), "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"; got != want {
		t.Errorf("Deployment metadata refers to %q, want %q", got, want)
	}
}

func v2Has(defs spec.Definitions, gvk schema.GroupVersionKind) bool {
	for _, d := range defs {
		if containsGVK(gvkExtension(d.Extensions), gvk) {
			return true
		}
	}
	return false
}

func v3Has(schemas map[string]*spec.Schema, gvk schema.GroupVersionKind) bool {
	for _, d := range schemas {
		if containsGVK(gvkExtension(d.Extensions), gvk) {
			return true
		}
	}
	return false
}

func TestGroupNames(t *testing.T) {
	tests := []struct{ group, name, tag string }{
		{"", "Core", "core"},
		{"apps", "Apps", "apps"},
		{"rbac.authorization.k8s.io", "RbacAuthorization", "rbacAuthorization"},
		{"events.k8s.io", "Events", "events"},
		{"flowcontrol.apiserver.k8s.io", "FlowcontrolApiserver", "flowcontrolApiserver"},
		{"internal.apiserver.k8s.io", "InternalApiserver", "internalApiserver"},
		{"example.com", "ExampleCom", "exampleCom"},
	}
	for _, tc := range tests {
		if got := groupName(tc.group); got != tc.name {
			t.Errorf("groupName(%q) = %q, want %q", tc.group, got, tc.name)
		}
		if got := groupTag(tc.group); got != tc.tag {
			t.Errorf("groupTag(%q) = %q, want %q", tc.group, got, tc.tag)
		}
	}
}
