package apiserver

import (
	"fmt"
	"reflect"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sampan-dev/sampan/internal/resources"
)

// generationKinds are the kinds whose metadata.generation counts spec changes.
var generationKinds = map[schema.GroupKind]bool{
	{Kind: "Pod"}:                                           true,
	{Group: "apps", Kind: "Deployment"}:                     true,
	{Group: "apps", Kind: "ReplicaSet"}:                     true,
	{Group: "apps", Kind: "StatefulSet"}:                    true,
	{Group: "apps", Kind: "DaemonSet"}:                      true,
	{Group: "batch", Kind: "Job"}:                           true,
	{Group: "batch", Kind: "CronJob"}:                       true,
	{Group: "policy", Kind: "PodDisruptionBudget"}:          true,
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:     true,
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}: true,
}

func tracksGeneration(res *resources.Resource) bool {
	return generationKinds[schema.GroupKind{Group: res.StorageGVK.Group, Kind: res.StorageGVK.Kind}]
}

// structField returns the addressable field name of a typed object (nil if absent).
func structField(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Ptr || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

// copyField sets field name of dst to the value it has in src.
func copyField(dst, src runtime.Object, name string) {
	d, s := structField(dst, name), structField(src, name)
	if d.IsValid() && s.IsValid() && d.CanSet() {
		d.Set(s)
	}
}

// resetField zeroes field name of obj.
func resetField(obj runtime.Object, name string) {
	if f := structField(obj, name); f.IsValid() && f.CanSet() {
		f.Set(reflect.Zero(f.Type()))
	}
}

// prepareForCreate applies what the server sets on a new object (storage version).
func prepareForCreate(res *resources.Resource, obj runtime.Object, user *UserInfo) {
	acc, _ := meta.Accessor(obj)
	if tracksGeneration(res) {
		acc.SetGeneration(1)
	} else {
		acc.SetGeneration(0)
	}
	if res.Subresource("status") != nil {
		switch o := obj.(type) {
		case *corev1.Node, *corev1.Namespace:
			// Node status is written by its agent at registration; a namespace's below.
		case *corev1.Pod:
			o.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(&o.Spec)}
		default:
			resetField(obj, "Status")
		}
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		o.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
		setNamespaceNameLabel(o)
		if !hasFinalizer(o.Spec.Finalizers, corev1.FinalizerKubernetes) {
			o.Spec.Finalizers = append(o.Spec.Finalizers, corev1.FinalizerKubernetes)
		}
	case *corev1.PersistentVolume:
		o.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}
	case *batchv1.Job:
		generateJobSelector(o)
	case *appsv1.DaemonSet:
		setTemplateGeneration(o, nil)
	case *corev1.PersistentVolumeClaim:
		o.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
	case *certificatesv1.CertificateSigningRequest:
		// The requester is who sent the request, whatever the body says.
		if user != nil {
			o.Spec.Username = user.Name
			o.Spec.UID = user.UID
			o.Spec.Groups = append([]string(nil), user.Groups...)
			o.Spec.Extra = nil
			if len(user.Extra) > 0 {
				o.Spec.Extra = map[string]certificatesv1.ExtraValue{}
				for k, v := range user.Extra {
					o.Spec.Extra[k] = v
				}
			}
		}
	}
}

// prepareForUpdate keeps what a spec update may not change (storage version).
func prepareForUpdate(res *resources.Resource, obj, old runtime.Object) {
	if res.Subresource("status") != nil {
		copyField(obj, old, "Status")
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		// spec.finalizers changes only through namespaces/finalize.
		o.Spec = old.(*corev1.Namespace).Spec
		setNamespaceNameLabel(o)
	case *certificatesv1.CertificateSigningRequest:
		o.Spec = old.(*certificatesv1.CertificateSigningRequest).Spec
	case *corev1.Service:
		keepServiceAllocations(o, old.(*corev1.Service))
	case *appsv1.DaemonSet:
		setTemplateGeneration(o, old.(*appsv1.DaemonSet))
	}
	bumpGeneration(res, obj, old)
}

// daemonSetTemplateGeneration is the annotation upstream keeps on
// DaemonSets: a counter of template changes, which the DaemonSet
// controller copies to its pods (pod-template-generation).
const daemonSetTemplateGeneration = "deprecated.daemonset.template.generation"

// setTemplateGeneration sets ds's template generation: 1 when created
// (old == nil), one more than old's when the template changed, else old's.
func setTemplateGeneration(ds, old *appsv1.DaemonSet) {
	gen := int64(1)
	if old != nil {
		gen, _ = strconv.ParseInt(old.Annotations[daemonSetTemplateGeneration], 10, 64)
		if gen < 1 {
			gen = 1
		}
		if !apiequality.Semantic.DeepEqual(ds.Spec.Template, old.Spec.Template) {
			gen++
		}
	}
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[daemonSetTemplateGeneration] = strconv.FormatInt(gen, 10)
}

