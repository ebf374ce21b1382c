package validation

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// nameFunc checks a metadata name (prefix: a generateName to which a suffix
// will be appended) and returns the reasons it is invalid.
type nameFunc = apimachineryvalidation.ValidateNameFunc

// Name rules per kind, as upstream assigns them.

func nameIsDNSSubdomain(name string, prefix bool) []string {
	return apimachineryvalidation.NameIsDNSSubdomain(name, prefix)
}

func nameIsDNSLabel(name string, prefix bool) []string {
	return apimachineryvalidation.NameIsDNSLabel(name, prefix)
}

func nameIsPathSegment(name string, prefix bool) []string {
	return path.ValidatePathSegmentName(name, prefix)
}

// anyName accepts every name (CertificateSigningRequests).
func anyName(string, bool) []string { return nil }

var metadataPath = field.NewPath("metadata")

// isStandardFinalizer: the finalizer names that need no domain prefix.
func isStandardFinalizer(name string) bool {
	switch name {
	case "kubernetes", metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents:
		return true
	}
	return false
}

// validateMeta checks the metadata of an object being created. kube adds the
// rule of the core API groups that finalizer names without a '/' must be one
// of the standard ones.
func validateMeta(obj metav1.Object, namespaced bool, name nameFunc, kube bool) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaAccessor(obj, namespaced, name, metadataPath)
	if kube {
		errs = append(errs, validateKubeFinalizers(obj.GetFinalizers(), metadataPath.Child("finalizers"))...)
	}
	return errs
}

// validateMetaUpdate checks that an update keeps the immutable metadata.
// Errors about metadata.resourceVersion are left out: optimistic concurrency
// is the server's business, and it fills the version in before calling us.
func validateMetaUpdate(obj, old metav1.Object, kube bool) field.ErrorList {
	var errs field.ErrorList
	for _, e := range apimachineryvalidation.ValidateObjectMetaAccessorUpdate(obj, old, metadataPath) {
		if e.Field == "metadata.resourceVersion" {
			continue
		}
		errs = append(errs, e)
	}
	if kube {
		errs = append(errs, validateKubeFinalizers(obj.GetFinalizers(), metadataPath.Child("finalizers"))...)
	}
	return errs
}

func validateKubeFinalizers(finalizers []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range finalizers {
		errs = append(errs, validateKubeFinalizerName(f, fldPath.Index(i))...)
	}
	return errs
}

// validateKubeFinalizerName rejects unqualified finalizer names that are not
// one of the standard ones.
func validateKubeFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	if !strings.Contains(name, "/") && !isStandardFinalizer(name) {
		return field.ErrorList{field.Invalid(fldPath, name, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

// validateFinalizerName is the full check of a finalizer name outside
// metadata (Namespace spec.finalizers).
func validateFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateFinalizerName(name, fldPath)
	return append(errs, validateKubeFinalizerName(name, fldPath)...)
}

// validateGenericMeta is used for kinds without their own rules: nothing is
// known about their scope, so nothing is checked.
func validateGenericMeta(runtime.Object) field.ErrorList { return nil }

// validateGenericMetaUpdate applies the metadata update rules to any object
// that has metadata.
func validateGenericMetaUpdate(obj, old runtime.Object) field.ErrorList {
	n, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	o, err := meta.Accessor(old)
	if err != nil {
		return nil
	}
	return validateMetaUpdate(n, o, false)
}
