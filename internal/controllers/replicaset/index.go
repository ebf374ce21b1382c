package replicaset

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// PodControllerIndex names the pod informer index by controller: a pod
// with a controller reference is filed under the controller's UID, an
// orphan under OrphanIndexKey(namespace). A ReplicaSet of 30,000 pods then
// finds its pods without scanning every pod in the cache.
const PodControllerIndex = "sampan.dev/pod-controller-uid"

// OrphanIndexKey is the PodControllerIndex key of the orphan pods of namespace.
func OrphanIndexKey(namespace string) string { return "orphan/" + namespace }

func podControllerIndexFunc(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return []string{OrphanIndexKey(pod.Namespace)}, nil
}

// AddPodControllerIndex adds PodControllerIndex to a pod informer unless it
// already has it (several controllers share one informer).
func AddPodControllerIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[PodControllerIndex]; ok {
		return nil
	}
	if err := inf.AddIndexers(cache.Indexers{PodControllerIndex: podControllerIndexFunc}); err != nil {
		return fmt.Errorf("adding pod index by controller: %w", err)
	}
	return nil
}

// PodsControlledBy returns the pods in indexer (a pod informer's, with
// PodControllerIndex) whose controller has uid.
func PodsControlledBy(indexer cache.Indexer, uid string) []*corev1.Pod {
	objs, err := indexer.ByIndex(PodControllerIndex, uid)
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
