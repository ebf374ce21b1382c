package validation

import (
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxPeriodSeconds              = 1800
	maxStabilizationWindowSeconds = 3600
	minReplicasLowerBound         = 1
)

func validMetricSourceTypes() []autoscalingv2.MetricSourceType {
	return []autoscalingv2.MetricSourceType{
		autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType,
		autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType,
	}
}

// ---- autoscaling/v1 ----

// validateHPAv1 checks the v1 view with the rules of the stored v2 object;
// the target utilization is reported at its v2 path, as upstream does.
func validateHPAv1(h *autoscalingv1.HorizontalPodAutoscaler) field.ErrorList {
	errs := validateMeta(h, true, nameIsDNSSubdomain, false)
	return append(errs, validateHPAv1Spec(h)...)
}

func validateHPAv1Spec(h *autoscalingv1.HorizontalPodAutoscaler) field.ErrorList {
	errs := validateReplicaBounds(h.Spec.MinReplicas, h.Spec.MaxReplicas, specPath)
	errs = append(errs, validateScaleTargetRef(h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name, specPath.Child("scaleTargetRef"))...)
	if u := h.Spec.TargetCPUUtilizationPercentage; u != nil && *u < 1 {
		p := specPath.Child("metrics").Index(0).Child("resource", "target", "averageUtilization")
		errs = append(errs, field.Invalid(p, u, "must be greater than 0"))
	}
	return errs
}

func validateHPAv1StatusUpdate(h, old *autoscalingv1.HorizontalPodAutoscaler) field.ErrorList {
	errs := validateMetaUpdate(h, old, false)
	errs = append(errs, nonNegative(int64(h.Status.CurrentReplicas), field.NewPath("status", "currentReplicas"))...)
	return append(errs, nonNegative(int64(h.Status.DesiredReplicas), field.NewPath("status", "desiredReplicas"))...)
}

// ---- autoscaling/v2 ----

func validateHPAv2(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	errs := validateMeta(h, true, nameIsDNSSubdomain, false)
	return append(errs, validateHPAv2Spec(&h.Spec, specPath)...)
}

