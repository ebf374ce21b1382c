package sim

import (
	"encoding/binary"
	"net"
)

// ipAllocator hands out pod addresses of one node sequentially from a
// range, skipping the network address, the first host address (the
// node's bridge, by convention) and the broadcast address.
type ipAllocator struct {
	cidr string
	base uint32
	size uint32 // addresses in the range
	next uint32 // offset to try first
	used map[uint32]bool
}

// fakeRange is the /24 of node i when it has no podCIDR: 100.64.0.0/10
// (shared address space), one /24 per node.
func fakeRange(i int) *net.IPNet {
	n := uint32(100)<<24 | uint32(64)<<16 + uint32(i%(1<<14))<<8
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, n)
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)}
}

// newIPAllocator returns an allocator over an IPv4 cidr, nil if it is not one.
func newIPAllocator(cidr *net.IPNet) *ipAllocator {
	ip4 := cidr.IP.To4()
	ones, bits := cidr.Mask.Size()
	if ip4 == nil || bits != 32 || ones > 30 {
		return nil
	}
	size := uint32(1) << (32 - ones)
	if size > 1<<16 {
		size = 1 << 16 // more than any node runs
	}
	return &ipAllocator{cidr: cidr.String(), base: binary.BigEndian.Uint32(ip4.Mask(cidr.Mask)), size: size, next: 2, used: map[uint32]bool{}}
}

// allocate returns the next free address, "" when the range is full.
func (a *ipAllocator) allocate() string {
	usable := a.size - 3 // offsets 2 … size-2
	for range usable {
		off := a.next
		a.next++
		if a.next > a.size-2 {
			a.next = 2
		}
		if !a.used[off] {
			a.used[off] = true
			return a.ip(off)
		}
	}
	return ""
}

// mark records that ip is in use (a pod that already has it), if it is in range.
func (a *ipAllocator) mark(ip string) {
	if off, ok := a.offset(ip); ok {
		a.used[off] = true
	}
}

// release frees ip if it is in range.
func (a *ipAllocator) release(ip string) {
	if off, ok := a.offset(ip); ok {
		delete(a.used, off)
	}
}

func (a *ipAllocator) offset(s string) (uint32, bool) {
	ip := net.ParseIP(s).To4()
	if ip == nil {
		return 0, false
	}
	v := binary.BigEndian.Uint32(ip)
	if v < a.base || v-a.base >= a.size {
		return 0, false
	}
	return v - a.base, true
}

func (a *ipAllocator) ip(off uint32) string {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, a.base+off)
	return ip.String()
}
