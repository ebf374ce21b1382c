package validation

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ---- ConfigMap ----

func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	errs := validateMeta(cm, true, nameIsDNSSubdomain, true)
	total := 0
	dp, bp := field.NewPath("data"), field.NewPath("binaryData")
	for _, k := range sortedKeys(cm.Data) {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(dp.Key(k), k, msg))
		}
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(dp.Key(k), k, "duplicate of key present in binaryData"))
		}
		total += len(cm.Data[k])
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(bp.Key(k), k, msg))
		}
		total += len(cm.BinaryData[k])
	}
	if total > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", corev1.MaxSecretSize))
	}
	return errs
}

func validateConfigMapUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	errs := validateMetaUpdate(cm, old, true)
	if old.Immutable != nil && *old.Immutable {
		const msg = "field is immutable when `immutable` is set"
		if cm.Immutable == nil || !*cm.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), msg))
		}
		if !reflect.DeepEqual(cm.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), msg))
		}
		if !reflect.DeepEqual(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), msg))
		}
	}
	return append(errs, validateConfigMap(cm)...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- Secret ----

func validateSecret(s *corev1.Secret) field.ErrorList {
	errs := validateMeta(s, true, nameIsDNSSubdomain, true)
	dp := field.NewPath("data")
	total := 0
	for _, k := range sortedKeys(s.Data) {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(dp.Key(k), k, msg))
		}
		total += len(s.Data[k])
	}
	if total > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(dp, "", corev1.MaxSecretSize))
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		errs = append(errs, validateJSONKey(s.Data, corev1.DockerConfigKey, dp)...)
	case corev1.SecretTypeDockerConfigJson:
		errs = append(errs, validateJSONKey(s.Data, corev1.DockerConfigJsonKey, dp)...)
	case corev1.SecretTypeBasicAuth:
		_, user := s.Data[corev1.BasicAuthUsernameKey]
		_, pass := s.Data[corev1.BasicAuthPasswordKey]
		if !user && !pass {
			errs = append(errs, field.Required(dp.Key(corev1.BasicAuthUsernameKey), ""),
				field.Required(dp.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dp.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := s.Data[corev1.TLSCertKey]; !ok {
			errs = append(errs, field.Required(dp.Key(corev1.TLSCertKey), ""))
		}
		if _, ok := s.Data[corev1.TLSPrivateKeyKey]; !ok {
			errs = append(errs, field.Required(dp.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

// validateJSONKey: data[key] exists and holds a JSON object.
func validateJSONKey(data map[string][]byte, key string, dp *field.Path) field.ErrorList {
	b, ok := data[key]
	if !ok {
		return field.ErrorList{field.Required(dp.Key(key), "")}
	}
	if err := json.Unmarshal(b, &map[string]any{}); err != nil {
		return field.ErrorList{field.Invalid(dp.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

func validateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	errs := validateMetaUpdate(s, old, true)
	errs = append(errs, immutable(s.Type, old.Type, field.NewPath("type"))...)
	if old.Immutable != nil && *old.Immutable {
		const msg = "field is immutable when `immutable` is set"
		if s.Immutable == nil || !*s.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), msg))
		}
		if !reflect.DeepEqual(s.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), msg))
		}
	}
	return append(errs, validateSecret(s)...)
}

// ---- ServiceAccount ----

func validateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	return validateMeta(sa, true, nameIsDNSSubdomain, true)
}

// ---- Namespace ----

func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	errs := validateMeta(ns, false, nameIsDNSLabel, true)
	for _, f := range ns.Spec.Finalizers {
		errs = append(errs, validateFinalizerName(string(f), field.NewPath("spec", "finalizers"))...)
	}
	return errs
}

// validateNamespaceUpdate: spec.finalizers only change through the finalize
// subresource; the server keeps them, so only metadata is checked.
func validateNamespaceUpdate(ns, old *corev1.Namespace) field.ErrorList {
	return validateMetaUpdate(ns, old, true)
}

func validateNamespaceStatusUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := validateMetaUpdate(ns, old, true)
	p := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(p, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

func validateNamespaceFinalizeUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := validateMetaUpdate(ns, old, true)
	p := field.NewPath("spec", "finalizers")
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, validateFinalizerName(string(f), p.Index(i))...)
	}
	return errs
}

// ---- Node ----

