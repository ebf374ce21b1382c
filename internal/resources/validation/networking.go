package validation

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	ingressClassAnnotation       = "kubernetes.io/ingress.class"
	maxLenIngressClassController = 250
)

func supportedPathTypes() []string {
	return []string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypeImplementationSpecific), string(networkingv1.PathTypePrefix)}
}

func invalidPathSequences() []string { return []string{"//", "/./", "/../", "%2f", "%2F"} }

func invalidPathSuffixes() []string { return []string{"/..", "/."} }

// ---- Ingress ----

func validateIngressCreate(ing *networkingv1.Ingress) field.ErrorList {
	errs := validateIngress(ing)
	if v, ok := ing.Annotations[ingressClassAnnotation]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), v, "must match `ingressClassName` when both are specified"))
	}
	return errs
}

func validateIngress(ing *networkingv1.Ingress) field.ErrorList {
	errs := validateMeta(ing, true, nameIsDNSSubdomain, true)
	return append(errs, validateIngressSpec(&ing.Spec, specPath)...)
}

func validateIngressUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	return append(validateMetaUpdate(ing, old, true), validateIngress(ing)...)
}

func validateIngressSpec(spec *networkingv1.IngressSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(fldPath, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(spec.DefaultBackend, fldPath.Child("defaultBackend"))...)
	}
	for i, r := range spec.Rules {
		p := fldPath.Child("rules").Index(i)
		if r.Host != "" {
			if ipFamilyOf(r.Host) != 0 {
				errs = append(errs, field.Invalid(p.Child("host"), r.Host, "must be a DNS name, not an IP address"))
			}
			if strings.Contains(r.Host, "*") {
				for _, msg := range validation.IsWildcardDNS1123Subdomain(r.Host) {
					errs = append(errs, field.Invalid(p.Child("host"), r.Host, msg))
				}
			} else {
				errs = append(errs, dnsSubdomain(r.Host, p.Child("host"))...)
			}
		}
		if r.HTTP != nil {
			hp := p.Child("http")
			if len(r.HTTP.Paths) == 0 {
				errs = append(errs, field.Required(hp.Child("paths"), ""))
			}
			for j := range r.HTTP.Paths {
				errs = append(errs, validateHTTPIngressPath(&r.HTTP.Paths[j], hp.Child("paths").Index(j))...)
			}
		}
	}
	for i, tls := range spec.TLS {
		p := fldPath.Child("tls").Index(i)
		for j, h := range tls.Hosts {
			if strings.Contains(h, "*") {
				for _, msg := range validation.IsWildcardDNS1123Subdomain(h) {
					errs = append(errs, field.Invalid(p.Child("hosts").Index(j), h, msg))
				}
				continue
			}
			errs = append(errs, dnsSubdomain(h, p.Child("hosts").Index(j))...)
		}
		if tls.SecretName != "" {
			errs = append(errs, nameErrs(nameIsDNSSubdomain, tls.SecretName, p.Child("secretName"))...)
		}
	}
	if spec.IngressClassName != nil {
		errs = append(errs, nameErrs(nameIsDNSSubdomain, *spec.IngressClassName, fldPath.Child("ingressClassName"))...)
	}
	return errs
}

