package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sampan-dev/sampan/internal/resources"
	"github.com/sampan-dev/sampan/internal/storage"
)

// maxRetries bounds the read-modify-write loop of updates without a precondition.
const maxRetries = 16

func groupResource(res *resources.Resource) schema.GroupResource {
	return schema.GroupResource{Group: res.GVR.Group, Resource: res.GVR.Resource}
}

func groupKind(res *resources.Resource) schema.GroupKind {
	return schema.GroupKind{Group: res.GVR.Group, Kind: res.Kind}
}

// readBody reads a request body up to the limit.
func (h *apiHandler) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading request body: %v", err))
	}
	if int64(len(body)) > h.maxBody {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", h.maxBody))
	}
	return body, nil
}

// dryRun reads the dryRun parameter.
func dryRun(r *http.Request) (bool, error) {
	vals := r.URL.Query()["dryRun"]
	for _, v := range vals {
		if v != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dry run value: %q, supported values: [All]", v))
		}
	}
	return len(vals) > 0, nil
}

// toStorage converts a served object to res's storage version.
func (h *apiHandler) toStorage(res *resources.Resource, obj runtime.Object) (runtime.Object, error) {
	if res.StorageGVK == res.GVK() {
		obj.GetObjectKind().SetGroupVersionKind(res.StorageGVK)
		return obj, nil
	}
	out, err := h.b.Convert(obj, res.StorageGVK)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("converting to %s: %w", res.StorageGVK, err))
	}
	return out, nil
}

// toServed converts a storage-version object to res's served version. The
// result may share memory with obj when no conversion is needed.
func (h *apiHandler) toServed(res *resources.Resource, obj runtime.Object) (runtime.Object, error) {
	if res.StorageGVK == res.GVK() {
		return obj, nil
	}
	out, err := h.b.Convert(obj, res.GVK())
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("converting to %s: %w", res.GVK(), err))
	}
	return out, nil
}

// servedJSON returns the JSON of a cache entry in res's served version.
func (h *apiHandler) servedJSON(res *resources.Resource, e *entry) ([]byte, error) {
	if res.StorageGVK == res.GVK() {
		return e.raw, nil
	}
	obj, err := h.toServed(res, e.obj.DeepCopyObject())
	if err != nil {
		return nil, err
	}
	return encodeObject(obj)
}

func invalid(res *resources.Resource, name string, errs field.ErrorList) error {
	return apierrors.NewInvalid(groupKind(res), name, errs)
}

// checkNamespace refuses writes into a namespace that is missing or terminating.
func (h *apiHandler) checkNamespace(res *resources.Resource, ns string) error {
	if !res.Namespaced {
		return nil
	}
	nsRes, _ := h.reg.Lookup(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	e := h.cache.get(nsRes, nsRes.Key("", ns))
	if e == nil {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, ns)
	}
	if e.obj.(*corev1.Namespace).Status.Phase == corev1.NamespaceTerminating {
		err := apierrors.NewForbidden(groupResource(res), "", fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: corev1.NamespaceTerminatingCause, Message: fmt.Sprintf("namespace %s is being terminated", ns), Field: "metadata.namespace",
		})
		return err
	}
	return nil
}

// createOptions are the parameters of a create.
type createOptions struct {
	dryRun bool
	user   *UserInfo
	// system writes (the server's own objects) skip validation: e.g. the
	// kubernetes Endpoints may name a loopback address, which users may not.
	system bool
}

// generateNameAttempts is how many names a create with generateName tries
// before it answers AlreadyExists (upstream retries too: with 5 random
// characters, a few of 30,000 pods of one ReplicaSet collide).
const generateNameAttempts = 8

// create stores a new object given in res's served version and returns it as stored (served version).
func (h *apiHandler) create(ctx context.Context, res *resources.Resource, ns string, served runtime.Object, opts createOptions) (runtime.Object, error) {
	acc, err := meta.Accessor(served)
	if err != nil || acc.GetName() != "" || acc.GetGenerateName() == "" {
		return h.createOnce(ctx, res, ns, served, opts)
	}
	for attempt := 1; ; attempt++ {
		out, err := h.createOnce(ctx, res, ns, served.DeepCopyObject(), opts)
		if err == nil || !apierrors.IsAlreadyExists(err) || attempt == generateNameAttempts {
			return out, err
		}
	}
}

