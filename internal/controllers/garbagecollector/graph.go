package garbagecollector

import (
	"fmt"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// objectRef names an object: the coordinates to look it up with and the UID
// that tells one incarnation from another.
type objectRef struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	UID        types.UID
}

func (r objectRef) String() string {
	if r.Namespace == "" {
		return fmt.Sprintf("%s %s %s (uid %s)", r.APIVersion, r.Kind, r.Name, r.UID)
	}
	return fmt.Sprintf("%s %s %s/%s (uid %s)", r.APIVersion, r.Kind, r.Namespace, r.Name, r.UID)
}

// node is one object in the owner graph. A node that is only known because
// some dependent names it as owner is "virtual" (observed == false) until an
// informer reports the object itself.
type node struct {
	ref        objectRef
	observed   bool
	owners     []metav1.OwnerReference
	dependents map[types.UID]*node

	beingDeleted       bool // deletionTimestamp set
	deletingDependents bool // beingDeleted with the foregroundDeletion finalizer
	orphaning          bool // beingDeleted with the orphan finalizer
}

// blocks reports whether n names owner with blockOwnerDeletion: true.
func (n *node) blocks(owner types.UID) bool {
	for _, o := range n.owners {
		if o.UID == owner {
			return o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion
		}
	}
	return false
}

// actions is the work a change to the graph asks the workers to do.
type actions struct {
	attemptToDelete []types.UID // verify or collect these objects
	attemptToOrphan []types.UID // orphan the dependents of these owners
}

func (a *actions) del(uid types.UID)    { a.attemptToDelete = append(a.attemptToDelete, uid) }
func (a *actions) orphan(uid types.UID) { a.attemptToOrphan = append(a.attemptToOrphan, uid) }

// graph holds every object the collector watches, linked from dependents to
// owners by UID. Its methods are pure bookkeeping: they never call the API
// and return the work a change causes, so they can be tested alone.
type graph struct {
	mu    sync.RWMutex
	nodes map[types.UID]*node
}

func newGraph() *graph { return &graph{nodes: map[types.UID]*node{}} }

// observe records the current state of an object an informer reported
// (added or updated).
func (g *graph) observe(ref objectRef, obj metav1.Object) actions {
	g.mu.Lock()
	defer g.mu.Unlock()
	var a actions
	n := g.nodes[ref.UID]
	if n == nil {
		n = &node{dependents: map[types.UID]*node{}}
		g.nodes[ref.UID] = n
	}
	// A virtual node has no owners, so becoming observed links all of them.
	old := n.owners
	wasDeletingDependents, wasOrphaning := n.deletingDependents, n.orphaning
	n.ref, n.observed = ref, true
	n.owners = slices.Clone(obj.GetOwnerReferences())

	added, removed, unblocked := diffOwners(old, n.owners)
	for _, uid := range removed {
		g.unlink(n, uid, &a)
	}
	for _, o := range added {
		g.link(n, o, &a)
	}
	for _, uid := range unblocked {
		if o := g.nodes[uid]; o != nil && o.deletingDependents {
			a.del(uid) // one blocker fewer: the owner may be done
		}
	}

	deleting := obj.GetDeletionTimestamp() != nil
	fins := obj.GetFinalizers()
	n.beingDeleted = deleting
	n.deletingDependents = deleting && slices.Contains(fins, metav1.FinalizerDeleteDependents)
	n.orphaning = deleting && slices.Contains(fins, metav1.FinalizerOrphanDependents)
	if n.orphaning && !wasOrphaning {
		a.orphan(ref.UID)
	}
	if n.deletingDependents && !wasDeletingDependents {
		a.del(ref.UID)
		for uid := range n.dependents {
			a.del(uid)
		}
	}
	return a
}

// remove forgets an object that is gone: an informer reported its deletion,
// or a lookup found it absent (for a virtual node, it never existed).
func (g *graph) remove(uid types.UID) actions {
	g.mu.Lock()
	defer g.mu.Unlock()
	var a actions
	n := g.nodes[uid]
	if n == nil {
		return a
	}
	delete(g.nodes, uid)
	for _, o := range n.owners {
		g.unlink(n, o.UID, &a)
	}
	for dep := range n.dependents {
		a.del(dep) // its owner is gone: collect it unless it has others
	}
	return a
}

// link makes n a dependent of the owner in ref, creating a virtual owner when
// it is unknown.
func (g *graph) link(n *node, ref metav1.OwnerReference, a *actions) {
	o := g.nodes[ref.UID]
	if o == nil {
		o = &node{
			ref:        objectRef{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: n.ref.Namespace, Name: ref.Name, UID: ref.UID},
			dependents: map[types.UID]*node{},
		}
		g.nodes[ref.UID] = o
		a.del(ref.UID) // find out whether it exists at all
	}
	o.dependents[n.ref.UID] = n
	if o.deletingDependents && !n.beingDeleted {
		a.del(n.ref.UID)
	}
}

// unlink removes n from the dependents of owner.
func (g *graph) unlink(n *node, owner types.UID, a *actions) {
	o := g.nodes[owner]
	if o == nil {
		return
	}
	delete(o.dependents, n.ref.UID)
	if o.deletingDependents {
		a.del(owner)
	}
	if !o.observed && len(o.dependents) == 0 {
		delete(g.nodes, owner)
	}
}

// diffOwners compares two owner lists by UID: references added, removed,
// and kept but no longer blocking owner deletion.
func diffOwners(old, cur []metav1.OwnerReference) (added []metav1.OwnerReference, removed, unblocked []types.UID) {
	byUID := make(map[types.UID]metav1.OwnerReference, len(old))
	for _, o := range old {
		byUID[o.UID] = o
	}
	for _, c := range cur {
		o, ok := byUID[c.UID]
		if !ok {
			added = append(added, c)
			continue
		}
		delete(byUID, c.UID)
		if isTrue(o.BlockOwnerDeletion) && !isTrue(c.BlockOwnerDeletion) {
			unblocked = append(unblocked, c.UID)
		}
	}
	for _, o := range old {
		if _, ok := byUID[o.UID]; ok {
			removed = append(removed, o.UID)
		}
	}
	return added, removed, unblocked
}

func isTrue(b *bool) bool { return b != nil && *b }

// dependentView is what a worker needs to know about one dependent.
type dependentView struct {
	ref                objectRef
	blocking           bool // names the owner with blockOwnerDeletion: true
	beingDeleted       bool
	deletingDependents bool
}

// nodeView is a copy of a node, safe to use without the lock.
type nodeView struct {
	ref                objectRef
	observed           bool
	beingDeleted       bool
	deletingDependents bool
	owners             int
	dependents         []dependentView
}

// view returns a copy of the node for uid.
func (g *graph) view(uid types.UID) (nodeView, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := g.nodes[uid]
	if n == nil {
		return nodeView{}, false
	}
	v := nodeView{ref: n.ref, observed: n.observed, beingDeleted: n.beingDeleted, deletingDependents: n.deletingDependents, owners: len(n.owners)}
	for _, d := range n.dependents {
		if d == n {
			continue // an object that owns itself does not wait for itself
		}
		v.dependents = append(v.dependents, dependentView{
			ref: d.ref, blocking: d.blocks(uid), beingDeleted: d.beingDeleted, deletingDependents: d.deletingDependents,
		})
	}
	return v, true
}

// len is the number of nodes, virtual ones included.
func (g *graph) len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.nodes)
}
