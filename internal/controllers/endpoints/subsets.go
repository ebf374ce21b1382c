package endpoints

import (
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/controllers/endpointslice/endpointutil"
)

// MaxCapacity is the most addresses an Endpoints object holds (upstream's
// limit; the EndpointSlices of the Service hold all of them).
const MaxCapacity = 1000

// TruncatedValue is the value of the over-capacity annotation.
const TruncatedValue = "truncated"

// entry is one address offering one port.
type entry struct {
	addr  corev1.EndpointAddress
	port  *corev1.EndpointPort // nil for a headless Service without ports
	ready bool
}

// desiredSubsets computes the subsets of svc's Endpoints from its pods:
// ready addresses and not-ready ones, per port, packed into upstream's
// canonical layout (addresses offering the same ports share a subset,
// addresses sorted by IP, subsets in a stable order).
func desiredSubsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	var entries []entry
	for _, pod := range pods {
		if !endpointutil.ShouldPodBeInEndpoints(pod, svc.Spec.PublishNotReadyAddresses) {
			continue
		}
		ip := addressFor(svc, pod)
		if ip == "" {
			continue
		}
		addr := corev1.EndpointAddress{
			IP:        ip,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if pod.Spec.NodeName != "" {
			n := pod.Spec.NodeName
			addr.NodeName = &n
		}
		if endpointutil.ShouldSetHostname(pod, svc) {
			addr.Hostname = pod.Spec.Hostname
		}
		ready := svc.Spec.PublishNotReadyAddresses || controllerutil.IsPodReady(pod)
		if len(svc.Spec.Ports) == 0 {
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				entries = append(entries, entry{addr: addr, ready: ready})
			}
			continue
		}
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
			entries = append(entries, entry{addr: addr, ready: ready,
				port: &corev1.EndpointPort{Name: sp.Name, Port: num, Protocol: proto, AppProtocol: sp.AppProtocol}})
		}
	}
	return repack(entries)
}

// addressFor picks the pod IP of the Service's (primary) family.
func addressFor(svc *corev1.Service, pod *corev1.Pod) string {
	ips := endpointutil.PodIPs(pod)
	if len(ips) == 0 {
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

type addrKey struct {
	ip  string
	uid types.UID
}

func portKey(p *corev1.EndpointPort) string {
	if p == nil {
		return ""
	}
	ap := "-"
	if p.AppProtocol != nil {
		ap = "=" + *p.AppProtocol
	}
	return p.Name + "/" + string(p.Protocol) + "/" + strconv.Itoa(int(p.Port)) + "/" + ap
}

// repack groups entries into subsets: one per set of addresses (with their
// readiness) offering the same ports. An address not ready for a port is
// not ready for it, whatever other entries say.
func repack(entries []entry) []corev1.EndpointSubset {
	type portAddrs struct {
		port  *corev1.EndpointPort
		addrs map[addrKey]bool // → ready
	}
	addrs := map[addrKey]*corev1.EndpointAddress{}
	byPort := map[string]*portAddrs{}
	for i := range entries {
		e := &entries[i]
		k := addrKey{ip: e.addr.IP}
		if e.addr.TargetRef != nil {
			k.uid = e.addr.TargetRef.UID
		}
		if _, ok := addrs[k]; !ok {
			addrs[k] = &e.addr
		}
		pk := portKey(e.port)
		pa := byPort[pk]
		if pa == nil {
			pa = &portAddrs{port: e.port, addrs: map[addrKey]bool{}}
			byPort[pk] = pa
		}
		if was, seen := pa.addrs[k]; !seen || was {
			pa.addrs[k] = e.ready
		}
	}
	// Ports offered by the same addresses (same readiness) share a subset.
	type group struct {
		sig   string
		addrs map[addrKey]bool
		ports []corev1.EndpointPort
	}
	groups := map[string]*group{}
	for _, pa := range byPort {
		keys := make([]addrKey, 0, len(pa.addrs))
		for k := range pa.addrs {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return lessKey(keys[i], keys[j]) })
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k.ip)
			b.WriteByte('/')
			b.WriteString(string(k.uid))
			if pa.addrs[k] {
				b.WriteString("/r;")
			} else {
				b.WriteString("/n;")
			}
		}
		sig := b.String()
		g := groups[sig]
		if g == nil {
			g = &group{sig: sig, addrs: pa.addrs}
			groups[sig] = g
		}
		if pa.port != nil {
			g.ports = append(g.ports, *pa.port)
		}
	}
	out := make([]corev1.EndpointSubset, 0, len(groups))
	sigs := make([]string, 0, len(groups))
	for sig := range groups {
		sigs = append(sigs, sig)
	}
	sort.Strings(sigs)
	for _, sig := range sigs {
		g := groups[sig]
		var ss corev1.EndpointSubset
		for k, ready := range g.addrs {
			if ready {
				ss.Addresses = append(ss.Addresses, *addrs[k])
			} else {
				ss.NotReadyAddresses = append(ss.NotReadyAddresses, *addrs[k])
			}
		}
		sortAddresses(ss.Addresses)
		sortAddresses(ss.NotReadyAddresses)
		sort.Slice(g.ports, func(i, j int) bool { return portKey(&g.ports[i]) < portKey(&g.ports[j]) })
		ss.Ports = g.ports
		out = append(out, ss)
	}
	return out
}

func lessKey(a, b addrKey) bool {
	if a.ip != b.ip {
		return a.ip < b.ip
	}
	return a.uid < b.uid
}

func sortAddresses(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool {
		ki, kj := addrKey{ip: a[i].IP}, addrKey{ip: a[j].IP}
		if a[i].TargetRef != nil {
			ki.uid = a[i].TargetRef.UID
		}
		if a[j].TargetRef != nil {
			kj.uid = a[j].TargetRef.UID
		}
		return lessKey(ki, kj)
	})
}

// truncate cuts subsets down to MaxCapacity addresses, ready ones first,
// taking from each subset in proportion to its size. It returns the
// subsets left and whether anything was cut.
func truncate(subsets []corev1.EndpointSubset) ([]corev1.EndpointSubset, bool) {
	ready, notReady := 0, 0
	for _, ss := range subsets {
		ready += len(ss.Addresses)
		notReady += len(ss.NotReadyAddresses)
	}
	if ready+notReady <= MaxCapacity {
		return subsets, false
	}
	cutReady := ready > MaxCapacity
	budget, total := MaxCapacity-ready, notReady
	if cutReady {
		budget, total = MaxCapacity, ready
	}
	left := budget
	for i := range subsets {
		ss := &subsets[i]
		n := len(ss.NotReadyAddresses)
		if cutReady {
			n = len(ss.Addresses)
		}
		keep := int(math.Ceil(float64(n) / float64(total) * float64(budget)))
		keep = min(keep, left, n)
		if cutReady {
			ss.Addresses = ss.Addresses[:keep]
			ss.NotReadyAddresses = nil
		} else {
			ss.NotReadyAddresses = ss.NotReadyAddresses[:keep]
		}
		left -= keep
	}
	// A subset left without addresses is not valid.
	n := 0
	for _, ss := range subsets {
		if len(ss.Addresses)+len(ss.NotReadyAddresses) > 0 {
			subsets[n] = ss
			n++
		}
	}
	clear(subsets[n:])
	return subsets[:n], true
}