func validateNode(n *corev1.Node) field.ErrorList {
	errs := validateMeta(n, false, nameIsDNSSubdomain, true)
	errs = append(errs, validateNodeTaints(n.Spec.Taints, metadataPath.Child("taints"))...)
	errs = append(errs, validateNodeResources(n)...)
	errs = append(errs, validatePodCIDRs(n.Spec.PodCIDRs)...)
	return errs
}

// validatePodCIDRs: valid CIDRs, at most one per family, no duplicates.
func validatePodCIDRs(cidrs []string) field.ErrorList {
	if len(cidrs) == 0 {
		return nil
	}
	p := field.NewPath("spec", "podCIDRs")
	var errs field.ErrorList
	for i, c := range cidrs {
		errs = append(errs, validCIDR(c, p.Index(i))...)
	}
	if len(cidrs) > 1 {
		if len(cidrs) > 2 || cidrFamilyOf(cidrs[0]) == cidrFamilyOf(cidrs[1]) {
			errs = append(errs, field.Invalid(p, cidrs, "may specify no more than one CIDR for each IP family"))
		}
		seen := map[string]bool{}
		for i, c := range cidrs {
			if seen[c] {
				errs = append(errs, field.Duplicate(p.Index(i), c))
			}
			seen[c] = true
		}
	}
	return errs
}

func validateNodeTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	unique := map[corev1.TaintEffect]map[string]bool{}
	for i, t := range taints {
		p := fldPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		errs = append(errs, validateTaintEffect(t.Effect, false, p.Child("effect"))...)
		if unique[t.Effect][t.Key] {
			e := field.Duplicate(p, t)
			e.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, e)
			continue
		}
		if unique[t.Effect] == nil {
			unique[t.Effect] = map[string]bool{}
		}
		unique[t.Effect][t.Key] = true
	}
	return errs
}

func validateNodeResources(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedResourceNames(n.Status.Capacity) {
		errs = append(errs, validateResourceQuantity(string(k), n.Status.Capacity[k], field.NewPath("status", "capacity", string(k)))...)
	}
	for _, k := range sortedResourceNames(n.Status.Allocatable) {
		errs = append(errs, validateResourceQuantity(string(k), n.Status.Allocatable[k], field.NewPath("status", "allocatable", string(k)))...)
	}
	return errs
}

// validateNodeUpdate serves both spec and status updates: podCIDRs and
// providerID can be set once, taints and unschedulable change freely.
func validateNodeUpdate(n, old *corev1.Node) field.ErrorList {
	errs := validateMetaUpdate(n, old, true)
	errs = append(errs, validateNodeResources(n)...)
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range n.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	if len(old.Spec.PodCIDRs) > 0 {
		const msg = "node updates may not change podCIDR except from \"\" to valid"
		p := field.NewPath("spec", "podCIDRs")
		if len(old.Spec.PodCIDRs) != len(n.Spec.PodCIDRs) {
			errs = append(errs, field.Forbidden(p, msg))
		} else {
			for i, c := range old.Spec.PodCIDRs {
				if c != n.Spec.PodCIDRs[i] {
					errs = append(errs, field.Forbidden(p, msg))
				}
			}
		}
	} else {
		errs = append(errs, validatePodCIDRs(n.Spec.PodCIDRs)...)
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	errs = append(errs, validateNodeTaints(n.Spec.Taints, metadataPath.Child("taints"))...)
	if n.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

// ---- Event ----

const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

// validateCoreEvent: core/v1 events only get the legacy checks, for
// compatibility with old clients.
func validateCoreEvent(e *corev1.Event) field.ErrorList {
	return legacyValidateEvent(e)
}

func validateCoreEventUpdate(e, _ *corev1.Event) field.ErrorList {
	return legacyValidateEvent(e)
}

func legacyValidateEvent(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	const mismatch = "does not match event.namespace"
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" {
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, mismatch))
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, mismatch))
		}
	} else {
		if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, mismatch))
		}
		if e.ReportingController == "" {
			errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
		}
		for _, msg := range validation.IsQualifiedName(e.ReportingController) {
			errs = append(errs, field.Invalid(field.NewPath("reportingController"), e.ReportingController, msg))
		}
		errs = append(errs, requiredMaxLen(e.ReportingInstance, reportingInstanceLengthLimit, field.NewPath("reportingInstance"))...)
		errs = append(errs, requiredMaxLen(e.Action, actionLengthLimit, field.NewPath("action"))...)
		errs = append(errs, requiredMaxLen(e.Reason, reasonLengthLimit, field.NewPath("reason"))...)
		if len(e.Message) > noteLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", noteLengthLimit)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(e.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), e.Namespace, msg))
	}
	return errs
}

