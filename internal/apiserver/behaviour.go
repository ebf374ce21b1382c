package apiserver

import (
	"fmt"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Behaviour is the per-kind logic the server applies to objects: upstream's
// defaulting, validation, version conversion, scale and table printing. The
// API server is generic over it; internal/resources/* provide it.
type Behaviour struct {
	Default              func(obj runtime.Object)
	ValidateCreate       func(obj runtime.Object) field.ErrorList
	ValidateUpdate       func(obj, old runtime.Object) field.ErrorList
	ValidateStatusUpdate func(obj, old runtime.Object) field.ErrorList
	// Convert converts between served and storage versions of one kind.
	Convert func(obj runtime.Object, to schema.GroupVersionKind) (runtime.Object, error)
	// ToScale and ApplyScale implement the scale subresource.
	ToScale    func(obj runtime.Object) (*autoscalingv1.Scale, error)
	ApplyScale func(obj runtime.Object, scale *autoscalingv1.Scale) error
	// Printer returns the table columns and row function for a kind.
	Printer func(gk schema.GroupKind) (columns []metav1.TableColumnDefinition, row func(obj runtime.Object, now time.Time) ([]interface{}, error), ok bool)
}

func (b *Behaviour) fill() {
	if b.Default == nil {
		b.Default = func(runtime.Object) {}
	}
	noErrs := func(runtime.Object) field.ErrorList { return nil }
	noErrs2 := func(runtime.Object, runtime.Object) field.ErrorList { return nil }
	if b.ValidateCreate == nil {
		b.ValidateCreate = noErrs
	}
	if b.ValidateUpdate == nil {
		b.ValidateUpdate = noErrs2
	}
	if b.ValidateStatusUpdate == nil {
		b.ValidateStatusUpdate = noErrs2
	}
	if b.Convert == nil {
		b.Convert = func(obj runtime.Object, to schema.GroupVersionKind) (runtime.Object, error) {
			if obj.GetObjectKind().GroupVersionKind() == to {
				return obj, nil
			}
			return nil, fmt.Errorf("no conversion to %s", to)
		}
	}
	if b.ToScale == nil {
		b.ToScale = func(runtime.Object) (*autoscalingv1.Scale, error) { return nil, fmt.Errorf("scale not supported") }
	}
	if b.ApplyScale == nil {
		b.ApplyScale = func(runtime.Object, *autoscalingv1.Scale) error { return fmt.Errorf("scale not supported") }
	}
	if b.Printer == nil {
		b.Printer = func(schema.GroupKind) ([]metav1.TableColumnDefinition, func(runtime.Object, time.Time) ([]interface{}, error), bool) {
			return nil, nil, false
		}
	}
}
