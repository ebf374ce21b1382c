package controllerutil

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// IsPodReady reports whether pod's Ready condition is True.
func IsPodReady(pod *corev1.Pod) bool {
	c := PodCondition(pod.Status.Conditions, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsPodAvailable reports whether pod has been Ready for at least
// minReadySeconds at now.
func IsPodAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := PodCondition(pod.Status.Conditions, corev1.PodReady)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	return !c.LastTransitionTime.IsZero() && !c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).After(now)
}

// IsPodActive reports whether pod counts toward a controller's replicas:
// not finished and not being deleted.
func IsPodActive(pod *corev1.Pod) bool {
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed && pod.DeletionTimestamp == nil
}

// IsPodTerminating reports whether pod is being deleted but has not finished.
func IsPodTerminating(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// PodCondition returns the condition of type t, or nil.
func PodCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// FilterActivePods returns the active pods of pods.
func FilterActivePods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// PodKey is the "namespace/name" key of a pod.
func PodKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// PodControl creates and deletes pods on behalf of a controller, recording
// the upstream events (SuccessfulCreate, FailedCreate, SuccessfulDelete,
// FailedDelete) on the owner.
type PodControl struct {
	Client   kubernetes.Interface
	Recorder record.EventRecorder
}

// PodFromTemplate builds the pod a controller creates from template: the
// template's labels, annotations, finalizers and spec, name generated from
// generateName (or set by name), and a controller reference to owner.
func PodFromTemplate(template *corev1.PodTemplateSpec, owner metav1.Object, ownerKind schema.GroupVersionKind) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:    owner.GetNamespace(),
			GenerateName: owner.GetName() + "-",
			Labels:       copyMap(template.Labels),
			Annotations:  copyMap(template.Annotations),
			Finalizers:   append([]string(nil), template.Finalizers...),
		},
		Spec: *template.Spec.DeepCopy(),
	}
	if owner.GetUID() != "" {
		pod.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, ownerKind)}
	}
	return pod
}

// CreatePod creates pod (built with PodFromTemplate and adjusted by the
// caller) and records an event on ownerObj.
func (c *PodControl) CreatePod(ctx context.Context, pod *corev1.Pod, ownerObj metav1.Object) (*corev1.Pod, error) {
	created, err := c.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	_, isObj := ownerObj.(runtimeObject)
	if err != nil {
		// A namespace being deleted refuses creates: not worth an event.
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) && isObj {
			c.event(ownerObj, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		}
		return nil, err
	}
	c.event(ownerObj, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", created.Name)
	return created, nil
}

// DeletePod deletes pod ns/name and records an event on ownerObj. A pod
// already gone is not an error.
func (c *PodControl) DeletePod(ctx context.Context, ns, name string, ownerObj metav1.Object) error {
	err := c.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		c.event(ownerObj, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("deleting pod %s/%s: %w", ns, name, err)
	}
	c.event(ownerObj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", name)
	return nil
}

func (c *PodControl) event(obj metav1.Object, eventType, reason, format string, args ...any) {
	if c.Recorder == nil {
		return
	}
	if ro, ok := obj.(runtimeObject); ok {
		c.Recorder.Eventf(ro, eventType, reason, format, args...)
	}
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// SlowStartBatch calls fn count times, first initial at once, then in
// batches doubling in size while every call succeeds (upstream's guard
// against a controller flooding the server with creates that all fail,
// e.g. on quota). It returns the number of successful calls and the first
// error; calls after a failing batch are not made.
func SlowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errs := make(chan error, batch)
		var wg sync.WaitGroup
		for range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		failed := len(errs)
		successes += batch - failed
		if failed > 0 {
			return successes, <-errs
		}
		remaining -= batch
	}
	return successes, nil
}
