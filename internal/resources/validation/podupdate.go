package validation

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// updatablePodSpecFields() is listed in the error for a forbidden pod update.
func updatablePodSpecFields() []string {
	return []string{
		"`spec.containers[*].image`",
		"`spec.initContainers[*].image`",
		"`spec.activeDeadlineSeconds`",
		"`spec.tolerations` (only additions to existing tolerations)",
		"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
	}
}

// validatePodUpdate: only images, activeDeadlineSeconds (down), added
// tolerations and removed scheduling gates may change in a pod's spec.
func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(pod, old, true)
	errs = append(errs, validatePodMetadataAndSpec(pod)...)
	errs = append(errs, validatePodAnnotationUpdates(pod, old, metadataPath.Child("annotations"))...)
	specPath := field.NewPath("spec")

	cErrs, stop := validateContainerUpdates(pod.Spec.Containers, old.Spec.Containers, specPath.Child("containers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}
	cErrs, stop = validateContainerUpdates(pod.Spec.InitContainers, old.Spec.InitContainers, specPath.Child("initContainers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}

	adsPath := specPath.Child("activeDeadlineSeconds")
	if pod.Spec.ActiveDeadlineSeconds != nil {
		v := *pod.Spec.ActiveDeadlineSeconds
		if v < 0 || v > math.MaxInt32 {
			return append(errs, field.Invalid(adsPath, v, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if old.Spec.ActiveDeadlineSeconds != nil && *old.Spec.ActiveDeadlineSeconds < v {
			return append(errs, field.Invalid(adsPath, v, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(adsPath, pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}

	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)

	if semanticEqual(pod.Spec, old.Spec) {
		return errs
	}
	munged := *pod.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	munged.SchedulingGates = old.Spec.SchedulingGates
	munged.Tolerations = old.Spec.Tolerations
	if og, ng := old.Spec.TerminationGracePeriodSeconds, munged.TerminationGracePeriodSeconds; og != nil && *og < 0 && ng != nil && *ng == 1 {
		munged.TerminationGracePeriodSeconds = og
	}
	if len(old.Spec.SchedulingGates) > 0 {
		// A gated pod may gain node selector entries.
		errs = append(errs, validateNodeSelectorMutation(specPath.Child("nodeSelector"), munged.NodeSelector, old.Spec.NodeSelector)...)
		munged.NodeSelector = old.Spec.NodeSelector
	}
	if !semanticEqual(munged, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v",
			strings.Join(updatablePodSpecFields(), ","), diff.Diff(old.Spec, munged))))
	}
	return errs
}

func validateNodeSelectorMutation(fldPath *field.Path, newSel, oldSel map[string]string) field.ErrorList {
	for k, v := range oldSel {
		if nv, ok := newSel[k]; !ok || nv != v {
			return field.ErrorList{field.Invalid(fldPath, newSel, "only additions to spec.nodeSelector are allowed (no mutations or deletions)")}
		}
	}
	return nil
}

func validateContainerUpdates(cs, old []corev1.Container, fldPath *field.Path) (field.ErrorList, bool) {
	if len(cs) != len(old) {
		return field.ErrorList{field.Forbidden(fldPath, "pod updates may not add or remove containers")}, true
	}
	var errs field.ErrorList
	for i, c := range cs {
		if c.Image == "" {
			errs = append(errs, field.Required(fldPath.Index(i).Child("image"), ""))
		}
		errs = append(errs, validateImageWhitespace(c.Image, fldPath.Index(i))...)
	}
	return errs, false
}

func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			c := o
			c.TolerationSeconds = t.TolerationSeconds
			if reflect.DeepEqual(c, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return validateTolerations(tolerations, fldPath)
}

func validateOnlyDeletedSchedulingGates(gates, old []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	existing := map[string]bool{}
	for _, g := range old {
		existing[g.Name] = true
	}
	var errs field.ErrorList
	for i, g := range gates {
		if !existing[g.Name] {
			errs = append(errs, field.Forbidden(fldPath.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// validatePodAnnotationUpdates: the mirror pod annotation can be neither
// added nor removed, then the create rules apply.
func validatePodAnnotationUpdates(pod, old *corev1.Pod, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	ov, oldHas := old.Annotations[mirrorPodAnnotationKey]
	nv, newHas := pod.Annotations[mirrorPodAnnotationKey]
	switch {
	case oldHas && (!newHas || nv != ov):
		errs = append(errs, field.Forbidden(fldPath.Key(mirrorPodAnnotationKey), "may not remove or update mirror pod annotation"))
	case !oldHas && newHas:
		errs = append(errs, field.Forbidden(fldPath.Key(mirrorPodAnnotationKey), "may not add mirror pod annotation"))
	}
	return append(errs, validatePodSpecificAnnotations(pod.Annotations, &pod.Spec, fldPath)...)
}

// validatePodStatusUpdate: what the node agent and scheduler may write.
func validatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(pod, old, true)
	errs = append(errs, validatePodAnnotationUpdates(pod, old, metadataPath.Child("annotations"))...)
	for i, c := range pod.Status.Conditions {
		switch c.Type {
		case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized:
			continue
		}
		errs = append(errs, qualifiedName(string(c.Type), metadataPath.Child("conditions").Index(i).Child("Type"))...)
	}
	statusPath := field.NewPath("status")
	if pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if nn := pod.Status.NominatedNodeName; nn != old.Status.NominatedNodeName && nn != "" {
		errs = append(errs, nameErrs(nameIsDNSSubdomain, nn, statusPath.Child("nominatedNodeName"))...)
	}
	errs = append(errs, immutable(pod.Status.QOSClass, old.Status.QOSClass, statusPath.Child("qosClass"))...)
	errs = append(errs, validateContainerStateTransition(pod.Status.ContainerStatuses, old.Status.ContainerStatuses, statusPath.Child("containerStatuses"), old.Spec.RestartPolicy, nil)...)
	errs = append(errs, validateContainerStateTransition(pod.Status.InitContainerStatuses, old.Status.InitContainerStatuses, statusPath.Child("initContainerStatuses"), old.Spec.RestartPolicy, old.Spec.InitContainers)...)
	errs = append(errs, validateContainerStateTransition(pod.Status.EphemeralContainerStatuses, old.Status.EphemeralContainerStatuses, statusPath.Child("ephemeralContainerStatuses"), corev1.RestartPolicyNever, nil)...)

	ips := make([]string, 0, len(pod.Status.PodIPs))
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	errs = append(errs, validateIPList(ips, pod.Status.PodIPs, statusPath.Child("podIPs"))...)
	if len(pod.Status.HostIPs) > 0 {
		hp := statusPath.Child("hostIPs")
		if pod.Status.HostIP != pod.Status.HostIPs[0].IP {
			errs = append(errs, field.Invalid(hp.Index(0).Child("ip"), pod.Status.HostIPs[0].IP, "must be equal to `hostIP`"))
		}
		hips := make([]string, 0, len(pod.Status.HostIPs))
		for _, ip := range pod.Status.HostIPs {
			hips = append(hips, ip.IP)
		}
		errs = append(errs, validateIPList(hips, pod.Status.HostIPs, hp)...)
	}
	return errs
}

// validateIPList: valid addresses, at most one per family, no duplicates.
func validateIPList(ips []string, whole any, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ip := range ips {
		errs = append(errs, validIP(ip, fldPath.Index(i))...)
	}
	if len(ips) > 1 {
		if len(ips) > 2 || ipFamilyOf(ips[0]) == ipFamilyOf(ips[1]) {
			errs = append(errs, field.Invalid(fldPath, whole, "may specify no more than one IP for each IP family"))
		}
		seen := map[string]bool{}
		for i, ip := range ips {
			if seen[ip] {
				errs = append(errs, field.Duplicate(fldPath.Index(i), ip))
			}
			seen[ip] = true
		}
	}
	return errs
}

// validateContainerStateTransition: containers that terminated for good stay
// terminated. inits lists init containers, whose restartable (sidecar) ones
// may restart.
func validateContainerStateTransition(statuses, old []corev1.ContainerStatus, fldPath *field.Path, restart corev1.RestartPolicy, inits []corev1.Container) field.ErrorList {
	if restart == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, o := range old {
		if o.State.Terminated == nil {
			continue
		}
		if o.State.Terminated.ExitCode != 0 && restart == corev1.RestartPolicyOnFailure {
			continue
		}
		sidecar := false
		for _, c := range inits {
			if c.Name == o.Name {
				sidecar = c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
				break
			}
		}
		if sidecar {
			continue
		}
		for _, n := range statuses {
			if n.Name == o.Name && n.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

// validatePodEphemeralContainersUpdate: ephemeral containers can be added,
// never changed or removed.
func validatePodEphemeralContainersUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(pod, old, true)
	errs = append(errs, validatePodMetadataAndSpec(pod)...)
	errs = append(errs, validatePodAnnotationUpdates(pod, old, metadataPath.Child("annotations"))...)
	if _, ok := old.Annotations[mirrorPodAnnotationKey]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods do not support ephemeral containers")}
	}
	specPath := field.NewPath("spec", "ephemeralContainers")
	byName := map[string]*corev1.EphemeralContainer{}
	for i := range pod.Spec.EphemeralContainers {
		byName[pod.Spec.EphemeralContainers[i].Name] = &pod.Spec.EphemeralContainers[i]
	}
	for _, o := range old.Spec.EphemeralContainers {
		n, ok := byName[o.Name]
		switch {
		case !ok:
			errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", o.Name)))
		case !semanticEqual(o, *n):
			errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be changed\n%v", o.Name, diff.Diff(o, *n))))
		}
	}
	return errs
}
