package validation

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ---- PodDisruptionBudget ----

// validatePDB: upstream's strategy checks only the spec; names get the
// generic path-segment rule every object gets.
func validatePDB(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	errs := validatePDBSpec(&pdb.Spec, specPath)
	return append(errs, validateMeta(pdb, true, nameIsPathSegment, false)...)
}

func validatePDBSpec(spec *policyv1.PodDisruptionBudgetSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(fldPath, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if spec.MinAvailable != nil {
		errs = append(errs, positiveIntOrPercent(*spec.MinAvailable, fldPath.Child("minAvailable"))...)
		errs = append(errs, notMoreThan100Percent(*spec.MinAvailable, fldPath.Child("minAvailable"))...)
	}
	if spec.MaxUnavailable != nil {
		errs = append(errs, positiveIntOrPercent(*spec.MaxUnavailable, fldPath.Child("maxUnavailable"))...)
		errs = append(errs, notMoreThan100Percent(*spec.MaxUnavailable, fldPath.Child("maxUnavailable"))...)
	}
	errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	if p := spec.UnhealthyPodEvictionPolicy; p != nil {
		switch *p {
		case policyv1.IfHealthyBudget, policyv1.AlwaysAllow:
		default:
			errs = append(errs, field.NotSupported(fldPath.Child("unhealthyPodEvictionPolicy"), p,
				[]string{string(policyv1.AlwaysAllow), string(policyv1.IfHealthyBudget)}))
		}
	}
	return errs
}

func validatePDBStatusUpdate(pdb, old *policyv1.PodDisruptionBudget) field.ErrorList {
	errs := validateMetaUpdate(pdb, old, false)
	p := field.NewPath("status")
	errs = append(errs, metav1validation.ValidateConditions(pdb.Status.Conditions, p.Child("conditions"))...)
	errs = append(errs, nonNegative(int64(pdb.Status.DisruptionsAllowed), p.Child("disruptionsAllowed"))...)
	errs = append(errs, nonNegative(int64(pdb.Status.CurrentHealthy), p.Child("currentHealthy"))...)
	errs = append(errs, nonNegative(int64(pdb.Status.DesiredHealthy), p.Child("desiredHealthy"))...)
	return append(errs, nonNegative(int64(pdb.Status.ExpectedPods), p.Child("expectedPods"))...)
}

// ---- Eviction ----

// validateEviction: an eviction names the pod it evicts; the delete options
// it carries are the server's to check.
func validateEviction(ev *policyv1.Eviction) field.ErrorList {
	return validateMeta(ev, true, nameIsDNSSubdomain, false)
}

// ---- Scale ----

func validateScale(s *autoscalingv1.Scale) field.ErrorList {
	errs := validateMeta(s, true, nameIsDNSSubdomain, false)
	if s.Spec.Replicas < 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "replicas"), s.Spec.Replicas, "must be greater than or equal to 0"))
	}
	return errs
}
