// Package resources describes every API resource Sampan serves: its group,
// version, kind, names, scope, subresources and verbs, and where it is stored.
// Behaviour that depends on the object's content lives in the subpackages
// (defaults, validation, printers); this package is the index the API server,
// discovery and OpenAPI are built from.
package resources

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// Verbs of an ordinary stored resource.
var (
	VerbsAll        = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	VerbsCreateOnly = []string{"create"}
	VerbsSubGetPut  = []string{"get", "patch", "update"}
)

// Subresource is a child endpoint of a resource (pods/status, deployments/scale).
type Subresource struct {
	Name  string
	Kind  schema.GroupVersionKind // the kind it accepts/returns (Pod for pods/status, Scale for …/scale)
	Verbs []string
}

// Resource describes one served group/version/resource.
type Resource struct {
	GVR          schema.GroupVersionResource
	Kind         string
	SingularName string
	Namespaced   bool
	ShortNames   []string
	Categories   []string
	Verbs        []string
	Subresources []Subresource

	// StorageGVK is the version objects are kept in. When it differs from the
	// served version, the API server converts with the functions of conversion.go.
	StorageGVK schema.GroupVersionKind
	// StorageResource names the key prefix: "/<group or core>/<resource>/". Two
	// served resources share it when they are views of the same objects
	// (events and events.k8s.io events; autoscaling v1 and v2 HPAs).
	StorageResource schema.GroupResource
	// Virtual resources (reviews, bindings) are not stored.
	Virtual bool
}

// GVK returns the served group/version/kind.
func (r *Resource) GVK() schema.GroupVersionKind { return r.GVR.GroupVersion().WithKind(r.Kind) }

// ListGVK returns the served list kind.
func (r *Resource) ListGVK() schema.GroupVersionKind {
	return r.GVR.GroupVersion().WithKind(r.Kind + "List")
}

// New returns an empty object of the served kind.
func (r *Resource) New() runtime.Object {
	o, err := scheme.Scheme.New(r.GVK())
	if err != nil {
		panic(err) // the table below only names registered kinds; a test checks it
	}
	return o
}

// NewList returns an empty list of the served kind.
func (r *Resource) NewList() runtime.Object {
	o, err := scheme.Scheme.New(r.ListGVK())
	if err != nil {
		panic(err)
	}
	return o
}

// NewStorage returns an empty object of the storage kind.
func (r *Resource) NewStorage() runtime.Object {
	o, err := scheme.Scheme.New(r.StorageGVK)
	if err != nil {
		panic(err)
	}
	return o
}

// HasSubresource reports whether name is one of r's subresources.
func (r *Resource) Subresource(name string) *Subresource {
	for i := range r.Subresources {
		if r.Subresources[i].Name == name {
			return &r.Subresources[i]
		}
	}
	return nil
}

// KeyPrefix is the storage prefix of all objects of r ("/apps/deployments/").
func (r *Resource) KeyPrefix() string {
	g := r.StorageResource.Group
	if g == "" {
		g = "core"
	}
	return "/" + g + "/" + r.StorageResource.Resource + "/"
}

// Key is the storage key of one object. namespace is ignored for cluster-scoped resources.
func (r *Resource) Key(namespace, name string) string {
	if r.Namespaced {
		return r.KeyPrefix() + namespace + "/" + name
	}
	return r.KeyPrefix() + name
}

// NamespacePrefix is the prefix of all objects of r in one namespace ("" namespace: all).
func (r *Resource) NamespacePrefix(namespace string) string {
	if r.Namespaced && namespace != "" {
		return r.KeyPrefix() + namespace + "/"
	}
	return r.KeyPrefix()
}

// Registry is the set of served resources.
type Registry struct {
	all    []*Resource
	byGVR  map[schema.GroupVersionResource]*Resource
	groups []schema.GroupVersion // in preferred discovery order
}

// Lookup finds a served resource.
func (g *Registry) Lookup(gvr schema.GroupVersionResource) (*Resource, bool) {
	r, ok := g.byGVR[gvr]
	return r, ok
}

// All returns every served resource, grouped by group version in discovery order.
func (g *Registry) All() []*Resource { return g.all }

// GroupVersions returns the served group versions in discovery order (core first).
func (g *Registry) GroupVersions() []schema.GroupVersion { return g.groups }

// ForGroupVersion returns the resources of one group version, sorted by name.
func (g *Registry) ForGroupVersion(gv schema.GroupVersion) []*Resource {
	var out []*Resource
	for _, r := range g.all {
		if r.GVR.GroupVersion() == gv {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GVR.Resource < out[j].GVR.Resource })
	return out
}

// PreferredVersion returns the preferred version of a group (the first listed).
func (g *Registry) PreferredVersion(group string) string {
	for _, gv := range g.groups {
		if gv.Group == group {
			return gv.Version
		}
	}
	return ""
}

// StorageSiblings returns every served resource kept under the same storage prefix as r (r included).
func (g *Registry) StorageSiblings(r *Resource) []*Resource {
	var out []*Resource
	for _, o := range g.all {
		if !o.Virtual && o.StorageResource == r.StorageResource {
			out = append(out, o)
		}
	}
	return out
}