func requiredMaxLen(v string, limit int, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if v == "" {
		errs = append(errs, field.Required(fldPath, ""))
	}
	if len(v) > limit {
		errs = append(errs, field.Invalid(fldPath, "", fmt.Sprintf("can have at most %v characters", limit)))
	}
	return errs
}

// eventToCore maps an events.k8s.io/v1 Event onto the stored core/v1 shape,
// so that both APIs share one set of rules and upstream's field paths.
func eventToCore(e *eventsv1.Event) *corev1.Event {
	c := &corev1.Event{
		ObjectMeta:          e.ObjectMeta,
		InvolvedObject:      e.Regarding,
		Reason:              e.Reason,
		Message:             e.Note,
		Source:              e.DeprecatedSource,
		FirstTimestamp:      e.DeprecatedFirstTimestamp,
		LastTimestamp:       e.DeprecatedLastTimestamp,
		Count:               e.DeprecatedCount,
		Type:                e.Type,
		EventTime:           e.EventTime,
		Related:             e.Related,
		ReportingController: e.ReportingController,
		ReportingInstance:   e.ReportingInstance,
		Action:              e.Action,
	}
	if e.Series != nil {
		c.Series = &corev1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	return c
}

// validateEventsV1Event: the strict rules of the events.k8s.io API.
func validateEventsV1Event(in *eventsv1.Event) field.ErrorList {
	e := eventToCore(in)
	errs := legacyValidateEvent(e)
	errs = append(errs, validateMeta(e, true, nameIsDNSSubdomain, true)...)
	errs = append(errs, validateEventSeries(e)...)
	if e.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", e.Type)))
	}
	if !e.FirstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if !e.LastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if e.Count != 0 {
		errs = append(errs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if e.Source.Component != "" || e.Source.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return errs
}

func validateEventSeries(e *corev1.Event) field.ErrorList {
	if e.Series == nil {
		return nil
	}
	var errs field.ErrorList
	if e.Series.Count < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
	}
	if e.Series.LastObservedTime.Time.Equal(time.Time{}) {
		errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
	}
	return errs
}

func validateEventsV1EventUpdate(in, oldIn *eventsv1.Event) field.ErrorList {
	e, old := eventToCore(in), eventToCore(oldIn)
	errs := legacyValidateEvent(e)
	errs = append(errs, validateMetaUpdate(e, old, true)...)
	if !reflect.DeepEqual(e.Series, old.Series) {
		errs = append(errs, validateEventSeries(e)...)
	}
	for _, c := range []struct {
		name     string
		new, old any
	}{
		{"involvedObject", e.InvolvedObject, old.InvolvedObject}, {"reason", e.Reason, old.Reason},
		{"message", e.Message, old.Message}, {"source", e.Source, old.Source},
		{"firstTimestamp", e.FirstTimestamp, old.FirstTimestamp}, {"lastTimestamp", e.LastTimestamp, old.LastTimestamp},
		{"count", e.Count, old.Count}, {"type", e.Type, old.Type}, {"eventTime", e.EventTime, old.EventTime},
		{"action", e.Action, old.Action}, {"related", e.Related, old.Related},
		{"reportingController", e.ReportingController, old.ReportingController},
		{"reportingInstance", e.ReportingInstance, old.ReportingInstance},
	} {
		errs = append(errs, immutable(c.new, c.old, field.NewPath(c.name))...)
	}
	return errs
}

// ---- LimitRange ----

func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	errs := validateMeta(lr, true, nameIsDNSSubdomain, true)
	fldPath := field.NewPath("spec", "limits")
	types := map[corev1.LimitType]bool{}
	for i := range lr.Spec.Limits {
		l := &lr.Spec.Limits[i]
		p := fldPath.Index(i)
		errs = append(errs, validateLimitRangeType(l.Type, p.Child("type"))...)
		if types[l.Type] {
			errs = append(errs, field.Duplicate(p.Child("type"), l.Type))
		}
		types[l.Type] = true
		nameFn := validateResourceName
		if l.Type == corev1.LimitTypePod || l.Type == corev1.LimitTypeContainer {
			nameFn = validateContainerResourceName
		}
		keys := map[string]bool{}
		collect := func(list corev1.ResourceList, name string) map[string]resource.Quantity {
			out := map[string]resource.Quantity{}
			for _, k := range sortedResourceNames(list) {
				errs = append(errs, nameFn(string(k), p.Child(name).Key(string(k)))...)
				keys[string(k)] = true
				out[string(k)] = list[k]
			}
			return out
		}
		maxQ := collect(l.Max, "max")
		minQ := collect(l.Min, "min")
		var defQ, defReqQ map[string]resource.Quantity
		if l.Type == corev1.LimitTypePod {
			if len(l.Default) > 0 {
				errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(l.DefaultRequest) > 0 {
				errs = append(errs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		} else {
			defQ = collect(l.Default, "default")
			defReqQ = collect(l.DefaultRequest, "defaultRequest")
		}
		if l.Type == corev1.LimitTypePersistentVolumeClaim {
			_, hasMin := l.Min[corev1.ResourceStorage]
			_, hasMax := l.Max[corev1.ResourceStorage]
			if !hasMin && !hasMax {
				errs = append(errs, field.Required(p.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		ratioQ := collect(l.MaxLimitRequestRatio, "maxLimitRequestRatio")
		for _, k := range sortedKeys(keys) {
			mn, hasMin := minQ[k]
			mx, hasMax := maxQ[k]
			d, hasDef := defQ[k]
			dr, hasDefReq := defReqQ[k]
			r, hasRatio := ratioQ[k]
			if hasMin && hasMax && mn.Cmp(mx) > 0 {
				errs = append(errs, field.Invalid(p.Child("min").Key(k), mn, fmt.Sprintf("min value %s is greater than max value %s", mn.String(), mx.String())))
			}
			if hasDefReq && hasMin && mn.Cmp(dr) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), dr, fmt.Sprintf("min value %s is greater than default request value %s", mn.String(), dr.String())))
			}
			if hasDefReq && hasMax && dr.Cmp(mx) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), dr, fmt.Sprintf("default request value %s is greater than max value %s", dr.String(), mx.String())))
			}
			if hasDefReq && hasDef && dr.Cmp(d) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), dr, fmt.Sprintf("default request value %s is greater than default limit value %s", dr.String(), d.String())))
			}
			if hasDef && hasMin && mn.Cmp(d) > 0 {
				errs = append(errs, field.Invalid(p.Child("default").Key(k), mn, fmt.Sprintf("min value %s is greater than default value %s", mn.String(), d.String())))
			}
			if hasDef && hasMax && d.Cmp(mx) > 0 {
				errs = append(errs, field.Invalid(p.Child("default").Key(k), mx, fmt.Sprintf("default value %s is greater than max value %s", d.String(), mx.String())))
			}
			if hasRatio && r.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
				errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(k), r, fmt.Sprintf("ratio %s is less than 1", r.String())))
			}
			if hasRatio && hasMin && hasMax && mn.MilliValue() > 0 {
				limit := float64(mx.MilliValue()) / float64(mn.MilliValue())
				if float64(r.MilliValue())/1000 > limit {
					errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(k), r, fmt.Sprintf("ratio %s is greater than max/min = %f", r.String(), limit)))
				}
			}
			if !isOvercommitAllowed(k) && hasDef && hasDefReq && d.Cmp(dr) != 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(k), dr, fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", d.String(), dr.String(), k)))
			}
		}
	}
	return errs
}

