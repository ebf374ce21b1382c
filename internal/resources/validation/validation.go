// Package validation checks API objects the way kube-apiserver does before it
// stores them. It works on the typed, versioned objects of k8s.io/api after the
// server has applied defaults, and reports problems as a field.ErrorList whose
// field paths, error types and details follow upstream Kubernetes, so that the
// API server can turn a non-empty list into the same 422 Invalid Status body a
// real cluster returns.
//
// Three entry points cover the verbs: ValidateCreate for POST, ValidateUpdate
// for PUT and PATCH of the main resource (it runs the create rules on the new
// object plus the immutability rules), and ValidateStatusUpdate for the status
// subresource. ValidateSubresourceUpdate covers the other writable
// subresources (CSR approval, namespace finalize, pod ephemeral containers).
//
// Kinds the package does not know are checked for their metadata only when the
// scope is evident (see metaRules); anything else passes.
package validation

import (
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateCreate returns the problems that make obj unacceptable for a create.
// obj must already carry its defaults and its generated name, if any.
func ValidateCreate(obj runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	// core/v1
	case *corev1.Pod:
		return validatePodCreate(o)
	case *corev1.PodTemplate:
		return validatePodTemplate(o)
	case *corev1.Service:
		return validateService(o)
	case *corev1.Endpoints:
		return validateEndpoints(o)
	case *corev1.ConfigMap:
		return validateConfigMap(o)
	case *corev1.Secret:
		return validateSecret(o)
	case *corev1.ServiceAccount:
		return validateServiceAccount(o)
	case *corev1.Namespace:
		return validateNamespace(o)
	case *corev1.Node:
		return validateNode(o)
	case *corev1.Event:
		return validateCoreEvent(o)
	case *corev1.LimitRange:
		return validateLimitRange(o)
	case *corev1.ResourceQuota:
		return validateResourceQuota(o)
	case *corev1.PersistentVolume:
		return validatePersistentVolume(o)
	case *corev1.PersistentVolumeClaim:
		return validatePersistentVolumeClaim(o)
	case *corev1.Binding:
		return validateBinding(o)

	// apps/v1
	case *appsv1.Deployment:
		return validateDeployment(o)
	case *appsv1.ReplicaSet:
		return validateReplicaSet(o)
	case *appsv1.StatefulSet:
		return validateStatefulSet(o)
	case *appsv1.DaemonSet:
		return validateDaemonSet(o)
	case *appsv1.ControllerRevision:
		return validateControllerRevision(o)

	// batch/v1
	case *batchv1.Job:
		return validateJob(o)
	case *batchv1.CronJob:
		return validateCronJobCreate(o)

	// autoscaling
	case *autoscalingv1.Scale:
		return validateScale(o)
	case *autoscalingv1.HorizontalPodAutoscaler:
		return validateHPAv1(o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		return validateHPAv2(o)

	// networking.k8s.io/v1
	case *networkingv1.Ingress:
		return validateIngressCreate(o)
	case *networkingv1.IngressClass:
		return validateIngressClass(o)
	case *networkingv1.NetworkPolicy:
		return validateNetworkPolicy(o)

	// policy/v1
	case *policyv1.PodDisruptionBudget:
		return validatePDB(o)
	case *policyv1.Eviction:
		return validateEviction(o)

	// rbac.authorization.k8s.io/v1
	case *rbacv1.Role:
		return validateRole(o)
	case *rbacv1.ClusterRole:
		return validateClusterRole(o)
	case *rbacv1.RoleBinding:
		return validateRoleBinding(o)
	case *rbacv1.ClusterRoleBinding:
		return validateClusterRoleBinding(o)

	// others
	case *certificatesv1.CertificateSigningRequest:
		return validateCSR(o, csrOptionsFor(o, nil))
	case *coordinationv1.Lease:
		return validateLease(o)
	case *discoveryv1.EndpointSlice:
		return validateEndpointSlice(o, false)
	case *eventsv1.Event:
		return validateEventsV1Event(o)
	case *storagev1.StorageClass:
		return validateStorageClass(o)
	case *authorizationv1.SelfSubjectAccessReview:
		return validateSelfSubjectAccessReview(o)
	case *authorizationv1.SelfSubjectRulesReview:
		return validateSelfSubjectRulesReview(o)
	case *authenticationv1.TokenRequest:
		return validateTokenRequest(o)
	}
	return validateGenericMeta(obj)
}

// ValidateUpdate returns the problems that make obj unacceptable as the new
// state of old: the create rules applied to obj, plus metadata immutability
// and each kind's rules about which spec fields may change.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return appendMissing(validateUpdate(obj, old), validateCommonMeta(obj))
}

