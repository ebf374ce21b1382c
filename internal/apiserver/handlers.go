package apiserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/sampan-dev/sampan/internal/resources"
)

// serveResource dispatches a resource request whose resource is known and
// whose caller is authorized.
func (h *apiHandler) serveResource(w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource) {
	ctx := r.Context()
	f, err := negotiate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	switch info.Subresource {
	case "":
	case "status", "scale", "approval", "finalize":
		h.serveSubresource(w, r, info, res, f)
		return
	case "binding":
		if info.Verb != "create" {
			writeError(w, methodNotAllowed(info.Verb, res))
			return
		}
		h.serveBinding(w, r, info, f)
		return
	case "eviction":
		if info.Verb != "create" {
			writeError(w, methodNotAllowed(info.Verb, res))
			return
		}
		h.serveEviction(w, r, info, f)
		return
	default:
		if res.Subresource(info.Subresource) == nil {
			writeError(w, apierrors.NewNotFound(schema.GroupResource{Group: info.APIGroup, Resource: info.Resource + "/" + info.Subresource}, info.Name))
			return
		}
		writeError(w, apierrors.NewServiceUnavailable(fmt.Sprintf("%s/%s is not available: no node agent serves it yet", info.Resource, info.Subresource)))
		return
	}
	if res.Virtual {
		if info.Verb != "create" {
			writeError(w, methodNotAllowed(info.Verb, res))
			return
		}
		h.serveVirtual(w, r, info, res, f)
		return
	}
	switch info.Verb {
	case "get":
		h.serveGet(ctx, w, r, info, res, f)
	case "list":
		h.serveList(ctx, w, r, info, res, f)
	case "watch":
		h.serveWatch(ctx, w, r, info, res, f)
	case "create":
		h.serveCreate(ctx, w, r, info, res, f)
	case "update":
		h.serveUpdate(ctx, w, r, info, res, f, updateMain)
	case "patch":
		h.servePatch(ctx, w, r, info, res, f, updateMain)
	case "delete":
		h.serveDelete(ctx, w, r, info, res, f)
	case "deletecollection":
		h.serveDeleteCollection(ctx, w, r, info, res, f)
	default:
		writeError(w, methodNotAllowed(r.Method, res))
	}
}

func methodNotAllowed(verb string, res *resources.Resource) error {
	return apierrors.NewMethodNotSupported(groupResource(res), verb)
}

// writeServed writes a served-version object in the negotiated format.
func (h *apiHandler) writeServed(w http.ResponseWriter, f outputFormat, code int, res *resources.Resource, obj runtime.Object) {
	switch f.kind {
	case outputTable:
		t, err := h.table(res, []runtime.Object{obj}, "", "", f, false)
		if err != nil {
			writeError(w, err)
			return
		}
		writeObject(w, f, code, t)
	case outputPartialMetadata:
		pm := partialMetadata(obj, f.tableVersion)
		if f.protobuf {
			writeProtoObject(w, code, pm.GroupVersionKind(), pm)
			return
		}
		writeObject(w, f, code, pm)
	default:
		gvk := res.GVK()
		if f.protobuf {
			if _, ok := obj.(protoMarshaler); ok {
				writeProtoObject(w, code, gvk, obj)
				return
			}
		}
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		writeObject(w, f, code, obj)
	}
}

func (h *apiHandler) serveGet(ctx context.Context, w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat) {
	rv := r.URL.Query().Get("resourceVersion")
	if rv != "0" {
		if err := h.waitForRV(ctx, rv); err != nil {
			writeError(w, err)
			return
		}
	}
	e := h.cache.get(res, res.Key(info.Namespace, info.Name))
	if e == nil {
		writeError(w, apierrors.NewNotFound(groupResource(res), info.Name))
		return
	}
	if f.kind == outputObject && f.protobuf {
		msg, err := h.servedProto(res, e)
		if err != nil {
			writeError(w, err)
			return
		}
		writeProto(w, http.StatusOK, res.GVK(), msg)
		return
	}
	if f.kind == outputObject {
		j, err := h.servedJSON(res, e)
		if err != nil {
			writeError(w, err)
			return
		}
		writeRaw(w, f, http.StatusOK, j)
		return
	}
	obj, err := h.toServed(res, e.obj.DeepCopyObject())
	if err != nil {
		writeError(w, err)
		return
	}
	h.writeServed(w, f, http.StatusOK, res, obj)
}