func validateLimitRangeType(t corev1.LimitType, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(t)) {
		errs = append(errs, field.Invalid(fldPath, t, msg))
	}
	if len(errs) == 0 && !strings.Contains(string(t), "/") && !isStandardLimitRangeType(string(t)) {
		errs = append(errs, field.Invalid(fldPath, t, "must be a standard limit type or fully qualified"))
	}
	return errs
}

// ---- ResourceQuota ----

func isStandardQuotaScope(s corev1.ResourceQuotaScope) bool {
	switch s {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity,
		corev1.ResourceQuotaScopeVolumeAttributesClass:
		return true
	}
	return false
}

func validateResourceQuota(rq *corev1.ResourceQuota) field.ErrorList {
	errs := validateMeta(rq, true, nameIsDNSSubdomain, true)
	errs = append(errs, validateResourceQuotaSpec(&rq.Spec, specPath)...)
	return append(errs, validateQuotaList(rq.Status.Hard, field.NewPath("status", "hard"))...)
}

func validateQuotaList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedResourceNames(list) {
		p := fldPath.Key(string(k))
		errs = append(errs, validateQuotaResourceName(string(k), p)...)
		errs = append(errs, validateResourceQuantity(string(k), list[k], p)...)
	}
	return errs
}

func validateResourceQuotaSpec(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	errs := validateQuotaList(spec.Hard, fldPath.Child("hard"))
	scopes := map[corev1.ResourceQuotaScope]bool{}
	for _, s := range spec.Scopes {
		if !isStandardQuotaScope(s) {
			errs = append(errs, field.Invalid(fldPath.Child("scopes"), spec.Scopes, "unsupported scope"))
		}
		scopes[s] = true
	}
	if spec.ScopeSelector != nil {
		mp := fldPath.Child("scopeSelector", "matchExpressions")
		for _, req := range spec.ScopeSelector.MatchExpressions {
			if !isStandardQuotaScope(req.ScopeName) {
				errs = append(errs, field.Invalid(mp.Child("scopeName"), req.ScopeName, "unsupported scope"))
			}
			switch req.Operator {
			case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
				if len(req.Values) == 0 {
					errs = append(errs, field.Required(mp.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
				}
			case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
				if len(req.Values) != 0 {
					errs = append(errs, field.Invalid(mp.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
				}
			default:
				errs = append(errs, field.Invalid(mp.Child("operator"), req.Operator, "not a valid selector operator"))
			}
			scopes[req.ScopeName] = true
		}
	}
	if (scopes[corev1.ResourceQuotaScopeBestEffort] && scopes[corev1.ResourceQuotaScopeNotBestEffort]) ||
		(scopes[corev1.ResourceQuotaScopeTerminating] && scopes[corev1.ResourceQuotaScopeNotTerminating]) {
		errs = append(errs, field.Invalid(fldPath.Child("scopes"), spec.Scopes, "conflicting scopes"))
	}
	return errs
}

func validateResourceQuotaUpdate(rq, old *corev1.ResourceQuota) field.ErrorList {
	errs := validateMetaUpdate(rq, old, true)
	errs = append(errs, validateResourceQuotaSpec(&rq.Spec, specPath)...)
	oldScopes, newScopes := map[corev1.ResourceQuotaScope]bool{}, map[corev1.ResourceQuotaScope]bool{}
	for _, s := range old.Spec.Scopes {
		oldScopes[s] = true
	}
	for _, s := range rq.Spec.Scopes {
		newScopes[s] = true
	}
	if !reflect.DeepEqual(oldScopes, newScopes) {
		errs = append(errs, field.Invalid(specPath.Child("scopes"), rq.Spec.Scopes, fieldImmutableMsg))
	}
	return errs
}

func validateResourceQuotaStatusUpdate(rq, old *corev1.ResourceQuota) field.ErrorList {
	errs := validateMetaUpdate(rq, old, true)
	errs = append(errs, validateQuotaList(rq.Status.Hard, field.NewPath("status", "hard"))...)
	return append(errs, validateQuotaList(rq.Status.Used, field.NewPath("status", "used"))...)
}

// ---- PersistentVolume and PersistentVolumeClaim ----

func supportedAccessModes() []corev1.PersistentVolumeAccessMode {
	return []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod}
}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, requiredDetail string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		errs = append(errs, field.Required(fldPath, requiredDetail))
	}
	rwop, other := false, false
	for _, m := range modes {
		known := false
		for _, s := range supportedAccessModes() {
			known = known || m == s
		}
		if !known {
			errs = append(errs, field.NotSupported(fldPath, m, supportedAccessModes()))
		} else if m == corev1.ReadWriteOncePod {
			rwop = true
		} else {
			other = true
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	errs := validateMeta(pv, false, nameIsDNSSubdomain, true)
	spec := &pv.Spec
	errs = append(errs, validateAccessModes(spec.AccessModes, "", specPath.Child("accessModes"))...)
	cp := specPath.Child("capacity")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(cp, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(cp, spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for _, k := range sortedResourceNames(spec.Capacity) {
		q := spec.Capacity[k]
		if q.Value() < 0 {
			errs = append(errs, field.Invalid(cp.Key(string(k)), q.Value(), "must be a valid resource quantity"))
		}
		errs = append(errs, positiveQuantity(q, cp.Key(string(k)))...)
	}
	if rp := spec.PersistentVolumeReclaimPolicy; rp != "" && rp != corev1.PersistentVolumeReclaimDelete &&
		rp != corev1.PersistentVolumeReclaimRecycle && rp != corev1.PersistentVolumeReclaimRetain {
		errs = append(errs, field.NotSupported(specPath.Child("persistentVolumeReclaimPolicy"), rp,
			[]corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain}))
	}
	if na := spec.NodeAffinity; na != nil {
		if na.Required == nil {
			errs = append(errs, field.Required(specPath.Child("nodeAffinity", "required"), "must specify required node constraints"))
		} else {
			errs = append(errs, validateNodeSelector(na.Required, false, specPath.Child("nodeAffinity", "required"))...)
		}
	}
	if spec.StorageClassName != "" {
		errs = append(errs, nameErrs(nameIsDNSSubdomain, spec.StorageClassName, specPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && *spec.VolumeMode != corev1.PersistentVolumeBlock && *spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.NotSupported(specPath.Child("volumeMode"), *spec.VolumeMode,
			[]corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}))
	}
	errs = append(errs, validatePVSource(&spec.PersistentVolumeSource)...)
	return errs
}

// validatePVSource requires exactly one source and the essentials of the
// local kinds.
func validatePVSource(src *corev1.PersistentVolumeSource) field.ErrorList {
	var errs field.ErrorList
	n := 0
	add := func(set bool, name string, check func() field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(specPath.Child(name), "may not specify more than 1 volume type"))
			return
		}
		n++
		if check != nil {
			errs = append(errs, check()...)
		}
	}
	add(src.HostPath != nil, "hostPath", func() field.ErrorList { return validateHostPath(src.HostPath, specPath.Child("hostPath")) })
	add(src.GCEPersistentDisk != nil, "gcePersistentDisk", nil)
	add(src.AWSElasticBlockStore != nil, "awsElasticBlockStore", nil)
	add(src.Glusterfs != nil, "glusterfs", nil)
	add(src.Flocker != nil, "flocker", nil)
	add(src.NFS != nil, "nfs", func() field.ErrorList {
		p := specPath.Child("nfs")
		var e field.ErrorList
		if src.NFS.Server == "" {
			e = append(e, field.Required(p.Child("server"), ""))
		}
		if src.NFS.Path == "" {
			e = append(e, field.Required(p.Child("path"), ""))
		}
		if !strings.HasPrefix(src.NFS.Path, "/") {
			e = append(e, field.Invalid(p.Child("path"), src.NFS.Path, "must be an absolute path"))
		}
		return e
	})
	add(src.RBD != nil, "rbd", nil)
	add(src.Quobyte != nil, "quobyte", nil)
	add(src.CephFS != nil, "cephFS", nil)
	add(src.ISCSI != nil, "iscsi", nil)
	add(src.Cinder != nil, "cinder", nil)
	add(src.FC != nil, "fc", nil)
	add(src.FlexVolume != nil, "flexVolume", nil)
	add(src.AzureFile != nil, "azureFile", nil)
	add(src.VsphereVolume != nil, "vsphereVolume", nil)
	add(src.PhotonPersistentDisk != nil, "photonPersistentDisk", nil)
	add(src.PortworxVolume != nil, "portworxVolume", nil)
	add(src.AzureDisk != nil, "azureDisk", nil)
	add(src.ScaleIO != nil, "scaleIO", nil)
	add(src.Local != nil, "local", func() field.ErrorList {
		if src.Local.Path == "" {
			return field.ErrorList{field.Required(specPath.Child("local", "path"), "")}
		}
		return validatePathNoBacksteps(src.Local.Path, specPath.Child("local", "path"))
	})
	add(src.StorageOS != nil, "storageos", nil)
	add(src.CSI != nil, "csi", func() field.ErrorList {
		p := specPath.Child("csi")
		e := validateCSIDriverName(src.CSI.Driver, p.Child("driver"))
		if src.CSI.VolumeHandle == "" {
			e = append(e, field.Required(p.Child("volumeHandle"), ""))
		}
		return e
	})
	if n == 0 {
		errs = append(errs, field.Required(specPath, "must specify a volume type"))
	}
	return errs
}

// validatePersistentVolumeUpdate: the source and mode are fixed once the
// volume exists.
func validatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	errs := validateMetaUpdate(pv, old, true)
	errs = append(errs, validatePersistentVolume(pv)...)
	if !semanticEqual(pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(specPath.Child("persistentvolumesource"), "spec.persistentvolumesource is immutable after creation\n"))
	}
	errs = append(errs, immutable(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.NodeAffinity != nil && !semanticEqual(pv.Spec.NodeAffinity, old.Spec.NodeAffinity) {
		errs = append(errs, field.Invalid(field.NewPath("nodeAffinity"), pv.Spec.NodeAffinity, fieldImmutableMsg+", except for updating from beta label to GA"))
	}
	return errs
}

func validatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateMeta(pvc, true, nameIsDNSSubdomain, true)
	return append(errs, validatePVCSpec(&pvc.Spec, specPath)...)
}

func validatePVCSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	errs := validateAccessModes(spec.AccessModes, "at least 1 access mode is required", fldPath.Child("accessModes"))
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	sp := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(sp, ""))
	} else if e := positiveQuantity(q, sp); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		errs = append(errs, validateResourceQuantity(string(corev1.ResourceStorage), q, sp)...)
	}
	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		errs = append(errs, nameErrs(nameIsDNSSubdomain, *spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && *spec.VolumeMode != corev1.PersistentVolumeBlock && *spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode,
			[]corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}))
	}
	if ds := spec.DataSource; ds != nil {
		errs = append(errs, validateDataSource(ds.Name, ds.Kind, ds.APIGroup, fldPath.Child("dataSource"))...)
	}
	if ds := spec.DataSourceRef; ds != nil {
		errs = append(errs, validateDataSource(ds.Name, ds.Kind, ds.APIGroup, fldPath.Child("dataSourceRef"))...)
	}
	return errs
}

