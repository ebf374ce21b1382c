package namespace

import (
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// Unit tests for what the integration tests cannot reach: every resource
// Sampan serves supports deletecollection, so the list-and-delete fallback
// runs here against client-go's fake metadata client. The fake only stores
// objects: it has no finalizers, grace periods or propagation, and a delete
// removes an object at once.

var widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

func widget(ns, name string, finalizers ...string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "example.com/v1", Kind: "Widget"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: finalizers},
	}
}

func fakeMetadata(t *testing.T, objs ...runtime.Object) *fake.FakeMetadataClient {
	t.Helper()
	scheme := fake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewSimpleMetadataClient(scheme, objs...)
}

func TestDeleteContentFallsBackToListAndDelete(t *testing.T) {
	for _, tc := range []struct {
		name             string
		deleteCollection bool // advertised in discovery
		refuse           bool // but answered with 405
	}{
		{name: "not advertised"},
		{name: "advertised but refused", deleteCollection: true, refuse: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := fakeMetadata(t, widget("ns", "a"), widget("ns", "b"), widget("other", "c"))
			if tc.refuse {
				md.PrependReactor("delete-collection", "widgets", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewMethodNotSupported(widgets.GroupResource(), "deletecollection")
				})
			}
			c := &Controller{cfg: Config{Metadata: md, Clock: clocktesting.NewFakeClock(time.Now())}}
			got := c.deleteContent(t.Context(), "ns", []apiResource{{gvr: widgets, deleteCollection: tc.deleteCollection}})
			if len(got.failures) > 0 || len(got.remaining) > 0 {
				t.Fatalf("content = %+v, want nothing left", got)
			}
			var deleted []string
			for _, a := range md.Actions() {
				if d, ok := a.(clienttesting.DeleteAction); ok && a.GetVerb() == "delete" {
					deleted = append(deleted, d.GetNamespace()+"/"+d.GetName())
				}
			}
			slices.Sort(deleted)
			if !slices.Equal(deleted, []string{"ns/a", "ns/b"}) {
				t.Fatalf("deleted %v, want ns/a and ns/b only", deleted)
			}
		})
	}
}

func TestDeleteContentCountsWhatRemains(t *testing.T) {
	md := fakeMetadata(t, widget("ns", "a", "example.com/hold"), widget("ns", "b", "example.com/hold", "example.com/other"))
	// The fake deletes at once; make it keep objects as a finalizer would.
	md.PrependReactor("delete", "widgets", func(clienttesting.Action) (bool, runtime.Object, error) { return true, nil, nil })
	c := &Controller{cfg: Config{Metadata: md, Clock: clocktesting.NewFakeClock(time.Now())}}
	got := c.deleteContent(t.Context(), "ns", []apiResource{{gvr: widgets}})
	if got.remaining["widgets.example.com"] != 2 || got.finalizers["example.com/hold"] != 2 || got.finalizers["example.com/other"] != 1 {
		t.Fatalf("content = %+v", got)
	}
	conds := conditions(nil, nil, got)
	want := map[corev1.NamespaceConditionType]string{
		corev1.NamespaceContentRemaining:    "Some resources are remaining: widgets.example.com has 2 resource instances",
		corev1.NamespaceFinalizersRemaining: "Some content in the namespace has finalizers remaining: example.com/hold in 2 resource instances, example.com/other in 1 resource instances",
	}
	for _, cond := range conds {
		if msg, ok := want[cond.Type]; ok && (cond.Status != corev1.ConditionTrue || cond.Message != msg) {
			t.Errorf("%s = %s %q, want True %q", cond.Type, cond.Status, cond.Message, msg)
		}
	}
}

func TestConditions(t *testing.T) {
	all := conditions(errors.New("discovery broke"), nil, content{failures: []error{errors.New("deleting pods in ns: boom")}})
	got := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{}
	for _, c := range all {
		got[c.Type] = c
	}
	if len(got) != 5 {
		t.Fatalf("%d conditions, want the five upstream sets", len(got))
	}
	check := func(typ corev1.NamespaceConditionType, status corev1.ConditionStatus, reason string) {
		t.Helper()
		if c := got[typ]; c.Status != status || c.Reason != reason {
			t.Errorf("%s = %s/%s, want %s/%s", typ, c.Status, c.Reason, status, reason)
		}
	}
	check(corev1.NamespaceDeletionDiscoveryFailure, corev1.ConditionTrue, "DiscoveryFailed")
	check(corev1.NamespaceDeletionGVParsingFailure, corev1.ConditionFalse, "ParsedGroupVersions")
	check(corev1.NamespaceDeletionContentFailure, corev1.ConditionTrue, "ContentDeletionFailed")
	check(corev1.NamespaceContentRemaining, corev1.ConditionFalse, "ContentRemoved")
	check(corev1.NamespaceFinalizersRemaining, corev1.ConditionFalse, "ContentHasNoFinalizers")
}

func TestRecheckDelay(t *testing.T) {
	c := &Controller{cfg: Config{RecheckInterval: time.Second}, rechecks: map[string]int{}}
	var got []time.Duration
	for range 5 {
		got = append(got, c.recheckDelay("ns", 0))
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	if d := c.recheckDelay("other", 30*time.Second); d != 15*time.Second {
		t.Errorf("with pods terminating for 30s: delay %v, want half of it", d)
	}
}
