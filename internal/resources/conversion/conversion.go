// Package conversion converts objects between the served versions of a
// resource and the version it is stored in, where those differ:
// autoscaling/v1 and autoscaling/v2 HorizontalPodAutoscalers (v2 stored), and
// events.k8s.io/v1 and core/v1 Events (core stored). It also maps the
// workload controllers to and from their scale subresource.
//
// The conversions follow upstream's (k8s.io/kubernetes pkg/apis/autoscaling/v1
// and pkg/apis/events/v1), including the annotations through which an
// autoscaling/v1 client round-trips what v1 cannot express.
package conversion

import (
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// Convert returns obj in the version and kind to. The input is not modified,
// except in the identity case (to is obj's own kind), where obj itself is
// returned with its apiVersion and kind set. The result always has
// apiVersion and kind set. Pairs other than HPA v1↔v2 and core Event ↔
// events.k8s.io Event are an error.
func Convert(obj runtime.Object, to schema.GroupVersionKind) (runtime.Object, error) {
	if obj == nil {
		return nil, fmt.Errorf("converting nil object to %s", to)
	}
	from, err := kindOf(obj)
	if err != nil {
		return nil, err
	}
	hpaV1GVK := autoscalingv1.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")
	hpaV2GVK := autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")
	coreEventGVK := corev1.SchemeGroupVersion.WithKind("Event")
	eventsV1GVK := eventsv1.SchemeGroupVersion.WithKind("Event")

	var out runtime.Object
	switch {
	case from == to:
		out = obj
	case from == hpaV2GVK && to == hpaV1GVK:
		out, err = hpaV2ToV1(obj.(*autoscalingv2.HorizontalPodAutoscaler))
	case from == hpaV1GVK && to == hpaV2GVK:
		out, err = hpaV1ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler))
	case from == coreEventGVK && to == eventsV1GVK:
		out = coreEventToEventsV1(obj.(*corev1.Event))
	case from == eventsV1GVK && to == coreEventGVK:
		out = eventsV1ToCoreEvent(obj.(*eventsv1.Event))
	default:
		return nil, fmt.Errorf("converting %s to %s: no conversion between these kinds", from, to)
	}
	if err != nil {
		return nil, fmt.Errorf("converting %s to %s: %w", from, to, err)
	}
	out.GetObjectKind().SetGroupVersionKind(to)
	return out, nil
}

// kindOf finds the group/version/kind of a typed object from its Go type.
// A type registered under several versions (none of the served kinds is)
// is identified by its apiVersion/kind when that names one of them.
func kindOf(obj runtime.Object) (schema.GroupVersionKind, error) {
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("finding the kind of %T: %w", obj, err)
	}
	if len(gvks) > 1 {
		set := obj.GetObjectKind().GroupVersionKind()
		for _, g := range gvks {
			if g == set {
				return g, nil
			}
		}
	}
	return gvks[0], nil
}
