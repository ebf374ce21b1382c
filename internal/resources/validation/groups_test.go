package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestNetworking(t *testing.T) {
	prefix := networkingv1.PathTypePrefix
	ing := func(mutate func(*networkingv1.Ingress)) *networkingv1.Ingress {
		i := &networkingv1.Ingress{ObjectMeta: objectMeta("web"), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: "web.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
				{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "nginx-service", Port: networkingv1.ServiceBackendPort{Number: 88},
				}}},
			}}},
		}}}}
		mutate(i)
		return i
	}
	path := func(i *networkingv1.Ingress) *networkingv1.HTTPIngressPath { return &i.Spec.Rules[0].HTTP.Paths[0] }
	np := func(spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{ObjectMeta: objectMeta("deny"), Spec: spec}
	}
	port80 := intstr.FromInt32(80)
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "ingress", obj: ing(func(*networkingv1.Ingress) {})},
		{
			name: "ingress needs rules or a default backend",
			obj:  ing(func(i *networkingv1.Ingress) { i.Spec.Rules = nil }),
			want: []wantErr{inv("spec").with("spec: Invalid value: null: either `defaultBackend` or `rules` must be specified")},
		},
		{name: "ingress host is a DNS name", obj: ing(func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "10.0.0.1" }), want: []wantErr{inv("spec.rules[0].host")}},
		{name: "ingress wildcard host", obj: ing(func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "*.example.com" })},
		{
			name: "ingress pathType required",
			obj:  ing(func(i *networkingv1.Ingress) { path(i).PathType = nil }),
			want: []wantErr{req("spec.rules[0].http.paths[0].pathType").with("spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified")},
		},
		{
			name: "ingress path must be absolute",
			obj:  ing(func(i *networkingv1.Ingress) { path(i).Path = "api" }),
			want: []wantErr{inv("spec.rules[0].http.paths[0].path")},
		},
		{
			name: "ingress backend: exactly one of service and resource",
			obj: ing(func(i *networkingv1.Ingress) {
				path(i).Backend.Resource = &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "static"}
			}),
			want: []wantErr{inv("spec.rules[0].http.paths[0].backend").with(`spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both resource and service backends`)},
		},
		{
			name: "ingress backend port: name or number",
			obj: ing(func(i *networkingv1.Ingress) {
				path(i).Backend.Service.Port = networkingv1.ServiceBackendPort{Name: "http", Number: 80}
			}),
			want: []wantErr{inv("spec.rules[0].http.paths[0].backend")},
		},
		{
			name: "ingress backend port required",
			obj:  ing(func(i *networkingv1.Ingress) { path(i).Backend.Service.Port = networkingv1.ServiceBackendPort{} }),
			want: []wantErr{req("spec.rules[0].http.paths[0].backend").with("spec.rules[0].http.paths[0].backend: Required value: port name or number is required")},
		},
		{
			name: "ingress backend service name",
			obj:  ing(func(i *networkingv1.Ingress) { path(i).Backend.Service.Name = "Nginx" }),
			want: []wantErr{inv("spec.rules[0].http.paths[0].backend.service.name")},
		},
		{name: "ingress class", obj: &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}},
		{name: "ingress class controller", obj: &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}}, want: []wantErr{req("spec.controller")}},
		{name: "network policy", obj: np(networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Port: &port80, EndPort: ptr.To[int32](90)}},
				From:  []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}},
			}},
		})},
		{
			name: "network policy peers and ports",
			obj: np(networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{"Sideways"},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					Ports: []networkingv1.NetworkPolicyPort{{Port: &port80, EndPort: ptr.To[int32](70)}},
					To: []networkingv1.NetworkPolicyPeer{
						{},
						{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"192.168.0.0/24"}}},
					},
				}},
			}),
			want: []wantErr{
				unsup("spec.policyTypes[0]"),
				inv("spec.egress[0].ports[0].endPort"),
				req("spec.egress[0].to[0]").with("spec.egress[0].to[0]: Required value: must specify a peer"),
				inv("spec.egress[0].to[1].ipBlock.except[0]"),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}
}

