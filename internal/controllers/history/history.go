// Package history keeps the template history of DaemonSets and
// StatefulSets in ControllerRevisions, as upstream's controller history
// does: each distinct pod template is one revision named
// "<owner>-<hash>", numbered so that the newest has the highest
// .revision, owned by the workload, and what `kubectl rollout history` and
// `kubectl rollout undo` read and apply.
package history

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// HashLabel is the label holding a revision's hash, on revisions and on
// the pods created from them.
const HashLabel = appsv1.ControllerRevisionHashLabelKey

// maxPrefix keeps "<prefix>-<hash>" a valid object name.
const maxPrefix = 223

// Name returns the name of the revision of prefix (the owner's name) with hash.
func Name(prefix, hash string) string {
	if len(prefix) > maxPrefix {
		prefix = prefix[:maxPrefix]
	}
	return prefix + "-" + hash
}

// Hash returns the hash of rev's data, salted by probe (the owner's
// collisionCount) when set and not zero, encoded to be safe in names and
// labels.
func Hash(rev *appsv1.ControllerRevision, probe *int32) string {
	h := fnv.New32a()
	if len(rev.Data.Raw) > 0 {
		h.Write(rev.Data.Raw)
	} else if rev.Data.Object != nil {
		data, _ := json.Marshal(rev.Data.Object)
		h.Write(data)
	}
	if probe != nil && *probe != 0 {
		h.Write([]byte(strconv.FormatInt(int64(*probe), 10)))
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// New returns a revision of parent holding data with number revision:
// labelled with templateLabels and its hash, named after parent and the
// hash, controlled by parent.
func New(parent metav1.Object, parentKind schema.GroupVersionKind, templateLabels map[string]string, data runtime.RawExtension, revision int64, collisionCount *int32) *appsv1.ControllerRevision {
	lbls := make(map[string]string, len(templateLabels)+1)
	for k, v := range templateLabels {
		lbls[k] = v
	}
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       parent.GetNamespace(),
			Labels:          lbls,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(parent, parentKind)},
		},
		Data:     data,
		Revision: revision,
	}
	hash := Hash(cr, collisionCount)
	cr.Name = Name(parent.GetName(), hash)
	cr.Labels[HashLabel] = hash
	return cr
}

// Equal reports whether two revisions hold the same data.
func Equal(a, b *appsv1.ControllerRevision) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.Data.Raw) > 0 || len(b.Data.Raw) > 0 {
		return bytes.Equal(a.Data.Raw, b.Data.Raw)
	}
	return apiequality.Semantic.DeepEqual(a.Data.Object, b.Data.Object)
}

// FindEqual returns the revisions of revs whose data equals needle's.
func FindEqual(revs []*appsv1.ControllerRevision, needle *appsv1.ControllerRevision) []*appsv1.ControllerRevision {
	var out []*appsv1.ControllerRevision
	for _, r := range revs {
		if Equal(r, needle) {
			out = append(out, r)
		}
	}
	return out
}

