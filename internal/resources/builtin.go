package resources

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type spec struct {
	group, version, resource, kind, singular string
	namespaced                               bool
	short, categories                        []string
	verbs                                    []string
	sub                                      []Subresource
	storage                                  *schema.GroupVersionKind // default: served GVK
	storageResource                          string                   // default: resource
	storageGroup                             *string
	virtual                                  bool
}

func sub(name string, gvk schema.GroupVersionKind, verbs ...string) Subresource {
	if len(verbs) == 0 {
		verbs = VerbsSubGetPut
	}
	return Subresource{Name: name, Kind: gvk, Verbs: verbs}
}

func gvk(group, version, kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: group, Version: version, Kind: kind}
}

// Builtin returns the registry of every resource Sampan serves.
func Builtin() *Registry {
	core := func(kind string) schema.GroupVersionKind { return gvk("", "v1", kind) }
	apps := func(kind string) schema.GroupVersionKind { return gvk("apps", "v1", kind) }
	scaleV1 := gvk("autoscaling", "v1", "Scale")
	status := func(g schema.GroupVersionKind) Subresource { return sub("status", g) }
	all := []string{"all"}
	hpaStorage := gvk("autoscaling", "v2", "HorizontalPodAutoscaler")
	eventStorage := core("Event")
	coreGroup := ""

	specs := []spec{
		// core/v1
		{group: "", version: "v1", resource: "bindings", kind: "Binding", singular: "binding", namespaced: true, verbs: VerbsCreateOnly, virtual: true},
		{group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", singular: "configmap", namespaced: true, short: []string{"cm"}},
		{group: "", version: "v1", resource: "endpoints", kind: "Endpoints", singular: "endpoints", namespaced: true, short: []string{"ep"}},
		{group: "", version: "v1", resource: "events", kind: "Event", singular: "event", namespaced: true, short: []string{"ev"}},
		{group: "", version: "v1", resource: "limitranges", kind: "LimitRange", singular: "limitrange", namespaced: true, short: []string{"limits"}},
		{group: "", version: "v1", resource: "namespaces", kind: "Namespace", singular: "namespace", short: []string{"ns"},
			verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
			sub:   []Subresource{sub("finalize", core("Namespace"), "update"), status(core("Namespace"))}},
		{group: "", version: "v1", resource: "nodes", kind: "Node", singular: "node", short: []string{"no"},
			sub: []Subresource{sub("proxy", core("NodeProxyOptions"), "create", "delete", "get", "patch", "update"), status(core("Node"))}},
		{group: "", version: "v1", resource: "persistentvolumeclaims", kind: "PersistentVolumeClaim", singular: "persistentvolumeclaim", namespaced: true, short: []string{"pvc"},
			sub: []Subresource{status(core("PersistentVolumeClaim"))}},
		{group: "", version: "v1", resource: "persistentvolumes", kind: "PersistentVolume", singular: "persistentvolume", short: []string{"pv"},
			sub: []Subresource{status(core("PersistentVolume"))}},
		{group: "", version: "v1", resource: "pods", kind: "Pod", singular: "pod", namespaced: true, short: []string{"po"}, categories: all,
			sub: []Subresource{
				sub("attach", core("PodAttachOptions"), "create", "get"),
				sub("binding", core("Binding"), "create"),
				sub("ephemeralcontainers", core("Pod")),
				sub("eviction", gvk("policy", "v1", "Eviction"), "create"),
				sub("exec", core("PodExecOptions"), "create", "get"),
				sub("log", core("Pod"), "get"),
				sub("portforward", core("PodPortForwardOptions"), "create", "get"),
				sub("proxy", core("PodProxyOptions"), "create", "delete", "get", "patch", "update"),
				status(core("Pod")),
			}},
		{group: "", version: "v1", resource: "podtemplates", kind: "PodTemplate", singular: "podtemplate", namespaced: true},
		{group: "", version: "v1", resource: "resourcequotas", kind: "ResourceQuota", singular: "resourcequota", namespaced: true, short: []string{"quota"},
			sub: []Subresource{status(core("ResourceQuota"))}},
		{group: "", version: "v1", resource: "secrets", kind: "Secret", singular: "secret", namespaced: true},
		{group: "", version: "v1", resource: "serviceaccounts", kind: "ServiceAccount", singular: "serviceaccount", namespaced: true, short: []string{"sa"},
			sub: []Subresource{sub("token", gvk("authentication.k8s.io", "v1", "TokenRequest"), "create")}},
		{group: "", version: "v1", resource: "services", kind: "Service", singular: "service", namespaced: true, short: []string{"svc"}, categories: all,
			verbs: []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
			sub:   []Subresource{sub("proxy", core("ServiceProxyOptions"), "create", "delete", "get", "patch", "update"), status(core("Service"))}},

		// apps/v1
		{group: "apps", version: "v1", resource: "controllerrevisions", kind: "ControllerRevision", singular: "controllerrevision", namespaced: true},
		{group: "apps", version: "v1", resource: "daemonsets", kind: "DaemonSet", singular: "daemonset", namespaced: true, short: []string{"ds"}, categories: all,
			sub: []Subresource{status(apps("DaemonSet"))}},
		{group: "apps", version: "v1", resource: "deployments", kind: "Deployment", singular: "deployment", namespaced: true, short: []string{"deploy"}, categories: all,
			sub: []Subresource{sub("scale", scaleV1), status(apps("Deployment"))}},
		{group: "apps", version: "v1", resource: "replicasets", kind: "ReplicaSet", singular: "replicaset", namespaced: true, short: []string{"rs"}, categories: all,
			sub: []Subresource{sub("scale", scaleV1), status(apps("ReplicaSet"))}},
		{group: "apps", version: "v1", resource: "statefulsets", kind: "StatefulSet", singular: "statefulset", namespaced: true, short: []string{"sts"}, categories: all,
			sub: []Subresource{sub("scale", scaleV1), status(apps("StatefulSet"))}},

		// authorization.k8s.io/v1
		{group: "authorization.k8s.io", version: "v1", resource: "selfsubjectaccessreviews", kind: "SelfSubjectAccessReview", singular: "selfsubjectaccessreview", verbs: VerbsCreateOnly, virtual: true},
		{group: "authorization.k8s.io", version: "v1", resource: "selfsubjectrulesreviews", kind: "SelfSubjectRulesReview", singular: "selfsubjectrulesreview", verbs: VerbsCreateOnly, virtual: true},

		// authentication.k8s.io/v1
		{group: "authentication.k8s.io", version: "v1", resource: "selfsubjectreviews", kind: "SelfSubjectReview", singular: "selfsubjectreview", verbs: VerbsCreateOnly, virtual: true},

		// autoscaling: v2 is stored, v1 is a converted view
		{group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", singular: "horizontalpodautoscaler", namespaced: true, short: []string{"hpa"}, categories: all,
			sub: []Subresource{status(hpaStorage)}},
		{group: "autoscaling", version: "v1", resource: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", singular: "horizontalpodautoscaler", namespaced: true, short: []string{"hpa"}, categories: all,
			sub: []Subresource{status(gvk("autoscaling", "v1", "HorizontalPodAutoscaler"))}, storage: &hpaStorage},

		// batch/v1
		{group: "batch", version: "v1", resource: "cronjobs", kind: "CronJob", singular: "cronjob", namespaced: true, short: []string{"cj"}, categories: all,
			sub: []Subresource{status(gvk("batch", "v1", "CronJob"))}},
		{group: "batch", version: "v1", resource: "jobs", kind: "Job", singular: "job", namespaced: true, categories: all,
			sub: []Subresource{status(gvk("batch", "v1", "Job"))}},

		// certificates.k8s.io/v1
		{group: "certificates.k8s.io", version: "v1", resource: "certificatesigningrequests", kind: "CertificateSigningRequest", singular: "certificatesigningrequest", short: []string{"csr"},
			sub: []Subresource{sub("approval", gvk("certificates.k8s.io", "v1", "CertificateSigningRequest")), status(gvk("certificates.k8s.io", "v1", "CertificateSigningRequest"))}},

		// coordination.k8s.io/v1
		{group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", singular: "lease", namespaced: true},

		// discovery.k8s.io/v1
		{group: "discovery.k8s.io", version: "v1", resource: "endpointslices", kind: "EndpointSlice", singular: "endpointslice", namespaced: true},

		// events.k8s.io/v1: a view of core/v1 events
		{group: "events.k8s.io", version: "v1", resource: "events", kind: "Event", singular: "event", namespaced: true, short: []string{"ev"},
			storage: &eventStorage, storageGroup: &coreGroup},

		// networking.k8s.io/v1
		{group: "networking.k8s.io", version: "v1", resource: "ingressclasses", kind: "IngressClass", singular: "ingressclass"},
		{group: "networking.k8s.io", version: "v1", resource: "ingresses", kind: "Ingress", singular: "ingress", namespaced: true, short: []string{"ing"},
			sub: []Subresource{status(gvk("networking.k8s.io", "v1", "Ingress"))}},
		{group: "networking.k8s.io", version: "v1", resource: "networkpolicies", kind: "NetworkPolicy", singular: "networkpolicy", namespaced: true, short: []string{"netpol"}},

		// policy/v1
		{group: "policy", version: "v1", resource: "poddisruptionbudgets", kind: "PodDisruptionBudget", singular: "poddisruptionbudget", namespaced: true, short: []string{"pdb"},
			sub: []Subresource{status(gvk("policy", "v1", "PodDisruptionBudget"))}},

		// rbac.authorization.k8s.io/v1
		{group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterrolebindings", kind: "ClusterRoleBinding", singular: "clusterrolebinding"},
		{group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles", kind: "ClusterRole", singular: "clusterrole"},
		{group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings", kind: "RoleBinding", singular: "rolebinding", namespaced: true},
		{group: "rbac.authorization.k8s.io", version: "v1", resource: "roles", kind: "Role", singular: "role", namespaced: true},

		// storage.k8s.io/v1
		{group: "storage.k8s.io", version: "v1", resource: "storageclasses", kind: "StorageClass", singular: "storageclass", short: []string{"sc"}},
	}

	// Discovery order of groups, as upstream lists them (core first).
	order := []schema.GroupVersion{
		{Version: "v1"},
		{Group: "apps", Version: "v1"},
		{Group: "events.k8s.io", Version: "v1"},
		{Group: "authentication.k8s.io", Version: "v1"},
		{Group: "authorization.k8s.io", Version: "v1"},
		{Group: "autoscaling", Version: "v2"},
		{Group: "autoscaling", Version: "v1"},
		{Group: "batch", Version: "v1"},
		{Group: "certificates.k8s.io", Version: "v1"},
		{Group: "networking.k8s.io", Version: "v1"},
		{Group: "policy", Version: "v1"},
		{Group: "rbac.authorization.k8s.io", Version: "v1"},
		{Group: "storage.k8s.io", Version: "v1"},
		{Group: "coordination.k8s.io", Version: "v1"},
		{Group: "discovery.k8s.io", Version: "v1"},
	}

	reg := &Registry{byGVR: map[schema.GroupVersionResource]*Resource{}, groups: order}
	for _, gv := range order {
		for _, s := range specs {
			if s.group != gv.Group || s.version != gv.Version {
				continue
			}
			r := &Resource{
				GVR:          schema.GroupVersionResource{Group: s.group, Version: s.version, Resource: s.resource},
				Kind:         s.kind,
				SingularName: s.singular,
				Namespaced:   s.namespaced,
				ShortNames:   s.short,
				Categories:   s.categories,
				Verbs:        s.verbs,
				Subresources: s.sub,
				Virtual:      s.virtual,
			}
			if r.Verbs == nil {
				r.Verbs = VerbsAll
			}
			r.StorageGVK = r.GVK()
			if s.storage != nil {
				r.StorageGVK = *s.storage
			}
			r.StorageResource = schema.GroupResource{Group: r.StorageGVK.Group, Resource: s.resource}
			if s.storageGroup != nil {
				r.StorageResource.Group = *s.storageGroup
			}
			reg.all = append(reg.all, r)
			reg.byGVR[r.GVR] = r
		}
	}
	return reg
}