func validateHPAv2Spec(spec *autoscalingv2.HorizontalPodAutoscalerSpec, fldPath *field.Path) field.ErrorList {
	errs := validateReplicaBounds(spec.MinReplicas, spec.MaxReplicas, fldPath)
	errs = append(errs, validateScaleTargetRef(spec.ScaleTargetRef.Kind, spec.ScaleTargetRef.Name, fldPath.Child("scaleTargetRef"))...)
	for i := range spec.Metrics {
		errs = append(errs, validateMetricSpec(&spec.Metrics[i], fldPath.Child("metrics").Index(i))...)
	}
	if b := spec.Behavior; b != nil {
		errs = append(errs, validateScalingRules(b.ScaleUp, fldPath.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateScalingRules(b.ScaleDown, fldPath.Child("behavior", "scaleDown"))...)
	}
	return errs
}

func validateHPAv2StatusUpdate(h, old *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	errs := validateMetaUpdate(h, old, false)
	errs = append(errs, nonNegative(int64(h.Status.CurrentReplicas), field.NewPath("status", "currentReplicas"))...)
	return append(errs, nonNegative(int64(h.Status.DesiredReplicas), field.NewPath("status", "desiredReplicas"))...)
}

func validateReplicaBounds(minReplicas *int32, maxReplicas int32, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if minReplicas != nil && *minReplicas < minReplicasLowerBound {
		errs = append(errs, field.Invalid(fldPath.Child("minReplicas"), *minReplicas, fmt.Sprintf("must be greater than or equal to %d", minReplicasLowerBound)))
	}
	if maxReplicas < 1 {
		errs = append(errs, field.Invalid(fldPath.Child("maxReplicas"), maxReplicas, "must be greater than 0"))
	}
	if minReplicas != nil && maxReplicas < *minReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("maxReplicas"), maxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	return errs
}

func validateScaleTargetRef(kind, name string, fldPath *field.Path) field.ErrorList {
	errs := requiredPathSegment(kind, fldPath.Child("kind"))
	return append(errs, requiredPathSegment(name, fldPath.Child("name"))...)
}

func validateMetricSpec(m *autoscalingv2.MetricSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric source type"))
	}
	present := []string{}
	validated := false
	check := func(set bool, name string, fn func() field.ErrorList) {
		if !set {
			return
		}
		present = append(present, name)
		if !validated {
			validated = true
			errs = append(errs, fn()...)
		}
	}
	check(m.Object != nil, "object", func() field.ErrorList {
		p := fldPath.Child("object")
		e := validateScaleTargetRef(m.Object.DescribedObject.Kind, m.Object.DescribedObject.Name, p.Child("describedObject"))
		e = append(e, validateMetricIdentifier(&m.Object.Metric, p.Child("metric"))...)
		e = append(e, validateMetricTarget(&m.Object.Target, p.Child("target"))...)
		if m.Object.Target.Value == nil && m.Object.Target.AverageValue == nil {
			e = append(e, field.Required(p.Child("target", "averageValue"), "must set either a target value or averageValue"))
		}
		return e
	})
	check(m.Pods != nil, "pods", func() field.ErrorList {
		p := fldPath.Child("pods")
		e := validateMetricIdentifier(&m.Pods.Metric, p.Child("metric"))
		e = append(e, validateMetricTarget(&m.Pods.Target, p.Child("target"))...)
		if m.Pods.Target.AverageValue == nil {
			e = append(e, field.Required(p.Child("target", "averageValue"), "must specify a positive target averageValue"))
		}
		return e
	})
	check(m.Resource != nil, "resource", func() field.ErrorList {
		return validateResourceMetricTarget(string(m.Resource.Name), &m.Resource.Target, fldPath.Child("resource"))
	})
	check(m.ContainerResource != nil, "containerResource", func() field.ErrorList {
		p := fldPath.Child("containerResource")
		e := validateResourceMetricTarget(string(m.ContainerResource.Name), &m.ContainerResource.Target, p)
		if m.ContainerResource.Container == "" {
			e = append(e, field.Required(p.Child("container"), "must specify a container"))
		} else {
			e = append(e, dnsLabel(m.ContainerResource.Container, p.Child("container"))...)
		}
		return e
	})
	check(m.External != nil, "external", func() field.ErrorList {
		p := fldPath.Child("external")
		e := validateMetricIdentifier(&m.External.Metric, p.Child("metric"))
		e = append(e, validateMetricTarget(&m.External.Target, p.Child("target"))...)
		if m.External.Target.Value == nil && m.External.Target.AverageValue == nil {
			e = append(e, field.Required(p.Child("target", "averageValue"), "must set either a target value for metric or a per-pod target"))
		}
		if m.External.Target.Value != nil && m.External.Target.AverageValue != nil {
			e = append(e, field.Forbidden(p.Child("target", "value"), "may not set both a target value for metric and a per-pod target"))
		}
		return e
	})

	expected := ""
	switch m.Type {
	case autoscalingv2.ObjectMetricSourceType:
		expected = "object"
	case autoscalingv2.PodsMetricSourceType:
		expected = "pods"
	case autoscalingv2.ResourceMetricSourceType:
		expected = "resource"
	case autoscalingv2.ContainerResourceMetricSourceType:
		expected = "containerResource"
	case autoscalingv2.ExternalMetricSourceType:
		expected = "external"
	default:
		if m.Type != "" {
			errs = append(errs, field.NotSupported(fldPath.Child("type"), m.Type, validMetricSourceTypes()))
		}
	}
	found := false
	for _, p := range present {
		found = found || p == expected
	}
	if expected != "" && !found {
		errs = append(errs, field.Required(fldPath.Child(expected), "must populate information for the given metric source"))
	}
	if len(present) > 1 {
		for _, p := range present {
			if p != expected {
				errs = append(errs, field.Forbidden(fldPath.Child(p), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

func validateResourceMetricTarget(name string, t *autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	} else {
		errs = append(errs, validateContainerResourceName(name, fldPath.Child("name"))...)
	}
	errs = append(errs, validateMetricTarget(t, fldPath.Child("target"))...)
	if t.AverageUtilization == nil && t.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if t.AverageUtilization != nil && t.AverageValue != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("target", "averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

func validateMetricTarget(t *autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscalingv2.UtilizationMetricType && t.Type != autoscalingv2.ValueMetricType && t.Type != autoscalingv2.AverageValueMetricType {
		errs = append(errs, field.Invalid(fldPath.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("value"), t.Value, "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageValue"), t.AverageValue, "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageUtilization"), t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateMetricIdentifier(id *autoscalingv2.MetricIdentifier, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if id.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "must specify a metric name"))
	} else {
		errs = append(errs, requiredPathSegment(id.Name, fldPath.Child("name"))...)
	}
	if id.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(id.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	return errs
}

func validateScalingRules(r *autoscalingv2.HPAScalingRules, fldPath *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil {
		if *w < 0 {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), w, "must be greater than or equal to zero"))
		}
		if *w > maxStabilizationWindowSeconds {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), w, fmt.Sprintf("must be less than or equal to %v", maxStabilizationWindowSeconds)))
		}
	}
	if sp := r.SelectPolicy; sp != nil && *sp != autoscalingv2.MaxChangePolicySelect && *sp != autoscalingv2.MinChangePolicySelect && *sp != autoscalingv2.DisabledPolicySelect {
		errs = append(errs, field.NotSupported(fldPath.Child("selectPolicy"), sp, []autoscalingv2.ScalingPolicySelect{
			autoscalingv2.DisabledPolicySelect, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect}))
	}
	pp := fldPath.Child("policies")
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(pp, "must specify at least one Policy"))
	}
	for i, p := range r.Policies {
		ip := pp.Index(i)
		if p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy {
			errs = append(errs, field.NotSupported(ip.Child("type"), p.Type, []autoscalingv2.HPAScalingPolicyType{autoscalingv2.PercentScalingPolicy, autoscalingv2.PodsScalingPolicy}))
		}
		if p.Value <= 0 {
			errs = append(errs, field.Invalid(ip.Child("value"), p.Value, "must be greater than zero"))
		}
		if p.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), p.PeriodSeconds, "must be greater than zero"))
		}
		if p.PeriodSeconds > maxPeriodSeconds {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), p.PeriodSeconds, fmt.Sprintf("must be less than or equal to %v", maxPeriodSeconds)))
		}
	}
	return errs
}
