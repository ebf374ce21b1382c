package endpointslice

import (
	"strconv"
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// tracker remembers, per Service, the version of every slice this
// controller wrote and the slices it deleted, so that a sync can tell an
// informer cache that has not caught up with its own writes (it would
// otherwise create a slice twice or undo an update), and so that the
// informer's echo of an own write does not trigger another sync. Upstream
// compares generations; Sampan's EndpointSlices do not count generations,
// so the resourceVersion (the store revision, an integer) is compared.
type tracker struct {
	mu       sync.Mutex
	services map[string]map[types.UID]trackedSlice // service key → slice UID
}

type trackedSlice struct {
	rv      uint64
	deleted bool
}

func newTracker() *tracker {
	return &tracker{services: map[string]map[types.UID]trackedSlice{}}
}

func revision(rv string) uint64 {
	n, _ := strconv.ParseUint(rv, 10, 64)
	return n
}

// serviceKey is the key of the Service a slice belongs to, by its label.
func serviceKey(s *discoveryv1.EndpointSlice) (string, bool) {
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return "", false
	}
	return s.Namespace + "/" + name, true
}

// written records a slice as returned by a create or an update.
func (t *tracker) written(key string, s *discoveryv1.EndpointSlice) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.services[key]
	if m == nil {
		m = map[types.UID]trackedSlice{}
		t.services[key] = m
	}
	m[s.UID] = trackedSlice{rv: revision(s.ResourceVersion)}
}

// deleted records that a slice was deleted.
func (t *tracker) deleted(key string, s *discoveryv1.EndpointSlice) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.services[key]
	if m == nil {
		m = map[types.UID]trackedSlice{}
		t.services[key] = m
	}
	m[s.UID] = trackedSlice{rv: revision(s.ResourceVersion), deleted: true}
}

// changedByOthers reports whether an added or updated slice is not the
// echo of this controller's own write.
func (t *tracker) changedByOthers(s *discoveryv1.EndpointSlice) bool {
	key, ok := serviceKey(s)
	if !ok {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	got, ok := t.services[key][s.UID]
	if !ok {
		return true
	}
	return got.deleted || revision(s.ResourceVersion) > got.rv
}

// removed handles the deletion of a slice and reports whether this
// controller expected it.
func (t *tracker) removed(s *discoveryv1.EndpointSlice) (expected bool) {
	key, ok := serviceKey(s)
	if !ok {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.services[key]
	got, ok := m[s.UID]
	if !ok {
		return false
	}
	delete(m, s.UID)
	return got.deleted
}

// stale reports whether cached, the slices of Service key in the informer
// cache, lacks a write of this controller or still holds a slice it deleted.
func (t *tracker) stale(key string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.services[key]
	if len(m) == 0 {
		return false
	}
	seen := make(map[types.UID]bool, len(cached))
	for _, s := range cached {
		seen[s.UID] = true
		got, ok := m[s.UID]
		if !ok {
			continue
		}
		if got.deleted {
			// Deleted but still there: stale, unless held by finalizers.
			if s.DeletionTimestamp == nil {
				return true
			}
			continue
		}
		if revision(s.ResourceVersion) < got.rv {
			return true
		}
	}
	for uid, got := range m {
		if !got.deleted && !seen[uid] {
			return true
		}
	}
	return false
}

// forget drops what is known of Service key.
func (t *tracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.services, key)
}
