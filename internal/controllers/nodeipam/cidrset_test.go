package nodeipam

import (
	"net"
	"testing"
)

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, c, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCIDRSet(t *testing.T) {
	type step struct {
		op   string // allocate, occupy, release
		cidr string // argument, or the allocation expected ("" = full)
		ok   bool   // occupy's result
	}
	tests := []struct {
		name     string
		cluster  string
		maskSize int
		steps    []step
	}{
		{"ipv4 in order", "10.244.0.0/16", 24, []step{
			{"allocate", "10.244.0.0/24", false}, {"allocate", "10.244.1.0/24", false}, {"allocate", "10.244.2.0/24", false},
		}},
		{"skips occupied", "10.244.0.0/16", 24, []step{
			{"occupy", "10.244.0.0/24", true}, {"occupy", "10.244.2.0/24", true},
			{"allocate", "10.244.1.0/24", false}, {"allocate", "10.244.3.0/24", false},
		}},
		{"foreign subnets are not occupied", "10.244.0.0/16", 24, []step{
			{"occupy", "10.245.0.0/24", false}, {"occupy", "10.244.0.0/25", false}, {"occupy", "fd00::/64", false},
			{"allocate", "10.244.0.0/24", false},
		}},
		{"full, then a released subnet comes round again", "10.0.0.0/23", 24, []step{
			{"allocate", "10.0.0.0/24", false}, {"allocate", "10.0.1.0/24", false}, {"allocate", "", false},
			{"release", "10.0.0.0/24", false}, {"allocate", "10.0.0.0/24", false}, {"allocate", "", false},
		}},
		{"released subnets are not reused at once", "10.0.0.0/22", 24, []step{
			{"allocate", "10.0.0.0/24", false}, {"allocate", "10.0.1.0/24", false},
			{"release", "10.0.0.0/24", false}, {"allocate", "10.0.2.0/24", false}, {"allocate", "10.0.3.0/24", false},
			{"allocate", "10.0.0.0/24", false},
		}},
		{"unaligned cluster CIDR", "10.1.2.3/16", 24, []step{{"allocate", "10.1.0.0/24", false}}},
		{"ipv6", "fd00:10:244::/56", 64, []step{
			{"allocate", "fd00:10:244::/64", false}, {"allocate", "fd00:10:244:1::/64", false},
			{"occupy", "fd00:10:244:2::/64", true}, {"allocate", "fd00:10:244:3::/64", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newCIDRSet(mustCIDR(t, tt.cluster), tt.maskSize)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tt.steps {
				switch st.op {
				case "allocate":
					got, err := s.allocate()
					switch {
					case st.cidr == "" && err == nil:
						t.Errorf("step %d: allocated %s from a full set", i, got)
					case st.cidr != "" && (err != nil || got.String() != st.cidr):
						t.Errorf("step %d: allocate = %v, %v; want %s", i, got, err, st.cidr)
					}
				case "occupy":
					if got := s.occupy(mustCIDR(t, st.cidr)); got != st.ok {
						t.Errorf("step %d: occupy(%s) = %v", i, st.cidr, got)
					}
				case "release":
					s.release(mustCIDR(t, st.cidr))
				}
			}
		})
	}
}

func TestNewCIDRSetRejects(t *testing.T) {
	for _, tt := range []struct {
		cluster  string
		maskSize int
	}{
		{"10.0.0.0/16", 8},  // shorter than the cluster's
		{"10.0.0.0/16", 33}, // longer than an address
		{"10.0.0.0/8", 30},  // 2^22 subnets
		{"fd00::/48", 129},
	} {
		if _, err := newCIDRSet(mustCIDR(t, tt.cluster), tt.maskSize); err == nil {
			t.Errorf("newCIDRSet(%s, %d) succeeded", tt.cluster, tt.maskSize)
		}
	}
}