// waitForRV makes a read at least as new as rv ("" means: every write
// acknowledged so far).
func (h *apiHandler) waitForRV(ctx context.Context, rv string) error {
	if rv == "" {
		if _, err := h.cache.waitFresh(ctx); err != nil {
			return apierrors.NewTimeoutError("waiting for the watch cache to catch up", 1)
		}
		return nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
	}
	cur, err := h.store.CurrentRevision(ctx)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if n > cur {
		return apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", n, cur), 1)
	}
	wctx, cancel := context.WithTimeout(ctx, defaultWaitTimeout)
	defer cancel()
	if err := h.cache.waitFor(wctx, n); err != nil {
		return apierrors.NewTimeoutError("waiting for the watch cache to catch up", 1)
	}
	return nil
}

// selectors parses labelSelector and fieldSelector into a matcher over cache entries.
type selectors struct {
	label labels.Selector
	field fields.Selector
	// name is set when the field selector pins metadata.name.
	name string
}

func parseSelectors(r *http.Request, res *resources.Resource, name string) (*selectors, error) {
	q := r.URL.Query()
	s := &selectors{label: labels.Everything(), field: fields.Everything()}
	if ls := q.Get("labelSelector"); ls != "" {
		sel, err := labels.Parse(ls)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		s.label = sel
	}
	fs := q.Get("fieldSelector")
	if name != "" {
		term := "metadata.name=" + name
		if fs == "" {
			fs = term
		} else {
			fs += "," + term
		}
	}
	if fs != "" {
		sel, err := fields.ParseSelector(fs)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		sel, err = sel.Transform(func(label, value string) (string, string, error) {
			l, ok := resources.ConvertFieldLabel(res, label)
			if !ok {
				return "", "", fmt.Errorf("field label not supported: %s", label)
			}
			return l, value, nil
		})
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		s.field = sel
		if v, ok := sel.RequiresExactMatch("metadata.name"); ok {
			s.name = v
		}
	}
	return s, nil
}

func (s *selectors) matches(e *entry) bool {
	if s.name != "" && e.name != s.name {
		return false
	}
	return s.label.Matches(e.labels) && s.field.Matches(e.fields)
}

func (s *selectors) empty() bool { return s.label.Empty() && s.field.Empty() }

// continueToken is the opaque list continuation.
type continueToken struct {
	RV    int64  `json:"rv"`
	Start string `json:"start"`
}

func encodeContinue(t continueToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Start == "" {
		return t, apierrors.NewBadRequest("continue key is not valid: the format of the continue token is invalid")
	}
	return t, nil
}

