package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestServiceCreate(t *testing.T) {
	svc := func(mutate func(*corev1.Service)) *corev1.Service {
		s := nginxService()
		mutate(s)
		return s
	}
	clusterIP := func(mutate func(*corev1.Service)) *corev1.Service {
		return svc(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeClusterIP
			s.Spec.ExternalTrafficPolicy = ""
			mutate(s)
		})
	}
	tests := []struct {
		name string
		svc  *corev1.Service
		want []wantErr
	}{
		{name: "ports required", svc: svc(func(s *corev1.Service) { s.Spec.Ports = nil }), want: []wantErr{req("spec.ports")}},
		{name: "headless without ports", svc: clusterIP(func(s *corev1.Service) { s.Spec.Ports, s.Spec.ClusterIP = nil, corev1.ClusterIPNone })},
		{
			name: "port out of range",
			svc:  svc(func(s *corev1.Service) { s.Spec.Ports[0].Port = 70000 }),
			want: []wantErr{inv("spec.ports[0].port").with("spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive")},
		},
		{
			name: "targetPort number and name",
			svc: svc(func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("Metrics")})
				s.Spec.Ports[0].Name = "web"
				s.Spec.Ports[0].TargetPort = intstr.FromInt32(0)
			}),
			want: []wantErr{inv("spec.ports[0].targetPort"), inv("spec.ports[1].targetPort")},
		},
		{
			name: "port names required with several ports, unique",
			svc: svc(func(s *corev1.Service) {
				s.Spec.Ports = []corev1.ServicePort{
					{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)},
					{Name: "a", Port: 81, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(81)},
					{Name: "a", Port: 82, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(82)},
				}
			}),
			want: []wantErr{req("spec.ports[0].name"), dup("spec.ports[2].name")},
		},
		{
			name: "duplicate port and protocol",
			svc: svc(func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, s.Spec.Ports[0])
				s.Spec.Ports[0].Name, s.Spec.Ports[1].Name = "a", "b"
			}),
			want: []wantErr{dup("spec.ports[1]")},
		},
		{
			name: "protocol and type values",
			svc:  svc(func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "HTTP"; s.Spec.Type = "Internal" }),
			want: []wantErr{
				unsup("spec.ports[0].protocol"),
				unsup("spec.type").with(`spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`),
				inv("spec.externalTrafficPolicy"),
			},
		},
		{name: "clusterIP must be an IP", svc: clusterIP(func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0" }), want: []wantErr{inv("spec.clusterIPs[0]")}},
		{name: "clusterIP given", svc: clusterIP(func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.20" })},
		{
			name: "headless NodePort",
			svc:  svc(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }),
			want: []wantErr{inv("spec.clusterIPs[0]").with(`spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services`)},
		},
		{
			name: "ExternalName needs a name, no ports or IPs needed",
			svc: svc(func(s *corev1.Service) {
				s.Spec.Type, s.Spec.Ports, s.Spec.ExternalTrafficPolicy, s.Spec.InternalTrafficPolicy = corev1.ServiceTypeExternalName, nil, "", nil
			}),
			want: []wantErr{req("spec.externalName")},
		},
		{
			name: "ExternalName with a trailing dot",
			svc: svc(func(s *corev1.Service) {
				s.Spec.Type, s.Spec.Ports, s.Spec.ExternalTrafficPolicy, s.Spec.InternalTrafficPolicy = corev1.ServiceTypeExternalName, nil, "", nil
				s.Spec.ExternalName = "db.example.com."
			}),
		},
		{name: "selector labels", svc: svc(func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "ngi nx"} }), want: []wantErr{inv("spec.selector")}},
		{
			name: "sessionAffinity",
			svc:  svc(func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" }),
			want: []wantErr{unsup("spec.sessionAffinity")},
		},
		{
			name: "ClientIP affinity needs its config",
			svc:  svc(func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP }),
			want: []wantErr{req("spec.sessionAffinityConfig")},
		},
		{
			name: "externalTrafficPolicy only for externally reachable services",
			svc:  clusterIP(func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal }),
			want: []wantErr{inv("spec.externalTrafficPolicy").with(`spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services`)},
		},
		{
			name: "nodePort with ClusterIP",
			svc:  clusterIP(func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 }),
			want: []wantErr{forb("spec.ports[0].nodePort")},
		},
		{
			name: "internalTrafficPolicy required",
			svc:  svc(func(s *corev1.Service) { s.Spec.InternalTrafficPolicy = nil }),
			want: []wantErr{req("spec.internalTrafficPolicy")},
		},
		{
			name: "external IPs",
			svc:  svc(func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"192.168.1.1", "127.0.0.1", "nope"} }),
			want: []wantErr{inv("spec.externalIPs[1]"), inv("spec.externalIPs[2]")},
		},
		{
			name: "load balancer needs allocateLoadBalancerNodePorts",
			svc:  svc(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer }),
			want: []wantErr{req("allocateLoadBalancerNodePorts")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.svc), tc.want...)
		})
	}
}

