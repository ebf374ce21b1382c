package conversion

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// scaled is what the scale subresource reads from and writes to a workload.
type scaled struct {
	meta           *metav1.ObjectMeta
	specReplicas   **int32
	statusReplicas int32
	selector       *metav1.LabelSelector
}

func scaledOf(obj runtime.Object) (scaled, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return scaled{&o.ObjectMeta, &o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector}, nil
	case *appsv1.ReplicaSet:
		return scaled{&o.ObjectMeta, &o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector}, nil
	case *appsv1.StatefulSet:
		return scaled{&o.ObjectMeta, &o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector}, nil
	default:
		return scaled{}, fmt.Errorf("%T has no scale subresource", obj)
	}
}

// ToScale returns the autoscaling/v1 Scale of a Deployment, ReplicaSet or
// StatefulSet: its name, namespace, uid, resourceVersion and creation time,
// the desired replicas, and the observed replicas with the label selector in
// its string form (what kubectl and the HPA read). An unset spec.replicas is
// reported as the default, 1.
func ToScale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	s, err := scaledOf(obj)
	if err != nil {
		return nil, err
	}
	selector, err := metav1.LabelSelectorAsSelector(s.selector)
	if err != nil {
		return nil, fmt.Errorf("converting the selector of %s: %w", s.meta.Name, err)
	}
	replicas := int32(1)
	if *s.specReplicas != nil {
		replicas = **s.specReplicas
	}
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: autoscalingv1.SchemeGroupVersion.String(), Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              s.meta.Name,
			Namespace:         s.meta.Namespace,
			UID:               s.meta.UID,
			ResourceVersion:   s.meta.ResourceVersion,
			CreationTimestamp: s.meta.CreationTimestamp,
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: replicas},
		Status: autoscalingv1.ScaleStatus{Replicas: s.statusReplicas, Selector: selector.String()},
	}, nil
}

// ApplyScale writes a Scale into its workload: spec.replicas, and, as
// upstream, the Scale's resourceVersion, so the update of the workload is
// conditional on it exactly when the client's Scale carried one. A negative
// replica count is an Invalid error naming the Scale, as upstream's
// validation reports it.
func ApplyScale(obj runtime.Object, scale *autoscalingv1.Scale) error {
	if scale == nil {
		return fmt.Errorf("applying a nil scale")
	}
	s, err := scaledOf(obj)
	if err != nil {
		return err
	}
	if scale.Spec.Replicas < 0 {
		return apierrors.NewInvalid(autoscalingv1.SchemeGroupVersion.WithKind("Scale").GroupKind(), scale.Name, field.ErrorList{
			field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0"),
		})
	}
	r := scale.Spec.Replicas
	*s.specReplicas = &r
	s.meta.ResourceVersion = scale.ResourceVersion
	return nil
}
