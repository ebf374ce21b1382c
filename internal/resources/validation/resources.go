package validation

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource-name classes, as upstream's core helper package defines them.

func isStandardContainerResource(name string) bool {
	switch corev1.ResourceName(name) {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return true
	}
	return false
}

// isCountedResource: object counts quota can limit, all whole numbers.
func isCountedResource(name string) bool {
	switch name {
	case "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
		"persistentvolumeclaims", "services.nodeports", "services.loadbalancers":
		return true
	}
	return false
}

// isStandardComputeQuotaResource: compute and storage names quota knows.
func isStandardComputeQuotaResource(name string) bool {
	switch name {
	case "cpu", "memory", "ephemeral-storage",
		"requests.cpu", "requests.memory", "requests.ephemeral-storage", "requests.storage",
		"limits.cpu", "limits.memory", "limits.ephemeral-storage":
		return true
	}
	return false
}

func isStandardLimitRangeType(t string) bool {
	switch corev1.LimitType(t) {
	case corev1.LimitTypePod, corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim:
		return true
	}
	return false
}

const hugePagesPrefix = "hugepages-"

func isHugePageResourceName(name string) bool { return strings.HasPrefix(name, hugePagesPrefix) }

func isQuotaHugePageResourceName(name string) bool {
	return strings.HasPrefix(name, hugePagesPrefix) || strings.HasPrefix(name, "requests."+hugePagesPrefix)
}

// isNativeResource: unprefixed or in the kubernetes.io domain.
func isNativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, "kubernetes.io/")
}

// isExtendedResourceName: a vendor resource that can be requested by
// containers and counted by quota.
func isExtendedResourceName(name string) bool {
	if isNativeResource(name) || strings.HasPrefix(name, "requests.") {
		return false
	}
	return len(validation.IsQualifiedName("requests."+name)) == 0
}

func isOvercommitAllowed(name string) bool {
	return isNativeResource(name) && !isHugePageResourceName(name)
}

func isIntegerResourceName(name string) bool {
	return isCountedResource(name) || isExtendedResourceName(name)
}

func isStandardResourceName(name string) bool {
	return isStandardComputeQuotaResource(name) || isCountedResource(name) || name == "storage" || isQuotaHugePageResourceName(name)
}

func isStandardContainerResourceName(name string) bool {
	return isStandardContainerResource(name) || isHugePageResourceName(name)
}

func isStandardQuotaResourceName(name string) bool {
	return isStandardComputeQuotaResource(name) || isCountedResource(name) || isQuotaHugePageResourceName(name)
}

// validateResourceName: a qualified name that, if unprefixed, is standard.
func validateResourceName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(name) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	if len(errs) != 0 {
		return errs
	}
	if !strings.Contains(name, "/") && !isStandardResourceName(name) {
		errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource type or fully qualified"))
	}
	return errs
}

func validateContainerResourceName(name string, fldPath *field.Path) field.ErrorList {
	errs := validateResourceName(name, fldPath)
	if !strings.Contains(name, "/") {
		if !isStandardContainerResourceName(name) {
			return append(errs, field.Invalid(fldPath, name, "must be a standard resource for containers"))
		}
	} else if !isNativeResource(name) && !isExtendedResourceName(name) {
		return append(errs, field.Invalid(fldPath, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

func validateQuotaResourceName(name string, fldPath *field.Path) field.ErrorList {
	errs := validateResourceName(name, fldPath)
	if !strings.Contains(name, "/") && !isStandardQuotaResourceName(name) {
		return append(errs, field.Invalid(fldPath, name, "must be a standard resource for quota"))
	}
	return errs
}

// validateResourceQuantity: non-negative, and whole for countable resources.
func validateResourceQuantity(name string, q resource.Quantity, fldPath *field.Path) field.ErrorList {
	errs := nonNegativeQuantity(q, fldPath)
	if isIntegerResourceName(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fldPath, q, isNotIntegerErrorMsg))
	}
	return errs
}

// sortedResourceNames makes error order independent of map iteration.
func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for n := range list {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}

// validateResourceRequirements checks container requests and limits:
// known names, sane quantities, requests not above limits.
func validateResourceRequirements(req *corev1.ResourceRequirements, claimNames map[string]bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath := fldPath.Child("limits")
	reqPath := fldPath.Child("requests")
	limCPUOrMem, reqCPUOrMem, limHuge, reqHuge := false, false, false, false
	for _, n := range sortedResourceNames(req.Limits) {
		q := req.Limits[n]
		p := limPath.Key(string(n))
		errs = append(errs, validateContainerResourceName(string(n), p)...)
		errs = append(errs, validateResourceQuantity(string(n), q, p)...)
		if isHugePageResourceName(string(n)) {
			limHuge = true
		}
		if n == corev1.ResourceCPU || n == corev1.ResourceMemory {
			limCPUOrMem = true
		}
	}
	for _, n := range sortedResourceNames(req.Requests) {
		q := req.Requests[n]
		p := reqPath.Key(string(n))
		errs = append(errs, validateContainerResourceName(string(n), p)...)
		errs = append(errs, validateResourceQuantity(string(n), q, p)...)
		if lim, ok := req.Limits[n]; ok {
			if q.Cmp(lim) != 0 && !isOvercommitAllowed(string(n)) {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", n, lim.String())))
			} else if q.Cmp(lim) > 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", n, lim.String())))
			}
		} else if !isOvercommitAllowed(string(n)) {
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
		if isHugePageResourceName(string(n)) {
			reqHuge = true
		}
		if n == corev1.ResourceCPU || n == corev1.ResourceMemory {
			reqCPUOrMem = true
		}
	}
	if !limCPUOrMem && !reqCPUOrMem && (limHuge || reqHuge) {
		errs = append(errs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	errs = append(errs, validateResourceClaimNames(req.Claims, claimNames, fldPath.Child("claims"))...)
	return errs
}

// validateResourceClaimNames checks that container claims name entries of
// the pod's resourceClaims.
func validateResourceClaimNames(claims []corev1.ResourceClaim, podClaims map[string]bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, c := range claims {
		if c.Name == "" {
			errs = append(errs, field.Required(fldPath.Index(i), ""))
			continue
		}
		key := c.Name
		if c.Request != "" {
			errs = append(errs, dnsLabel(c.Request, fldPath.Index(i).Child("request"))...)
			key += "/" + c.Request
		}
		if seen[key] {
			errs = append(errs, field.Duplicate(fldPath.Index(i), key))
		}
		seen[key] = true
		if !podClaims[c.Name] {
			e := field.NotFound(fldPath.Index(i), c.Name)
			e.Detail = "must be one of the names in pod.spec.resourceClaims"
			if len(podClaims) == 0 {
				e.Detail += " which is empty"
			} else {
				names := make([]string, 0, len(podClaims))
				for n := range podClaims {
					names = append(names, n)
				}
				sort.Strings(names)
				e.Detail += ": " + strings.Join(names, ", ")
			}
			errs = append(errs, e)
		}
	}
	return errs
}
