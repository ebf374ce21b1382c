package endpoints

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/controllers/endpointslice/endpointutil"
)

// MaxCapacity is the most addresses an Endpoints object holds (upstream's
// limit; the EndpointSlices of the Service hold all of them).
const MaxCapacity = 1000

// TruncatedValue is the value of the over-capacity annotation.
const TruncatedValue = "truncated"

// desiredSubsets computes the subsets of svc's Endpoints from its pods:
// ready and not-ready addresses, per port, in upstream's canonical layout
// (addresses offering the same ports share a subset, addresses sorted by
// IP, subsets and ports in a stable order).
//
// Every pod has one address and one readiness, so the layout follows from
// grouping pods by the ports they resolve: ports offered by the same
// groups of pods share a subset made of those groups' addresses.
func desiredSubsets(svc *corev1.Service, pods []*corev1.Pod) []draft {
	type podGroup struct {
		ports []corev1.EndpointPort
		addrs []address
	}
	groups := map[string]*podGroup{}
	var shared *podGroup // every pod resolves the same ports
	if !hasNamedTargetPort(svc) {
		shared = &podGroup{ports: resolvePorts(svc, nil), addrs: make([]address, 0, len(pods))}
		groups[""] = shared
	}
	var sig []byte
	for _, pod := range pods {
		if !endpointutil.ShouldPodBeInEndpoints(pod, svc.Spec.PublishNotReadyAddresses) {
			continue
		}
		ip := addressFor(svc, pod)
		if ip == "" {
			continue
		}
		a := address{ip: ip, pod: pod, ready: svc.Spec.PublishNotReadyAddresses || controllerutil.IsPodReady(pod)}
		g := shared
		if g == nil {
			sig = endpointutil.PortSignature(sig[:0], svc, pod)
			if g = groups[string(sig)]; g == nil {
				g = &podGroup{ports: resolvePorts(svc, pod)}
				groups[string(sig)] = g
			}
		}
		g.addrs = append(g.addrs, a)
	}
	if len(svc.Spec.Ports) == 0 {
		// A headless Service without ports gets its addresses without ports;
		// any other Service without ports gets nothing.
		if svc.Spec.ClusterIP != corev1.ClusterIPNone || shared == nil || len(shared.addrs) == 0 {
			return nil
		}
		return []draft{newDraft(shared.addrs, nil)}
	}
	// Which groups offer each port.
	sigs := make([]string, 0, len(groups))
	for sig, g := range groups {
		if len(g.addrs) > 0 {
			sigs = append(sigs, sig)
		}
	}
	sort.Strings(sigs)
	type portUse struct {
		port   corev1.EndpointPort
		groups []int
	}
	uses := map[string]*portUse{}
	for i, sig := range sigs {
		for _, p := range groups[sig].ports {
			k := portKey(&p)
			u := uses[k]
			if u == nil {
				u = &portUse{port: p}
				uses[k] = u
			}
			u.groups = append(u.groups, i)
		}
	}
	// Ports used by the same groups share a subset.
	type subset struct {
		groups []int
		ports  []corev1.EndpointPort
	}
	subsets := map[string]*subset{}
	for _, u := range uses {
		k := fmt.Sprint(u.groups)
		ss := subsets[k]
		if ss == nil {
			ss = &subset{groups: u.groups}
			subsets[k] = ss
		}
		ss.ports = append(ss.ports, u.port)
	}
	// Every port is in one subset: subsets are ordered by their first port.
	ordered := make([]*subset, 0, len(subsets))
	for _, ss := range subsets {
		sort.Slice(ss.ports, func(i, j int) bool { return portKey(&ss.ports[i]) < portKey(&ss.ports[j]) })
		ordered = append(ordered, ss)
	}
	sort.Slice(ordered, func(i, j int) bool { return portKey(&ordered[i].ports[0]) < portKey(&ordered[j].ports[0]) })
	out := make([]draft, 0, len(ordered))
	for _, ss := range ordered {
		var addrs []address
		if len(ss.groups) == 1 {
			addrs = groups[sigs[ss.groups[0]]].addrs
		} else {
			for _, gi := range ss.groups {
				addrs = append(addrs, groups[sigs[gi]].addrs...)
			}
		}
		out = append(out, newDraft(addrs, ss.ports))
	}
	return out
}

// address is one pod's address before it is written out.
type address struct {
	ip    string
	pod   *corev1.Pod
	ready bool
}

// draft is a subset before it is written out: its addresses sorted, ready
// and not ready apart.
type draft struct {
	ready, notReady []address
	ports           []corev1.EndpointPort
}

// newDraft sorts addrs in place and splits them by readiness.
func newDraft(addrs []address, ports []corev1.EndpointPort) draft {
	sort.Slice(addrs, func(i, j int) bool {
		if addrs[i].ip != addrs[j].ip {
			return addrs[i].ip < addrs[j].ip
		}
		return addrs[i].pod.UID < addrs[j].pod.UID
	})
	d := draft{ports: ports}
	for _, a := range addrs {
		if a.ready {
			d.ready = append(d.ready, a)
		} else {
			d.notReady = append(d.notReady, a)
		}
	}
	return d
}

// subsets writes drafts out.
func subsets(svc *corev1.Service, drafts []draft) []corev1.EndpointSubset {
	out := make([]corev1.EndpointSubset, 0, len(drafts))
	for _, d := range drafts {
		out = append(out, corev1.EndpointSubset{
			Addresses:         endpointAddresses(svc, d.ready),
			NotReadyAddresses: endpointAddresses(svc, d.notReady),
			Ports:             d.ports,
		})
	}
	return out
}

