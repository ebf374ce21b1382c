package apiserver

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sampan-dev/sampan/internal/storage"
)

// Allocation records live in the store beside the objects, one key per taken
// ClusterIP or NodePort, so that two API servers can never hand out the same one:
// the store's create-if-absent is the lock.
const (
	clusterIPPrefix = "/ranges/serviceips/"
	nodePortPrefix  = "/ranges/servicenodeports/"
)

// serviceAllocator hands out ClusterIPs and NodePorts.
type serviceAllocator struct {
	store   storage.Store
	cidr    *net.IPNet
	base    *big.Int
	size    int64 // addresses usable: the network address and broadcast are excluded
	minPort int
	maxPort int
}

func newServiceAllocator(store storage.Store, cidr *net.IPNet, minPort, maxPort int) *serviceAllocator {
	ones, bits := cidr.Mask.Size()
	size := new(big.Int).Lsh(big.NewInt(1), uint(bits-ones)).Int64() - 2
	if size > 1<<20 {
		size = 1 << 20
	}
	return &serviceAllocator{
		store: store, cidr: cidr, base: new(big.Int).SetBytes(cidr.IP.To16()),
		size: size, minPort: minPort, maxPort: maxPort,
	}
}

func (a *serviceAllocator) ipAt(offset int64) net.IP {
	n := new(big.Int).Add(a.base, big.NewInt(offset+1))
	b := n.Bytes()
	ip := make(net.IP, 16)
	copy(ip[16-len(b):], b)
	if a.cidr.IP.To4() != nil {
		return ip.To4()
	}
	return ip
}

// allocation records what a service took, so a failed write can give it back.
type allocation struct {
	ips   []string
	ports []int
}

func (a *serviceAllocator) release(ctx context.Context, al *allocation) {
	for _, ip := range al.ips {
		_, _ = a.store.Delete(ctx, clusterIPPrefix+ip, 0)
	}
	for _, p := range al.ports {
		_, _ = a.store.Delete(ctx, nodePortPrefix+strconv.Itoa(p), 0)
	}
}

var servicesGR = schema.GroupResource{Resource: "services"}

