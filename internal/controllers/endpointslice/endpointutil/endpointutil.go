// Package endpointutil holds what the EndpointSlice and Endpoints
// controllers agree on: which pods back a Service and how, which Services a
// pod change concerns, and the per-Service batching of pod events.
package endpointutil

import (
	"encoding/binary"
	"net"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// Managed reports whether the controllers compute endpoints for svc: it
// has a selector and is not an ExternalName Service. Services without a
// selector get the endpoints their users (or the API server, for the
// kubernetes Service) write.
func Managed(svc *corev1.Service) bool {
	return len(svc.Spec.Selector) > 0 && svc.Spec.Type != corev1.ServiceTypeExternalName
}

// Selects reports whether selector (a Service's map selector, non-empty)
// matches labels.
func Selects(selector, lbls map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if got, ok := lbls[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// SelectorOf returns svc's selector as a labels.Selector (svc must be Managed).
func SelectorOf(svc *corev1.Service) labels.Selector {
	return labels.SelectorFromValidatedSet(svc.Spec.Selector)
}

// IsHeadless reports whether svc has no cluster IP.
func IsHeadless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == corev1.ClusterIPNone || svc.Spec.ClusterIP == ""
}

// ShouldPodBeInEndpoints reports whether pod is an endpoint at all: it has
// an IP and has not finished; a pod being deleted only when
// includeTerminating.
func ShouldPodBeInEndpoints(pod *corev1.Pod, includeTerminating bool) bool {
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	if !includeTerminating && pod.DeletionTimestamp != nil {
		return false
	}
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// ShouldSetHostname reports whether the endpoint of pod carries the pod's
// hostname: the pod names svc as its subdomain.
func ShouldSetHostname(pod *corev1.Pod, svc *corev1.Service) bool {
	return pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace
}

// PodIPs returns the pod's IPs, primary first.
func PodIPs(pod *corev1.Pod) []string {
	if len(pod.Status.PodIPs) == 0 {
		if pod.Status.PodIP == "" {
			return nil
		}
		return []string{pod.Status.PodIP}
	}
	out := make([]string, 0, len(pod.Status.PodIPs))
	for _, ip := range pod.Status.PodIPs {
		out = append(out, ip.IP)
	}
	return out
}

// IsIPv6 reports whether ip is an IPv6 address (an IPv4-mapped one counts
// as IPv4).
func IsIPv6(ip string) bool {
	if !strings.Contains(ip, ":") {
		return false // the common case, without parsing
	}
	parsed := net.ParseIP(ip)
	return parsed != nil && parsed.To4() == nil
}

// FindPort resolves a Service port's targetPort on pod: a number as is, a
// name by the containers' (and sidecar init containers') named ports of
// the same protocol. ok is false when the name is not found.
func FindPort(pod *corev1.Pod, sp *corev1.ServicePort) (port int32, ok bool) {
	if sp.TargetPort.Type == intstr.Int {
		if sp.TargetPort.IntVal == 0 {
			// Defaulting makes targetPort the port; be lenient with
			// objects that were not defaulted.
			return sp.Port, sp.Port != 0
		}
		return sp.TargetPort.IntVal, true
	}
	name := sp.TargetPort.StrVal
	for i := range pod.Spec.Containers {
		if p, ok := namedPort(pod.Spec.Containers[i].Ports, name, sp.Protocol); ok {
			return p, true
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			continue
		}
		if p, ok := namedPort(c.Ports, name, sp.Protocol); ok {
			return p, true
		}
	}
	return 0, false
}

// PortSignature appends to buf an encoding of the port numbers svc's
// ports resolve to on pod: pods with equal signatures resolve the same
// ports. It lets callers group pods without building their ports.
func PortSignature(buf []byte, svc *corev1.Service, pod *corev1.Pod) []byte {
	for i := range svc.Spec.Ports {
		n, ok := FindPort(pod, &svc.Spec.Ports[i])
		if !ok {
			n = -1
		}
		buf = binary.AppendVarint(buf, int64(n))
	}
	return buf
}

func namedPort(ports []corev1.ContainerPort, name string, proto corev1.Protocol) (int32, bool) {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, p := range ports {
		pp := p.Protocol
		if pp == "" {
			pp = corev1.ProtocolTCP
		}
		if p.Name == name && pp == proto {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// ServicesForPod returns the keys of the managed Services in pod's
// namespace whose selector matches pod's labels.
func ServicesForPod(services corelisters.ServiceLister, pod *corev1.Pod) []string {
	if len(pod.Labels) == 0 {
		return nil
	}
	list, err := services.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []string
	for _, svc := range list {
		if Managed(svc) && Selects(svc.Spec.Selector, pod.Labels) {
			out = append(out, svc.Namespace+"/"+svc.Name)
		}
	}
	return out
}

// ServicesForPodUpdate returns the keys of the Services whose endpoints an
// update of a pod from old to cur may change: none when nothing endpoints
// show changed; when only labels changed, the Services the pod joined or
// left; otherwise every Service that selects either version.
func ServicesForPodUpdate(services corelisters.ServiceLister, old, cur *corev1.Pod) []string {
	if old.ResourceVersion == cur.ResourceVersion {
		return nil
	}
	membership, endpoint := podChanged(old, cur)
	if !membership && !endpoint {
		return nil
	}
	now := ServicesForPod(services, cur)
	if !membership {
		return now
	}
	before := ServicesForPod(services, old)
	inNow := make(map[string]bool, len(now))
	for _, k := range now {
		inNow[k] = true
	}
	inBefore := make(map[string]bool, len(before))
	for _, k := range before {
		inBefore[k] = true
	}
	var out []string
	for _, k := range now {
		if endpoint || !inBefore[k] {
			out = append(out, k)
		}
	}
	for _, k := range before {
		if !inNow[k] {
			out = append(out, k)
		}
	}
	return out
}

// podChanged reports whether the pod's Service membership may have changed
// (labels, hostname, subdomain) and whether its endpoint changed (deletion,
// readiness, phase, IPs, node).
func podChanged(old, cur *corev1.Pod) (membership, endpoint bool) {
	membership = !mapsEqual(old.Labels, cur.Labels) ||
		old.Spec.Hostname != cur.Spec.Hostname || old.Spec.Subdomain != cur.Spec.Subdomain
	switch {
	case (old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil),
		controllerutil.IsPodReady(old) != controllerutil.IsPodReady(cur),
		old.Status.Phase != cur.Status.Phase,
		old.Spec.NodeName != cur.Spec.NodeName,
		old.Status.PodIP != cur.Status.PodIP,
		!podIPsEqual(old.Status.PodIPs, cur.Status.PodIPs):
		endpoint = true
	}
	return membership, endpoint
}

func podIPsEqual(a, b []corev1.PodIP) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].IP != b[i].IP {
			return false
		}
	}
	return true
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

// PodFromDelete returns the pod of a delete notification, tombstone or not.
func PodFromDelete(obj any) *corev1.Pod {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, _ := obj.(*corev1.Pod)
	return pod
}

// Batcher spaces the syncs of one Service by at least a period: a key that
// has not been synced for a period is queued at once, otherwise it is
// queued for when the period is over. Under a storm of pod events each
// Service is recomputed once per period instead of after every event, and
// a lone change is still seen at once.
//
// Its delays run on their own clock, not on the queue's: spacing API
// writes is a matter of real time, and a control plane whose controllers
// run on a fake clock (to step through deadlines) must not stall.
type Batcher struct {
	queue  controllerutil.Queue
	clock  clock.WithDelayedExecution
	period time.Duration

	mu      sync.Mutex
	last    map[string]time.Time
	pending map[string]bool
}

// NewBatcher returns a Batcher feeding q, timed by clk (the real clock
// when nil).
func NewBatcher(q controllerutil.Queue, clk clock.WithDelayedExecution, period time.Duration) *Batcher {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Batcher{queue: q, clock: clk, period: period, last: map[string]time.Time{}, pending: map[string]bool{}}
}

// Add queues key now or when its period since the last sync is over.
func (b *Batcher) Add(key string) {
	if b.period <= 0 {
		b.queue.Add(key)
		return
	}
	b.mu.Lock()
	last, ok := b.last[key]
	b.mu.Unlock()
	if !ok {
		b.queue.Add(key)
		return
	}
	if wait := last.Add(b.period).Sub(b.clock.Now()); wait > 0 {
		b.After(key, wait)
		return
	}
	b.queue.Add(key)
}

// After queues key after d, unless it is already waiting.
func (b *Batcher) After(key string, d time.Duration) {
	b.mu.Lock()
	if b.pending[key] {
		b.mu.Unlock()
		return
	}
	b.pending[key] = true
	b.mu.Unlock()
	b.clock.AfterFunc(d, func() {
		b.mu.Lock()
		delete(b.pending, key)
		b.mu.Unlock()
		b.queue.Add(key)
	})
}

// Started records that a sync of key starts now.
func (b *Batcher) Started(key string) {
	if b.period <= 0 {
		return
	}
	b.mu.Lock()
	b.last[key] = b.clock.Now()
	b.mu.Unlock()
}

// Forget drops what is known of key (its Service is gone).
func (b *Batcher) Forget(key string) {
	b.mu.Lock()
	delete(b.last, key)
	b.mu.Unlock()
}