func validateDataSource(name, kind string, group *string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	}
	g := deref(group)
	if g == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(fldPath, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if g != "" {
		errs = append(errs, dnsSubdomain(g, fldPath.Child("apiGroup"))...)
	}
	return errs
}

// validatePersistentVolumeClaimUpdate: the spec is fixed after creation,
// except volumeName (set once, by binding) and the storage request of bound
// claims (expansion).
func validatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateMetaUpdate(pvc, old, true)
	errs = append(errs, validatePersistentVolumeClaim(pvc)...)
	n, o := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if o.VolumeName == "" {
		o.VolumeName = n.VolumeName
	}
	if o.StorageClassName == nil && n.StorageClassName != nil {
		o.StorageClassName = n.StorageClassName
	}
	if pvc.Status.Phase == corev1.ClaimBound && n.Resources.Requests != nil {
		n.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
	}
	if pvc.Status.Phase == corev1.ClaimBound && n.VolumeAttributesClassName != nil {
		n.VolumeAttributesClassName = o.VolumeAttributesClassName
	}
	if !semanticEqual(*n, *o) {
		errs = append(errs, field.Forbidden(specPath, "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
	}
	newSize, oldSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage], old.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 {
		if statusSize := old.Status.Capacity[corev1.ResourceStorage]; newSize.Cmp(statusSize) <= 0 {
			errs = append(errs, field.Forbidden(specPath.Child("resources", "requests", "storage"), "field can not be less than status.capacity"))
		}
	}
	return append(errs, immutable(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
}

func validatePersistentVolumeClaimStatusUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateMetaUpdate(pvc, old, true)
	if len(pvc.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(field.NewPath("Spec", "accessModes"), ""))
	}
	cp := field.NewPath("status", "capacity")
	for _, k := range sortedResourceNames(pvc.Status.Capacity) {
		if q := pvc.Status.Capacity[k]; q.Value() < 0 {
			errs = append(errs, field.Invalid(cp.Key(string(k)), q.Value(), "must be a valid resource quantity"))
		}
	}
	return errs
}

// ---- Binding ----

func validateBinding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}
