// Package controllerutil holds what every Sampan control loop shares: a work
// queue with an injected clock and its worker loop, an event recorder, the
// create/delete expectations that keep a controller from acting twice on a
// stale cache, pod creation from a template, adoption and release of
// dependents by label selector, and the pod predicates (ready, available,
// active) that upstream controllers agree on.
package controllerutil