func validateHTTPIngressPath(p *networkingv1.HTTPIngressPath, fldPath *field.Path) field.ErrorList {
	if p.PathType == nil {
		return field.ErrorList{field.Required(fldPath.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	pp := fldPath.Child("path")
	switch *p.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(pp, p.Path, "must be an absolute path"))
		}
		if p.Path != "" {
			for _, s := range invalidPathSequences() {
				if strings.Contains(p.Path, s) {
					errs = append(errs, field.Invalid(pp, p.Path, fmt.Sprintf("must not contain '%s'", s)))
				}
			}
			for _, s := range invalidPathSuffixes() {
				if strings.HasSuffix(p.Path, s) {
					errs = append(errs, field.Invalid(pp, p.Path, fmt.Sprintf("cannot end with '%s'", s)))
				}
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(pp, p.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("pathType"), *p.PathType, supportedPathTypes()))
	}
	return append(errs, validateIngressBackend(&p.Backend, fldPath.Child("backend"))...)
}

// validateIngressBackend: exactly one of a service (with a port name or
// number) and a resource.
func validateIngressBackend(b *networkingv1.IngressBackend, fldPath *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(fldPath, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedLocalObjectReference(b.Resource, fldPath.Child("resource"))
	case b.Service != nil:
		var errs field.ErrorList
		if b.Service.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("service", "name"), ""))
		} else {
			errs = append(errs, nameErrs(nameIsDNSLabel, b.Service.Name, fldPath.Child("service", "name"))...)
		}
		hasName, hasNumber := b.Service.Port.Name != "", b.Service.Port.Number != 0
		switch {
		case hasName && hasNumber:
			errs = append(errs, field.Invalid(fldPath, "", "cannot set both port name & port number"))
		case hasName:
			for _, msg := range validation.IsValidPortName(b.Service.Port.Name) {
				errs = append(errs, field.Invalid(fldPath.Child("service", "port", "name"), b.Service.Port.Name, msg))
			}
		case hasNumber:
			errs = append(errs, portNum(b.Service.Port.Number, fldPath.Child("service", "port", "number"))...)
		default:
			errs = append(errs, field.Required(fldPath, "port name or number is required"))
		}
		return errs
	}
	return field.ErrorList{field.Invalid(fldPath, "", "resource or service backend is required")}
}

func validateTypedLocalObjectReference(r *corev1.TypedLocalObjectReference, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.APIGroup != nil {
		errs = append(errs, dnsSubdomain(*r.APIGroup, fldPath.Child("apiGroup"))...)
	}
	errs = append(errs, requiredPathSegment(r.Kind, fldPath.Child("kind"))...)
	return append(errs, requiredPathSegment(r.Name, fldPath.Child("name"))...)
}

func requiredPathSegment(v string, fldPath *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	for _, msg := range content.IsPathSegmentName(v) {
		errs = append(errs, field.Invalid(fldPath, v, msg))
	}
	return errs
}

func validateIngressStatusUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	errs := validateMetaUpdate(ing, old, true)
	existing := map[string]bool{}
	for _, in := range old.Status.LoadBalancer.Ingress {
		existing[in.IP] = true
	}
	ip := field.NewPath("status", "loadBalancer", "ingress")
	for i, in := range ing.Status.LoadBalancer.Ingress {
		p := ip.Index(i)
		if in.IP != "" && !existing[in.IP] {
			errs = append(errs, validIP(in.IP, p.Child("ip"))...)
		}
		errs = append(errs, validateLBHostname(in.Hostname, p.Child("hostname"))...)
	}
	return errs
}

// ---- IngressClass ----

func validateIngressClass(ic *networkingv1.IngressClass) field.ErrorList {
	errs := validateMeta(ic, false, nameIsDNSSubdomain, true)
	cp := specPath.Child("controller")
	if ic.Spec.Controller == "" {
		errs = append(errs, field.Required(cp, ""))
	} else {
		if len(ic.Spec.Controller) > maxLenIngressClassController {
			errs = append(errs, field.TooLong(cp, "", maxLenIngressClassController))
		}
		errs = append(errs, validation.IsDomainPrefixedPath(cp, ic.Spec.Controller)...)
	}
	if p := ic.Spec.Parameters; p != nil {
		pp := specPath.Child("parameters")
		if p.APIGroup != nil {
			errs = append(errs, dnsSubdomain(*p.APIGroup, pp.Child("apiGroup"))...)
		}
		errs = append(errs, requiredPathSegment(p.Kind, pp.Child("kind"))...)
		errs = append(errs, requiredPathSegment(p.Name, pp.Child("name"))...)
		if p.Scope == nil {
			return append(errs, field.Required(pp.Child("scope"), ""))
		}
		switch *p.Scope {
		case networkingv1.IngressClassParametersReferenceScopeNamespace:
			if p.Namespace == nil {
				errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
			} else {
				errs = append(errs, nameErrs(nameIsDNSLabel, *p.Namespace, pp.Child("namespace"))...)
			}
		case networkingv1.IngressClassParametersReferenceScopeCluster:
			if p.Namespace != nil {
				errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
			}
		default:
			errs = append(errs, field.NotSupported(pp.Child("scope"), *p.Scope, []string{
				networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}))
		}
	}
	return errs
}

func validateIngressClassUpdate(ic, old *networkingv1.IngressClass) field.ErrorList {
	errs := validateMetaUpdate(ic, old, true)
	errs = append(errs, immutable(ic.Spec.Controller, old.Spec.Controller, specPath.Child("controller"))...)
	return append(errs, validateIngressClass(ic)...)
}

