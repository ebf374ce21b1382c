package apiserver

import (
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sampan-dev/sampan/internal/resources"
)

func schemaGK(group, kind string) schema.GroupKind { return schema.GroupKind{Group: group, Kind: kind} }

// serveVirtual answers the create-only resources that store nothing.
func (h *apiHandler) serveVirtual(w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat) {
	ctx := r.Context()
	user := userFrom(ctx)
	if res.GVR.Resource == "bindings" {
		h.serveBinding(w, r, info, f)
		return
	}
	body, err := h.readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	obj, _, err := h.codec.decodeBody(r.Header.Get("Content-Type"), body, res.GVK(), validationStrict)
	if err != nil {
		writeError(w, err)
		return
	}
	switch o := obj.(type) {
	case *authorizationv1.SelfSubjectAccessReview:
		ra, nra := o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes
		if (ra == nil) == (nra == nil) {
			writeError(w, apierrors.NewInvalid(res.GVK().GroupKind(), "", []*fieldError{
				fieldInvalid("spec.resourceAttributes", ra, "exactly one of nonResourceAttributes or resourceAttributes must be specified")}))
			return
		}
		a := Attributes{User: user}
		if ra != nil {
			a.IsResource = true
			a.Verb, a.Namespace, a.APIGroup, a.APIVersion = ra.Verb, ra.Namespace, ra.Group, ra.Version
			a.Resource, a.Subresource, a.Name = ra.Resource, ra.Subresource, ra.Name
		} else {
			a.Verb, a.Path = nra.Verb, nra.Path
		}
		allowed, reason, err := h.authz.Authorize(ctx, a)
		o.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: allowed, Reason: reason}
		if err != nil {
			o.Status.EvaluationError = err.Error()
		}
	case *authorizationv1.SelfSubjectRulesReview:
		if o.Spec.Namespace == "" {
			writeError(w, apierrors.NewInvalid(res.GVK().GroupKind(), "", []*fieldError{fieldRequired("spec.namespace", "")}))
			return
		}
		allowed, _, _ := h.authz.Authorize(ctx, Attributes{User: user, Verb: "*", Namespace: o.Spec.Namespace, APIGroup: "*", Resource: "*", IsResource: true})
		o.Status = authorizationv1.SubjectRulesReviewStatus{Incomplete: !allowed}
		if allowed {
			o.Status.ResourceRules = []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
			o.Status.NonResourceRules = []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}
		}
	case *authenticationv1.SelfSubjectReview:
		o.Status.UserInfo = authenticationv1.UserInfo{Username: user.Name, UID: user.UID, Groups: user.Groups}
		for k, v := range user.Extra {
			if o.Status.UserInfo.Extra == nil {
				o.Status.UserInfo.Extra = map[string]authenticationv1.ExtraValue{}
			}
			o.Status.UserInfo.Extra[k] = v
		}
	default:
		writeError(w, apierrors.NewInternalError(fmt.Errorf("no handler for %s", res.GVR)))
		return
	}
	obj.GetObjectKind().SetGroupVersionKind(res.GVK())
	if acc, ok := obj.(metav1.Object); ok {
		acc.SetCreationTimestamp(metav1.Time{})
	}
	writeObject(w, f, http.StatusCreated, obj)
}
