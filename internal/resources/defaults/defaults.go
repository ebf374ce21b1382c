// Package defaults fills in the fields kube-apiserver defaults on every object
// it decodes, before admission and validation: the versioned defaulting
// functions upstream registers per group version (SetObjectDefaults_* in
// k8s.io/kubernetes/pkg/apis/<group>/<version>), both the hand-written
// SetDefaults_* and the declarative "+default=" markers of k8s.io/api.
//
// Default works on the typed k8s.io/api objects of every resource Sampan
// serves. It is idempotent: defaulting a defaulted object changes nothing.
//
// What upstream does elsewhere is deliberately not here, because it needs
// state or happens at another stage of the request:
//
//   - the registry strategies (PrepareForCreate/Update): pod status.phase
//     Pending and qosClass, namespace status.phase reset to Active on create,
//     Job selector and controller-uid labels, DaemonSet templateGeneration,
//     generation bumps, dropping disabled fields;
//   - the Service REST allocator: clusterIP(s), ipFamilyPolicy (SingleStack),
//     ipFamilies, nodePorts, healthCheckNodePort;
//   - admission plugins: ServiceAccount (serviceAccountName "default" and the
//     kube-api-access projected volume), Priority (spec.priority 0 and
//     preemptionPolicy PreemptLowerPriority), DefaultTolerationSeconds
//     (not-ready/unreachable tolerations of 300s), DefaultStorageClass;
//   - alpha features that are off by default in v1.37 (PodLogOptions stream).
package defaults

import (
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// Default applies upstream's API-server defaulting to obj in place. Objects of
// kinds that upstream does not default (Role, Lease, Event, PodDisruptionBudget,
// Ingress, CertificateSigningRequest, ControllerRevision, reviews, …) and
// unknown types are left unchanged. List types are not handled.
func Default(obj runtime.Object) {
	switch o := obj.(type) {
	// core/v1
	case *corev1.Pod:
		defaultPod(o)
	case *corev1.PodTemplate:
		defaultPodTemplateSpec(&o.Template)
	case *corev1.Service:
		defaultService(o)
	case *corev1.Namespace:
		defaultNamespace(o)
	case *corev1.Node:
		defaultNode(o)
	case *corev1.PersistentVolume:
		defaultPersistentVolume(o)
	case *corev1.PersistentVolumeClaim:
		defaultPersistentVolumeClaim(o)
	case *corev1.Secret:
		if o.Type == "" {
			o.Type = corev1.SecretTypeOpaque
		}
	case *corev1.ConfigMap:
		if o.Data == nil {
			o.Data = map[string]string{}
		}
	case *corev1.Endpoints:
		defaultEndpoints(o)
	case *corev1.LimitRange:
		defaultLimitRange(o)
	case *corev1.ResourceQuota:
		roundResourceList(o.Spec.Hard)
		roundResourceList(o.Status.Hard)
		roundResourceList(o.Status.Used)

	// apps/v1
	case *appsv1.Deployment:
		defaultDeployment(o)
	case *appsv1.ReplicaSet:
		defaultReplicaSet(o)
	case *appsv1.StatefulSet:
		defaultStatefulSet(o)
	case *appsv1.DaemonSet:
		defaultDaemonSet(o)

	// batch/v1
	case *batchv1.Job:
		defaultJob(o)
	case *batchv1.CronJob:
		defaultCronJob(o)

	// autoscaling
	case *autoscalingv1.HorizontalPodAutoscaler:
		defaultHPAv1(o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		defaultHPAv2(o)

	// authentication.k8s.io/v1 (serviceaccounts/token)
	case *authenticationv1.TokenRequest:
		if o.Spec.ExpirationSeconds == nil {
			o.Spec.ExpirationSeconds = ptr.To[int64](3600)
		}

	// discovery.k8s.io/v1
	case *discoveryv1.EndpointSlice:
		defaultEndpointSlice(o)

	// networking.k8s.io/v1
	case *networkingv1.NetworkPolicy:
		defaultNetworkPolicy(o)
	case *networkingv1.IngressClass:
		if p := o.Spec.Parameters; p != nil && p.Scope == nil {
			p.Scope = ptr.To(networkingv1.IngressClassParametersReferenceScopeCluster)
		}

	// rbac.authorization.k8s.io/v1
	case *rbacv1.RoleBinding:
		defaultRoleRef(&o.RoleRef)
		defaultSubjects(o.Subjects)
	case *rbacv1.ClusterRoleBinding:
		defaultRoleRef(&o.RoleRef)
		defaultSubjects(o.Subjects)

	// storage.k8s.io/v1
	case *storagev1.StorageClass:
		if o.ReclaimPolicy == nil {
			o.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimDelete)
		}
		if o.VolumeBindingMode == nil {
			o.VolumeBindingMode = ptr.To(storagev1.VolumeBindingImmediate)
		}
	}
}
