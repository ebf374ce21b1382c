package validation

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func TestConfigMapAndSecret(t *testing.T) {
	cm := func(data map[string]string, bin map[string][]byte) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: objectMeta("cfg"), Data: data, BinaryData: bin}
	}
	secret := func(typ corev1.SecretType, data map[string][]byte, ann map[string]string) *corev1.Secret {
		m := objectMeta("sec")
		m.Annotations = ann
		return &corev1.Secret{ObjectMeta: m, Type: typ, Data: data}
	}
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "configmap", obj: cm(map[string]string{"app.conf": "x", "A_B-c": "y"}, map[string][]byte{"logo.png": {1}})},
		{
			name: "configmap keys",
			obj:  cm(map[string]string{"bad/key": "x", "dup": "y"}, map[string][]byte{"dup": {1}}),
			want: []wantErr{
				inv("data[bad/key]"),
				inv("data[dup]").with(`data[dup]: Invalid value: "dup": duplicate of key present in binaryData`),
			},
		},
		{
			name: "configmap size",
			obj:  cm(map[string]string{"a": strings.Repeat("x", corev1.MaxSecretSize)}, map[string][]byte{"b": {1}}),
			want: []wantErr{tooLong("[]").with("[]: Too long: may not be more than 1048576 bytes")},
		},
		{name: "opaque secret", obj: secret(corev1.SecretTypeOpaque, map[string][]byte{"password": []byte("x")}, nil)},
		{name: "secret key", obj: secret(corev1.SecretTypeOpaque, map[string][]byte{"a b": nil}, nil), want: []wantErr{inv("data[a b]")}},
		{name: "secret size", obj: secret(corev1.SecretTypeOpaque, map[string][]byte{"a": make([]byte, corev1.MaxSecretSize+1)}, nil), want: []wantErr{tooLong("data")}},
		{
			name: "tls secret keys",
			obj:  secret(corev1.SecretTypeTLS, map[string][]byte{"tls.crt": []byte("c")}, nil),
			want: []wantErr{req("data[tls.key]").with("data[tls.key]: Required value")},
		},
		{
			name: "dockerconfigjson",
			obj:  secret(corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": []byte("{")}, nil),
			want: []wantErr{inv("data[.dockerconfigjson]")},
		},
		{name: "dockerconfigjson missing", obj: secret(corev1.SecretTypeDockerConfigJson, nil, nil), want: []wantErr{req("data[.dockerconfigjson]")}},
		{name: "service account token", obj: secret(corev1.SecretTypeServiceAccountToken, nil, nil), want: []wantErr{req("metadata.annotations[kubernetes.io/service-account.name]")}},
		{name: "service account token named", obj: secret(corev1.SecretTypeServiceAccountToken, nil, map[string]string{"kubernetes.io/service-account.name": "default"})},
		{name: "basic auth", obj: secret(corev1.SecretTypeBasicAuth, nil, nil), want: []wantErr{req("data[username]"), req("data[password]")}},
		{name: "basic auth with a username only", obj: secret(corev1.SecretTypeBasicAuth, map[string][]byte{"username": nil}, nil)},
		{name: "ssh auth", obj: secret(corev1.SecretTypeSSHAuth, nil, nil), want: []wantErr{req("data[ssh-privatekey]")}},
		{name: "service account", obj: &corev1.ServiceAccount{ObjectMeta: objectMeta("builder")}},
		{name: "service account name", obj: &corev1.ServiceAccount{ObjectMeta: objectMeta("Builder")}, want: []wantErr{inv("metadata.name")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}

	t.Run("immutable configmap", func(t *testing.T) {
		old := cm(map[string]string{"a": "1"}, nil)
		old.ResourceVersion, old.Immutable = "1", ptr.To(true)
		n := old.DeepCopy()
		n.Data["a"] = "2"
		n.Immutable = nil
		checkErrs(t, ValidateUpdate(n, old), forb("immutable"), forb("data").with("data: Forbidden: field is immutable when `immutable` is set"))
		labels := old.DeepCopy()
		labels.Labels = map[string]string{"x": "y"}
		checkErrs(t, ValidateUpdate(labels, old))
	})
	t.Run("secret type and data", func(t *testing.T) {
		old := secret(corev1.SecretTypeOpaque, map[string][]byte{"a": []byte("1")}, nil)
		old.ResourceVersion, old.Immutable = "1", ptr.To(true)
		n := old.DeepCopy()
		n.Type = corev1.SecretTypeBasicAuth
		n.Data["username"] = nil
		checkErrs(t, ValidateUpdate(n, old), inv("type"), forb("data"))
	})
}

func TestNamespaceAndNode(t *testing.T) {
	node := func(mutate func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}
		mutate(n)
		return n
	}
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "namespace", obj: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}},
		{
			name: "namespace finalizer",
			obj:  &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"cleanup"}}},
			want: []wantErr{inv("spec.finalizers")},
		},
		{name: "node", obj: node(func(n *corev1.Node) {
			n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.1.0/24", []string{"10.244.1.0/24", "fd00:1::/64"}
			n.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
			n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourcePods: resource.MustParse("110")}
		})},
		{name: "node podCIDR", obj: node(func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/33"} }), want: []wantErr{inv("spec.podCIDRs[0]")}},
		{name: "node podCIDRs of one family", obj: node(func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "10.244.2.0/24"} }), want: []wantErr{inv("spec.podCIDRs")}},
		{
			name: "node taints",
			obj: node(func(n *corev1.Node) {
				n.Spec.Taints = []corev1.Taint{
					{Key: "a", Effect: corev1.TaintEffectNoSchedule},
					{Key: "a", Effect: corev1.TaintEffectNoSchedule},
					{Key: "b"},
					{Key: "-c", Effect: "Evict"},
				}
			}),
			want: []wantErr{dup("metadata.taints[1]"), req("metadata.taints[2].effect"), inv("metadata.taints[3].key"), unsup("metadata.taints[3].effect")},
		},
		{name: "node capacity", obj: node(func(n *corev1.Node) {
			n.Status.Capacity = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1.5")}
		}), want: []wantErr{inv("status.capacity.pods")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}

	t.Run("podCIDR is set once", func(t *testing.T) {
		old := node(func(n *corev1.Node) { n.ResourceVersion = "1" })
		set := old.DeepCopy()
		set.Spec.PodCIDRs = []string{"10.244.1.0/24"}
		checkErrs(t, ValidateUpdate(set, old))
		changed := set.DeepCopy()
		changed.Spec.PodCIDRs = []string{"10.244.2.0/24"}
		checkErrs(t, ValidateUpdate(changed, set), forb("spec.podCIDRs"))
		checkErrs(t, ValidateStatusUpdate(changed, set), forb("spec.podCIDRs"))
	})
	t.Run("namespace phase", func(t *testing.T) {
		old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "1"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
		n := old.DeepCopy()
		n.Status.Phase = corev1.NamespaceTerminating
		checkErrs(t, ValidateStatusUpdate(n, old), inv("status.Phase"))
		fin := old.DeepCopy()
		fin.Spec.Finalizers = []corev1.FinalizerName{"x"}
		checkErrs(t, ValidateSubresourceUpdate("finalize", fin, old), inv("spec.finalizers[0]"))
	})
}

