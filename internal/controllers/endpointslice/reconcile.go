package endpointslice

import (
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
	"github.com/sampan-dev/sampan/internal/controllers/endpointslice/endpointutil"
)

// ControllerName is the value of the endpointslice.kubernetes.io/managed-by
// label on the slices this controller manages (upstream's value, which
// kube-proxy and other consumers do not care about but users filter on).
const ControllerName = "endpointslice-controller.k8s.io"

// DefaultMaxEndpointsPerSlice is upstream's --max-endpoints-per-slice default.
const DefaultMaxEndpointsPerSlice = 100

var serviceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Service"}

// nodeZone returns the zone label of a node and whether the node exists.
type nodeZone func(name string) (zone string, found bool)

// plan is the writes that bring a Service's slices to the desired state.
type plan struct {
	create, update, delete []*discoveryv1.EndpointSlice
	// missingNodes names pods left out because their node is unknown
	// (retried later, as upstream does).
	missingNodes []string
}

func (p *plan) empty() bool { return len(p.create)+len(p.update)+len(p.delete) == 0 }

// reconcile compares the slices of svc (listed by its labels, none being
// deleted) with the endpoints its pods make and plans the writes: changed
// slices are rewritten, slices with room are filled before new ones are
// created, unchanged slices are left alone.
func reconcile(svc *corev1.Service, pods []*corev1.Pod, existing []*discoveryv1.EndpointSlice, nodes nodeZone, maxPerSlice int) plan {
	var p plan
	types := addressTypes(svc)
	byType := map[discoveryv1.AddressType][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		if !containsType(types, s.AddressType) {
			p.delete = append(p.delete, s)
			continue
		}
		byType[s.AddressType] = append(byType[s.AddressType], s)
	}
	missing := map[string]bool{}
	for _, at := range types {
		groups := desiredGroups(svc, pods, at, nodes, missing)
		c, u, d := planAddressType(svc, at, byType[at], groups, maxPerSlice)
		p.create = append(p.create, c...)
		p.update = append(p.update, u...)
		p.delete = append(p.delete, d...)
	}
	for k := range missing {
		p.missingNodes = append(p.missingNodes, k)
	}
	sort.Strings(p.missingNodes)
	return p
}

func containsType(types []discoveryv1.AddressType, t discoveryv1.AddressType) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// addressTypes are the slice address types svc gets: one per IP family;
// from the cluster IP when families are not set; both for a headless
// Service without families.
func addressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range svc.Spec.IPFamilies {
		var t discoveryv1.AddressType
		switch f {
		case corev1.IPv4Protocol:
			t = discoveryv1.AddressTypeIPv4
		case corev1.IPv6Protocol:
			t = discoveryv1.AddressTypeIPv6
		default:
			continue
		}
		if !containsType(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > 0 {
		return out
	}
	if !endpointutil.IsHeadless(svc) {
		if endpointutil.IsIPv6(svc.Spec.ClusterIP) {
			return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv6}
		}
		return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	}
	return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}
}

// group is the desired endpoints that share one set of ports.
type group struct {
	ports     []discoveryv1.EndpointPort
	endpoints map[epKey]*discoveryv1.Endpoint
}

// desiredGroups turns pods into endpoints of address type at, grouped by
// the ports they resolve to. Pods on unknown nodes are left out (and put
// in missing) unless the Service publishes not-ready addresses.
func desiredGroups(svc *corev1.Service, pods []*corev1.Pod, at discoveryv1.AddressType, nodes nodeZone, missing map[string]bool) map[string]*group {
	groups := map[string]*group{}
	// With numeric target ports every pod resolves the same ports.
	var shared *group
	if !hasNamedTargetPort(svc) {
		ports := endpointPorts(svc, nil)
		shared = &group{ports: ports, endpoints: make(map[epKey]*discoveryv1.Endpoint, len(pods))}
		groups[portsKey(ports)] = shared
	}
	type nodeInfo struct {
		zone  *string
		found bool
	}
	seen := map[string]nodeInfo{}
	bySig := map[string]*group{} // port signature → group
	var sig []byte
	for _, pod := range pods {
		if !endpointutil.ShouldPodBeInEndpoints(pod, true) {
			continue
		}
		node, ok := seen[pod.Spec.NodeName]
		if !ok {
			zone, found := nodes(pod.Spec.NodeName)
			node.found = found
			if zone != "" {
				node.zone = &zone
			}
			seen[pod.Spec.NodeName] = node
		}
		if !node.found && !svc.Spec.PublishNotReadyAddresses {
			missing[pod.Namespace+"/"+pod.Name] = true
			continue
		}
		ep := podEndpoint(pod, node.zone, svc, at)
		if len(ep.Addresses) == 0 {
			continue
		}
		g := shared
		if g == nil {
			sig = endpointutil.PortSignature(sig[:0], svc, pod)
			if g = bySig[string(sig)]; g == nil {
				ports := endpointPorts(svc, pod)
				key := portsKey(ports)
				if g = groups[key]; g == nil {
					g = &group{ports: ports, endpoints: map[epKey]*discoveryv1.Endpoint{}}
					groups[key] = g
				}
				bySig[string(sig)] = g
			}
		}
		g.endpoints[endpointKey(ep)] = ep
	}
	if shared != nil && len(shared.endpoints) == 0 {
		delete(groups, portsKey(shared.ports))
	}
	return groups
}