func (h *apiHandler) serveList(ctx context.Context, w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat) {
	q := r.URL.Query()
	sel, err := parseSelectors(r, res, "")
	if err != nil {
		writeError(w, err)
		return
	}
	var limit int64
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.ParseInt(l, 10, 64); err != nil || limit < 0 {
			writeError(w, apierrors.NewBadRequest(fmt.Sprintf("invalid limit %q", l)))
			return
		}
	}
	var cont *continueToken
	if c := q.Get("continue"); c != "" {
		t, err := decodeContinue(c)
		if err != nil {
			writeError(w, err)
			return
		}
		cont = &t
	}
	rv := q.Get("resourceVersion")
	if cont == nil && rv != "0" {
		if q.Get("resourceVersionMatch") == string(metav1.ResourceVersionMatchExact) && rv != "" {
			n, _ := strconv.ParseInt(rv, 10, 64)
			if n != h.cache.revision() {
				writeError(w, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %s (%d)", rv, h.cache.revision())))
				return
			}
		}
		if err := h.waitForRV(ctx, rv); err != nil {
			writeError(w, err)
			return
		}
	}
	prefix := res.NamespacePrefix(info.Namespace)
	var entries []*entry
	var listRev int64
	if sel.name != "" && (info.Namespace != "" || !res.Namespaced) {
		listRev = h.cache.revision()
		if e := h.cache.get(res, res.Key(info.Namespace, sel.name)); e != nil && sel.matches(e) {
			entries = []*entry{e}
		}
	} else {
		entries, listRev = h.cache.list(res, prefix, func(e *entry) bool { return sel.matches(e) })
	}
	if cont != nil {
		listRev = cont.RV
		i := 0
		for i < len(entries) && entries[i].key <= cont.Start {
			i++
		}
		entries = entries[i:]
	}
	var next string
	var remaining *int64
	if limit > 0 && int64(len(entries)) > limit {
		next = encodeContinue(continueToken{RV: listRev, Start: entries[limit-1].key})
		n := int64(len(entries)) - limit
		if sel.empty() {
			remaining = &n
		}
		entries = entries[:limit]
	}
	listMeta := metav1.ListMeta{ResourceVersion: strconv.FormatInt(listRev, 10), Continue: next, RemainingItemCount: remaining}

	switch f.kind {
	case outputTable:
		objs := make([]runtime.Object, 0, len(entries))
		for _, e := range entries {
			o, err := h.toServed(res, e.obj)
			if err != nil {
				writeError(w, err)
				return
			}
			objs = append(objs, o)
		}
		t, err := h.table(res, objs, listMeta.ResourceVersion, next, f, r.URL.Query().Get("includeObject") == "Object")
		if err != nil {
			writeError(w, err)
			return
		}
		t.RemainingItemCount = remaining
		writeObject(w, f, http.StatusOK, t)
		return
	case outputPartialMetadata:
		list := &metav1.PartialObjectMetadataList{
			TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/" + f.tableVersion, Kind: "PartialObjectMetadataList"},
			ListMeta: listMeta,
			Items:    make([]metav1.PartialObjectMetadata, 0, len(entries)),
		}
		for _, e := range entries {
			list.Items = append(list.Items, *partialMetadata(e.obj, f.tableVersion))
		}
		if f.protobuf {
			writeProtoObject(w, http.StatusOK, list.GroupVersionKind(), list)
			return
		}
		writeObject(w, f, http.StatusOK, list)
		return
	}
	if f.protobuf {
		items := make([][]byte, 0, len(entries))
		for _, e := range entries {
			msg, err := h.servedProto(res, e)
			if err != nil {
				writeError(w, err)
				return
			}
			items = append(items, msg)
		}
		msg, err := protoList(&listMeta, items)
		if err != nil {
			writeError(w, err)
			return
		}
		writeProto(w, http.StatusOK, res.ListGVK(), msg)
		return
	}
	// The list is assembled from the cached JSON of each item.
	lm, _ := json.Marshal(listMeta)
	var b strings.Builder
	apiVersion := res.GVR.GroupVersion().String()
	b.Grow(64 + len(lm) + len(entries)*1024)
	fmt.Fprintf(&b, `{"kind":%q,"apiVersion":%q,"metadata":%s,"items":[`, res.Kind+"List", apiVersion, lm)
	for i, e := range entries {
		j, err := h.servedJSON(res, e)
		if err != nil {
			writeError(w, err)
			return
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(j)
	}
	b.WriteString("]}")
	writeRaw(w, f, http.StatusOK, []byte(b.String()))
}

func partialMetadata(obj runtime.Object, version string) *metav1.PartialObjectMetadata {
	pm := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/" + version, Kind: "PartialObjectMetadata"}}
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			pm.ObjectMeta = *om
		}
	}
	return pm
}