func TestPolicyAndAutoscaling(t *testing.T) {
	two := intstr.FromInt32(2)
	half := intstr.FromString("50%")
	pdb := func(spec policyv1.PodDisruptionBudgetSpec) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{ObjectMeta: objectMeta("web"), Spec: spec}
	}
	ref := autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "nginx-deployment"}
	hpa := func(mutate func(*autoscalingv2.HorizontalPodAutoscalerSpec)) *autoscalingv2.HorizontalPodAutoscaler {
		h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objectMeta("web"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: ref, MinReplicas: ptr.To[int32](1), MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)},
			}}},
		}}
		mutate(&h.Spec)
		return h
	}
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "pdb", obj: pdb(policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}})},
		{
			name: "pdb minAvailable xor maxUnavailable",
			obj:  pdb(policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, MaxUnavailable: &half}),
			want: []wantErr{inv("spec")},
		},
		{name: "pdb percentage", obj: pdb(policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromString("150%"))}), want: []wantErr{inv("spec.maxUnavailable")}},
		{name: "hpa", obj: hpa(func(*autoscalingv2.HorizontalPodAutoscalerSpec) {})},
		{
			name: "hpa replica bounds",
			obj: hpa(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
				s.MinReplicas = ptr.To[int32](0)
				s.MaxReplicas = 0
			}),
			want: []wantErr{
				inv("spec.minReplicas").with("spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"),
				inv("spec.maxReplicas"),
			},
		},
		{
			name: "hpa max below min, target kind missing",
			obj: hpa(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
				s.MinReplicas, s.MaxReplicas, s.ScaleTargetRef.Kind = ptr.To[int32](3), 2, ""
			}),
			want: []wantErr{inv("spec.maxReplicas").with("spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"), req("spec.scaleTargetRef.kind")},
		},
		{
			name: "hpa metric source and target",
			obj: hpa(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
				s.Metrics[0].Resource.Target = autoscalingv2.MetricTarget{Type: "Max"}
				s.Metrics = append(s.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType})
			}),
			want: []wantErr{
				inv("spec.metrics[0].resource.target.type"),
				req("spec.metrics[0].resource.target.averageUtilization"),
				req("spec.metrics[1].pods").with("spec.metrics[1].pods: Required value: must populate information for the given metric source"),
			},
		},
		{
			name: "hpa behavior",
			obj: hpa(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
				s.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptr.To[int32](4000),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 0, PeriodSeconds: 60}},
				}}
			}),
			want: []wantErr{inv("spec.behavior.scaleDown.stabilizationWindowSeconds"), inv("spec.behavior.scaleDown.policies[0].value")},
		},
		{
			name: "hpa v1",
			obj: &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: objectMeta("web"), Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 3, TargetCPUUtilizationPercentage: ptr.To[int32](0),
			}},
			want: []wantErr{inv("spec.metrics[0].resource.target.averageUtilization")},
		},
		{
			name: "scale",
			obj:  &autoscalingv1.Scale{ObjectMeta: objectMeta("web"), Spec: autoscalingv1.ScaleSpec{Replicas: -1}},
			want: []wantErr{inv("spec.replicas").with("spec.replicas: Invalid value: -1: must be greater than or equal to 0")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}
}

