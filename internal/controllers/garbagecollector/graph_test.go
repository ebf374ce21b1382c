package garbagecollector

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// These tests drive the graph alone: no API, no informers. They check the
// bookkeeping and the work each change asks for; whether that work does the
// right thing against a server is for the integration tests.

func ref(uid string) objectRef {
	return objectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "cm-" + uid, UID: types.UID(uid)}
}

func ownerRef(uid string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "cm-" + uid, UID: types.UID(uid), BlockOwnerDeletion: ptr.To(block)}
}

type objOpt func(*metav1.ObjectMeta)

func owners(refs ...metav1.OwnerReference) objOpt {
	return func(m *metav1.ObjectMeta) { m.OwnerReferences = refs }
}

func deleting(finalizers ...string) objOpt {
	return func(m *metav1.ObjectMeta) {
		now := metav1.Now()
		m.DeletionTimestamp = &now
		m.Finalizers = finalizers
	}
}

func obj(uid string, opts ...objOpt) (objectRef, metav1.Object) {
	r := ref(uid)
	m := &metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name, UID: r.UID}
	for _, o := range opts {
		o(m)
	}
	return r, m
}

func sorted(uids []types.UID) []string {
	out := make([]string, 0, len(uids))
	for _, u := range uids {
		out = append(out, string(u))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestGraphVirtualOwner(t *testing.T) {
	g := newGraph()
	a := g.observe(obj("dep", owners(ownerRef("owner", false))))
	if got := sorted(a.attemptToDelete); !slices.Equal(got, []string{"owner"}) {
		t.Fatalf("an unknown owner must be verified: attemptToDelete = %v", got)
	}
	v, ok := g.view("owner")
	if !ok || v.observed || v.ref.Name != "cm-owner" || v.ref.Namespace != "ns" || len(v.dependents) != 1 {
		t.Fatalf("virtual owner = %+v, %v", v, ok)
	}
	// The owner turns out not to exist: the dependent is next.
	a = g.remove("owner")
	if got := sorted(a.attemptToDelete); !slices.Equal(got, []string{"dep"}) {
		t.Fatalf("after the owner is found absent: attemptToDelete = %v", got)
	}
	if _, ok := g.view("owner"); ok {
		t.Fatal("absent owner still in the graph")
	}
}

func TestGraphVirtualOwnerObserved(t *testing.T) {
	g := newGraph()
	g.observe(obj("dep", owners(ownerRef("owner", true))))
	a := g.observe(obj("owner"))
	if len(a.attemptToDelete)+len(a.attemptToOrphan) != 0 {
		t.Fatalf("observing an owner that was virtual asks for %+v", a)
	}
	v, _ := g.view("owner")
	if !v.observed || len(v.dependents) != 1 || !v.dependents[0].blocking {
		t.Fatalf("owner = %+v", v)
	}
}

func TestGraphDroppedReferenceForgetsVirtualOwner(t *testing.T) {
	g := newGraph()
	g.observe(obj("dep", owners(ownerRef("ghost", false))))
	g.observe(obj("dep"))
	if _, ok := g.view("ghost"); ok {
		t.Fatal("a virtual owner nobody names any more is kept")
	}
	if g.len() != 1 {
		t.Fatalf("graph has %d nodes, want 1", g.len())
	}
}

func TestGraphForeground(t *testing.T) {
	g := newGraph()
	g.observe(obj("owner"))
	g.observe(obj("a", owners(ownerRef("owner", true))))
	g.observe(obj("b", owners(ownerRef("owner", false))))

	a := g.observe(obj("owner", deleting(metav1.FinalizerDeleteDependents)))
	if got := sorted(a.attemptToDelete); !slices.Equal(got, []string{"a", "b", "owner"}) {
		t.Fatalf("foreground deletion starts: attemptToDelete = %v", got)
	}
	// The same state again is no new transition.
	if a := g.observe(obj("owner", deleting(metav1.FinalizerDeleteDependents))); len(a.attemptToDelete) != 0 {
		t.Fatalf("repeated update asks for %v", a.attemptToDelete)
	}
	v, _ := g.view("owner")
	var blocking []string
	for _, d := range v.dependents {
		if d.blocking {
			blocking = append(blocking, string(d.ref.UID))
		}
	}
	if !slices.Equal(blocking, []string{"a"}) {
		t.Fatalf("blocking dependents = %v, want [a]", blocking)
	}
	// A new dependent of an owner deleting in the foreground is collected too.
	if a := g.observe(obj("c", owners(ownerRef("owner", true)))); !slices.Contains(a.attemptToDelete, "c") {
		t.Fatalf("new dependent: attemptToDelete = %v", a.attemptToDelete)
	}
	// A blocker that goes away, or stops blocking, requeues the owner.
	if a := g.remove("a"); !slices.Contains(a.attemptToDelete, "owner") {
		t.Fatalf("blocker deleted: attemptToDelete = %v", a.attemptToDelete)
	}
	if a := g.observe(obj("c", owners(ownerRef("owner", false)))); !slices.Contains(a.attemptToDelete, "owner") {
		t.Fatalf("blocker unblocked: attemptToDelete = %v", a.attemptToDelete)
	}
}

func TestGraphOrphan(t *testing.T) {
	g := newGraph()
	g.observe(obj("owner"))
	g.observe(obj("dep", owners(ownerRef("owner", true))))
	a := g.observe(obj("owner", deleting(metav1.FinalizerOrphanDependents)))
	if !slices.Equal(a.attemptToOrphan, []types.UID{"owner"}) || len(a.attemptToDelete) != 0 {
		t.Fatalf("orphan deletion starts: %+v", a)
	}
	if a := g.observe(obj("owner", deleting(metav1.FinalizerOrphanDependents))); len(a.attemptToOrphan) != 0 {
		t.Fatalf("repeated update asks for %+v", a)
	}
}

func TestGraphOwnerDeleted(t *testing.T) {
	g := newGraph()
	g.observe(obj("owner"))
	g.observe(obj("a", owners(ownerRef("owner", true))))
	g.observe(obj("b", owners(ownerRef("owner", false), ownerRef("other", false))))
	a := g.remove("owner")
	if got := sorted(a.attemptToDelete); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("owner deleted: attemptToDelete = %v", got)
	}
	// Removing twice, or removing what was never there, is harmless.
	if a := g.remove("owner"); len(a.attemptToDelete) != 0 {
		t.Fatalf("second removal asks for %v", a.attemptToDelete)
	}
}

func TestGraphSelfOwned(t *testing.T) {
	g := newGraph()
	g.observe(obj("x", owners(ownerRef("x", true))))
	g.observe(obj("x", owners(ownerRef("x", true)), deleting(metav1.FinalizerDeleteDependents)))
	v, _ := g.view("x")
	if len(v.dependents) != 0 {
		t.Fatalf("an object that owns itself waits for itself: %+v", v.dependents)
	}
}

func TestDiffOwners(t *testing.T) {
	old := []metav1.OwnerReference{ownerRef("a", true), ownerRef("b", false), ownerRef("c", true)}
	cur := []metav1.OwnerReference{ownerRef("a", false), ownerRef("c", true), ownerRef("d", false)}
	added, removed, unblocked := diffOwners(old, cur)
	if len(added) != 1 || added[0].UID != "d" {
		t.Errorf("added = %v", added)
	}
	if !slices.Equal(removed, []types.UID{"b"}) {
		t.Errorf("removed = %v", removed)
	}
	if !slices.Equal(unblocked, []types.UID{"a"}) {
		t.Errorf("unblocked = %v", unblocked)
	}
}