// writeParams reads what every write request carries: dryRun, fieldValidation and the body.
func (h *apiHandler) writeParams(r *http.Request) (bool, fieldValidation, []byte, error) {
	dry, err := dryRun(r)
	if err != nil {
		return false, "", nil, err
	}
	fv, err := parseFieldValidation(r.URL.Query().Get("fieldValidation"))
	if err != nil {
		return false, "", nil, err
	}
	body, err := h.readBody(r)
	return dry, fv, body, err
}

func (h *apiHandler) serveCreate(ctx context.Context, w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat) {
	if res.Namespaced && info.Namespace == "" {
		writeError(w, apierrors.NewNotFound(groupResource(res), ""))
		return
	}
	dry, fv, body, err := h.writeParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, warnings, err := h.codec.decodeBody(r.Header.Get("Content-Type"), body, res.GVK(), fv)
	if err != nil {
		writeError(w, err)
		return
	}
	if acc, err := meta.Accessor(obj); err == nil && acc.GetName() == "" && acc.GetGenerateName() == "" {
		writeError(w, invalid(res, "", []*fieldError{requiredName()}))
		return
	}
	out, err := h.create(ctx, res, info.Namespace, obj, createOptions{dryRun: dry, user: userFrom(ctx)})
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	h.writeServed(w, f, http.StatusCreated, res, out)
}

func (h *apiHandler) serveUpdate(ctx context.Context, w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat, kind updateKind) {
	dry, fv, body, err := h.writeParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, warnings, err := h.codec.decodeBody(r.Header.Get("Content-Type"), body, res.GVK(), fv)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := h.update(ctx, res, info.Namespace, info.Name, updateOptions{kind: kind, dryRun: dry, user: userFrom(ctx)},
		func(runtime.Object) (runtime.Object, error) { return obj.DeepCopyObject(), nil })
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	h.writeServed(w, f, http.StatusOK, res, out)
}

// applyPatch applies a patch body of the given content type to the JSON of cur.
func applyPatch(contentType string, curJSON, patch []byte, schemaObj runtime.Object) ([]byte, error) {
	switch mediaType(contentType) {
	case "application/json-patch+json":
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err := p.Apply(curJSON)
		if err != nil {
			return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnprocessableEntity, Reason: metav1.StatusReasonInvalid, Message: err.Error()}}
		}
		return out, nil
	case "application/merge-patch+json":
		out, err := jsonpatch.MergePatch(curJSON, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	case "application/strategic-merge-patch+json":
		var pm map[string]interface{}
		if err := json.Unmarshal(patch, &pm); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
		}
		out, err := strategicpatch.StrategicMergePatch(curJSON, patch, schemaObj)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	case "application/apply-patch+yaml", "application/apply-patch+cbor":
		return nil, unsupportedMediaType(contentType + " (server-side apply is not supported yet; use client-side kubectl apply)")
	}
	return nil, unsupportedMediaType(contentType)
}

func (h *apiHandler) servePatch(ctx context.Context, w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat, kind updateKind) {
	dry, fv, body, err := h.writeParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ct := r.Header.Get("Content-Type")
	var warnings []string
	out, err := h.update(ctx, res, info.Namespace, info.Name, updateOptions{kind: kind, dryRun: dry, user: userFrom(ctx)},
		func(cur runtime.Object) (runtime.Object, error) {
			curJSON, err := encodeObject(cur)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			patched, err := applyPatch(ct, curJSON, body, res.New())
			if err != nil {
				return nil, err
			}
			obj, warns, err := h.codec.decodeBody("application/json", patched, res.GVK(), fv)
			if err != nil {
				return nil, err
			}
			warnings = warns
			// A patch that does not name a resourceVersion applies to the current one.
			acc, _ := meta.Accessor(obj)
			curAcc, _ := meta.Accessor(cur)
			if acc.GetResourceVersion() == curAcc.GetResourceVersion() {
				acc.SetResourceVersion("")
			}
			return obj, nil
		})
	if err != nil {
		writeError(w, err)
		return
	}
	addWarnings(w, warnings)
	h.writeServed(w, f, http.StatusOK, res, out)
}