func TestRBAC(t *testing.T) {
	rule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}
	viewRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}
	user := rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "jane"}
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "role", obj: &rbacv1.Role{ObjectMeta: objectMeta("reader"), Rules: []rbacv1.PolicyRule{rule}}},
		{
			name: "rules need verbs, groups and resources",
			obj:  &rbacv1.Role{ObjectMeta: objectMeta("reader"), Rules: []rbacv1.PolicyRule{{}}},
			want: []wantErr{
				req("rules[0].verbs").with("rules[0].verbs: Required value: verbs must contain at least one value"),
				req("rules[0].apiGroups"), req("rules[0].resources"),
			},
		},
		{
			name: "resourceNames with several resources",
			obj: &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{""}, Resources: []string{"pods", "secrets"}, ResourceNames: []string{"x"}, Verbs: []string{"get"},
			}}},
			want: []wantErr{req("rules[0].resourceNames")},
		},
		{
			name: "non-resource URLs in a namespaced role",
			obj:  &rbacv1.Role{ObjectMeta: objectMeta("r"), Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}}}},
			want: []wantErr{inv("rules[0].nonResourceURLs")},
		},
		{name: "cluster role with non-resource URLs", obj: &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "health"}, Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}}}}},
		{name: "role binding", obj: &rbacv1.RoleBinding{ObjectMeta: objectMeta("jane-view"), RoleRef: viewRef, Subjects: []rbacv1.Subject{user}}},
		{
			name: "role binding subjects and ref",
			obj: &rbacv1.RoleBinding{ObjectMeta: objectMeta("b"), RoleRef: rbacv1.RoleRef{APIGroup: "rbac", Kind: "Group"}, Subjects: []rbacv1.Subject{
				{Kind: "Robot", Name: "r2"}, {Kind: rbacv1.ServiceAccountKind, Name: "Builder", APIGroup: rbacv1.GroupName},
			}},
			want: []wantErr{
				unsup("roleRef.apiGroup"), unsup("roleRef.kind"), req("roleRef.name"),
				unsup("subjects[0].kind"), inv("subjects[1].name"), unsup("subjects[1].apiGroup"),
			},
		},
		{
			name: "cluster role binding: Role refs and namespace-less service accounts",
			obj: &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "x"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "builder"}}},
			want: []wantErr{unsup("roleRef.kind"), req("subjects[0].namespace")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}
	t.Run("roleRef is immutable", func(t *testing.T) {
		old := &rbacv1.RoleBinding{ObjectMeta: objectMeta("jane-view"), RoleRef: viewRef, Subjects: []rbacv1.Subject{user}}
		old.ResourceVersion = "1"
		n := old.DeepCopy()
		n.RoleRef.Name = "edit"
		checkErrs(t, ValidateUpdate(n, old), inv("roleRef").with(`roleRef: Invalid value: {"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit"}: cannot change roleRef`))
		subjects := old.DeepCopy()
		subjects.Subjects = append(subjects.Subjects, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "devs"})
		checkErrs(t, ValidateUpdate(subjects, old))
	})
}

// testCSR returns a PEM certificate request and a PEM certificate.
func testCSR(t *testing.T) (request, cert []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{CommonName: "system:node:node-1", Organization: []string{"system:nodes"}}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: subject, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
}

func TestCertificateSigningRequest(t *testing.T) {
	request, cert := testCSR(t)
	csr := func(mutate func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
		c := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "node-csr-Abc_1"}, Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    request,
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		}}
		mutate(c)
		return c
	}
	tests := []struct {
		name string
		obj  *certificatesv1.CertificateSigningRequest
		want []wantErr
	}{
		{name: "kubelet client CSR", obj: csr(func(*certificatesv1.CertificateSigningRequest) {})},
		{
			name: "request must be a PEM CSR",
			obj:  csr(func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = cert }),
			want: []wantErr{inv("spec.request")},
		},
		{
			name: "signer name, usages",
			obj: csr(func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.SignerName = "my-signer"
				c.Spec.Usages = []certificatesv1.KeyUsage{"teleport", certificatesv1.UsageClientAuth, certificatesv1.UsageClientAuth}
			}),
			want: []wantErr{
				inv("spec.signerName").with(`spec.signerName: Invalid value: "my-signer": must be a fully qualified domain and path of the form 'example.com/signer-name'`),
				unsup("spec.usages[0]"), dup("spec.usages[2]"),
			},
		},
		{name: "signer name required, usages required", obj: csr(func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName, c.Spec.Usages = "", nil }),
			want: []wantErr{req("spec.signerName"), req("spec.usages")}},
		{name: "expiration", obj: csr(func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = ptr.To[int32](60) }), want: []wantErr{inv("spec.expirationSeconds")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.want) > 0 && tc.want[0].field == "spec.request" {
				errs := ValidateCreate(tc.obj)
				checkErrs(t, errs, tc.want...)
				if errs[0].Detail != "PEM block type must be CERTIFICATE REQUEST" {
					t.Errorf("detail %q", errs[0].Detail)
				}
				return
			}
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}

	old := csr(func(c *certificatesv1.CertificateSigningRequest) { c.ResourceVersion = "1" })
	approved := old.DeepCopy()
	approved.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved"}}
	issued := approved.DeepCopy()
	issued.Status.Certificate = cert
	t.Run("approval", func(t *testing.T) {
		checkErrs(t, ValidateSubresourceUpdate("approval", approved, old))
		checkErrs(t, ValidateStatusUpdate(approved, old))
		checkErrs(t, ValidateUpdate(approved, old), forb("status.conditions"))
	})
	t.Run("issuing", func(t *testing.T) {
		checkErrs(t, ValidateStatusUpdate(issued, approved))
		bad := approved.DeepCopy()
		bad.Status.Certificate = request
		checkErrs(t, ValidateStatusUpdate(bad, approved), inv("status.certificate"))
		again := issued.DeepCopy()
		again.Status.Certificate = append(append([]byte{}, cert...), cert...)
		checkErrs(t, ValidateStatusUpdate(again, issued), forb("status.certificate"))
	})
	t.Run("approved and denied", func(t *testing.T) {
		both := approved.DeepCopy()
		both.Status.Conditions = append(both.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue})
		checkErrs(t, ValidateSubresourceUpdate("approval", both, approved), inv("status.conditions"))
		removed := old.DeepCopy()
		checkErrs(t, ValidateSubresourceUpdate("approval", removed, approved), forb("status.conditions"))
	})
}