// ---- NetworkPolicy ----

func validateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	errs := validateMeta(np, true, nameIsDNSSubdomain, true)
	return append(errs, validateNetworkPolicySpec(&np.Spec, nil)...)
}

func validateNetworkPolicyUpdate(np, old *networkingv1.NetworkPolicy) field.ErrorList {
	existing := map[string]bool{}
	peers := func(ps []networkingv1.NetworkPolicyPeer) {
		for _, p := range ps {
			if p.IPBlock != nil {
				existing[p.IPBlock.CIDR] = true
				for _, e := range p.IPBlock.Except {
					existing[e] = true
				}
			}
		}
	}
	for _, r := range old.Spec.Ingress {
		peers(r.From)
	}
	for _, r := range old.Spec.Egress {
		peers(r.To)
	}
	errs := validateMetaUpdate(np, old, true)
	return append(errs, validateNetworkPolicySpec(&np.Spec, existing)...)
}

// validateNetworkPolicySpec; existing lists CIDRs of the stored object,
// which are accepted again as they are.
func validateNetworkPolicySpec(spec *networkingv1.NetworkPolicySpec, existing map[string]bool) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{}
	errs := metav1validation.ValidateLabelSelector(&spec.PodSelector, opts, specPath.Child("podSelector"))
	for i, r := range spec.Ingress {
		p := specPath.Child("ingress").Index(i)
		for j := range r.Ports {
			errs = append(errs, validateNetworkPolicyPort(&r.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range r.From {
			errs = append(errs, validateNetworkPolicyPeer(&r.From[j], existing, p.Child("from").Index(j))...)
		}
	}
	for i, r := range spec.Egress {
		p := specPath.Child("egress").Index(i)
		for j := range r.Ports {
			errs = append(errs, validateNetworkPolicyPort(&r.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range r.To {
			errs = append(errs, validateNetworkPolicyPeer(&r.To[j], existing, p.Child("to").Index(j))...)
		}
	}
	pt := specPath.Child("policyTypes")
	if len(spec.PolicyTypes) > 2 {
		return append(errs, field.Invalid(pt, &spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(pt.Index(i), t, []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}))
		}
	}
	return errs
}

func validateNetworkPolicyPort(port *networkingv1.NetworkPolicyPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil && !isSupportedProtocol(*port.Protocol) {
		errs = append(errs, field.NotSupported(fldPath.Child("protocol"), *port.Protocol,
			[]string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}))
	}
	if port.Port == nil {
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
		return errs
	}
	if port.Port.Type == intstr.Int {
		errs = append(errs, portNum(port.Port.IntVal, fldPath.Child("port"))...)
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			errs = append(errs, portNum(*port.EndPort, fldPath.Child("endPort"))...)
		}
		return errs
	}
	if port.EndPort != nil {
		errs = append(errs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
	}
	for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
		errs = append(errs, field.Invalid(fldPath.Child("port"), port.Port.StrVal, msg))
	}
	return errs
}

func validateNetworkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, existing map[string]bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	opts := metav1validation.LabelSelectorValidationOptions{}
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts, fldPath.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts, fldPath.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, existing, fldPath.Child("ipBlock"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a peer"))
	} else if n > 1 && peer.IPBlock != nil {
		errs = append(errs, field.Forbidden(fldPath, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func validateIPBlock(b *networkingv1.IPBlock, existing map[string]bool, fldPath *field.Path) field.ErrorList {
	cp := fldPath.Child("cidr")
	if b.CIDR == "" {
		return field.ErrorList{field.Required(cp, "")}
	}
	var errs field.ErrorList
	if !existing[b.CIDR] {
		errs = append(errs, validCIDR(b.CIDR, cp)...)
	}
	outer, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return errs
	}
	for i, e := range b.Except {
		ep := fldPath.Child("except").Index(i)
		if !existing[e] {
			errs = append(errs, validCIDR(e, ep)...)
		}
		inner, err := netip.ParsePrefix(e)
		if err != nil {
			continue
		}
		if !outer.Masked().Contains(inner.Addr()) || outer.Bits() >= inner.Bits() {
			errs = append(errs, field.Invalid(ep, e, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