// prepareForStatusUpdate keeps everything but status (and mutable metadata).
func prepareForStatusUpdate(res *resources.Resource, obj, old runtime.Object) {
	copyField(obj, old, "Spec")
	acc, _ := meta.Accessor(obj)
	oldAcc, _ := meta.Accessor(old)
	acc.SetOwnerReferences(oldAcc.GetOwnerReferences())
	acc.SetDeletionTimestamp(oldAcc.GetDeletionTimestamp())
	acc.SetGeneration(oldAcc.GetGeneration())
	if _, ok := obj.(*corev1.Pod); !ok {
		acc.SetLabels(oldAcc.GetLabels())
		acc.SetFinalizers(oldAcc.GetFinalizers())
	}
	if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok {
		// status updates may not change approval conditions; approval may not change the certificate.
		oldCSR := old.(*certificatesv1.CertificateSigningRequest)
		csr.Status.Conditions = keepApprovalConditions(csr.Status.Conditions, oldCSR.Status.Conditions)
	}
}

// prepareForApproval keeps everything but status.conditions of a CSR.
func prepareForApproval(obj, old runtime.Object) {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	conds := csr.Status.Conditions
	*csr = *oldCSR.DeepCopy()
	csr.Status.Conditions = conds
}

func keepApprovalConditions(newConds, oldConds []certificatesv1.CertificateSigningRequestCondition) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range oldConds {
		if c.Type == certificatesv1.CertificateApproved || c.Type == certificatesv1.CertificateDenied {
			out = append(out, c)
		}
	}
	for _, c := range newConds {
		if c.Type != certificatesv1.CertificateApproved && c.Type != certificatesv1.CertificateDenied {
			out = append(out, c)
		}
	}
	return out
}

func bumpGeneration(res *resources.Resource, obj, old runtime.Object) {
	acc, _ := meta.Accessor(obj)
	oldAcc, _ := meta.Accessor(old)
	if !tracksGeneration(res) {
		acc.SetGeneration(oldAcc.GetGeneration())
		return
	}
	gen := oldAcc.GetGeneration()
	ns, os := structField(obj, "Spec"), structField(old, "Spec")
	if ns.IsValid() && os.IsValid() && !apiequality.Semantic.DeepEqual(ns.Interface(), os.Interface()) {
		gen++
	}
	// Setting deletionTimestamp bumps it too, as upstream.
	if acc.GetDeletionTimestamp() != nil && oldAcc.GetDeletionTimestamp() == nil {
		gen++
	}
	acc.SetGeneration(gen)
}

func hasFinalizer(list []corev1.FinalizerName, f corev1.FinalizerName) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// qosClass computes a pod's QoS class from its containers' resources, as upstream.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	requests := corev1.ResourceList{}
	limits := corev1.ResourceList{}
	zero := true
	guaranteed := true
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		for name, q := range c.Resources.Requests {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				continue
			}
			if !q.IsZero() {
				zero = false
				if cur, ok := requests[name]; ok {
					cur.Add(q)
					requests[name] = cur
				} else {
					requests[name] = q.DeepCopy()
				}
			}
		}
		seen := 0
		for name, q := range c.Resources.Limits {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				continue
			}
			if !q.IsZero() {
				zero = false
				seen++
				if cur, ok := limits[name]; ok {
					cur.Add(q)
					limits[name] = cur
				} else {
					limits[name] = q.DeepCopy()
				}
			}
		}
		if seen < 2 {
			guaranteed = false
		}
	}
	if zero {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if l, ok := limits[name]; !ok || l.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(limits) == 2 {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// setNamespaceNameLabel keeps the immutable kubernetes.io/metadata.name label, as upstream.
func setNamespaceNameLabel(ns *corev1.Namespace) {
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

// keepServiceAllocations carries over what the server allocated when an
// update leaves it unset (kubectl replace with a manifest that never had it),
// as upstream does before validation.
func keepServiceAllocations(svc, old *corev1.Service) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	if svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIP = old.Spec.ClusterIP
		svc.Spec.ClusterIPs = old.Spec.ClusterIPs
	}
	if len(svc.Spec.IPFamilies) == 0 {
		svc.Spec.IPFamilies = old.Spec.IPFamilies
	}
	if svc.Spec.IPFamilyPolicy == nil {
		svc.Spec.IPFamilyPolicy = old.Spec.IPFamilyPolicy
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		proto := func(p corev1.Protocol) corev1.Protocol {
			if p == "" {
				return corev1.ProtocolTCP
			}
			return p
		}
		byKey := map[string]int32{}
		for _, p := range old.Spec.Ports {
			byKey[fmt.Sprintf("%s/%d", proto(p.Protocol), p.Port)] = p.NodePort
		}
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort == 0 {
				p.NodePort = byKey[fmt.Sprintf("%s/%d", proto(p.Protocol), p.Port)]
			}
		}
		if svc.Spec.HealthCheckNodePort == 0 {
			svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
		}
	}
}

// generateJobSelector gives a Job without spec.manualSelector the selector
// and pod labels upstream generates: the Job's UID selects its pods, and
// the job name labels them (the legacy unprefixed keys too). A label the
// user set on the template is kept; validation refuses a mismatch.
func generateJobSelector(job *batchv1.Job) {
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector {
		return
	}
	uid := string(job.UID)
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	for k, v := range map[string]string{
		batchv1.ControllerUidLabel: uid,
		"controller-uid":           uid,
		batchv1.JobNameLabel:       job.Name,
		"job-name":                 job.Name,
	} {
		if _, ok := job.Spec.Template.Labels[k]; !ok {
			job.Spec.Template.Labels[k] = v
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = uid
	}
}
