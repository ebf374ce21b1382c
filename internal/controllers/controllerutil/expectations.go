package controllerutil

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ExpectationsTTL is how long expectations are trusted: after it the
// controller syncs anyway, in case a watch event was lost.
const ExpectationsTTL = 5 * time.Minute

// Expectations remember, per controller key, how many creates and deletes
// the controller has issued but not yet seen in its informer. While some
// are outstanding the cache is known to be stale, and the controller must
// not compute a new diff from it (it would create or delete twice).
type Expectations struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	m     map[string]*expectation
}

type expectation struct {
	adds, dels int
	set        time.Time
	// deleting holds the pod keys whose deletion is expected, so a delete
	// event seen twice (update with deletionTimestamp, then delete) counts once.
	deleting map[string]bool
}

// NewExpectations returns empty expectations timed by clk.
func NewExpectations(clk clock.PassiveClock) *Expectations {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Expectations{clock: clk, m: map[string]*expectation{}}
}

// Satisfied reports whether the controller may sync key: nothing is
// outstanding, nothing was ever recorded, or the record has expired.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && x.dels <= 0 {
		return true
	}
	return e.clock.Since(x.set) > ExpectationsTTL
}

// ExpectCreations records that n creates were issued for key.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{adds: n, set: e.clock.Now(), deleting: map[string]bool{}}
}

// ExpectDeletions records that the objects named by podKeys are being deleted for key.
func (e *Expectations) ExpectDeletions(key string, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{dels: len(podKeys), set: e.clock.Now(), deleting: map[string]bool{}}
	for _, k := range podKeys {
		x.deleting[k] = true
	}
	e.m[key] = x
}

// CreationObserved lowers key's outstanding creates by one (also used when
// a create failed, so the controller does not wait for it).
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.adds--
	}
}

// DeletionObserved lowers key's outstanding deletes by one, once per podKey.
func (e *Expectations) DeletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok && x.deleting[podKey] {
		delete(x.deleting, podKey)
		x.dels--
	}
}

// Forget drops key's record (its owner was deleted).
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
