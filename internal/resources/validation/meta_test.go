package validation

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func TestMetadataCreate(t *testing.T) {
	withMeta := func(mutate func(*metav1.ObjectMeta)) *appsv1.Deployment {
		d := nginxDeployment()
		mutate(&d.ObjectMeta)
		return d
	}
	tests := []struct {
		name string
		obj  runtime.Object
		want []wantErr
	}{
		{
			name: "capitalised name",
			obj:  withMeta(func(m *metav1.ObjectMeta) { m.Name = "Nginx" }),
			want: []wantErr{inv("metadata.name").with(`metadata.name: Invalid value: "Nginx": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`)},
		},
		{
			name: "missing name",
			obj:  withMeta(func(m *metav1.ObjectMeta) { m.Name = "" }),
			want: []wantErr{req("metadata.name").with("metadata.name: Required value: name or generateName is required")},
		},
		{
			name: "bad generateName",
			obj:  withMeta(func(m *metav1.ObjectMeta) { m.GenerateName = "Web-" }),
			want: []wantErr{inv("metadata.generateName")},
		},
		{
			name: "namespace required for namespaced kinds",
			obj:  withMeta(func(m *metav1.ObjectMeta) { m.Namespace = "" }),
			want: []wantErr{req("metadata.namespace")},
		},
		{
			name: "bad label key and value",
			obj:  withMeta(func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"-bad": "ok", "good": "not ok!"} }),
			want: []wantErr{inv("metadata.labels"), inv("metadata.labels")},
		},
		{
			name: "annotations too large",
			obj: withMeta(func(m *metav1.ObjectMeta) {
				m.Annotations = map[string]string{"big": strings.Repeat("x", 256*1024+1)}
			}),
			want: []wantErr{tooLong("metadata.annotations")},
		},
		{
			name: "unqualified non-standard finalizer",
			obj:  withMeta(func(m *metav1.ObjectMeta) { m.Finalizers = []string{"mine"} }),
			want: []wantErr{inv("metadata.finalizers[0]").with(`metadata.finalizers[0]: Invalid value: "mine": name is neither a standard finalizer name nor is it fully qualified`)},
		},
		{
			name: "qualified and standard finalizers",
			obj:  withMeta(func(m *metav1.ObjectMeta) { m.Finalizers = []string{"example.com/cleanup", "foregroundDeletion"} }),
		},
		{
			name: "namespace forbidden for cluster-scoped kinds",
			obj:  &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Namespace: "default"}},
			want: []wantErr{forb("metadata.namespace")},
		},
		{
			name: "namespace name is a DNS label",
			obj:  &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team.a"}},
			want: []wantErr{inv("metadata.name")},
		},
		{
			name: "service name is a DNS label",
			obj: func() runtime.Object {
				s := nginxService()
				s.Name = "nginx.svc"
				return s
			}(),
			want: []wantErr{inv("metadata.name")},
		},
		{
			name: "service name may start with a digit",
			obj: func() runtime.Object {
				s := nginxService()
				s.Name = "1st-svc"
				return s
			}(),
		},
		{
			name: "statefulset name is a DNS label",
			obj: func() runtime.Object {
				s := validStatefulSet()
				s.Name = "db.main"
				return s
			}(),
			want: []wantErr{inv("metadata.name")},
		},
		{
			name: "rbac names are path segments",
			obj:  &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "system:Controller:X"}},
		},
		{
			name: "rbac names may not contain a slash",
			obj:  &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "a/b"}},
			want: []wantErr{inv("metadata.name").with(`metadata.name: Invalid value: "a/b": may not contain '/'`)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.want...)
		})
	}
}

func TestMetadataUpdate(t *testing.T) {
	old := nginxDeployment()
	old.UID = types.UID("u-1")
	old.ResourceVersion = "3"
	old.CreationTimestamp = metav1.Unix(1000, 0)
	change := func(mutate func(*metav1.ObjectMeta)) *appsv1.Deployment {
		d := old.DeepCopy()
		mutate(&d.ObjectMeta)
		return d
	}
	deleting := old.DeepCopy()
	now := metav1.Unix(2000, 0)
	deleting.DeletionTimestamp = &now
	tests := []struct {
		name     string
		obj, old runtime.Object
		want     []wantErr
	}{
		{name: "labels may change", obj: change(func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"app": "web"} }), old: old},
		{
			name: "name is immutable",
			obj:  change(func(m *metav1.ObjectMeta) { m.Name = "other" }),
			old:  old,
			want: []wantErr{inv("metadata.name").with(`metadata.name: Invalid value: "other": field is immutable`)},
		},
		{name: "namespace is immutable", obj: change(func(m *metav1.ObjectMeta) { m.Namespace = "kube-system" }), old: old, want: []wantErr{inv("metadata.namespace")}},
		{name: "uid is immutable", obj: change(func(m *metav1.ObjectMeta) { m.UID = "u-2" }), old: old, want: []wantErr{inv("metadata.uid")}},
		{name: "creationTimestamp is immutable", obj: change(func(m *metav1.ObjectMeta) { m.CreationTimestamp = metav1.Unix(5, 0) }), old: old, want: []wantErr{inv("metadata.creationTimestamp")}},
		{name: "resourceVersion is the server's business", obj: change(func(m *metav1.ObjectMeta) { m.ResourceVersion = "" }), old: old},
		{
			name: "labels are checked on update, once",
			obj:  change(func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"app": "a b"} }),
			old:  old,
			want: []wantErr{inv("metadata.labels")},
		},
		{
			name: "labels are checked on kinds without create rules on update",
			obj: func() runtime.Object {
				n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "2", Labels: map[string]string{"-x": "y"}}}
				return n
			}(),
			old:  &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "2"}},
			want: []wantErr{inv("metadata.labels")},
		},
		{
			name: "no new finalizers while deleting",
			obj: func() runtime.Object {
				d := deleting.DeepCopy()
				d.Finalizers = []string{"example.com/x"}
				return d
			}(),
			old:  deleting,
			want: []wantErr{forb("metadata.finalizers")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateUpdate(tc.obj, tc.old), tc.want...)
		})
	}
}