func (h *apiHandler) createOnce(ctx context.Context, res *resources.Resource, ns string, served runtime.Object, opts createOptions) (runtime.Object, error) {
	acc, err := meta.Accessor(served)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if res.Namespaced {
		if acc.GetNamespace() == "" {
			acc.SetNamespace(ns)
		} else if acc.GetNamespace() != ns {
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		acc.SetNamespace("")
	}
	if acc.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	if acc.GetName() == "" && acc.GetGenerateName() != "" {
		acc.SetName(acc.GetGenerateName() + utilrand.String(5))
	}
	obj, err := h.toStorage(res, served)
	if err != nil {
		return nil, err
	}
	acc, _ = meta.Accessor(obj)
	acc.SetUID(uuid.NewUUID())
	acc.SetCreationTimestamp(metav1.NewTime(h.clock.Now().Truncate(time.Second)))
	acc.SetDeletionTimestamp(nil)
	acc.SetDeletionGracePeriodSeconds(nil)
	acc.SetManagedFields(nil)
	acc.SetSelfLink("")
	prepareForCreate(res, obj, opts.user)
	h.admitCreate(obj)
	h.b.Default(obj)
	if errs := h.b.ValidateCreate(obj); len(errs) > 0 && !opts.system {
		return nil, invalid(res, acc.GetName(), errs)
	}
	if _, err := h.cache.waitFresh(ctx); err != nil {
		return nil, apierrors.NewTimeoutError("waiting for the watch cache", 1)
	}
	if err := h.checkNamespace(res, acc.GetNamespace()); err != nil {
		return nil, err
	}
	key := res.Key(acc.GetNamespace(), acc.GetName())
	if h.cache.get(res, key) != nil {
		return nil, apierrors.NewAlreadyExists(groupResource(res), acc.GetName())
	}
	var al *allocation
	if svc, ok := obj.(*corev1.Service); ok {
		if al, err = h.alloc.allocate(ctx, svc, nil, opts.dryRun); err != nil {
			return nil, err
		}
	}
	data, err := h.encodeChecked(obj)
	if err != nil {
		return nil, err
	}
	if opts.dryRun {
		if _, err := h.store.Get(ctx, key); err == nil {
			return nil, apierrors.NewAlreadyExists(groupResource(res), acc.GetName())
		}
		return h.toServed(res, obj)
	}
	start := h.clock.Now()
	rev, err := h.store.Create(ctx, key, data)
	h.metrics.observeStorage("create", res, start)
	if err != nil {
		if al != nil {
			h.alloc.release(ctx, al)
		}
		if errors.Is(err, storage.ErrKeyExists) {
			return nil, apierrors.NewAlreadyExists(groupResource(res), acc.GetName())
		}
		return nil, apierrors.NewInternalError(fmt.Errorf("storing object: %w", err))
	}
	acc.SetResourceVersion(strconv.FormatInt(rev, 10))
	return h.toServed(res, obj)
}

// encodeChecked encodes obj for the store and enforces the object size limit.
func (h *apiHandler) encodeChecked(obj runtime.Object) ([]byte, error) {
	data, err := h.codec.encodeStored(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("encoding object: %w", err))
	}
	if int64(len(data)) > h.maxObject {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("object is %d bytes, the limit is %d", len(data), h.maxObject))
	}
	return data, nil
}

// updateKind says which endpoint an update came through.
type updateKind int

const (
	updateMain updateKind = iota
	updateStatus
	updateApproval
	updateFinalize
	updateOther // binding, scale: tryUpdate has made the whole change
)

// updateOptions are the parameters of an update.
type updateOptions struct {
	kind   updateKind
	dryRun bool
	user   *UserInfo
	system bool // see createOptions.system
}

// errNoUpdate is returned by tryUpdate to leave the object as it is.
var errNoUpdate = errors.New("no update")