// allocate gives svc the ClusterIP and NodePorts it needs and does not have
// yet (with dryRun it only checks the requested ones are free).
func (a *serviceAllocator) allocate(ctx context.Context, svc *corev1.Service, old *corev1.Service, dryRun bool) (*allocation, error) {
	al := &allocation{}
	owner := []byte(svc.Namespace + "/" + svc.Name)
	fail := func(err error) (*allocation, error) {
		if !dryRun {
			a.release(ctx, al)
		}
		return nil, err
	}
	needIP := svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
	if needIP && (old == nil || old.Spec.ClusterIP == "" || old.Spec.ClusterIP == corev1.ClusterIPNone || old.Spec.Type == corev1.ServiceTypeExternalName) {
		if svc.Spec.ClusterIP == "" {
			ip, err := a.allocateIP(ctx, owner, dryRun)
			if err != nil {
				return fail(err)
			}
			svc.Spec.ClusterIP = ip
			if !dryRun {
				al.ips = append(al.ips, ip)
			}
		} else {
			ip := net.ParseIP(svc.Spec.ClusterIP)
			path := field.NewPath("spec", "clusterIPs")
			if ip == nil || !a.cidr.Contains(ip) {
				return fail(invalidService(svc.Name, field.Invalid(path, []string{svc.Spec.ClusterIP},
					fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", svc.Spec.ClusterIP, svc.Spec.ClusterIP, a.cidr))))
			}
			if err := a.claim(ctx, clusterIPPrefix+ip.String(), owner, dryRun); err != nil {
				if errors.Is(err, storage.ErrKeyExists) {
					return fail(invalidService(svc.Name, field.Invalid(path, []string{svc.Spec.ClusterIP},
						fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", svc.Spec.ClusterIP))))
				}
				return fail(err)
			}
			if !dryRun {
				al.ips = append(al.ips, ip.String())
			}
		}
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
		if len(svc.Spec.IPFamilies) == 0 {
			fam := corev1.IPv4Protocol
			if net.ParseIP(svc.Spec.ClusterIP).To4() == nil {
				fam = corev1.IPv6Protocol
			}
			svc.Spec.IPFamilies = []corev1.IPFamily{fam}
		}
		if svc.Spec.IPFamilyPolicy == nil {
			p := corev1.IPFamilyPolicySingleStack
			svc.Spec.IPFamilyPolicy = &p
		}
	} else if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		svc.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
	}

	needPorts := svc.Spec.Type == corev1.ServiceTypeNodePort ||
		(svc.Spec.Type == corev1.ServiceTypeLoadBalancer && (svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts))
	oldPorts := map[int32]bool{}
	if old != nil {
		for _, p := range old.Spec.Ports {
			if p.NodePort != 0 {
				oldPorts[p.NodePort] = true
			}
		}
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if !needPorts {
			if svc.Spec.Type == corev1.ServiceTypeClusterIP || svc.Spec.Type == corev1.ServiceTypeExternalName {
				p.NodePort = 0
			}
			if p.NodePort == 0 {
				continue
			}
		}
		if p.NodePort != 0 && oldPorts[p.NodePort] {
			continue
		}
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		if p.NodePort == 0 {
			port, err := a.allocatePort(ctx, owner, dryRun)
			if err != nil {
				return fail(err)
			}
			p.NodePort = int32(port)
		} else {
			if int(p.NodePort) < a.minPort || int(p.NodePort) > a.maxPort {
				return fail(invalidService(svc.Name, field.Invalid(path, p.NodePort,
					fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", a.minPort, a.maxPort))))
			}
			if err := a.claim(ctx, nodePortPrefix+strconv.Itoa(int(p.NodePort)), owner, dryRun); err != nil {
				if errors.Is(err, storage.ErrKeyExists) {
					return fail(invalidService(svc.Name, field.Invalid(path, p.NodePort, "provided port is already allocated")))
				}
				return fail(err)
			}
		}
		if !dryRun {
			al.ports = append(al.ports, int(p.NodePort))
		}
	}
	return al, nil
}

// releaseUnused frees what old held and svc no longer does.
func (a *serviceAllocator) releaseUnused(ctx context.Context, svc, old *corev1.Service) {
	held := &allocation{}
	if old.Spec.ClusterIP != "" && old.Spec.ClusterIP != corev1.ClusterIPNone && (svc == nil || svc.Spec.ClusterIP != old.Spec.ClusterIP) {
		held.ips = append(held.ips, old.Spec.ClusterIP)
	}
	keep := map[int32]bool{}
	if svc != nil {
		for _, p := range svc.Spec.Ports {
			keep[p.NodePort] = true
		}
	}
	for _, p := range old.Spec.Ports {
		if p.NodePort != 0 && !keep[p.NodePort] {
			held.ports = append(held.ports, int(p.NodePort))
		}
	}
	a.release(ctx, held)
}

func (a *serviceAllocator) claim(ctx context.Context, key string, owner []byte, dryRun bool) error {
	if dryRun {
		if _, err := a.store.Get(ctx, key); err == nil {
			return storage.ErrKeyExists
		}
		return nil
	}
	_, err := a.store.Create(ctx, key, owner)
	return err
}

func (a *serviceAllocator) allocateIP(ctx context.Context, owner []byte, dryRun bool) (string, error) {
	// Random probes first, then a scan: the range is large and mostly free.
	for i := 0; i < 64; i++ {
		ip := a.ipAt(rand.Int64N(a.size)).String()
		if err := a.claim(ctx, clusterIPPrefix+ip, owner, dryRun); err == nil {
			return ip, nil
		} else if !errors.Is(err, storage.ErrKeyExists) {
			return "", err
		}
	}
	for off := int64(0); off < a.size; off++ {
		ip := a.ipAt(off).String()
		if err := a.claim(ctx, clusterIPPrefix+ip, owner, dryRun); err == nil {
			return ip, nil
		} else if !errors.Is(err, storage.ErrKeyExists) {
			return "", err
		}
	}
	return "", apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: range is full"))
}

func (a *serviceAllocator) allocatePort(ctx context.Context, owner []byte, dryRun bool) (int, error) {
	n := a.maxPort - a.minPort + 1
	start := rand.IntN(n)
	for i := 0; i < n; i++ {
		port := a.minPort + (start+i)%n
		if err := a.claim(ctx, nodePortPrefix+strconv.Itoa(port), owner, dryRun); err == nil {
			return port, nil
		} else if !errors.Is(err, storage.ErrKeyExists) {
			return 0, err
		}
	}
	return 0, apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: range is full"))
}

func invalidService(name string, errs ...*field.Error) error {
	return apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, name, errs)
}
