package resources

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// extraFieldLabels are the field selector labels upstream supports per kind,
// beyond metadata.name and metadata.namespace.
var extraFieldLabels = map[schema.GroupKind][]string{
	{Kind: "Pod"}: {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
		"spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"},
	{Kind: "Node"}:      {"spec.unschedulable"},
	{Kind: "Namespace"}: {"status.phase"},
	{Kind: "Secret"}:    {"type"},
	{Kind: "Service"}:   {"spec.clusterIP", "spec.type"},
	{Kind: "Event"}: {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
		"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
		"reportingComponent", "source", "type"},
	{Group: "apps", Kind: "ReplicaSet"}:                               {"status.replicas"},
	{Group: "batch", Kind: "Job"}:                                     {"status.successful"},
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}: {"spec.signerName"},
}

// eventsV1FieldLabels maps events.k8s.io/v1 field labels to the stored core/v1 ones.
var eventsV1FieldLabels = map[string]string{
	"regarding.kind": "involvedObject.kind", "regarding.namespace": "involvedObject.namespace",
	"regarding.name": "involvedObject.name", "regarding.uid": "involvedObject.uid",
	"regarding.apiVersion": "involvedObject.apiVersion", "regarding.resourceVersion": "involvedObject.resourceVersion",
	"regarding.fieldPath": "involvedObject.fieldPath", "reportingController": "reportingComponent",
	"deprecatedSource": "source",
}

// ConvertFieldLabel maps a field selector label of a served resource to the
// label of its stored objects, and reports whether the label is supported.
func ConvertFieldLabel(r *Resource, label string) (string, bool) {
	if label == "metadata.name" || (label == "metadata.namespace" && r.Namespaced) {
		return label, true
	}
	if r.GVR.Group == "events.k8s.io" {
		if l, ok := eventsV1FieldLabels[label]; ok {
			return l, true
		}
		if label == "reason" || label == "type" {
			return label, true
		}
		return "", false
	}
	for _, l := range extraFieldLabels[schema.GroupKind{Group: r.StorageGVK.Group, Kind: r.StorageGVK.Kind}] {
		if l == label {
			return l, true
		}
	}
	return "", false
}

// SelectableFields returns the field set a field selector is matched against
// for a stored object.
func SelectableFields(obj runtime.Object) fields.Set {
	set := fields.Set{}
	if acc, err := meta.Accessor(obj); err == nil {
		set["metadata.name"] = acc.GetName()
		if ns := acc.GetNamespace(); ns != "" {
			set["metadata.namespace"] = ns
		}
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		set["spec.nodeName"] = o.Spec.NodeName
		set["spec.restartPolicy"] = string(o.Spec.RestartPolicy)
		set["spec.schedulerName"] = o.Spec.SchedulerName
		set["spec.serviceAccountName"] = o.Spec.ServiceAccountName
		set["spec.hostNetwork"] = strconv.FormatBool(o.Spec.HostNetwork)
		set["status.phase"] = string(o.Status.Phase)
		set["status.podIP"] = o.Status.PodIP
		ips := make([]string, 0, len(o.Status.PodIPs))
		for _, ip := range o.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		set["status.podIPs"] = strings.Join(ips, ",")
		set["status.nominatedNodeName"] = o.Status.NominatedNodeName
	case *corev1.Node:
		set["spec.unschedulable"] = strconv.FormatBool(o.Spec.Unschedulable)
	case *corev1.Namespace:
		set["status.phase"] = string(o.Status.Phase)
	case *corev1.Secret:
		set["type"] = string(o.Type)
	case *corev1.Service:
		set["spec.clusterIP"] = o.Spec.ClusterIP
		set["spec.type"] = string(o.Spec.Type)
	case *corev1.Event:
		set["involvedObject.kind"] = o.InvolvedObject.Kind
		set["involvedObject.namespace"] = o.InvolvedObject.Namespace
		set["involvedObject.name"] = o.InvolvedObject.Name
		set["involvedObject.uid"] = string(o.InvolvedObject.UID)
		set["involvedObject.apiVersion"] = o.InvolvedObject.APIVersion
		set["involvedObject.resourceVersion"] = o.InvolvedObject.ResourceVersion
		set["involvedObject.fieldPath"] = o.InvolvedObject.FieldPath
		set["reason"] = o.Reason
		set["reportingComponent"] = o.ReportingController
		set["source"] = o.Source.Component
		set["type"] = o.Type
	case *appsv1.ReplicaSet:
		set["status.replicas"] = strconv.Itoa(int(o.Status.Replicas))
	case *batchv1.Job:
		set["status.successful"] = strconv.Itoa(int(o.Status.Succeeded))
	case *certificatesv1.CertificateSigningRequest:
		set["spec.signerName"] = o.Spec.SignerName
	}
	return set
}