// update reads the current object, lets tryUpdate produce the new one (in the
// served version; the input is a private copy), and writes it with a
// precondition on the revision read, retrying on conflicts. When the new
// object carries a resourceVersion it must match the current one (409).
func (h *apiHandler) update(ctx context.Context, res *resources.Resource, ns, name string, opts updateOptions,
	tryUpdate func(cur runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	key := res.Key(ns, name)
	gr := groupResource(res)
	for attempt := 0; ; attempt++ {
		kv, err := h.store.Get(ctx, key)
		if errors.Is(err, storage.ErrKeyNotFound) {
			return nil, apierrors.NewNotFound(gr, name)
		} else if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		cur, err := h.codec.decodeStored(res, kv.Value)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		curRV := strconv.FormatInt(kv.ModRevision, 10)
		curAcc, _ := meta.Accessor(cur)
		curAcc.SetResourceVersion(curRV)
		curServed, err := h.toServed(res, cur.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		newServed, err := tryUpdate(curServed)
		if errors.Is(err, errNoUpdate) {
			return curServed, nil
		}
		if err != nil {
			return nil, err
		}
		newAcc, err := meta.Accessor(newServed)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if newAcc.GetName() != name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", newAcc.GetName(), name))
		}
		if res.Namespaced && newAcc.GetNamespace() != "" && newAcc.GetNamespace() != ns {
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
		preconditioned := newAcc.GetResourceVersion() != ""
		if preconditioned && newAcc.GetResourceVersion() != curRV {
			return nil, apierrors.NewConflict(gr, name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		obj, err := h.toStorage(res, newServed)
		if err != nil {
			return nil, err
		}
		acc, _ := meta.Accessor(obj)
		acc.SetNamespace(curAcc.GetNamespace())
		acc.SetUID(curAcc.GetUID())
		acc.SetCreationTimestamp(curAcc.GetCreationTimestamp())
		acc.SetResourceVersion(curRV)
		acc.SetSelfLink("")
		acc.SetManagedFields(curAcc.GetManagedFields())
		if opts.kind != updateOther {
			// Deletion state changes only through DELETE.
			acc.SetDeletionTimestamp(curAcc.GetDeletionTimestamp())
			acc.SetDeletionGracePeriodSeconds(curAcc.GetDeletionGracePeriodSeconds())
		}
		var errs field.ErrorList
		switch opts.kind {
		case updateMain:
			prepareForUpdate(res, obj, cur)
			h.b.Default(obj)
			errs = h.b.ValidateUpdate(obj, cur)
		case updateStatus:
			prepareForStatusUpdate(res, obj, cur)
			h.b.Default(obj)
			errs = h.b.ValidateStatusUpdate(obj, cur)
		case updateApproval:
			prepareForApproval(obj, cur)
			errs = h.b.ValidateStatusUpdate(obj, cur)
		case updateFinalize:
			fin := obj.(*corev1.Namespace).Spec.Finalizers
			obj = cur.DeepCopyObject()
			obj.(*corev1.Namespace).Spec.Finalizers = fin
			acc, _ = meta.Accessor(obj)
		case updateOther:
			h.b.Default(obj)
			bumpGeneration(res, obj, cur)
			errs = h.b.ValidateUpdate(obj, cur)
		}
		if len(errs) > 0 && !opts.system {
			return nil, invalid(res, name, errs)
		}
		if apiequality.Semantic.DeepEqual(obj, cur) {
			return curServed, nil // nothing changed: no write, same resourceVersion
		}
		var al *allocation
		if svc, ok := obj.(*corev1.Service); ok && opts.kind == updateMain {
			if al, err = h.alloc.allocate(ctx, svc, cur.(*corev1.Service), opts.dryRun); err != nil {
				return nil, err
			}
		}
		if opts.dryRun {
			return h.toServed(res, obj)
		}
		if h.deletionComplete(obj) {
			if _, err := h.store.Delete(ctx, key, kv.ModRevision); err != nil {
				if errors.Is(err, storage.ErrConflict) && !preconditioned && attempt < maxRetries {
					continue
				}
				return nil, h.storageError(err, gr, name)
			}
			h.afterDelete(ctx, obj)
			acc.SetResourceVersion(curRV)
			return h.toServed(res, obj)
		}
		data, err := h.encodeChecked(obj)
		if err != nil {
			return nil, err
		}
		start := h.clock.Now()
		newKV, err := h.store.Update(ctx, key, data, kv.ModRevision)
		h.metrics.observeStorage("update", res, start)
		if err != nil {
			if al != nil {
				h.alloc.release(ctx, al)
			}
			if errors.Is(err, storage.ErrConflict) && !preconditioned && attempt < maxRetries {
				continue
			}
			return nil, h.storageError(err, gr, name)
		}
		if svc, ok := obj.(*corev1.Service); ok {
			h.alloc.releaseUnused(ctx, svc, cur.(*corev1.Service))
		}
		acc.SetResourceVersion(strconv.FormatInt(newKV.ModRevision, 10))
		return h.toServed(res, obj)
	}
}

func (h *apiHandler) storageError(err error, gr schema.GroupResource, name string) error {
	switch {
	case errors.Is(err, storage.ErrKeyNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.Is(err, storage.ErrConflict):
		return apierrors.NewConflict(gr, name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	case errors.Is(err, storage.ErrKeyExists):
		return apierrors.NewAlreadyExists(gr, name)
	}
	return apierrors.NewInternalError(err)
}

// deletionComplete reports whether an object being deleted has nothing left
// holding it: no finalizers and no grace period still running.
func (h *apiHandler) deletionComplete(obj runtime.Object) bool {
	acc, _ := meta.Accessor(obj)
	if acc.GetDeletionTimestamp() == nil || len(acc.GetFinalizers()) > 0 {
		return false
	}
	if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return false
	}
	if g := acc.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
		return false
	}
	return true
}

// afterDelete releases what a deleted object held.
func (h *apiHandler) afterDelete(ctx context.Context, obj runtime.Object) {
	if svc, ok := obj.(*corev1.Service); ok {
		h.alloc.releaseUnused(ctx, nil, svc)
	}
}

// deleteObject deletes (or starts deleting) one object. It returns the
// object in the served version and whether it is gone.
func (h *apiHandler) deleteObject(ctx context.Context, res *resources.Resource, ns, name string, opts *metav1.DeleteOptions, dry bool) (runtime.Object, bool, error) {
	key := res.Key(ns, name)
	gr := groupResource(res)
	for attempt := 0; ; attempt++ {
		kv, err := h.store.Get(ctx, key)
		if errors.Is(err, storage.ErrKeyNotFound) {
			return nil, false, apierrors.NewNotFound(gr, name)
		} else if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		obj, err := h.codec.decodeStored(res, kv.Value)
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		acc, _ := meta.Accessor(obj)
		curRV := strconv.FormatInt(kv.ModRevision, 10)
		acc.SetResourceVersion(curRV)
		if p := opts.Preconditions; p != nil {
			if p.UID != nil && *p.UID != acc.GetUID() {
				return nil, false, apierrors.NewConflict(gr, name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, acc.GetUID()))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != curRV {
				return nil, false, apierrors.NewConflict(gr, name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, curRV))
			}
		}
		changed := h.markForDeletion(obj, opts)
		if !changed && acc.GetDeletionTimestamp() != nil && !h.deletionComplete(obj) {
			// Already being deleted and nothing to shorten: report it as it is.
			served, err := h.toServed(res, obj)
			return served, false, err
		}
		if dry {
			served, err := h.toServed(res, obj)
			return served, h.deletionComplete(obj) || acc.GetDeletionTimestamp() == nil, err
		}
		if acc.GetDeletionTimestamp() != nil && !h.deletionComplete(obj) {
			if tracksGeneration(res) {
				acc.SetGeneration(acc.GetGeneration() + 1)
			}
			data, err := h.encodeChecked(obj)
			if err != nil {
				return nil, false, err
			}
			newKV, err := h.store.Update(ctx, key, data, kv.ModRevision)
			if errors.Is(err, storage.ErrConflict) && attempt < maxRetries {
				continue
			} else if err != nil {
				return nil, false, h.storageError(err, gr, name)
			}
			acc.SetResourceVersion(strconv.FormatInt(newKV.ModRevision, 10))
			served, err := h.toServed(res, obj)
			return served, false, err
		}
		start := h.clock.Now()
		_, err = h.store.Delete(ctx, key, kv.ModRevision)
		h.metrics.observeStorage("delete", res, start)
		if errors.Is(err, storage.ErrConflict) && attempt < maxRetries {
			continue
		} else if err != nil {
			return nil, false, h.storageError(err, gr, name)
		}
		h.afterDelete(ctx, obj)
		served, err := h.toServed(res, obj)
		return served, true, err
	}
}

// markForDeletion applies a DELETE's options to obj: finalizers for the
// propagation policy, graceful deletion of running pods, a namespace's
// Terminating phase. It reports whether obj changed.
func (h *apiHandler) markForDeletion(obj runtime.Object, opts *metav1.DeleteOptions) bool {
	acc, _ := meta.Accessor(obj)
	changed := false
	policy := opts.PropagationPolicy
	if policy == nil && opts.OrphanDependents != nil {
		p := metav1.DeletePropagationBackground
		if *opts.OrphanDependents {
			p = metav1.DeletePropagationOrphan
		}
		policy = &p
	}
	fins := acc.GetFinalizers()
	if policy != nil {
		switch *policy {
		case metav1.DeletePropagationOrphan:
			fins = setFinalizer(fins, metav1.FinalizerOrphanDependents, true)
			fins = setFinalizer(fins, metav1.FinalizerDeleteDependents, false)
		case metav1.DeletePropagationForeground:
			fins = setFinalizer(fins, metav1.FinalizerDeleteDependents, true)
			fins = setFinalizer(fins, metav1.FinalizerOrphanDependents, false)
		case metav1.DeletePropagationBackground:
			fins = setFinalizer(fins, metav1.FinalizerOrphanDependents, false)
			fins = setFinalizer(fins, metav1.FinalizerDeleteDependents, false)
		}
	}
	if len(fins) != len(acc.GetFinalizers()) {
		changed = true
	}
	acc.SetFinalizers(fins)

	now := metav1.NewTime(h.clock.Now())
	var grace int64
	if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		grace = 30
		if pod.Spec.TerminationGracePeriodSeconds != nil {
			grace = *pod.Spec.TerminationGracePeriodSeconds
		}
		if opts.GracePeriodSeconds != nil {
			grace = *opts.GracePeriodSeconds
		}
		if grace < 0 {
			grace = 0
		}
	}
	if ns, ok := obj.(*corev1.Namespace); ok && ns.Status.Phase != corev1.NamespaceTerminating {
		ns.Status.Phase = corev1.NamespaceTerminating
		changed = true
	}
	prevGrace := acc.GetDeletionGracePeriodSeconds()
	if acc.GetDeletionTimestamp() == nil {
		ts := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		acc.SetDeletionTimestamp(&ts)
		acc.SetDeletionGracePeriodSeconds(&grace)
		return true
	}
	if prevGrace != nil && grace < *prevGrace {
		// A shorter grace period replaces a longer one.
		ts := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		if ts.Before(acc.GetDeletionTimestamp()) {
			acc.SetDeletionTimestamp(&ts)
		}
		acc.SetDeletionGracePeriodSeconds(&grace)
		changed = true
	}
	return changed
}

func setFinalizer(list []string, f string, present bool) []string {
	out := make([]string, 0, len(list)+1)
	found := false
	for _, x := range list {
		if x == f {
			found = true
			if !present {
				continue
			}
		}
		out = append(out, x)
	}
	if present && !found {
		out = append(out, f)
	}
	return out
}

// objectMetaFor returns an accessor (panics only for non-objects, which the registry never holds).
func objectMetaFor(obj runtime.Object) metav1.Object {
	acc, err := meta.Accessor(obj)
	if err != nil {
		panic(err)
	}
	return acc
}

func uidOf(obj runtime.Object) types.UID { return objectMetaFor(obj).GetUID() }
