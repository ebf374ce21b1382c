package validation

import (
	"math/rand"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/randfill"
)

// TestRandomObjectsDoNotPanic: validation sees whatever a client sends, so
// no combination of set and unset fields may crash it.
func TestRandomObjectsDoNotPanic(t *testing.T) {
	kinds := []func() runtime.Object{
		func() runtime.Object { return &corev1.Pod{} },
		func() runtime.Object { return &corev1.Service{} },
		func() runtime.Object { return &corev1.Node{} },
		func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
		func() runtime.Object { return &corev1.PersistentVolume{} },
		func() runtime.Object { return &corev1.Secret{} },
		func() runtime.Object { return &corev1.LimitRange{} },
		func() runtime.Object { return &corev1.ResourceQuota{} },
		func() runtime.Object { return &corev1.Event{} },
		func() runtime.Object { return &appsv1.Deployment{} },
		func() runtime.Object { return &appsv1.StatefulSet{} },
		func() runtime.Object { return &appsv1.DaemonSet{} },
		func() runtime.Object { return &batchv1.Job{} },
		func() runtime.Object { return &batchv1.CronJob{} },
		func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
		func() runtime.Object { return &networkingv1.Ingress{} },
		func() runtime.Object { return &networkingv1.NetworkPolicy{} },
		func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
		func() runtime.Object { return &rbacv1.ClusterRole{} },
		func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} },
		func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		func() runtime.Object { return &storagev1.StorageClass{} },
	}
	quantity := func(q *resource.Quantity, c randfill.Continue) {
		*q = *resource.NewQuantity(c.Int63n(2000)-1000, resource.DecimalSI)
	}
	raw := func(r *runtime.RawExtension, c randfill.Continue) {
		r.Raw = []byte(`{}`)
	}
	fill := randfill.NewWithSeed(1).NilChance(0.3).NumElements(0, 3).MaxDepth(12).Funcs(quantity, raw).RandSource(rand.NewSource(7))
	for i := 0; i < 30; i++ {
		for _, newObj := range kinds {
			obj, old := newObj(), newObj()
			fill.Fill(obj)
			fill.Fill(old)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%T: panic: %v", obj, r)
					}
				}()
				ValidateCreate(obj)
				ValidateUpdate(obj, old)
				ValidateStatusUpdate(obj, old)
			}()
		}
	}
}
