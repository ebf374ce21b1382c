package openapi

import (
	"fmt"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/sampan-dev/sampan/internal/apiserver/openapi/generated"
	"github.com/sampan-dev/sampan/internal/resources"
)

// catalog is what the documents are built from: the served resources and,
// for every kind of a served group version, the model that describes it.
type catalog struct {
	reg *resources.Registry
	// kinds maps each served kind (resources, lists, subresource kinds, the
	// option kinds and WatchEvent every group version registers) to its model.
	kinds map[schema.GroupVersionKind]string
	// gvks is the x-kubernetes-group-version-kind value of each model that
	// describes a served kind: kubectl explain and client-side validation
	// find a kind's schema by it.
	gvks map[string][]interface{}
	info *spec.Info
}

type modelNamer interface{ OpenAPIModelName() string }

// newCatalog indexes the kinds of every served group version in sch.
func newCatalog(reg *resources.Registry, sch *runtime.Scheme) *catalog {
	served := map[schema.GroupVersion]bool{}
	for _, gv := range reg.GroupVersions() {
		served[gv] = true
	}
	c := &catalog{reg: reg, kinds: map[schema.GroupVersionKind]string{}, gvks: map[string][]interface{}{}, info: apiInfo()}
	byModel := map[string][]schema.GroupVersionKind{}
	for gvk, t := range sch.AllKnownTypes() {
		if !served[gvk.GroupVersion()] {
			continue
		}
		m, ok := reflect.New(t).Interface().(modelNamer)
		if !ok {
			continue
		}
		name := m.OpenAPIModelName()
		c.kinds[gvk] = name
		byModel[name] = append(byModel[name], gvk)
	}
	for name, list := range byModel {
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.Group != b.Group {
				return a.Group < b.Group
			}
			if a.Version != b.Version {
				return a.Version < b.Version
			}
			return a.Kind < b.Kind
		})
		ext := make([]interface{}, len(list))
		for i, gvk := range list {
			ext[i] = map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
		}
		c.gvks[name] = ext
	}
	return c
}

// apiInfo names the API as upstream does, with the Kubernetes version of the
// k8s.io/api module the binary is built with (v0.37.2 serves v1.37.2).
func apiInfo() *spec.Info {
	version := "v1.0.0"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "k8s.io/api" && strings.HasPrefix(dep.Version, "v0.") {
				version = "v1." + strings.TrimPrefix(dep.Version, "v0.")
			}
		}
	}
	return &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: version}}
}

// definitionName keeps the generated model names and adds the
// x-kubernetes-group-version-kind extension to the models of served kinds.
func (c *catalog) definitionName(name string) (string, spec.Extensions) {
	if l, ok := c.gvks[name]; ok {
		return name, spec.Extensions{extGVK: l}
	}
	return name, nil
}

func (c *catalog) routes(defs map[string]common.OpenAPIDefinition) (*routeBuilder, error) {
	params, err := newParamSets(defs)
	if err != nil {
		return nil, err
	}
	return &routeBuilder{kinds: c.kinds, params: params}, nil
}

// groups returns the served API groups in discovery order, without the core group.
func (c *catalog) groups() []string {
	var out []string
	seen := map[string]bool{}
	for _, gv := range c.reg.GroupVersions() {
		if gv.Group != "" && !seen[gv.Group] {
			seen[gv.Group] = true
			out = append(out, gv.Group)
		}
	}
	return out
}

const bearerToken = "BearerToken"

// buildV2 builds the single OpenAPI v2 document of the whole API.
func (c *catalog) buildV2() (*spec.Swagger, error) {
	defs := generated.GetOpenAPIDefinitions(func(name string) spec.Ref {
		return spec.MustCreateRef("#/definitions/" + common.EscapeJsonPointer(name))
	})
	rb, err := c.routes(defs)
	if err != nil {
		return nil, err
	}
	var sets []common.RouteContainer
	for _, gv := range c.reg.GroupVersions() {
		set, err := rb.groupVersion(gv, c.reg.ForGroupVersion(gv))
		if err != nil {
			return nil, err
		}
		sets = append(sets, set)
	}
	nr := nonResource(c.groups())
	for _, name := range sortedKeys(nr) {
		sets = append(sets, nr[name])
	}
	sw, err := builder.BuildOpenAPISpecFromRoutes(sets, &common.Config{
		ProtocolList:                   []string{"https"},
		Info:                           c.info,
		CommonResponses:                map[int]spec.Response{401: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}}},
		GetDefinitions:                 func(common.ReferenceCallback) map[string]common.OpenAPIDefinition { return defs },
		GetOperationIDAndTagsFromRoute: operationIDAndTags,
		GetDefinitionName:              c.definitionName,
		SecurityDefinitions: &spec.SecurityDefinitions{bearerToken: &spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
			Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
		}}},
		DefaultSecurity: []map[string][]string{{bearerToken: {}}},
	})
	if err != nil {
		return nil, fmt.Errorf("building OpenAPI v2 document: %w", err)
	}
	return sw, nil
}

// v3Builder builds the OpenAPI v3 documents one at a time from one table of definitions.
type v3Builder struct {
	cfg  *common.OpenAPIV3Config
	rb   *routeBuilder
	sets map[string]*routeSet // by document name: "api/v1", "apis/apps/v1", "apis/apps", "api", "apis", "version"
}

func (c *catalog) v3Builder() (*v3Builder, error) {
	// The builder resolves references in the table it is given; building it
	// once for all documents saves regenerating the whole table per document.
	defs := generated.GetOpenAPIDefinitions(func(name string) spec.Ref {
		return spec.MustCreateRef("#/components/schemas/" + common.EscapeJsonPointer(name))
	})
	rb, err := c.routes(defs)
	if err != nil {
		return nil, err
	}
	b := &v3Builder{rb: rb, sets: nonResource(c.groups())}
	b.cfg = &common.OpenAPIV3Config{
		Info:                           c.info,
		CommonResponses:                map[int]*spec3.Response{401: {ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}},
		Definitions:                    defs,
		GetOperationIDAndTagsFromRoute: operationIDAndTags,
		GetDefinitionName:              c.definitionName,
		SecuritySchemes: spec3.SecuritySchemes{bearerToken: &spec3.SecurityScheme{SecuritySchemeProps: spec3.SecuritySchemeProps{
			Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
		}}},
		PostProcessSpec: func(o *spec3.OpenAPI) (*spec3.OpenAPI, error) {
			o.SecurityRequirement = []map[string][]string{{bearerToken: {}}}
			return o, nil
		},
	}
	for _, gv := range c.reg.GroupVersions() {
		set, err := rb.groupVersion(gv, c.reg.ForGroupVersion(gv))
		if err != nil {
			return nil, err
		}
		b.sets[gvDocName(gv)] = set
	}
	return b, nil
}

// names returns the names of the documents in a stable order.
func (b *v3Builder) names() []string { return sortedKeys(b.sets) }

// build builds one document. Documents must be built one after another:
// the builder writes extensions into the shared table.
func (b *v3Builder) build(name string) (*spec3.OpenAPI, error) {
	set, ok := b.sets[name]
	if !ok {
		return nil, fmt.Errorf("building OpenAPI v3 document %q: no such document", name)
	}
	doc, err := builder3.BuildOpenAPISpecFromRoutes([]common.RouteContainer{set}, b.cfg)
	if err != nil {
		return nil, fmt.Errorf("building OpenAPI v3 document %q: %w", name, err)
	}
	return doc, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