// deleteOptions reads DeleteOptions from the body or the query.
func (h *apiHandler) deleteOptions(r *http.Request) (*metav1.DeleteOptions, bool, error) {
	opts := &metav1.DeleteOptions{}
	body, err := h.readBody(r)
	if err != nil {
		return nil, false, err
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := h.codec.decodeOptions(r.Header.Get("Content-Type"), body, opts); err != nil {
			return nil, false, err
		}
	}
	q := r.URL.Query()
	if g := q.Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return nil, false, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", g))
		}
		opts.GracePeriodSeconds = &n
	}
	if p := q.Get("propagationPolicy"); p != "" {
		pp := metav1.DeletionPropagation(p)
		opts.PropagationPolicy = &pp
	}
	if o := q.Get("orphanDependents"); o != "" {
		b := o == "true"
		opts.OrphanDependents = &b
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			return nil, false, apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: "DeleteOptions"}, "", []*fieldError{
				fieldNotSupported("propagationPolicy", string(*p), []string{"Foreground", "Background", "Orphan", "nil"}),
			})
		}
	}
	dry, err := dryRun(r)
	if err != nil {
		return nil, false, err
	}
	if len(opts.DryRun) > 0 {
		dry = true
	}
	return opts, dry, nil
}

func (h *apiHandler) serveDelete(ctx context.Context, w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat) {
	opts, dry, err := h.deleteOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, deleted, err := h.deleteObject(ctx, res, info.Namespace, info.Name, opts, dry)
	if err != nil {
		writeError(w, err)
		return
	}
	if deleted && !returnsDeletedObject(res) {
		writeObject(w, f, http.StatusOK, statusSuccess(res.GVR.Group, res.GVR.Resource, info.Name, string(uidOf(obj))))
		return
	}
	code := http.StatusOK
	if !deleted && opts.OrphanDependents != nil && !*opts.OrphanDependents {
		code = http.StatusAccepted
	}
	h.writeServed(w, f, code, res, obj)
}

// returnsDeletedObject: upstream answers a DELETE that removed the object
// with the object itself for these resources, and with a Status for the rest.
func returnsDeletedObject(res *resources.Resource) bool {
	if res.GVR.Group != "" && res.GVR.Group != "storage.k8s.io" {
		return false
	}
	switch res.GVR.Resource {
	case "pods", "services", "serviceaccounts", "podtemplates", "resourcequotas",
		"persistentvolumeclaims", "persistentvolumes", "storageclasses":
		return true
	}
	return false
}

