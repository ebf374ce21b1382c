package replicaset

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// podsIndexed returns the pods filed under key in indexer's
// controllerutil.ControllerIndex: a controller's UID, or
// controllerutil.OrphanIndexKey(namespace). A ReplicaSet of 30,000 pods
// then finds its pods without scanning every pod in the cache.
func podsIndexed(indexer cache.Indexer, key string) []*corev1.Pod {
	objs, err := indexer.ByIndex(controllerutil.ControllerIndex, key)
	if err != nil {
		return nil
	}
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}