// validateCommonMeta holds the metadata rules upstream's generic registry
// applies to every update whatever the kind (labels, annotations, owner
// references, finalizers), with the loosest name rule.
func validateCommonMeta(obj runtime.Object) field.ErrorList {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return apimachineryvalidation.ValidateObjectMetaAccessor(acc, acc.GetNamespace() != "", nameIsPathSegment, metadataPath)
}

// appendMissing adds the errors of extra that errs does not have yet.
func appendMissing(errs, extra field.ErrorList) field.ErrorList {
	for _, e := range extra {
		found := false
		for _, have := range errs {
			if have.Type == e.Type && have.Field == e.Field && have.Detail == e.Detail {
				found = true
				break
			}
		}
		if !found {
			errs = append(errs, e)
		}
	}
	return errs
}

func validateUpdate(obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok {
			return validatePodUpdate(o, p)
		}
	case *corev1.PodTemplate:
		if p, ok := old.(*corev1.PodTemplate); ok {
			return append(validateMetaUpdate(o, p, true), validatePodTemplate(o)...)
		}
	case *corev1.Service:
		if p, ok := old.(*corev1.Service); ok {
			return validateServiceUpdate(o, p)
		}
	case *corev1.Endpoints:
		if p, ok := old.(*corev1.Endpoints); ok {
			return append(validateMetaUpdate(o, p, true), validateEndpoints(o)...)
		}
	case *corev1.ConfigMap:
		if p, ok := old.(*corev1.ConfigMap); ok {
			return validateConfigMapUpdate(o, p)
		}
	case *corev1.Secret:
		if p, ok := old.(*corev1.Secret); ok {
			return validateSecretUpdate(o, p)
		}
	case *corev1.ServiceAccount:
		if p, ok := old.(*corev1.ServiceAccount); ok {
			return append(validateMetaUpdate(o, p, true), validateServiceAccount(o)...)
		}
	case *corev1.Namespace:
		if p, ok := old.(*corev1.Namespace); ok {
			return validateNamespaceUpdate(o, p)
		}
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok {
			return validateNodeUpdate(o, p)
		}
	case *corev1.Event:
		if p, ok := old.(*corev1.Event); ok {
			return validateCoreEventUpdate(o, p)
		}
	case *corev1.LimitRange:
		if p, ok := old.(*corev1.LimitRange); ok {
			return append(validateMetaUpdate(o, p, true), validateLimitRange(o)...)
		}
	case *corev1.ResourceQuota:
		if p, ok := old.(*corev1.ResourceQuota); ok {
			return validateResourceQuotaUpdate(o, p)
		}
	case *corev1.PersistentVolume:
		if p, ok := old.(*corev1.PersistentVolume); ok {
			return validatePersistentVolumeUpdate(o, p)
		}
	case *corev1.PersistentVolumeClaim:
		if p, ok := old.(*corev1.PersistentVolumeClaim); ok {
			return validatePersistentVolumeClaimUpdate(o, p)
		}
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok {
			return validateDeploymentUpdate(o, p)
		}
	case *appsv1.ReplicaSet:
		if p, ok := old.(*appsv1.ReplicaSet); ok {
			return validateReplicaSetUpdate(o, p)
		}
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok {
			return validateStatefulSetUpdate(o, p)
		}
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok {
			return validateDaemonSetUpdate(o, p)
		}
	case *appsv1.ControllerRevision:
		if p, ok := old.(*appsv1.ControllerRevision); ok {
			return validateControllerRevisionUpdate(o, p)
		}
	case *batchv1.Job:
		if p, ok := old.(*batchv1.Job); ok {
			return validateJobUpdate(o, p)
		}
	case *batchv1.CronJob:
		if p, ok := old.(*batchv1.CronJob); ok {
			return validateCronJobUpdate(o, p)
		}
	case *autoscalingv1.Scale:
		return validateScale(o)
	case *autoscalingv1.HorizontalPodAutoscaler:
		if p, ok := old.(*autoscalingv1.HorizontalPodAutoscaler); ok {
			return append(validateMetaUpdate(o, p, false), validateHPAv1Spec(o)...)
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if p, ok := old.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			return append(validateMetaUpdate(o, p, false), validateHPAv2Spec(&o.Spec, field.NewPath("spec"))...)
		}
	case *networkingv1.Ingress:
		if p, ok := old.(*networkingv1.Ingress); ok {
			return validateIngressUpdate(o, p)
		}
	case *networkingv1.IngressClass:
		if p, ok := old.(*networkingv1.IngressClass); ok {
			return validateIngressClassUpdate(o, p)
		}
	case *networkingv1.NetworkPolicy:
		if p, ok := old.(*networkingv1.NetworkPolicy); ok {
			return validateNetworkPolicyUpdate(o, p)
		}
	case *policyv1.PodDisruptionBudget:
		if p, ok := old.(*policyv1.PodDisruptionBudget); ok {
			return append(validateMetaUpdate(o, p, true), validatePDBSpec(&o.Spec, field.NewPath("spec"))...)
		}
	case *rbacv1.Role:
		if p, ok := old.(*rbacv1.Role); ok {
			return append(validateRole(o), validateMetaUpdate(o, p, false)...)
		}
	case *rbacv1.ClusterRole:
		if p, ok := old.(*rbacv1.ClusterRole); ok {
			return append(validateClusterRole(o), validateMetaUpdate(o, p, false)...)
		}
	case *rbacv1.RoleBinding:
		if p, ok := old.(*rbacv1.RoleBinding); ok {
			return validateRoleBindingUpdate(o, p)
		}
	case *rbacv1.ClusterRoleBinding:
		if p, ok := old.(*rbacv1.ClusterRoleBinding); ok {
			return validateClusterRoleBindingUpdate(o, p)
		}
	case *certificatesv1.CertificateSigningRequest:
		if p, ok := old.(*certificatesv1.CertificateSigningRequest); ok {
			return validateCSRUpdate(o, p, csrOptionsFor(o, p))
		}
	case *coordinationv1.Lease:
		if p, ok := old.(*coordinationv1.Lease); ok {
			return append(validateMetaUpdate(o, p, false), validateLeaseSpec(&o.Spec, field.NewPath("spec"))...)
		}
	case *discoveryv1.EndpointSlice:
		if p, ok := old.(*discoveryv1.EndpointSlice); ok {
			return validateEndpointSliceUpdate(o, p)
		}
	case *eventsv1.Event:
		if p, ok := old.(*eventsv1.Event); ok {
			return validateEventsV1EventUpdate(o, p)
		}
	case *storagev1.StorageClass:
		if p, ok := old.(*storagev1.StorageClass); ok {
			return validateStorageClassUpdate(o, p)
		}
	default:
		return append(validateGenericMetaUpdate(obj, old), validateGenericMeta(obj)...)
	}
	// The old object is of another type than the new one: the caller mixed
	// up its arguments. Validate what we can.
	return ValidateCreate(obj)
}

