package openapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"

	"github.com/sampan-dev/sampan/internal/resources"
)

// Model names of the meta types the routes refer to.
const (
	modelStatus          = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
	modelDeleteOptions   = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
	modelPatch           = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
	modelWatchEvent      = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"
	modelAPIResourceList = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"
	modelAPIGroup        = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"
	modelAPIGroupList    = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList"
	modelAPIVersions     = "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions"
	modelVersionInfo     = "io.k8s.apimachinery.pkg.version.Info"
	modelString          = "string"
)

const (
	extAction = "x-kubernetes-action"
	extGVK    = "x-kubernetes-group-version-kind"
)

// Media types of requests and responses.
var (
	mediaAny     = []string{"*/*"}
	mediaObjects = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	mediaLists   = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
		"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
	mediaLog   = []string{"text/plain", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	mediaPatch = []string{"application/json-patch+json", "application/merge-patch+json",
		"application/strategic-merge-patch+json", "application/apply-patch+yaml"}
)

// modelName names a definition of the generated table. The kube-openapi
// builders take a Go value for request and response bodies and name its
// schema by this method, so a name stands in for a value of the type.
type modelName string

func (m modelName) OpenAPIModelName() string { return string(m) }

// param is one parameter of a route.
type param struct {
	name, description string
	kind              common.ParameterKind
	dataType          string // "string", "boolean" or "integer"
	required          bool
}

var _ common.Parameter = param{}

func (p param) Name() string                   { return p.name }
func (p param) Description() string            { return p.description }
func (p param) Required() bool                 { return p.required }
func (p param) Kind() common.ParameterKind     { return p.kind }
func (p param) DataType() string               { return p.dataType }
func (p param) AllowMultiple() bool            { return false } // upstream marks every parameter uniqueItems
func (p param) withDescription(d string) param { p.description = d; return p }

// response is one status code of a route.
type response struct {
	code    int
	message string
	model   string
}

func (r response) Code() int          { return r.code }
func (r response) Message() string    { return r.message }
func (r response) Model() interface{} { return modelName(r.model) }

// route is one operation: a method on a path.
type route struct {
	method, path string
	id           string
	tags         []string
	description  string
	action       string                   // x-kubernetes-action, "" for none
	gvk          *schema.GroupVersionKind // x-kubernetes-group-version-kind, nil for none
	params       []param
	body         string // model of the request body, "" for none
	bodyRequired bool
	consumes     []string
	produces     []string
	responses    []response
}

var _ common.Route = (*route)(nil)

func (r *route) Method() string        { return r.method }
func (r *route) Path() string          { return r.path }
func (r *route) OperationName() string { return r.id }
func (r *route) Description() string   { return r.description }
func (r *route) Consumes() []string    { return r.consumes }
func (r *route) Produces() []string    { return r.produces }

func (r *route) Parameters() []common.Parameter {
	out := make([]common.Parameter, 0, len(r.params)+1)
	for _, p := range r.params {
		out = append(out, p)
	}
	if r.body != "" {
		out = append(out, param{name: "body", kind: common.BodyParameterKind, dataType: r.body, required: r.bodyRequired})
	}
	return out
}

func (r *route) Metadata() map[string]interface{} {
	m := map[string]interface{}{}
	if r.action != "" {
		m[extAction] = r.action
	}
	if r.gvk != nil {
		m[extGVK] = map[string]interface{}{"group": r.gvk.Group, "version": r.gvk.Version, "kind": r.gvk.Kind}
	}
	return m
}

func (r *route) RequestPayloadSample() interface{} {
	if r.body == "" {
		return nil
	}
	return modelName(r.body)
}

func (r *route) ResponsePayloadSample() interface{} { return nil }

func (r *route) StatusCodeResponses() []common.StatusCodeResponse {
	out := make([]common.StatusCodeResponse, len(r.responses))
	for i, resp := range r.responses {
		out[i] = resp
	}
	return out
}

// operationIDAndTags gives the builders the operation id and tags each route carries.
func operationIDAndTags(r common.Route) (string, []string, error) {
	rt, ok := r.(*route)
	if !ok {
		return "", nil, fmt.Errorf("naming operation of %T: not a sampan route", r)
	}
	return rt.id, rt.tags, nil
}

// routeSet is a common.RouteContainer over a fixed list of routes.
type routeSet struct {
	root   string
	routes []common.Route
}

var _ common.RouteContainer = (*routeSet)(nil)

func (s *routeSet) RootPath() string                   { return s.root }
func (s *routeSet) PathParameters() []common.Parameter { return nil }
func (s *routeSet) Routes() []common.Route             { return s.routes }

func (s *routeSet) add(r *route) { s.routes = append(s.routes, r) }

// groupName is the upper camel form of a group in operation ids: "Core",
// "Apps", "RbacAuthorization" (a ".k8s.io" suffix is dropped).
func groupName(group string) string {
	if group == "" {
		return "Core"
	}
	return camel(strings.TrimSuffix(group, ".k8s.io"))
}

// groupTag is the tag of a group's operations: "core", "apps", "rbacAuthorization".
func groupTag(group string) string {
	n := groupName(group)
	return strings.ToLower(n[:1]) + n[1:]
}

// camel upper-cases the first letter and every letter after '.', '-' or '_', dropping those.
func camel(s string) string {
	var b strings.Builder
	up := true
	for _, c := range s {
		if c == '.' || c == '-' || c == '_' || c == '/' {
			up = true
			continue
		}
		if up {
			b.WriteString(strings.ToUpper(string(c)))
			up = false
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// gvPath is the URL prefix of a group version: "/api/v1", "/apis/apps/v1".
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// gvDocName is the key of a group version in the /openapi/v3 listing: "api/v1", "apis/apps/v1".
func gvDocName(gv schema.GroupVersion) string { return strings.TrimPrefix(gvPath(gv), "/") }

// routeBuilder makes the routes of the served API.
type routeBuilder struct {
	kinds  map[schema.GroupVersionKind]string // model name of every served kind
	params *paramSets
}

// deleteReturnsObject are the resources whose DELETE upstream documents as
// answering with the deleted object; the others document a Status.
var deleteReturnsObject = map[schema.GroupResource]bool{
	{Resource: "persistentvolumeclaims"}:                  true,
	{Resource: "persistentvolumes"}:                       true,
	{Resource: "pods"}:                                    true,
	{Resource: "podtemplates"}:                            true,
	{Resource: "resourcequotas"}:                          true,
	{Resource: "serviceaccounts"}:                         true,
	{Resource: "services"}:                                true,
	{Group: "storage.k8s.io", Resource: "storageclasses"}: true,
}

// connectSubresources are served by streaming connections, not objects.
var connectSubresources = map[string]bool{"attach": true, "exec": true, "portforward": true, "proxy": true}

// groupVersion returns the routes of every resource of one group version and of its discovery document.
func (b *routeBuilder) groupVersion(gv schema.GroupVersion, res []*resources.Resource) (*routeSet, error) {
	prefix := gvPath(gv)
	set := &routeSet{root: prefix}
	g := groupName(gv.Group) + camel(gv.Version)
	tags := []string{groupTag(gv.Group) + "_" + gv.Version}
	set.add(&route{
		method: http.MethodGet, path: prefix + "/", id: "get" + g + "APIResources", tags: tags,
		description: "get available resources", consumes: mediaObjects, produces: mediaObjects,
		responses: []response{{http.StatusOK, "OK", modelAPIResourceList}},
	})
	for _, r := range res {
		if err := b.resource(set, g, tags, r); err != nil {
			return nil, fmt.Errorf("building routes of %s: %w", r.GVR, err)
		}
	}
	return set, nil
}

func (b *routeBuilder) model(gvk schema.GroupVersionKind) (string, error) {
	name, ok := b.kinds[gvk]
	if !ok {
		return "", fmt.Errorf("no OpenAPI model for kind %s", gvk)
	}
	return name, nil
}

// resource adds the routes of one resource and its subresources.
func (b *routeBuilder) resource(set *routeSet, g string, tags []string, r *resources.Resource) error {
	gvk := r.GVK()
	kind, err := b.model(gvk)
	if err != nil {
		return err
	}
	list := ""
	if slices.Contains(r.Verbs, "list") {
		if list, err = b.model(r.ListGVK()); err != nil {
			return err
		}
	}
	prefix := gvPath(r.GVR.GroupVersion())
	p := b.params

	scope, scopePath, base := "", "/"+r.GVR.Resource, []param{p.pretty}
	if r.Namespaced {
		scope, scopePath, base = "Namespaced", "/namespaces/{namespace}/"+r.GVR.Resource, []param{p.namespace, p.pretty}
	}
	collection := prefix + scopePath
	item := collection + "/{name}"
	itemBase := append([]param{p.name.withDescription("name of the " + r.Kind)}, base...)
	streamBase := itemBase[:len(itemBase)-1] // streams are not printed: no "pretty"
	with := func(base []param, more ...[]param) []param {
		out := append([]param(nil), base...)
		for _, m := range more {
			out = append(out, m...)
		}
		return out
	}
	op := func(method, path, verb, name, desc, action string, params []param) *route {
		return &route{method: method, path: path, id: verb + g + name, tags: tags, description: desc,
			action: action, gvk: &gvk, params: params, consumes: mediaAny, produces: mediaObjects}
	}

	if slices.Contains(r.Verbs, "list") {
		rt := op(http.MethodGet, collection, "list", scope+r.Kind, "list or watch "+r.Kind+" objects", "list", with(base, p.list))
		rt.produces = mediaLists
		rt.responses = []response{{http.StatusOK, "OK", list}}
		set.add(rt)
		if r.Namespaced {
			rt := op(http.MethodGet, prefix+"/"+r.GVR.Resource, "list", r.Kind+"ForAllNamespaces",
				"list or watch "+r.Kind+" objects in all namespaces", "list", with([]param{p.pretty}, p.list))
			rt.produces = mediaLists
			rt.responses = []response{{http.StatusOK, "OK", list}}
			set.add(rt)
		}
	}
	if slices.Contains(r.Verbs, "watch") {
		watchCollection := prefix + "/watch" + scopePath
		for _, w := range []struct {
			path, name, desc, action string
			params                   []param
		}{
			{watchCollection, scope + r.Kind + "List", "watch changes to a list of " + r.Kind + "; deprecated: use the 'watch' parameter of list", "watchlist", base},
			{watchCollection + "/{name}", scope + r.Kind, "watch changes to one " + r.Kind + "; deprecated: use the 'watch' parameter of list with a metadata.name field selector", "watch", itemBase},
		} {
			rt := op(http.MethodGet, w.path, "watch", w.name, w.desc, w.action, with(w.params, p.list))
			rt.produces = mediaLists
			rt.responses = []response{{http.StatusOK, "OK", modelWatchEvent}}
			set.add(rt)
		}
		if r.Namespaced {
			rt := op(http.MethodGet, prefix+"/watch/"+r.GVR.Resource, "watch", r.Kind+"ListForAllNamespaces",
				"watch changes to a list of "+r.Kind+" in all namespaces; deprecated: use the 'watch' parameter of list", "watchlist", with([]param{p.pretty}, p.list))
			rt.produces = mediaLists
			rt.responses = []response{{http.StatusOK, "OK", modelWatchEvent}}
			set.add(rt)
		}
	}
	if slices.Contains(r.Verbs, "create") {
		rt := op(http.MethodPost, collection, "create", scope+r.Kind, "create a "+r.Kind, "post", with(base, p.create))
		rt.body, rt.bodyRequired = kind, true
		rt.responses = created(kind)
		set.add(rt)
	}
	if slices.Contains(r.Verbs, "deletecollection") {
		rt := op(http.MethodDelete, collection, "delete", "Collection"+scope+r.Kind, "delete a collection of "+r.Kind, "deletecollection", with(base, p.deleteCollection))
		rt.body = modelDeleteOptions
		rt.responses = []response{{http.StatusOK, "OK", modelStatus}}
		set.add(rt)
	}
	if slices.Contains(r.Verbs, "get") {
		rt := op(http.MethodGet, item, "read", scope+r.Kind, "read the specified "+r.Kind, "get", itemBase)
		rt.responses = []response{{http.StatusOK, "OK", kind}}
		set.add(rt)
	}
	if slices.Contains(r.Verbs, "update") {
		set.add(replace(op(http.MethodPut, item, "replace", scope+r.Kind, "replace the specified "+r.Kind, "put", with(itemBase, p.update)), kind))
	}
	if slices.Contains(r.Verbs, "patch") {
		set.add(patch(op(http.MethodPatch, item, "patch", scope+r.Kind, "partially update the specified "+r.Kind, "patch", with(itemBase, p.patch)), kind))
	}
	if slices.Contains(r.Verbs, "delete") {
		rt := op(http.MethodDelete, item, "delete", scope+r.Kind, "delete a "+r.Kind, "delete", with(itemBase, p.delete))
		rt.body = modelDeleteOptions
		deleted := modelStatus
		if deleteReturnsObject[r.GVR.GroupResource()] {
			deleted = kind
		}
		rt.responses = []response{{http.StatusOK, "OK", deleted}, {http.StatusAccepted, "Accepted", deleted}}
		set.add(rt)
	}

	for _, sub := range r.Subresources {
		subGVK := sub.Kind
		subPath := item + "/" + sub.Name
		name := scope + r.Kind + camel(sub.Name)
		subOp := func(method, path, verb, name, desc, action string, params []param) *route {
			rt := op(method, path, verb, name, desc, action, params)
			rt.gvk = &subGVK
			return rt
		}
		switch {
		case connectSubresources[sub.Name]:
			if err := b.connect(set, subOp, sub, subPath, name, r.Kind, streamBase); err != nil {
				return err
			}
			continue
		case sub.Name == "log":
			rt := subOp(http.MethodGet, subPath, "read", name, "read the log of the specified "+r.Kind, "get", with(itemBase, p.log))
			rt.produces = mediaLog
			rt.responses = []response{{http.StatusOK, "OK", modelString}}
			set.add(rt)
			continue
		}
		subKind, err := b.model(subGVK)
		if err != nil {
			return err
		}
		what := sub.Name + " of the specified " + r.Kind
		for _, verb := range sub.Verbs {
			switch verb {
			case "get":
				rt := subOp(http.MethodGet, subPath, "read", name, "read "+what, "get", itemBase)
				rt.responses = []response{{http.StatusOK, "OK", subKind}}
				set.add(rt)
			case "update":
				set.add(replace(subOp(http.MethodPut, subPath, "replace", name, "replace "+what, "put", with(itemBase, p.update)), subKind))
			case "patch":
				set.add(patch(subOp(http.MethodPatch, subPath, "patch", name, "partially update "+what, "patch", with(itemBase, p.patch)), subKind))
			case "create":
				rt := subOp(http.MethodPost, subPath, "create", name, "create "+what, "post", with(itemBase, p.create))
				rt.body, rt.bodyRequired = subKind, true
				rt.responses = created(subKind)
				set.add(rt)
			default:
				return fmt.Errorf("subresource %s: verb %q has no operation", sub.Name, verb)
			}
		}
	}
	return nil
}

func created(model string) []response {
	return []response{{http.StatusOK, "OK", model}, {http.StatusCreated, "Created", model}, {http.StatusAccepted, "Accepted", model}}
}

func replace(rt *route, model string) *route {
	rt.body, rt.bodyRequired = model, true
	rt.responses = []response{{http.StatusOK, "OK", model}, {http.StatusCreated, "Created", model}}
	return rt
}

func patch(rt *route, model string) *route {
	rt.body, rt.bodyRequired = modelPatch, true
	rt.consumes = mediaPatch
	rt.responses = []response{{http.StatusOK, "OK", model}, {http.StatusCreated, "Created", model}}
	return rt
}

// connectMethods are the HTTP methods of a connect subresource's verbs.
var connectMethods = []struct{ verb, method string }{
	{"delete", http.MethodDelete},
	{"get", http.MethodGet},
	{"patch", http.MethodPatch},
	{"create", http.MethodPost},
	{"update", http.MethodPut},
}

// connect adds the routes of a streaming subresource (exec, attach,
// portforward, proxy): one operation per method, the options kind's fields as
// query parameters, and for proxy a second path carrying the proxied path.
func (b *routeBuilder) connect(set *routeSet, subOp func(method, path, verb, name, desc, action string, params []param) *route,
	sub resources.Subresource, subPath, name, kind string, base []param) error {
	opts, err := b.model(sub.Kind)
	if err != nil {
		return err
	}
	query, err := b.params.fromModel(opts)
	if err != nil {
		return err
	}
	var pathQuery []param // the options without "path", for /proxy/{path}
	for _, q := range query {
		if q.name != "path" {
			pathQuery = append(pathQuery, q)
		}
	}
	for _, m := range connectMethods {
		if !slices.Contains(sub.Verbs, m.verb) {
			continue
		}
		method := camel(strings.ToLower(m.method))
		desc := "connect " + m.method + " requests to " + sub.Name + " of " + kind
		rt := subOp(m.method, subPath, "connect", method+name, desc, "connect", append(append([]param(nil), base...), query...))
		rt.produces = mediaAny
		rt.responses = []response{{http.StatusOK, "OK", modelString}}
		set.add(rt)
		if sub.Name == "proxy" {
			params := append(append([]param(nil), base...), b.params.proxyPath)
			rt := subOp(m.method, subPath+"/{path}", "connect", method+name+"WithPath", desc, "connect", append(params, pathQuery...))
			rt.produces = mediaAny
			rt.responses = []response{{http.StatusOK, "OK", modelString}}
			set.add(rt)
		}
	}
	return nil
}

// nonResource returns the routes of the discovery and version documents,
// keyed by their /openapi/v3 name ("api", "apis", "apis/apps", "version").
func nonResource(groups []string) map[string]*routeSet {
	out := map[string]*routeSet{}
	get := func(doc, path, id, tag, desc, model string, produces []string) {
		out[doc] = &routeSet{root: path, routes: []common.Route{&route{
			method: http.MethodGet, path: path, id: id, tags: []string{tag}, description: desc,
			consumes: produces, produces: produces, responses: []response{{http.StatusOK, "OK", model}},
		}}}
	}
	get("api", "/api/", "getCoreAPIVersions", "core", "get available API versions", modelAPIVersions, mediaObjects)
	get("apis", "/apis/", "getAPIVersions", "apis", "get available API versions", modelAPIGroupList, mediaObjects)
	get("version", "/version/", "getCodeVersion", "version", "get the version information for this server", modelVersionInfo, []string{"application/json"})
	for _, g := range groups {
		get("apis/"+g, "/apis/"+g+"/", "get"+groupName(g)+"APIGroup", groupTag(g), "get information of a group", modelAPIGroup, mediaObjects)
	}
	return out
}