func TestOtherKinds(t *testing.T) {
	immediate := storagev1.VolumeBindingImmediate
	sc := func(mutate func(*storagev1.StorageClass)) *storagev1.StorageClass {
		s := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local"}, Provisioner: "sampan.dev/local-path",
			ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimDelete), VolumeBindingMode: &immediate}
		mutate(s)
		return s
	}
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "lease", obj: &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"}, Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To("node-1"), LeaseDurationSeconds: ptr.To[int32](40)}}},
		{name: "lease duration", obj: &coordinationv1.Lease{ObjectMeta: objectMeta("l"), Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](0)}},
			want: []wantErr{inv("spec.leaseDurationSeconds").with("spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0")}},
		{name: "storage class", obj: sc(func(*storagev1.StorageClass) {})},
		{name: "storage class provisioner", obj: sc(func(s *storagev1.StorageClass) { s.Provisioner = "" }), want: []wantErr{req("provisioner")}},
		{name: "storage class reclaim and binding", obj: sc(func(s *storagev1.StorageClass) {
			s.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRecycle)
			s.VolumeBindingMode = nil
		}), want: []wantErr{unsup("reclaimPolicy"), req("volumeBindingMode")}},
		{name: "access review", obj: &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods"}}}},
		{name: "access review needs one kind of attributes", obj: &authorizationv1.SelfSubjectAccessReview{},
			want: []wantErr{inv("spec.resourceAttributes").with("spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified")}},
		{name: "access review with both attributes and metadata", obj: &authorizationv1.SelfSubjectAccessReview{
			ObjectMeta: metav1.ObjectMeta{Name: "x"},
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes:    &authorizationv1.ResourceAttributes{Verb: "get"},
				NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/healthz", Verb: "get"},
			}},
			want: []wantErr{inv("spec.nonResourceAttributes"), inv("metadata")}},
		{name: "token request", obj: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](60)}},
			want: []wantErr{inv("spec.expirationSeconds")}},
		{name: "binding", obj: &corev1.Binding{ObjectMeta: objectMeta("web"), Target: corev1.ObjectReference{Kind: "Pod"}},
			want: []wantErr{unsup("target.kind"), req("target.name")}},
		{name: "eviction", obj: &policyv1.Eviction{ObjectMeta: objectMeta("web")}},
		{name: "pod template", obj: &corev1.PodTemplate{ObjectMeta: objectMeta("tmpl"), Template: corev1.PodTemplateSpec{Spec: defaultedPodSpec()}},
			want: []wantErr{req("template.spec.containers")}},
		{name: "unknown kinds pass", obj: &authenticationv1.SelfSubjectReview{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}
	t.Run("storage class parameters are immutable", func(t *testing.T) {
		old := sc(func(s *storagev1.StorageClass) { s.ResourceVersion = "1" })
		n := old.DeepCopy()
		n.Parameters = map[string]string{"path": "/srv"}
		checkErrs(t, ValidateUpdate(n, old), forb("parameters").with("parameters: Forbidden: updates to parameters are forbidden."))
	})
	t.Run("controller revision data is immutable", func(t *testing.T) {
		old := &appsv1.ControllerRevision{ObjectMeta: objectMeta("web-5d4f"), Revision: 1, Data: runtime.RawExtension{Raw: []byte(`{"spec":{}}`)}}
		old.ResourceVersion = "1"
		checkErrs(t, ValidateUpdate(old.DeepCopy(), old))
		n := old.DeepCopy()
		n.Data.Raw = []byte(`{"spec":{"x":1}}`)
		checkErrs(t, ValidateUpdate(n, old), inv("data"))
	})
}