func (h *apiHandler) serveDeleteCollection(ctx context.Context, w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat) {
	sel, err := parseSelectors(r, res, "")
	if err != nil {
		writeError(w, err)
		return
	}
	opts, dry, err := h.deleteOptions(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := h.cache.waitFresh(ctx); err != nil {
		writeError(w, apierrors.NewTimeoutError("waiting for the watch cache", 1))
		return
	}
	entries, rev := h.cache.list(res, res.NamespacePrefix(info.Namespace), sel.matches)
	list := res.NewList()
	var items []runtime.Object
	for _, e := range entries {
		obj, _, err := h.deleteObject(ctx, res, e.namespace, e.name, opts, dry)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			writeError(w, err)
			return
		}
		items = append(items, obj)
	}
	if err := meta.SetList(list, items); err != nil {
		writeError(w, apierrors.NewInternalError(err))
		return
	}
	if lm, err := meta.ListAccessor(list); err == nil {
		lm.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
	list.GetObjectKind().SetGroupVersionKind(res.ListGVK())
	writeObject(w, f, http.StatusOK, list)
}

// serveSubresource handles status, scale, approval and finalize.
func (h *apiHandler) serveSubresource(w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat) {
	ctx := r.Context()
	sub := res.Subresource(info.Subresource)
	if sub == nil {
		writeError(w, apierrors.NewNotFound(schema.GroupResource{Group: info.APIGroup, Resource: info.Resource + "/" + info.Subresource}, info.Name))
		return
	}
	if !contains(sub.Verbs, info.Verb) {
		writeError(w, methodNotAllowed(info.Verb, res))
		return
	}
	if info.Subresource == "scale" {
		h.serveScale(ctx, w, r, info, res, f)
		return
	}
	kind := map[string]updateKind{"status": updateStatus, "approval": updateApproval, "finalize": updateFinalize}[info.Subresource]
	switch info.Verb {
	case "get":
		h.serveGet(ctx, w, r, info, res, f)
	case "update":
		h.serveUpdate(ctx, w, r, info, res, f, kind)
	case "patch":
		h.servePatch(ctx, w, r, info, res, f, kind)
	default:
		writeError(w, methodNotAllowed(info.Verb, res))
	}
}

func (h *apiHandler) serveScale(ctx context.Context, w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat) {
	scaleOf := func(obj runtime.Object) (*autoscalingv1.Scale, error) {
		s, err := h.b.ToScale(obj)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		s.APIVersion, s.Kind = "autoscaling/v1", "Scale"
		return s, nil
	}
	if info.Verb == "get" {
		if err := h.waitForRV(ctx, ""); err != nil {
			writeError(w, err)
			return
		}
		e := h.cache.get(res, res.Key(info.Namespace, info.Name))
		if e == nil {
			writeError(w, apierrors.NewNotFound(groupResource(res), info.Name))
			return
		}
		s, err := scaleOf(e.obj.DeepCopyObject())
		if err != nil {
			writeError(w, err)
			return
		}
		writeObject(w, f, http.StatusOK, s)
		return
	}
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := h.readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	scaleGVK := schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}
	out, err := h.update(ctx, res, info.Namespace, info.Name, updateOptions{kind: updateOther, dryRun: dry, user: userFrom(ctx)},
		func(cur runtime.Object) (runtime.Object, error) {
			curScale, err := scaleOf(cur)
			if err != nil {
				return nil, err
			}
			data, ct := body, r.Header.Get("Content-Type")
			if info.Verb == "patch" {
				curJSON, _ := json.Marshal(curScale)
				if data, err = applyPatch(ct, curJSON, body, &autoscalingv1.Scale{}); err != nil {
					return nil, err
				}
				ct = "application/json"
			}
			obj, _, err := h.codec.decodeBody(ct, data, scaleGVK, validationStrict)
			if err != nil {
				return nil, err
			}
			scale := obj.(*autoscalingv1.Scale)
			if scale.Name != info.Name {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", scale.Name, info.Name))
			}
			if scale.Spec.Replicas < 0 {
				return nil, apierrors.NewInvalid(schema.GroupKind{Group: "autoscaling", Kind: "Scale"}, info.Name,
					[]*fieldError{fieldInvalid("spec.replicas", scale.Spec.Replicas, "must be greater than or equal to 0")})
			}
			curAcc, _ := meta.Accessor(cur)
			if scale.ResourceVersion != "" && scale.ResourceVersion != curAcc.GetResourceVersion() {
				return nil, apierrors.NewConflict(groupResource(res), info.Name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
			}
			if err := h.b.ApplyScale(cur, scale); err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			curAcc.SetResourceVersion("")
			return cur, nil
		})
	if err != nil {
		writeError(w, err)
		return
	}
	st, err := h.toStorage(res, out)
	if err != nil {
		writeError(w, err)
		return
	}
	s, err := scaleOf(st)
	if err != nil {
		writeError(w, err)
		return
	}
	writeObject(w, f, http.StatusOK, s)
}

// serveBinding assigns a pod to a node (pods/binding and the bindings resource).
func (h *apiHandler) serveBinding(w http.ResponseWriter, r *http.Request, info *requestInfo, f outputFormat) {
	ctx := r.Context()
	body, err := h.readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, _, err := h.codec.decodeBody(r.Header.Get("Content-Type"), body, corev1.SchemeGroupVersion.WithKind("Binding"), validationStrict)
	if err != nil {
		writeError(w, err)
		return
	}
	b := obj.(*corev1.Binding)
	name := info.Name
	if name == "" || info.Subresource == "" {
		name = b.Name
	}
	if b.Name != "" && b.Name != name {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", b.Name, name)))
		return
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		writeError(w, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, name, []*fieldError{fieldNotSupported("target.kind", b.Target.Kind, []string{"Node", "<empty>"})}))
		return
	}
	if b.Target.Name == "" {
		writeError(w, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, name, []*fieldError{fieldRequired("target.name", "")}))
		return
	}
	podRes, _ := h.reg.Lookup(corev1.SchemeGroupVersion.WithResource("pods"))
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, err)
		return
	}
	// Binding sets spec.nodeName, which a pod update may not: it skips update validation.
	_, err = h.update(ctx, podRes, info.Namespace, name, updateOptions{kind: updateOther, dryRun: dry, system: true},
		func(cur runtime.Object) (runtime.Object, error) {
			pod := cur.(*corev1.Pod)
			if pod.DeletionTimestamp != nil {
				return nil, apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", name))
			}
			if pod.Spec.NodeName != "" {
				return nil, apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, name, fmt.Errorf("pod %s is already assigned to node %q", name, pod.Spec.NodeName))
			}
			if b.UID != "" && b.UID != pod.UID {
				return nil, apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
			}
			pod.Spec.NodeName = b.Target.Name
			for k, v := range b.Annotations {
				if pod.Annotations == nil {
					pod.Annotations = map[string]string{}
				}
				pod.Annotations[k] = v
			}
			setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(h.clock.Now())})
			pod.ResourceVersion = ""
			return pod, nil
		})
	if err != nil {
		writeError(w, err)
		return
	}
	writeObject(w, f, http.StatusCreated, &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
}