func endpointAddresses(svc *corev1.Service, addrs []address) []corev1.EndpointAddress {
	if len(addrs) == 0 {
		return nil
	}
	out := make([]corev1.EndpointAddress, len(addrs))
	for i, a := range addrs {
		ea := &out[i]
		ea.IP = a.ip
		ea.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: a.pod.Namespace, Name: a.pod.Name, UID: a.pod.UID}
		if a.pod.Spec.NodeName != "" {
			ea.NodeName = &a.pod.Spec.NodeName
		}
		if endpointutil.ShouldSetHostname(a.pod, svc) {
			ea.Hostname = a.pod.Spec.Hostname
		}
	}
	return out
}

func hasNamedTargetPort(svc *corev1.Service) bool {
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].TargetPort.Type == intstr.String {
			return true
		}
	}
	return false
}

// resolvePorts resolves svc's ports on pod (nil when no port is named);
// ports the pod does not offer are left out.
func resolvePorts(svc *corev1.Service, pod *corev1.Pod) []corev1.EndpointPort {
	if pod == nil {
		pod = &corev1.Pod{}
	}
	var out []corev1.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		num, ok := endpointutil.FindPort(pod, sp)
		if !ok {
			continue
		}
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, corev1.EndpointPort{Name: sp.Name, Port: num, Protocol: proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

// addressFor picks the pod IP of the Service's (primary) family.
func addressFor(svc *corev1.Service, pod *corev1.Pod) string {
	var ips []string
	switch {
	case len(pod.Status.PodIPs) > 1:
		ips = endpointutil.PodIPs(pod)
	case len(pod.Status.PodIPs) == 1:
		ips = []string{pod.Status.PodIPs[0].IP} // does not escape
	case pod.Status.PodIP != "":
		ips = []string{pod.Status.PodIP}
	default:
		return ""
	}
	var v6 bool
	switch {
	case len(svc.Spec.IPFamilies) > 0:
		v6 = svc.Spec.IPFamilies[0] == corev1.IPv6Protocol
	case !endpointutil.IsHeadless(svc):
		v6 = endpointutil.IsIPv6(svc.Spec.ClusterIP)
	default:
		v6 = endpointutil.IsIPv6(ips[0])
	}
	for _, ip := range ips {
		if endpointutil.IsIPv6(ip) == v6 {
			return ip
		}
	}
	return ""
}

func portKey(p *corev1.EndpointPort) string {
	ap := "-"
	if p.AppProtocol != nil {
		ap = "=" + *p.AppProtocol
	}
	return p.Name + "/" + string(p.Protocol) + "/" + strconv.Itoa(int(p.Port)) + "/" + ap
}

// truncate cuts drafts down to MaxCapacity addresses, ready ones first,
// taking from each draft in proportion to its size. It returns the drafts
// left and whether anything was cut.
func truncate(drafts []draft) ([]draft, bool) {
	ready, notReady := 0, 0
	for _, d := range drafts {
		ready += len(d.ready)
		notReady += len(d.notReady)
	}
	if ready+notReady <= MaxCapacity {
		return drafts, false
	}
	cutReady := ready > MaxCapacity
	budget, total := MaxCapacity-ready, notReady
	if cutReady {
		budget, total = MaxCapacity, ready
	}
	left := budget
	for i := range drafts {
		d := &drafts[i]
		n := len(d.notReady)
		if cutReady {
			n = len(d.ready)
		}
		keep := int(math.Ceil(float64(n) / float64(total) * float64(budget)))
		keep = min(keep, left, n)
		if cutReady {
			d.ready = d.ready[:keep]
			d.notReady = nil
		} else {
			d.notReady = d.notReady[:keep]
		}
		left -= keep
	}
	// A subset without addresses is not valid.
	n := 0
	for _, d := range drafts {
		if len(d.ready)+len(d.notReady) > 0 {
			drafts[n] = d
			n++
		}
	}
	clear(drafts[n:])
	return drafts[:n], true
}

// subsetsEqual compares subsets field by field (the informer's objects
// and freshly built ones; cheaper than a reflective comparison of up to a
// thousand addresses on every sync).
func subsetsEqual(a, b []corev1.EndpointSubset) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !addressesEqual(a[i].Addresses, b[i].Addresses) || !addressesEqual(a[i].NotReadyAddresses, b[i].NotReadyAddresses) ||
			len(a[i].Ports) != len(b[i].Ports) {
			return false
		}
		for j := range a[i].Ports {
			pa, pb := &a[i].Ports[j], &b[i].Ports[j]
			if pa.Name != pb.Name || pa.Port != pb.Port || pa.Protocol != pb.Protocol || !strPtrEqual(pa.AppProtocol, pb.AppProtocol) {
				return false
			}
		}
	}
	return true
}

func addressesEqual(a, b []corev1.EndpointAddress) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.IP != y.IP || x.Hostname != y.Hostname || !strPtrEqual(x.NodeName, y.NodeName) {
			return false
		}
		switch {
		case x.TargetRef == nil && y.TargetRef == nil:
		case x.TargetRef == nil || y.TargetRef == nil:
			return false
		default:
			// The pod's resourceVersion is not part of the address.
			rx, ry := *x.TargetRef, *y.TargetRef
			rx.ResourceVersion, ry.ResourceVersion = "", ""
			if rx != ry {
				return false
			}
		}
	}
	return true
}

func strPtrEqual(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