func TestEvents(t *testing.T) {
	now := metav1.NewMicroTime(time.Unix(1700000000, 0))
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "legacy event", obj: &corev1.Event{
			ObjectMeta:     objectMeta("web.17a"),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
			Reason:         "Started", Type: corev1.EventTypeNormal,
		}},
		{
			name: "legacy event namespace mismatch",
			obj:  &corev1.Event{ObjectMeta: objectMeta("web.17a"), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "other", Name: "web"}},
			want: []wantErr{inv("involvedObject.namespace").with(`involvedObject.namespace: Invalid value: "other": does not match event.namespace`)},
		},
		{
			name: "new-style core event needs reporting fields",
			obj:  &corev1.Event{ObjectMeta: objectMeta("web.17b"), EventTime: now, InvolvedObject: corev1.ObjectReference{Namespace: "default"}},
			want: []wantErr{req("reportingController"), inv("reportingController"), inv("reportingController"), req("reportingInstance"), req("action"), req("reason")},
		},
		{name: "events.k8s.io event", obj: &eventsv1.Event{
			ObjectMeta: objectMeta("web.17c"), EventTime: now, Regarding: corev1.ObjectReference{Namespace: "default"},
			ReportingController: "kubelet", ReportingInstance: "node-1", Action: "Pulling", Reason: "Pulling", Type: corev1.EventTypeNormal,
		}},
		{
			name: "events.k8s.io event type and deprecated fields",
			obj: &eventsv1.Event{
				ObjectMeta: objectMeta("web.17d"), EventTime: now, Regarding: corev1.ObjectReference{Namespace: "default"},
				ReportingController: "kubelet", ReportingInstance: "node-1", Action: "Pulling", Reason: "Pulling", Type: "Info",
				DeprecatedCount: 3,
			},
			want: []wantErr{inv("type").with(`type: Invalid value: "": has invalid value: Info`), inv("count")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}
}