func setPodCondition(st *corev1.PodStatus, c corev1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				return
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// serveEviction deletes a pod unless a PodDisruptionBudget forbids it.
func (h *apiHandler) serveEviction(w http.ResponseWriter, r *http.Request, info *requestInfo, f outputFormat) {
	ctx := r.Context()
	body, err := h.readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var ev policyv1.Eviction
	if err := h.codec.decodeOptions(r.Header.Get("Content-Type"), body, &ev); err != nil {
		writeError(w, err)
		return
	}
	if ev.Name != "" && ev.Name != info.Name {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("name in URL does not match name in Eviction object")))
		return
	}
	podRes, _ := h.reg.Lookup(corev1.SchemeGroupVersion.WithResource("pods"))
	if err := h.waitForRV(ctx, ""); err != nil {
		writeError(w, err)
		return
	}
	e := h.cache.get(podRes, podRes.Key(info.Namespace, info.Name))
	if e == nil {
		writeError(w, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, info.Name))
		return
	}
	pod := e.obj.(*corev1.Pod)
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if ev.DeleteOptions != nil && len(ev.DeleteOptions.DryRun) > 0 {
		dry = true
	}
	if err := h.checkDisruptionBudget(ctx, pod, dry); err != nil {
		writeError(w, err)
		return
	}
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if _, _, err := h.deleteObject(ctx, podRes, info.Namespace, info.Name, opts, dry); err != nil {
		writeError(w, err)
		return
	}
	writeObject(w, f, http.StatusCreated, &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
