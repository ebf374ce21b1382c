package apiserver

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sampan-dev/sampan/internal/resources"
)

// discovery serves /api, /apis and the group-version resource lists, in the
// legacy form and the aggregated (apidiscovery.k8s.io/v2) form.
type discovery struct {
	reg *resources.Registry
}

// wantsAggregated reports whether the client asked for aggregated discovery first.
func wantsAggregated(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if mt != "application/json" && mt != "application/yaml" && mt != "*/*" && mt != "application/*" {
			continue
		}
		return params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList"
	}
	return false
}

func (d *discovery) serve(w http.ResponseWriter, r *http.Request, info *requestInfo) {
	f := outputFormat{pretty: r.URL.Query().Get("pretty") == "true"}
	switch {
	case info.Path == "/api" || info.Path == "/api/":
		if wantsAggregated(r) {
			d.writeAggregated(w, f, "")
			return
		}
		writeObject(w, f, http.StatusOK, &metav1.APIVersions{
			TypeMeta:                   metav1.TypeMeta{Kind: "APIVersions"},
			Versions:                   []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
		})
	case info.Path == "/apis" || info.Path == "/apis/":
		if wantsAggregated(r) {
			d.writeAggregated(w, f, "apis")
			return
		}
		list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
		for _, g := range d.groups() {
			list.Groups = append(list.Groups, d.group(g))
		}
		writeObject(w, f, http.StatusOK, list)
	case info.APIPrefix == "apis" && info.APIVersion == "" && info.APIGroup != "":
		for _, g := range d.groups() {
			if g == info.APIGroup {
				grp := d.group(g)
				grp.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
				writeObject(w, f, http.StatusOK, &grp)
				return
			}
		}
		writeError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
	default:
		gv := schema.GroupVersion{Group: info.APIGroup, Version: info.APIVersion}
		rs := d.reg.ForGroupVersion(gv)
		if len(rs) == 0 || (info.APIPrefix == "api") != (gv.Group == "") {
			writeError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
			return
		}
		list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
		for _, res := range rs {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.GVR.Resource, SingularName: res.SingularName, Namespaced: res.Namespaced, Kind: res.Kind,
				Verbs: res.Verbs, ShortNames: res.ShortNames, Categories: res.Categories,
				StorageVersionHash: storageVersionHash(res),
			})
			for _, sub := range res.Subresources {
				ar := metav1.APIResource{Name: res.GVR.Resource + "/" + sub.Name, Namespaced: res.Namespaced, Kind: sub.Kind.Kind, Verbs: sub.Verbs}
				if sub.Kind.GroupVersion() != gv {
					ar.Group, ar.Version = sub.Kind.Group, sub.Kind.Version
				}
				list.APIResources = append(list.APIResources, ar)
			}
		}
		writeObject(w, f, http.StatusOK, list)
	}
}

// groups returns the non-core group names in discovery order.
func (d *discovery) groups() []string {
	var out []string
	seen := map[string]bool{}
	for _, gv := range d.reg.GroupVersions() {
		if gv.Group != "" && !seen[gv.Group] {
			seen[gv.Group] = true
			out = append(out, gv.Group)
		}
	}
	return out
}

func (d *discovery) group(name string) metav1.APIGroup {
	g := metav1.APIGroup{Name: name}
	for _, gv := range d.reg.GroupVersions() {
		if gv.Group == name {
			g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version})
		}
	}
	g.PreferredVersion = g.Versions[0]
	return g
}

func (d *discovery) writeAggregated(w http.ResponseWriter, f outputFormat, prefix string) {
	list := &apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}}
	var names []string
	if prefix == "" {
		names = []string{""}
	} else {
		names = d.groups()
	}
	for _, name := range names {
		g := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: name}}
		for _, gv := range d.reg.GroupVersions() {
			if gv.Group != name {
				continue
			}
			v := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
			for _, res := range d.reg.ForGroupVersion(gv) {
				scope := apidiscoveryv2.ScopeCluster
				if res.Namespaced {
					scope = apidiscoveryv2.ScopeNamespace
				}
				rd := apidiscoveryv2.APIResourceDiscovery{
					Resource: res.GVR.Resource, SingularResource: res.SingularName, Scope: scope,
					ResponseKind: &metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: res.Kind},
					Verbs:        res.Verbs, ShortNames: res.ShortNames, Categories: res.Categories,
				}
				for _, sub := range res.Subresources {
					rd.Subresources = append(rd.Subresources, apidiscoveryv2.APISubresourceDiscovery{
						Subresource:  sub.Name,
						ResponseKind: &metav1.GroupVersionKind{Group: sub.Kind.Group, Version: sub.Kind.Version, Kind: sub.Kind.Kind},
						Verbs:        sub.Verbs,
					})
				}
				v.Resources = append(v.Resources, rd)
			}
			g.Versions = append(g.Versions, v)
		}
		list.Items = append(list.Items, g)
	}
	w.Header().Set("Vary", "Accept")
	j, err := json.Marshal(list)
	if err != nil {
		writeError(w, apierrors.NewInternalError(err))
		return
	}
	if f.pretty {
		j = indentJSON(j)
	}
	w.Header().Set("Content-Type", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(j)
}