// Sort orders revs oldest first: by revision number, then creation time, then name.
func Sort(revs []*appsv1.ControllerRevision) {
	sort.SliceStable(revs, func(i, j int) bool {
		a, b := revs[i], revs[j]
		if a.Revision != b.Revision {
			return a.Revision < b.Revision
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// Next returns the number the next revision gets: one more than the highest of revs.
func Next(revs []*appsv1.ControllerRevision) int64 {
	var m int64
	for _, r := range revs {
		m = max(m, r.Revision)
	}
	return m + 1
}

// Store reads revisions from an informer cache and writes them through the API.
type Store struct {
	Client kubernetes.Interface
	// Indexer is the ControllerRevision informer's, with
	// controllerutil.ControllerIndex.
	Indexer interface {
		ByIndex(indexName, indexedValue string) ([]any, error)
	}
}

// List returns the revisions parent controls, after adopting the orphans
// matching selector and releasing its own that no longer match. The
// indexer must carry controllerutil.ControllerIndex.
func (s *Store) List(ctx context.Context, parent metav1.Object, parentKind schema.GroupVersionKind, selector labels.Selector, recheck func(ctx context.Context) (metav1.Object, error)) ([]*appsv1.ControllerRevision, error) {
	var candidates []*appsv1.ControllerRevision
	for _, key := range []string{string(parent.GetUID()), controllerutil.OrphanIndexKey(parent.GetNamespace())} {
		objs, err := s.Indexer.ByIndex(controllerutil.ControllerIndex, key)
		if err != nil {
			return nil, fmt.Errorf("listing controller revisions: %w", err)
		}
		for _, o := range objs {
			if cr, ok := o.(*appsv1.ControllerRevision); ok && cr.Namespace == parent.GetNamespace() {
				candidates = append(candidates, cr)
			}
		}
	}
	c := &controllerutil.Claimer{
		Owner:     parent,
		OwnerKind: parentKind,
		Selector:  selector,
		Patch: func(ctx context.Context, ns, name string, pt types.PatchType, data []byte) error {
			_, err := s.Client.AppsV1().ControllerRevisions(ns).Patch(ctx, name, pt, data, metav1.PatchOptions{})
			return err
		},
	}
	if recheck != nil {
		c.CanAdopt = controllerutil.RecheckOwner(parent, recheck)
	}
	return controllerutil.Claim(ctx, c, candidates)
}

// Create creates rev for parent. When a revision of that name exists with
// other data (a hash collision) it bumps *collisionCount and tries the next
// name; when it exists with the same data and belongs to parent, that one
// is returned. The caller persists *collisionCount in the owner's status.
func (s *Store) Create(ctx context.Context, parent metav1.Object, rev *appsv1.ControllerRevision, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	if collisionCount == nil {
		return nil, fmt.Errorf("creating controller revision for %s: collisionCount must not be nil", parent.GetName())
	}
	clone := rev.DeepCopy()
	if clone.Labels == nil {
		clone.Labels = map[string]string{}
	}
	for {
		hash := Hash(clone, collisionCount)
		clone.Name = Name(parent.GetName(), hash)
		clone.Labels[HashLabel] = hash
		created, err := s.Client.AppsV1().ControllerRevisions(parent.GetNamespace()).Create(ctx, clone, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			if err != nil {
				return nil, fmt.Errorf("creating controller revision %s: %w", clone.Name, err)
			}
			return created, nil
		}
		existing, gerr := s.Client.AppsV1().ControllerRevisions(parent.GetNamespace()).Get(ctx, clone.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("getting controller revision %s: %w", clone.Name, gerr)
		}
		if ref := metav1.GetControllerOfNoCopy(existing); Equal(existing, clone) && (ref == nil || ref.UID == parent.GetUID()) {
			return existing, nil
		}
		*collisionCount++
	}
}

// UpdateRevision sets rev's revision number to n.
func (s *Store) UpdateRevision(ctx context.Context, rev *appsv1.ControllerRevision, n int64) (*appsv1.ControllerRevision, error) {
	if rev.Revision == n {
		return rev, nil
	}
	patch := fmt.Sprintf(`{"revision":%d}`, n)
	out, err := s.Client.AppsV1().ControllerRevisions(rev.Namespace).Patch(ctx, rev.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating revision of %s: %w", rev.Name, err)
	}
	return out, nil
}

// Delete deletes rev; one already gone is not an error.
func (s *Store) Delete(ctx context.Context, rev *appsv1.ControllerRevision) error {
	err := s.Client.AppsV1().ControllerRevisions(rev.Namespace).Delete(ctx, rev.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &rev.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting controller revision %s: %w", rev.Name, err)
	}
	return nil
}

// TemplatePatch returns the revision data of a workload whose spec.template
// is template: a strategic merge patch replacing the template, as
// `kubectl rollout undo` applies it.
func TemplatePatch(template any) (runtime.RawExtension, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return runtime.RawExtension{}, fmt.Errorf("encoding pod template: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return runtime.RawExtension{}, fmt.Errorf("decoding pod template: %w", err)
	}
	m["$patch"] = "replace"
	data, err := json.Marshal(map[string]any{"spec": map[string]any{"template": m}})
	if err != nil {
		return runtime.RawExtension{}, fmt.Errorf("encoding revision data: %w", err)
	}
	return runtime.RawExtension{Raw: data}, nil
}
