package controllerutil

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func TestControllerIndex(t *testing.T) {
	inf := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0).Core().V1().Pods().Informer()
	for range 2 { // idempotent
		if err := AddControllerIndex(inf); err != nil {
			t.Fatalf("AddControllerIndex: %v", err)
		}
	}
	owned := func(name, ns string, uid types.UID) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		if uid != "" {
			p.OwnerReferences = []metav1.OwnerReference{{UID: uid, Controller: new(true), Name: "o", Kind: "X", APIVersion: "v1"}}
		}
		return p
	}
	for _, p := range []*corev1.Pod{
		owned("a", "ns1", "u1"), owned("b", "ns1", "u2"), owned("c", "ns1", ""), owned("d", "ns2", ""), owned("e", "ns2", "u1"),
	} {
		if err := inf.GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		uid  types.UID
		ns   string
		want map[string]bool
	}{
		{"u1", "ns1", map[string]bool{"a": true, "c": true, "e": true}},
		{"u2", "ns1", map[string]bool{"b": true, "c": true}},
		{"u3", "ns2", map[string]bool{"d": true}},
	}
	for _, tc := range tests {
		got, err := ControlledOrOrphans[*corev1.Pod](inf.GetIndexer(), tc.uid, tc.ns)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, p := range got {
			names[p.Name] = true
		}
		if len(names) != len(tc.want) {
			t.Errorf("%s/%s: got %v, want %v", tc.uid, tc.ns, names, tc.want)
		}
		for n := range tc.want {
			if !names[n] {
				t.Errorf("%s/%s: got %v, want %v", tc.uid, tc.ns, names, tc.want)
			}
		}
	}
}