// ValidateStatusUpdate returns the problems of an update through the status
// subresource. obj is the new object as the server will store it (spec and
// metadata other than labels/annotations already reset to old's, as upstream's
// status strategies do), old the stored one.
func ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return ValidateSubresourceUpdate("status", obj, old)
}

// ValidateSubresourceUpdate validates an update through a subresource other
// than the main resource: "status" for every kind, "approval" for
// CertificateSigningRequests, "finalize" for Namespaces and
// "ephemeralcontainers" for Pods. Unknown subresources get the metadata
// update rules only.
func ValidateSubresourceUpdate(subresource string, obj, old runtime.Object) field.ErrorList {
	switch subresource {
	case "approval":
		if n, ok := obj.(*certificatesv1.CertificateSigningRequest); ok {
			if o, ok := old.(*certificatesv1.CertificateSigningRequest); ok {
				opts := csrOptionsFor(n, o)
				opts.allowSettingApprovalConditions = true
				return validateCSRUpdate(n, o, opts)
			}
		}
	case "finalize":
		if n, ok := obj.(*corev1.Namespace); ok {
			if o, ok := old.(*corev1.Namespace); ok {
				return validateNamespaceFinalizeUpdate(n, o)
			}
		}
	case "ephemeralcontainers":
		if n, ok := obj.(*corev1.Pod); ok {
			if o, ok := old.(*corev1.Pod); ok {
				return validatePodEphemeralContainersUpdate(n, o)
			}
		}
	case "status":
		if errs, ok := validateStatusUpdate(obj, old); ok {
			return errs
		}
	}
	return validateGenericMetaUpdate(obj, old)
}