func TestQuotaLimitsAndVolumes(t *testing.T) {
	storage := func(q string) corev1.VolumeResourceRequirements {
		return corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(q)}}
	}
	pvc := func(mutate func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		p := &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("data"), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   storage("1Gi"),
			VolumeMode:  ptr.To(corev1.PersistentVolumeFilesystem),
		}}
		mutate(p)
		return p
	}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"}, Spec: corev1.PersistentVolumeSpec{
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
		PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/pv-1"}},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
	}}
	emptyPV := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-2"}}
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{name: "pvc", obj: pvc(func(*corev1.PersistentVolumeClaim) {})},
		{
			name: "pvc access modes and storage",
			obj: pvc(func(p *corev1.PersistentVolumeClaim) {
				p.Spec.AccessModes = nil
				p.Spec.Resources = corev1.VolumeResourceRequirements{}
			}),
			want: []wantErr{
				req("spec.accessModes").with("spec.accessModes: Required value: at least 1 access mode is required"),
				req("spec.resources[storage]"),
			},
		},
		{name: "pvc zero storage", obj: pvc(func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources = storage("0") }), want: []wantErr{inv("spec.resources[storage]")}},
		{name: "pvc access mode value", obj: pvc(func(p *corev1.PersistentVolumeClaim) {
			p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadWriteSometimes"}
		}), want: []wantErr{unsup("spec.accessModes")}},
		{name: "pv", obj: pv},
		{name: "pv requirements", obj: emptyPV, want: []wantErr{req("spec.accessModes"), req("spec.capacity"), unsup("spec.capacity"), req("spec")}},
		{
			name: "limit range",
			obj: &corev1.LimitRange{ObjectMeta: objectMeta("limits"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
				Type: corev1.LimitTypeContainer,
				Min:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Max:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}}}},
			want: []wantErr{inv("spec.limits[0].min[cpu]").with("spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1")},
		},
		{
			name: "resource quota names",
			obj: &corev1.ResourceQuota{ObjectMeta: objectMeta("quota"), Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
				corev1.ResourcePods: resource.MustParse("10"), "widgets": resource.MustParse("1"), corev1.ResourceRequestsCPU: resource.MustParse("-1"),
			}}},
			want: []wantErr{inv("spec.hard[widgets]"), inv("spec.hard[widgets]"), inv("spec.hard[requests.cpu]")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}

	t.Run("pvc spec is immutable, expansion allowed when bound", func(t *testing.T) {
		old := pvc(func(p *corev1.PersistentVolumeClaim) { p.ResourceVersion = "1" })
		bind := old.DeepCopy()
		bind.Spec.VolumeName = "pv-1"
		checkErrs(t, ValidateUpdate(bind, old))
		bound := bind.DeepCopy()
		bound.Status.Phase = corev1.ClaimBound
		grow := bound.DeepCopy()
		grow.Spec.Resources = storage("2Gi")
		checkErrs(t, ValidateUpdate(grow, bound))
		modes := bound.DeepCopy()
		modes.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		checkErrs(t, ValidateUpdate(modes, bound), forb("spec"))
	})
	t.Run("quota scopes are immutable", func(t *testing.T) {
		old := &corev1.ResourceQuota{ObjectMeta: objectMeta("q"), Spec: corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}}}
		old.ResourceVersion = "1"
		n := old.DeepCopy()
		n.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort}
		checkErrs(t, ValidateUpdate(n, old), inv("spec.scopes"))
	})
}
