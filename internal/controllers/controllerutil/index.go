package controllerutil

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// ControllerIndex names the informer index that files every object under
// its controller's UID, and every object without a controller under
// OrphanIndexKey(namespace). A controller then reads the dependents it
// owns plus the orphans it may adopt without walking all objects.
const ControllerIndex = "controllerutil.controller"

// OrphanIndexKey is the ControllerIndex key of the uncontrolled objects of a namespace.
func OrphanIndexKey(namespace string) string { return "orphan/" + namespace }

func controllerIndexFunc(obj any) ([]string, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("indexing %T: not an object", obj)
	}
	if ref := metav1.GetControllerOfNoCopy(o); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return []string{OrphanIndexKey(o.GetNamespace())}, nil
}

// AddControllerIndex adds ControllerIndex to inf unless it is there already,
// so every controller sharing an informer may call it.
func AddControllerIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[ControllerIndex]; ok {
		return nil
	}
	return inf.AddIndexers(cache.Indexers{ControllerIndex: controllerIndexFunc})
}

// ControlledOrOrphans returns the objects of indexer (which must carry
// ControllerIndex) controlled by uid, followed by the orphans of namespace:
// the candidates a Claimer looks at.
func ControlledOrOrphans[T any](indexer cache.Indexer, uid types.UID, namespace string) ([]T, error) {
	var out []T
	for _, key := range []string{string(uid), OrphanIndexKey(namespace)} {
		objs, err := indexer.ByIndex(ControllerIndex, key)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if t, ok := o.(T); ok {
				out = append(out, t)
			}
		}
	}
	return out, nil
}