func hasNamedTargetPort(svc *corev1.Service) bool {
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].TargetPort.Type == intstr.String {
			return true
		}
	}
	return false
}

// endpointPorts resolves svc's ports on pod (pod may be nil when no port
// is named). Ports a pod does not offer are left out.
func endpointPorts(svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		var num int32
		var ok bool
		if pod == nil {
			num, ok = endpointutil.FindPort(&corev1.Pod{}, sp)
		} else {
			num, ok = endpointutil.FindPort(pod, sp)
		}
		if !ok {
			continue
		}
		name, proto := sp.Name, sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ep := discoveryv1.EndpointPort{Name: &name, Port: &num, Protocol: &proto}
		if sp.AppProtocol != nil {
			ap := *sp.AppProtocol
			ep.AppProtocol = &ap
		}
		out = append(out, ep)
	}
	return out
}

// portsKey identifies a set of ports regardless of order.
func portsKey(ports []discoveryv1.EndpointPort) string {
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		var b strings.Builder
		b.WriteString(deref(p.Name))
		b.WriteByte('/')
		if p.Protocol != nil {
			b.WriteString(string(*p.Protocol))
		} else {
			b.WriteString(string(corev1.ProtocolTCP))
		}
		b.WriteByte('/')
		if p.Port != nil {
			b.WriteString(strconv.Itoa(int(*p.Port)))
		}
		b.WriteByte('/')
		if p.AppProtocol != nil {
			b.WriteString("=" + *p.AppProtocol)
		}
		parts = append(parts, b.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// podEndpoint is pod's endpoint in a slice of address type at. Its
// pointers may share memory with pod and zone, which nobody writes.
func podEndpoint(pod *corev1.Pod, zone *string, svc *corev1.Service, at discoveryv1.AddressType) *discoveryv1.Endpoint {
	var addrs []string
	if len(pod.Status.PodIPs) <= 1 {
		ip := pod.Status.PodIP
		if len(pod.Status.PodIPs) == 1 {
			ip = pod.Status.PodIPs[0].IP
		}
		if ip != "" && endpointutil.IsIPv6(ip) == (at == discoveryv1.AddressTypeIPv6) {
			addrs = []string{ip}
		}
	} else {
		for _, ip := range endpointutil.PodIPs(pod) {
			if endpointutil.IsIPv6(ip) == (at == discoveryv1.AddressTypeIPv6) {
				addrs = append(addrs, ip)
			}
		}
	}
	type conditions struct{ ready, serving, terminating bool }
	c := &conditions{serving: controllerutil.IsPodReady(pod), terminating: pod.DeletionTimestamp != nil}
	// A terminating pod is never ready, unless not-ready addresses are published.
	c.ready = svc.Spec.PublishNotReadyAddresses || (c.serving && !c.terminating)
	ep := &discoveryv1.Endpoint{
		Addresses:  addrs,
		Conditions: discoveryv1.EndpointConditions{Ready: &c.ready, Serving: &c.serving, Terminating: &c.terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Zone:       zone,
	}
	if pod.Spec.NodeName != "" {
		ep.NodeName = &pod.Spec.NodeName
	}
	if endpointutil.ShouldSetHostname(pod, svc) {
		ep.Hostname = &pod.Spec.Hostname
	}
	return ep
}

// epKey identifies an endpoint across syncs: its addresses, hostname and
// pod. Everything else about it may change in place.
type epKey struct {
	namespace, name string
	addr, more      string // first address, the others joined
	hostname        string
}

func endpointKey(ep *discoveryv1.Endpoint) epKey {
	var k epKey
	if ep.TargetRef != nil {
		k.namespace, k.name = ep.TargetRef.Namespace, ep.TargetRef.Name
	}
	if len(ep.Addresses) > 0 {
		k.addr = ep.Addresses[0]
		if len(ep.Addresses) > 1 {
			k.more = strings.Join(ep.Addresses[1:], ",")
		}
	}
	k.hostname = deref(ep.Hostname)
	return k
}

func (k epKey) less(o epKey) bool {
	if k.name != o.name {
		return k.name < o.name
	}
	if k.addr != o.addr {
		return k.addr < o.addr
	}
	if k.more != o.more {
		return k.more < o.more
	}
	return k.hostname < o.hostname
}

// endpointEqual compares what endpointKey leaves out.
func endpointEqual(a, b *discoveryv1.Endpoint) bool {
	if !boolPtrEqual(a.Conditions.Ready, b.Conditions.Ready) ||
		!boolPtrEqual(a.Conditions.Serving, b.Conditions.Serving) ||
		!boolPtrEqual(a.Conditions.Terminating, b.Conditions.Terminating) ||
		deref(a.NodeName) != deref(b.NodeName) || (a.NodeName == nil) != (b.NodeName == nil) ||
		deref(a.Zone) != deref(b.Zone) || (a.Zone == nil) != (b.Zone == nil) ||
		(a.Hostname == nil) != (b.Hostname == nil) ||
		(a.Hints == nil) != (b.Hints == nil) || len(a.DeprecatedTopology) != len(b.DeprecatedTopology) {
		return false
	}
	if a.Hints != nil && (len(a.Hints.ForZones) != 0 || len(a.Hints.ForNodes) != 0 || len(b.Hints.ForZones) != 0 || len(b.Hints.ForNodes) != 0) {
		return false // this controller sets no hints
	}
	switch {
	case a.TargetRef == nil && b.TargetRef == nil:
		return true
	case a.TargetRef == nil || b.TargetRef == nil:
		return false
	}
	ra, rb := a.TargetRef, b.TargetRef
	return ra.Kind == rb.Kind && ra.UID == rb.UID && ra.APIVersion == rb.APIVersion && ra.FieldPath == rb.FieldPath
}

func boolPtrEqual(a, b *bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// sliceLabels are the labels of svc's slices: the Service's own labels
// (but the reserved ones), the headless marker, the Service name and the
// manager.
func sliceLabels(svc *corev1.Service) map[string]string {
	out := make(map[string]string, len(svc.Labels)+3)
	for k, v := range svc.Labels {
		if k == discoveryv1.LabelServiceName || k == discoveryv1.LabelManagedBy || k == corev1.IsHeadlessService {
			continue
		}
		out[k] = v
	}
	if endpointutil.IsHeadless(svc) {
		out[corev1.IsHeadlessService] = ""
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = ControllerName
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// ownedBy reports whether slice's owner is svc (not an earlier Service of
// the same name).
func ownedBy(slice *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	for _, o := range slice.OwnerReferences {
		if o.UID == svc.UID && o.Kind == "Service" && o.APIVersion == "v1" {
			return true
		}
	}
	return false
}

// newSlice is an empty slice of svc for ports and address type at.
func newSlice(svc *corev1.Service, at discoveryv1.AddressType, ports []discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	if ports == nil {
		ports = []discoveryv1.EndpointPort{}
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    svc.Name + "-",
			Namespace:       svc.Namespace,
			Labels:          sliceLabels(svc),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc, serviceGVK)},
		},
		AddressType: at,
		Ports:       ports,
		Endpoints:   []discoveryv1.Endpoint{},
	}
}

// modifiable returns a copy of s whose metadata and endpoint list may be
// changed without touching the informer's object.
func modifiable(s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	cp := &discoveryv1.EndpointSlice{
		TypeMeta:    s.TypeMeta,
		ObjectMeta:  *s.ObjectMeta.DeepCopy(),
		AddressType: s.AddressType,
		Endpoints:   append(make([]discoveryv1.Endpoint, 0, len(s.Endpoints)), s.Endpoints...),
	}
	for i := range s.Ports {
		cp.Ports = append(cp.Ports, *s.Ports[i].DeepCopy())
	}
	return cp
}

// planAddressType plans the slices of one address type.
func planAddressType(svc *corev1.Service, at discoveryv1.AddressType, existing []*discoveryv1.EndpointSlice, groups map[string]*group, maxPerSlice int) (create, update, del []*discoveryv1.EndpointSlice) {
	byPorts := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		if !ownedBy(s, svc) {
			del = append(del, s)
			continue
		}
		k := portsKey(s.Ports)
		byPorts[k] = append(byPorts[k], s)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c, u, d := planPorts(svc, at, byPorts[k], groups[k], maxPerSlice)
		create = append(create, c...)
		update = append(update, u...)
		del = append(del, d...)
	}
	for k, slices := range byPorts {
		if _, ok := groups[k]; !ok {
			del = append(del, slices...)
		}
	}
	// A Service without endpoints still gets one empty slice, as upstream.
	if len(existing) == len(del) && len(create) == 0 {
		if len(del) == 1 && isPlaceholder(del[0], svc, at) {
			del = nil
		} else {
			create = append(create, newSlice(svc, at, nil))
		}
	}
	// Rather than delete some slices and create others, reuse the former.
	for len(create) > 0 {
		i := reusable(del, svc, at)
		if i < 0 {
			break
		}
		old := del[i]
		del = append(del[:i], del[i+1:]...)
		s := create[len(create)-1]
		create = create[:len(create)-1]
		s.Name, s.GenerateName = old.Name, old.GenerateName
		s.ResourceVersion, s.UID = old.ResourceVersion, old.UID
		update = append(update, s)
	}
	return create, update, del
}

func reusable(del []*discoveryv1.EndpointSlice, svc *corev1.Service, at discoveryv1.AddressType) int {
	for i, s := range del {
		if s.AddressType == at && ownedBy(s, svc) {
			return i
		}
	}
	return -1
}

// isPlaceholder reports whether s is the empty slice a Service without
// endpoints gets.
func isPlaceholder(s *discoveryv1.EndpointSlice, svc *corev1.Service, at discoveryv1.AddressType) bool {
	return len(s.Endpoints) == 0 && len(s.Ports) == 0 && s.AddressType == at && ownedBy(s, svc) &&
		len(s.OwnerReferences) == 1 && mapsEqual(s.Labels, sliceLabels(svc))
}

// planPorts plans the slices of one set of ports: keep and update the
// endpoints existing slices hold, drop those no longer desired, then place
// the new ones into slices already being rewritten, then into the one
// unchanged slice they fill best, then into new slices.
func planPorts(svc *corev1.Service, at discoveryv1.AddressType, existing []*discoveryv1.EndpointSlice, g *group, maxPerSlice int) (create, update, del []*discoveryv1.EndpointSlice) {
	desired := g.endpoints
	labels := sliceLabels(svc)
	var unchanged []*discoveryv1.EndpointSlice
	for _, s := range existing {
		kept := make([]discoveryv1.Endpoint, 0, len(s.Endpoints))
		changed := false
		for i := range s.Endpoints {
			cur := &s.Endpoints[i]
			k := endpointKey(cur)
			want, ok := desired[k]
			if !ok {
				continue
			}
			kept = append(kept, *want)
			if !endpointEqual(want, cur) {
				changed = true
			}
			delete(desired, k)
		}
		switch {
		case changed || len(kept) != len(s.Endpoints):
			if len(kept) == 0 {
				del = append(del, s)
				continue
			}
			cp := modifiable(s)
			cp.Endpoints, cp.Labels = kept, labels
			update = append(update, cp)
		case !mapsEqual(s.Labels, labels):
			cp := modifiable(s)
			cp.Labels = labels
			update = append(update, cp)
		default:
			unchanged = append(unchanged, s)
		}
	}
	if len(desired) == 0 {
		return create, update, del
	}
	remaining := make([]epKey, 0, len(desired))
	for k := range desired {
		remaining = append(remaining, k)
	}
	sort.Slice(remaining, func(i, j int) bool { return remaining[i].less(remaining[j]) })
	take := func(s *discoveryv1.EndpointSlice) {
		for len(remaining) > 0 && len(s.Endpoints) < maxPerSlice {
			s.Endpoints = append(s.Endpoints, *desired[remaining[0]])
			remaining = remaining[1:]
		}
	}
	// Fill the slices being rewritten anyway, fullest first.
	sort.SliceStable(update, func(i, j int) bool { return len(update[i].Endpoints) > len(update[j].Endpoints) })
	for _, s := range update {
		take(s)
	}
	for len(remaining) > 0 {
		var target *discoveryv1.EndpointSlice
		if len(remaining) < maxPerSlice {
			if i := sliceToFill(unchanged, len(remaining), maxPerSlice); i >= 0 {
				target = modifiable(unchanged[i])
				target.Labels = labels
				unchanged = append(unchanged[:i], unchanged[i+1:]...)
				update = append(update, target)
			}
		}
		if target == nil {
			target = newSlice(svc, at, copyPorts(g.ports))
			create = append(create, target)
		}
		take(target)
	}
	return create, update, del
}

// sliceToFill returns the index of the slice that n more endpoints bring
// closest to full, or -1 if none has room for them.
func sliceToFill(slices []*discoveryv1.EndpointSlice, n, maxPerSlice int) int {
	best, bestRoom := -1, maxPerSlice
	for i, s := range slices {
		room := maxPerSlice - len(s.Endpoints) - n
		if room >= 0 && room < bestRoom {
			best, bestRoom = i, room
			if room == 0 {
				break
			}
		}
	}
	return best
}

func copyPorts(ports []discoveryv1.EndpointPort) []discoveryv1.EndpointPort {
	out := make([]discoveryv1.EndpointPort, len(ports))
	for i := range ports {
		out[i] = *ports[i].DeepCopy()
	}
	return out
}