func TestServiceUpdate(t *testing.T) {
	old := allocated(nginxService(), "10.96.0.10", 31000)
	upd := func(mutate func(*corev1.Service)) *corev1.Service {
		s := old.DeepCopy()
		mutate(s)
		return s
	}
	tests := []struct {
		name string
		svc  *corev1.Service
		want []wantErr
	}{
		{name: "port change", svc: upd(func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 })},
		{
			name: "clusterIP change",
			svc:  upd(func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.99", []string{"10.96.0.99"} }),
			want: []wantErr{inv("spec.clusterIPs[0]").with(`spec.clusterIPs[0]: Invalid value: ["10.96.0.99"]: may not change once set`)},
		},
		{
			name: "clusterIP change through clusterIP only",
			svc:  upd(func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.99" }),
			want: []wantErr{inv("spec.clusterIPs").with("spec.clusterIPs: Invalid value: [\"10.96.0.10\"]: first value must match `clusterIP`")},
		},
		{
			name: "primary clusterIP unset",
			svc:  upd(func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil }),
			want: []wantErr{inv("spec.clusterIPs[0]").with(`spec.clusterIPs[0]: Invalid value: null: primary clusterIP can not be unset`)},
		},
		{
			name: "ipFamilies change",
			svc:  upd(func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }),
			want: []wantErr{inv("spec.ipFamilies[0]"), inv("spec.clusterIPs[0]")},
		},
		{
			name: "to ExternalName",
			svc: upd(func(s *corev1.Service) {
				s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", SessionAffinity: corev1.ServiceAffinityNone}
			}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateUpdate(tc.svc, old), tc.want...)
		})
	}

	t.Run("status of a load balancer", func(t *testing.T) {
		lb := upd(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.AllocateLoadBalancerNodePorts = ptr.To(true)
		})
		n := lb.DeepCopy()
		n.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}, {Hostname: "1.2.3.4"}}
		checkErrs(t, ValidateStatusUpdate(n, lb), req("status.loadBalancer.ingress[0].ipMode"), inv("status.loadBalancer.ingress[1].hostname"))
		np := old.DeepCopy()
		np.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7", IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}}
		checkErrs(t, ValidateStatusUpdate(np, old), forb("status.loadBalancer.ingress"))
	})
}

func TestEndpoints(t *testing.T) {
	ep := func(subsets ...corev1.EndpointSubset) *corev1.Endpoints {
		return &corev1.Endpoints{ObjectMeta: objectMeta("nginx-service"), Subsets: subsets}
	}
	tcp := corev1.ProtocolTCP
	slice := func(at discoveryv1.AddressType, addrs ...string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  objectMeta("nginx-service-abcde"),
			AddressType: at,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: addrs}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80), Protocol: &tcp}},
		}
	}
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "endpoints", obj: ep(corev1.EndpointSubset{
			Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5", NodeName: ptr.To("node-1")}},
			Ports:     []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}},
		})},
		{
			name: "endpoints addresses and ports",
			obj: ep(corev1.EndpointSubset{}, corev1.EndpointSubset{
				Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}, {IP: "10.0.0"}},
				Ports:     []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "b", Port: 0}},
			}),
			want: []wantErr{
				req("subsets[0]"),
				inv("subsets[1].addresses[0].ip").with(`subsets[1].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`),
				inv("subsets[1].addresses[1].ip"), inv("subsets[1].addresses[1].ip"),
				req("subsets[1].ports[0].name"), inv("subsets[1].ports[1].port"), req("subsets[1].ports[1].protocol"),
			},
		},
		{name: "slice", obj: slice(discoveryv1.AddressTypeIPv4, "10.244.1.5")},
		{name: "slice with an IPv6 address in an IPv4 slice", obj: slice(discoveryv1.AddressTypeIPv4, "fd00::1"), want: []wantErr{inv("endpoints[0].addresses[0]")}},
		{name: "slice address type", obj: slice("IPv5", "10.244.1.5"), want: []wantErr{unsup("addressType")}},
		{name: "slice without addresses", obj: slice(discoveryv1.AddressTypeFQDN), want: []wantErr{req("endpoints[0].addresses")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}
	t.Run("slice addressType is immutable", func(t *testing.T) {
		old := slice(discoveryv1.AddressTypeIPv4, "10.244.1.5")
		old.ResourceVersion = "1"
		n := old.DeepCopy()
		n.AddressType = discoveryv1.AddressTypeFQDN
		n.Endpoints[0].Addresses = []string{"web.example.com"}
		checkErrs(t, ValidateUpdate(n, old), inv("addressType"))
	})
}
