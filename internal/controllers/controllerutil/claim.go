package controllerutil

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

type runtimeObject = runtime.Object

// Patcher applies a patch to one dependent (e.g. a pod or a ReplicaSet).
type Patcher func(ctx context.Context, namespace, name string, pt types.PatchType, data []byte) error

// Claimer decides which dependents a controller owns, as upstream's
// ControllerRefManager does: a dependent controlled by the owner is kept
// while it matches the selector and released (its controller reference
// removed) when it no longer does; an orphan that matches is adopted,
// unless the owner is being deleted.
type Claimer struct {
	Owner     metav1.Object
	OwnerKind schema.GroupVersionKind
	Selector  labels.Selector
	Patch     Patcher
	// CanAdopt is checked once before the first adoption (upstream re-reads
	// the owner from the server to make sure it was not deleted meanwhile).
	CanAdopt func(ctx context.Context) error

	adoptChecked bool
	adoptErr     error
}

// Claim returns the dependents of objs the owner controls after adoption
// and release. Errors of individual patches are returned joined; the
// returned slice then holds what could be claimed.
func Claim[T metav1.Object](ctx context.Context, c *Claimer, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	for _, o := range objs {
		ok, err := c.claimOne(ctx, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			claimed = append(claimed, o)
		}
	}
	if len(errs) > 0 {
		return claimed, fmt.Errorf("claiming dependents of %s: %v", c.Owner.GetName(), errs)
	}
	return claimed, nil
}

func (c *Claimer) claimOne(ctx context.Context, o metav1.Object) (bool, error) {
	ref := metav1.GetControllerOfNoCopy(o)
	matches := c.Selector.Matches(labels.Set(o.GetLabels()))
	if ref != nil {
		if ref.UID != c.Owner.GetUID() {
			return false, nil // someone else's
		}
		if matches {
			return true, nil
		}
		if c.Owner.GetDeletionTimestamp() != nil {
			return false, nil // owner going away: let the GC handle it
		}
		return false, c.release(ctx, o)
	}
	// An orphan.
	if !matches || c.Owner.GetDeletionTimestamp() != nil || o.GetDeletionTimestamp() != nil {
		return false, nil
	}
	if err := c.adopt(ctx, o); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (c *Claimer) adopt(ctx context.Context, o metav1.Object) error {
	if !c.adoptChecked {
		c.adoptChecked = true
		if c.CanAdopt != nil {
			c.adoptErr = c.CanAdopt(ctx)
		}
	}
	if c.adoptErr != nil {
		return fmt.Errorf("cannot adopt %s: %w", o.GetName(), c.adoptErr)
	}
	patch := map[string]any{
		"metadata": map[string]any{
			"ownerReferences": []any{metav1.NewControllerRef(c.Owner, c.OwnerKind)},
			"uid":             o.GetUID(),
		},
	}
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return c.Patch(ctx, o.GetNamespace(), o.GetName(), types.StrategicMergePatchType, data)
}

func (c *Claimer) release(ctx context.Context, o metav1.Object) error {
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"$patch":"delete","uid":%q}],"uid":%q}}`, c.Owner.GetUID(), o.GetUID())
	err := c.Patch(ctx, o.GetNamespace(), o.GetName(), types.StrategicMergePatchType, []byte(patch))
	if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
		return nil // gone, or its uid changed: nothing to release
	}
	return err
}

// RecheckOwner returns a CanAdopt function that fails when the owner, read
// fresh by get, is gone, was replaced (other UID) or is being deleted.
func RecheckOwner(owner metav1.Object, get func(ctx context.Context) (metav1.Object, error)) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		fresh, err := get(ctx)
		if err != nil {
			return err
		}
		if fresh.GetUID() != owner.GetUID() {
			return fmt.Errorf("original %s is gone: got uid %v, wanted %v", owner.GetName(), fresh.GetUID(), owner.GetUID())
		}
		if fresh.GetDeletionTimestamp() != nil {
			return fmt.Errorf("%s has just been deleted at %v", owner.GetName(), fresh.GetDeletionTimestamp())
		}
		return nil
	}
}
