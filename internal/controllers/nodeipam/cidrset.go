package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net"
)

// errCIDRSetFull is returned when every subnet is taken.
var errCIDRSetFull = errors.New("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")

// maxSubnetBits bounds the number of subnets (2^16), as upstream does.
const maxSubnetBits = 16

// cidrSet cuts a cluster CIDR into subnets of one mask size and remembers
// which are taken. Allocation goes round the range (the subnet after the
// last one handed out first), as upstream's, so a released subnet is not
// handed out again at once while routes to it may linger.
type cidrSet struct {
	cluster  *net.IPNet
	maskSize int
	bits     int // 32 or 128
	n        int // number of subnets
	used     []bool
	free     int
	next     int
}

func newCIDRSet(cluster *net.IPNet, maskSize int) (*cidrSet, error) {
	ones, bits := cluster.Mask.Size()
	if maskSize < ones || maskSize > bits {
		return nil, fmt.Errorf("node CIDR mask size %d does not fit cluster CIDR %s", maskSize, cluster)
	}
	if maskSize-ones > maxSubnetBits {
		return nil, fmt.Errorf("node CIDR mask size %d is more than %d bits longer than cluster CIDR %s", maskSize, maxSubnetBits, cluster)
	}
	n := 1 << (maskSize - ones)
	base := cluster.IP.Mask(cluster.Mask)
	if bits == 32 {
		base = base.To4()
	}
	return &cidrSet{
		cluster:  &net.IPNet{IP: base, Mask: cluster.Mask},
		maskSize: maskSize,
		bits:     bits,
		n:        n,
		used:     make([]bool, n),
		free:     n,
	}, nil
}

// subnet returns the i-th subnet.
func (s *cidrSet) subnet(i int) *net.IPNet {
	v := new(big.Int).SetBytes(s.cluster.IP)
	v.Add(v, new(big.Int).Lsh(big.NewInt(int64(i)), uint(s.bits-s.maskSize)))
	ip := make(net.IP, len(s.cluster.IP))
	v.FillBytes(ip)
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(s.maskSize, s.bits)}
}

// index returns which subnet cidr is, false when it is not one of the set's.
func (s *cidrSet) index(cidr *net.IPNet) (int, bool) {
	ones, bits := cidr.Mask.Size()
	if bits != s.bits || ones != s.maskSize || !s.cluster.Contains(cidr.IP) {
		return 0, false
	}
	ip := cidr.IP
	if bits == 32 {
		ip = ip.To4()
	}
	v := new(big.Int).SetBytes(ip)
	v.Sub(v, new(big.Int).SetBytes(s.cluster.IP))
	v.Rsh(v, uint(s.bits-s.maskSize))
	return int(v.Int64()), true
}

// allocate takes the next free subnet.
func (s *cidrSet) allocate() (*net.IPNet, error) {
	if s.free == 0 {
		return nil, errCIDRSetFull
	}
	for range s.n {
		i := s.next
		s.next = (s.next + 1) % s.n
		if !s.used[i] {
			s.used[i] = true
			s.free--
			return s.subnet(i), nil
		}
	}
	return nil, errCIDRSetFull
}

// occupy marks cidr taken; false when it is not one of the set's subnets.
func (s *cidrSet) occupy(cidr *net.IPNet) bool {
	i, ok := s.index(cidr)
	if !ok {
		return false
	}
	if !s.used[i] {
		s.used[i] = true
		s.free--
	}
	return true
}

// release frees cidr.
func (s *cidrSet) release(cidr *net.IPNet) {
	if i, ok := s.index(cidr); ok && s.used[i] {
		s.used[i] = false
		s.free++
	}
}
