package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/scheme"
)

const listPhaseLabel = "list"

// listPhase creates b.opts.ListSize pods at the highest concurrency, then
// times b.opts.ListRepeats full LISTs of them one after the other and
// deletes them. A LIST is timed from sending the request to having read the
// whole body; decoding is left out, so the figure is the server's and the
// wire's, not the client's JSON decoder's.
func (b *apiBench) listPhase(ctx context.Context) error {
	n := b.opts.ListSize
	c := b.opts.maxConcurrency()
	pods := b.client.CoreV1().Pods(b.ns)
	st, peak := b.timed(ctx, c, n, 0, func(ctx context.Context, i int) error {
		_, err := pods.Create(ctx, b.newPod(fmt.Sprintf("list-%06d", i), listPhaseLabel, i), metav1.CreateOptions{})
		return err
	})
	b.addPhase(st, peak, "list", "create", "Pod", c)
	created := st.ops
	if err := ctx.Err(); err != nil {
		return err
	}

	var items int
	var size int64
	st, peak = b.timed(ctx, 1, b.opts.ListRepeats, 0, func(ctx context.Context, _ int) error {
		body, err := b.client.CoreV1().RESTClient().Get().
			Namespace(b.ns).Resource("pods").
			VersionedParams(&metav1.ListOptions{LabelSelector: b.selector(listPhaseLabel)}, scheme.ParameterCodec).
			Timeout(opTimeout).
			DoRaw(ctx)
		if err != nil {
			return err
		}
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return fmt.Errorf("decoding pod list: %w", err)
		}
		if len(list.Items) != created {
			return fmt.Errorf("listing pods: got %d items, want %d", len(list.Items), created)
		}
		items, size = len(list.Items), int64(len(body))
		return nil
	})
	r := st.result("list", "list", "Pod", 1)
	r.PeakInFlight, r.Items, r.Bytes = peak, items, size
	b.add(r)

	return b.deletePods(ctx, b.selector(listPhaseLabel))
}

// collectionClient is the part of a typed client that deletes a collection.
type collectionClient[L runtime.Object] interface {
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	DeleteCollection(ctx context.Context, opts metav1.DeleteOptions, listOpts metav1.ListOptions) error
}

// deleteAll deletes the objects sel selects, in one DELETE of the
// collection, or one by one where the server refuses that.
func deleteAll[L runtime.Object](ctx context.Context, client collectionClient[L], opts metav1.DeleteOptions, sel string, c int) error {
	errColl := client.DeleteCollection(ctx, opts, metav1.ListOptions{LabelSelector: sel})
	if errColl == nil {
		return nil
	}
	list, err := client.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("listing objects to delete: %w", errors.Join(errColl, err))
	}
	objs, err := meta.ExtractList(list)
	if err != nil {
		return fmt.Errorf("listing objects to delete: %w", err)
	}
	st := runPhase(ctx, c, len(objs), 0, func(ctx context.Context, i int) error {
		acc, err := meta.Accessor(objs[i])
		if err != nil {
			return err
		}
		err = client.Delete(ctx, acc.GetName(), opts)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if st.firstErr != nil {
		return fmt.Errorf("deleting objects: %d failed, first: %w", st.errors, st.firstErr)
	}
	return nil
}

// deletePods deletes the pods sel selects with a zero grace period, which
// removes them at once even on a cluster with no node agents.
func (b *apiBench) deletePods(ctx context.Context, sel string) error {
	zero := int64(0)
	if err := deleteAll(ctx, b.client.CoreV1().Pods(b.ns), metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel, b.opts.maxConcurrency()); err != nil {
		return fmt.Errorf("deleting pods: %w", err)
	}
	return nil
}

func (b *apiBench) deleteConfigMaps(ctx context.Context, sel string) error {
	if err := deleteAll(ctx, b.client.CoreV1().ConfigMaps(b.ns), metav1.DeleteOptions{}, sel, b.opts.maxConcurrency()); err != nil {
		return fmt.Errorf("deleting configmaps: %w", err)
	}
	return nil
}

// cleanup deletes the run's objects and, if the run owns it, the
// namespace, then waits for the namespace to go. A namespace left
// Terminating (a cluster without a namespace controller) is noted, not an
// error: the run's own objects are gone by then.
func (b *apiBench) cleanup(ctx context.Context, ownNamespace bool) error {
	sel := b.selector("")
	errPods := b.deletePods(ctx, sel)
	errCMs := b.deleteConfigMaps(ctx, sel)
	if errPods != nil || errCMs != nil {
		return fmt.Errorf("cleaning up namespace %s: %w", b.ns, errors.Join(errPods, errCMs))
	}
	if !ownNamespace {
		return nil
	}
	nss := b.client.CoreV1().Namespaces()
	if err := nss.Delete(ctx, b.ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", b.ns, err)
	}
	var phase string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, b.opts.CleanupWait, true, func(ctx context.Context) (bool, error) {
		ns, err := nss.Get(ctx, b.ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		phase = string(ns.Status.Phase)
		return false, nil
	})
	if err != nil {
		b.report.Notes = append(b.report.Notes, fmt.Sprintf(
			"namespace %s still exists %s after its deletion (phase %s): the cluster may have no namespace controller; the benchmark's own objects are deleted",
			b.ns, b.opts.CleanupWait, phase))
	}
	return nil
}
