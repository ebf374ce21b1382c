package sim

import (
	"net"
	"testing"
)

func TestIPAllocator(t *testing.T) {
	tests := []struct {
		name  string
		cidr  string
		mark  []string // already used
		want  []string // successive allocations ("" = full)
		after func(a *ipAllocator)
	}{
		{name: "sequential from .2", cidr: "10.244.3.0/24", want: []string{"10.244.3.2", "10.244.3.3", "10.244.3.4"}},
		{name: "skips used", cidr: "10.244.3.0/24", mark: []string{"10.244.3.2", "10.244.3.4", "10.9.9.9"}, want: []string{"10.244.3.3", "10.244.3.5"}},
		{name: "small range fills up", cidr: "10.0.0.0/29", want: []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", ""}},
		{name: "reuses released after wrapping", cidr: "10.0.0.0/30", want: []string{"10.0.0.2", ""},
			after: func(a *ipAllocator) {
				a.release("10.0.0.2")
				if got := a.allocate(); got != "10.0.0.2" {
					t.Errorf("after release: %q", got)
				}
			}},
		{name: "unaligned cidr", cidr: "10.1.2.77/24", want: []string{"10.1.2.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c, err := net.ParseCIDR(tt.cidr)
			if err != nil {
				t.Fatal(err)
			}
			a := newIPAllocator(c)
			for _, ip := range tt.mark {
				a.mark(ip)
			}
			for i, want := range tt.want {
				if got := a.allocate(); got != want {
					t.Errorf("allocation %d = %q, want %q", i, got, want)
				}
			}
			if tt.after != nil {
				tt.after(a)
			}
		})
	}
	if a := newIPAllocator(&net.IPNet{IP: net.ParseIP("fd00::"), Mask: net.CIDRMask(64, 128)}); a != nil {
		t.Error("IPv6 allocator built")
	}
}

func TestFakeRangeAndInternalIP(t *testing.T) {
	tests := []struct {
		i             int
		rng, internal string
	}{
		{0, "100.64.0.0/24", "10.200.0.1"},
		{1, "100.64.1.0/24", "10.200.0.2"},
		{300, "100.65.44.0/24", "10.200.1.45"},
	}
	for _, tt := range tests {
		if got := fakeRange(tt.i).String(); got != tt.rng {
			t.Errorf("fakeRange(%d) = %s, want %s", tt.i, got, tt.rng)
		}
		if got := internalIP(tt.i); got != tt.internal {
			t.Errorf("internalIP(%d) = %s, want %s", tt.i, got, tt.internal)
		}
	}
}