// validateStatusUpdate dispatches the status rules; ok is false when the kind
// has no rules beyond metadata.
func validateStatusUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *corev1.Pod:
		if p, ok := old.(*corev1.Pod); ok {
			return validatePodStatusUpdate(o, p), true
		}
	case *corev1.Service:
		if p, ok := old.(*corev1.Service); ok {
			return validateServiceStatusUpdate(o, p), true
		}
	case *corev1.Node:
		if p, ok := old.(*corev1.Node); ok {
			return validateNodeUpdate(o, p), true
		}
	case *corev1.Namespace:
		if p, ok := old.(*corev1.Namespace); ok {
			return validateNamespaceStatusUpdate(o, p), true
		}
	case *corev1.ResourceQuota:
		if p, ok := old.(*corev1.ResourceQuota); ok {
			return validateResourceQuotaStatusUpdate(o, p), true
		}
	case *corev1.PersistentVolumeClaim:
		if p, ok := old.(*corev1.PersistentVolumeClaim); ok {
			return validatePersistentVolumeClaimStatusUpdate(o, p), true
		}
	case *appsv1.Deployment:
		if p, ok := old.(*appsv1.Deployment); ok {
			return validateDeploymentStatusUpdate(o, p), true
		}
	case *appsv1.ReplicaSet:
		if p, ok := old.(*appsv1.ReplicaSet); ok {
			return validateReplicaSetStatusUpdate(o, p), true
		}
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok {
			return validateStatefulSetStatusUpdate(o, p), true
		}
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok {
			return validateDaemonSetStatusUpdate(o, p), true
		}
	case *batchv1.Job:
		if p, ok := old.(*batchv1.Job); ok {
			return validateJobStatusUpdate(o, p), true
		}
	case *autoscalingv1.HorizontalPodAutoscaler:
		if p, ok := old.(*autoscalingv1.HorizontalPodAutoscaler); ok {
			return validateHPAv1StatusUpdate(o, p), true
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if p, ok := old.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			return validateHPAv2StatusUpdate(o, p), true
		}
	case *networkingv1.Ingress:
		if p, ok := old.(*networkingv1.Ingress); ok {
			return validateIngressStatusUpdate(o, p), true
		}
	case *policyv1.PodDisruptionBudget:
		if p, ok := old.(*policyv1.PodDisruptionBudget); ok {
			return validatePDBStatusUpdate(o, p), true
		}
	case *certificatesv1.CertificateSigningRequest:
		if p, ok := old.(*certificatesv1.CertificateSigningRequest); ok {
			// The server routes both status and approval writes here, and its
			// own preparation keeps approval conditions out of status writes
			// and the certificate out of approvals, so both are open.
			opts := csrOptionsFor(o, p)
			opts.allowSettingCertificate = true
			opts.allowSettingApprovalConditions = true
			return validateCSRUpdate(o, p, opts), true
		}
	}
	return nil, false
}
