package history

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

var stsKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

func owner() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid-1"}}
}

func TestTemplatePatchAndHash(t *testing.T) {
	tmpl := func(image string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
		}
	}
	a, err := TemplatePatch(tmpl("nginx:1"))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := TemplatePatch(tmpl("nginx:1"))
	b, _ := TemplatePatch(tmpl("nginx:2"))
	if !strings.Contains(string(a.Raw), `"$patch":"replace"`) || !strings.HasPrefix(string(a.Raw), `{"spec":{"template":`) {
		t.Errorf("patch = %s", a.Raw)
	}
	ra := New(owner(), stsKind, map[string]string{"app": "web"}, a, 1, nil)
	ra2 := New(owner(), stsKind, map[string]string{"app": "web"}, a2, 2, nil)
	rb := New(owner(), stsKind, nil, b, 3, nil)
	tests := []struct {
		name string
		x, y *appsv1.ControllerRevision
		want bool
	}{
		{"same template", ra, ra2, true},
		{"other image", ra, rb, false},
	}
	for _, tc := range tests {
		if got := Equal(tc.x, tc.y); got != tc.want {
			t.Errorf("%s: Equal = %v", tc.name, got)
		}
		if got := tc.x.Name == tc.y.Name; got != tc.want {
			t.Errorf("%s: names %s, %s", tc.name, tc.x.Name, tc.y.Name)
		}
	}
	if !strings.HasPrefix(ra.Name, "web-") || ra.Labels[HashLabel] != strings.TrimPrefix(ra.Name, "web-") || ra.Labels["app"] != "web" {
		t.Errorf("revision %s labels %v", ra.Name, ra.Labels)
	}
	if !metav1.IsControlledBy(ra, owner()) {
		t.Errorf("revision not controlled by its owner: %+v", ra.OwnerReferences)
	}
	one := int32(1)
	if Hash(ra, &one) == Hash(ra, nil) {
		t.Error("collision count does not change the hash")
	}
	if got := FindEqual([]*appsv1.ControllerRevision{ra, rb, ra2}, ra); len(got) != 2 {
		t.Errorf("FindEqual found %d, want 2", len(got))
	}
	if n := Next([]*appsv1.ControllerRevision{ra, rb, ra2}); n != 4 {
		t.Errorf("Next = %d, want 4", n)
	}
	if got := Name(strings.Repeat("x", 300), "h"); len(got) != 225 {
		t.Errorf("long name has %d characters", len(got))
	}
}

func TestSort(t *testing.T) {
	now := time.Now()
	rev := func(name string, n int64, age time.Duration) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))}, Revision: n}
	}
	revs := []*appsv1.ControllerRevision{rev("c", 3, 0), rev("b2", 2, time.Second), rev("b1", 2, time.Second), rev("a", 2, time.Hour), rev("z", 1, 0)}
	Sort(revs)
	var names []string
	for _, r := range revs {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "z,a,b1,b2,c" {
		t.Errorf("order = %s", got)
	}
}

func TestCreateCollision(t *testing.T) {
	ctx := context.Background()
	client := fake.NewSimpleClientset()
	s := &Store{Client: client}
	data := runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"$patch":"replace"}}}`)}
	want := New(owner(), stsKind, nil, data, 1, nil)

	// Someone else's revision holds the name the hash gives.
	squatter := want.DeepCopy()
	squatter.Data = runtime.RawExtension{Raw: []byte(`{"other":true}`)}
	if _, err := client.AppsV1().ControllerRevisions("ns").Create(ctx, squatter, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var count int32
	got, err := s.Create(ctx, owner(), want, &count)
	if err != nil {
		t.Fatal(err)
	}
	if count != 1 || got.Name == want.Name || got.Labels[HashLabel] != strings.TrimPrefix(got.Name, "web-") {
		t.Errorf("after collision: count %d, name %s (first try %s), labels %v", count, got.Name, want.Name, got.Labels)
	}
	// Creating the same data again returns the existing revision.
	again, err := s.Create(ctx, owner(), want, &count)
	if err != nil || again.Name != got.Name || count != 1 {
		t.Errorf("second create: %v, %s, count %d", err, again.Name, count)
	}
	upd, err := s.UpdateRevision(ctx, got, 5)
	if err != nil || upd.Revision != 5 {
		t.Errorf("UpdateRevision: %v, %d", err, upd.Revision)
	}
	if err := s.Delete(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, upd); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
}
