package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sampan-dev/sampan/internal/resources"
	"github.com/sampan-dev/sampan/internal/storage"
)

// entry is one object as the cache keeps it. Entries are immutable once built:
// readers may hold them without locks.
type entry struct {
	key       string
	namespace string
	name      string
	rev       int64
	obj       runtime.Object // decoded, storage version, resourceVersion set: never mutate
	raw       []byte         // JSON of obj (storage version) with resourceVersion set
	labels    labels.Set
	fields    fields.Set

	// The protobuf message of obj, computed on first use (protobuf.go).
	protoOnce sync.Once
	proto     []byte
	protoErr  error
}

// cacheEvent is one change of one resource kept for watchers.
type cacheEvent struct {
	typ  string // ADDED, MODIFIED, DELETED
	rev  int64
	cur  *entry // for DELETED: the last state, with rev = the delete revision
	prev *entry // nil for ADDED
}

// resourceCache holds the objects and recent events of one storage prefix.
type resourceCache struct {
	res      *resources.Resource // the storage-defining resource
	objects  map[string]*entry
	ring     []*cacheEvent // recent events, oldest first (bounded)
	watchers map[*cacheWatcher]struct{}
}

const (
	eventRingSize     = 4096 // per resource; a watch from an older revision gets 410 and re-lists
	watcherBufferSize = 1000
)

// watchCache keeps every object and a window of recent events in memory so
// that GET, LIST and WATCH are served without touching the store. It follows
// one store watch over the whole keyspace.
type watchCache struct {
	store  storage.Store
	reg    *resources.Registry
	codec  *codec
	logger *slog.Logger

	mu        sync.RWMutex
	cond      *sync.Cond // signalled when rev advances
	rev       int64      // last revision applied
	byPrefix  map[string]*resourceCache
	ready     bool
	oldestRev map[string]int64 // per prefix: events with rev > oldestRev are in the ring
}

func newWatchCache(store storage.Store, reg *resources.Registry, c *codec, logger *slog.Logger) *watchCache {
	wc := &watchCache{
		store:     store,
		reg:       reg,
		codec:     c,
		logger:    logger,
		byPrefix:  map[string]*resourceCache{},
		oldestRev: map[string]int64{},
	}
	wc.cond = sync.NewCond(wc.mu.RLocker())
	for _, r := range reg.All() {
		if r.Virtual || r.StorageGVK != r.GVK() {
			continue
		}
		wc.byPrefix[r.KeyPrefix()] = &resourceCache{res: r, objects: map[string]*entry{}, watchers: map[*cacheWatcher]struct{}{}}
	}
	return wc
}

// run loads the state and follows the store until ctx ends. It re-lists when
// the store watch breaks.
func (wc *watchCache) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := wc.sync(ctx); err != nil && ctx.Err() == nil {
			wc.logger.Warn("watch cache resyncing", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	wc.mu.Lock()
	for _, rc := range wc.byPrefix {
		for w := range rc.watchers {
			w.stopLocked()
		}
	}
	wc.mu.Unlock()
}

func (wc *watchCache) sync(ctx context.Context) error {
	wc.mu.RLock()
	from := wc.rev
	ready := wc.ready
	wc.mu.RUnlock()
	if !ready {
		list, err := wc.store.List(ctx, "/")
		if err != nil {
			return fmt.Errorf("listing store: %w", err)
		}
		wc.mu.Lock()
		for _, kv := range list.KVs {
			rc := wc.cacheFor(kv.Key)
			if rc == nil {
				continue
			}
			e, err := wc.newEntry(rc, kv)
			if err != nil {
				wc.logger.Error("decoding stored object", "key", kv.Key, "err", err)
				continue
			}
			rc.objects[kv.Key] = e
		}
		wc.rev = list.Revision
		for p := range wc.byPrefix {
			wc.oldestRev[p] = list.Revision
		}
		wc.ready = true
		wc.mu.Unlock()
		wc.cond.Broadcast()
		from = list.Revision
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := wc.store.Watch(wctx, "/", from)
	if err != nil {
		if errors.Is(err, storage.ErrCompacted) {
			wc.resetLocked()
		}
		return fmt.Errorf("watching store: %w", err)
	}
	for ev := range ch {
		wc.apply(ev)
	}
	return errors.New("store watch closed")
}

// resetLocked drops the state so the next sync re-lists; watchers are closed
// (clients re-list and re-watch, as with a 410 from upstream).
func (wc *watchCache) resetLocked() {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.ready = false
	for _, rc := range wc.byPrefix {
		for w := range rc.watchers {
			w.stopLocked()
		}
		rc.watchers = map[*cacheWatcher]struct{}{}
		rc.objects = map[string]*entry{}
		rc.ring = nil
	}
}

func (wc *watchCache) cacheFor(key string) *resourceCache {
	// key: /<group>/<resource>/...
	i := strings.IndexByte(key[1:], '/')
	if i < 0 {
		return nil
	}
	j := strings.IndexByte(key[i+2:], '/')
	if j < 0 {
		return nil
	}
	return wc.byPrefix[key[:i+2+j+1]]
}

func (wc *watchCache) newEntry(rc *resourceCache, kv storage.KV) (*entry, error) {
	obj, err := wc.codec.decodeStored(rc.res, kv.Value)
	if err != nil {
		return nil, err
	}
	return buildEntry(rc.res, kv.Key, obj, kv.Value, kv.ModRevision)
}

func buildEntry(res *resources.Resource, key string, obj runtime.Object, stored []byte, rev int64) (*entry, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	rv := strconv.FormatInt(rev, 10)
	acc.SetResourceVersion(rv)
	return &entry{
		key:       key,
		namespace: acc.GetNamespace(),
		name:      acc.GetName(),
		rev:       rev,
		obj:       obj,
		raw:       injectResourceVersion(stored, rv),
		labels:    labels.Set(acc.GetLabels()),
		fields:    resources.SelectableFields(obj),
	}, nil
}

// injectResourceVersion adds metadata.resourceVersion to JSON that the codec
// wrote without one. The codec writes apiVersion and kind before metadata, and
// their values cannot hold an unescaped quote, so the first `"metadata":{` is
// the object's own metadata.
func injectResourceVersion(stored []byte, rv string) []byte {
	const m = `"metadata":{`
	i := bytes.Index(stored, []byte(m))
	if i < 0 {
		return stored
	}
	i += len(m)
	field := `"resourceVersion":"` + rv + `"`
	out := make([]byte, 0, len(stored)+len(field)+1)
	out = append(out, stored[:i]...)
	out = append(out, field...)
	if stored[i] != '}' {
		out = append(out, ',')
	}
	out = append(out, stored[i:]...)
	return out
}

func (wc *watchCache) apply(ev storage.Event) {
	rc := wc.cacheFor(ev.KV.Key)
	// Decode outside the lock: readers are not held up by it. For a delete the
	// store hands the last value with the delete revision, which is exactly
	// what the DELETED event carries (as upstream).
	var e *entry
	if rc != nil {
		var err error
		if e, err = wc.newEntry(rc, ev.KV); err != nil {
			wc.logger.Error("decoding stored object", "key", ev.KV.Key, "err", err)
		}
	}
	wc.mu.Lock()
	if rc != nil && e != nil {
		prev := rc.objects[ev.KV.Key]
		var ce *cacheEvent
		if ev.Type == storage.EventPut {
			rc.objects[ev.KV.Key] = e
			typ := "MODIFIED"
			if prev == nil {
				typ = "ADDED"
			}
			ce = &cacheEvent{typ: typ, rev: e.rev, cur: e, prev: prev}
		} else {
			delete(rc.objects, ev.KV.Key)
			if prev == nil {
				prev = e
			}
			ce = &cacheEvent{typ: "DELETED", rev: e.rev, cur: e, prev: prev}
		}
		rc.ring = append(rc.ring, ce)
		if len(rc.ring) > 2*eventRingSize {
			// Trim in chunks, so keeping the ring costs O(1) per event.
			drop := len(rc.ring) - eventRingSize
			wc.oldestRev[rc.res.KeyPrefix()] = rc.ring[drop-1].rev
			rc.ring = append(rc.ring[:0:0], rc.ring[drop:]...)
		}
		for w := range rc.watchers {
			if !w.send(ce) {
				w.stopLocked()
				delete(rc.watchers, w)
			}
		}
	}
	wc.rev = ev.Revision()
	wc.mu.Unlock()
	wc.cond.Broadcast()
}

// waitFor blocks until the cache has applied revision rev (or ctx ends).
func (wc *watchCache) waitFor(ctx context.Context, rev int64) error {
	wc.mu.RLock()
	if wc.ready && wc.rev >= rev {
		wc.mu.RUnlock()
		return nil
	}
	wc.mu.RUnlock()
	// sync.Cond has no context; wake the waiter when ctx ends.
	stop := context.AfterFunc(ctx, func() {
		wc.mu.Lock()
		wc.mu.Unlock() //nolint:staticcheck // lock/unlock orders the broadcast after the waiter's check
		wc.cond.Broadcast()
	})
	defer stop()
	wc.mu.RLock()
	defer wc.mu.RUnlock()
	for !(wc.ready && wc.rev >= rev) {
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for revision %d: %w", rev, ctx.Err())
		}
		wc.cond.Wait()
	}
	return nil
}

// waitFresh waits until the cache holds every write acknowledged so far:
// a consistent read, as upstream's consistent reads from cache.
func (wc *watchCache) waitFresh(ctx context.Context) (int64, error) {
	rev, err := wc.store.CurrentRevision(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return rev, wc.waitFor(ctx, rev)
}

// get returns the entry of key (nil when absent).
func (wc *watchCache) get(res *resources.Resource, key string) *entry {
	wc.mu.RLock()
	defer wc.mu.RUnlock()
	rc := wc.byPrefix[res.KeyPrefix()]
	if rc == nil {
		return nil
	}
	return rc.objects[key]
}

// list returns the entries under prefix, sorted by key, and the cache revision.
func (wc *watchCache) list(res *resources.Resource, prefix string, match func(*entry) bool) ([]*entry, int64) {
	wc.mu.RLock()
	rc := wc.byPrefix[res.KeyPrefix()]
	rev := wc.rev
	if rc == nil {
		wc.mu.RUnlock()
		return nil, rev
	}
	out := make([]*entry, 0, len(rc.objects))
	for k, e := range rc.objects {
		if strings.HasPrefix(k, prefix) && (match == nil || match(e)) {
			out = append(out, e)
		}
	}
	wc.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, rev
}

// revision returns the last applied revision.
func (wc *watchCache) revision() int64 {
	wc.mu.RLock()
	defer wc.mu.RUnlock()
	return wc.rev
}

// errTooOld means the requested revision is older than the events kept.
var errTooOld = errors.New("too old resource version")

// watch registers a watcher of res's objects under prefix. With fromRev > 0
// it first replays kept events after fromRev; with initial it first emits the
// current state as ADDED events (then, with bookmarkInitial, a bookmark
// marking their end).
func (wc *watchCache) watch(res *resources.Resource, prefix string, fromRev int64, initial bool, filter func(*entry) bool) (*cacheWatcher, error) {
	w := &cacheWatcher{
		ch:     make(chan *cacheEvent, watcherBufferSize),
		done:   make(chan struct{}),
		prefix: prefix,
		filter: filter,
	}
	wc.mu.Lock()
	defer wc.mu.Unlock()
	rc := wc.byPrefix[res.KeyPrefix()]
	if rc == nil {
		return nil, fmt.Errorf("no cache for %s", res.GVR)
	}
	var backlog []*cacheEvent
	if initial {
		keys := make([]string, 0, len(rc.objects))
		for k := range rc.objects {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			e := rc.objects[k]
			backlog = append(backlog, &cacheEvent{typ: "ADDED", rev: e.rev, cur: e})
		}
		w.initialRev = wc.rev
	} else if fromRev > 0 {
		if fromRev < wc.oldestRev[res.KeyPrefix()] {
			return nil, errTooOld
		}
		if fromRev > wc.rev {
			// A revision from the future (the cache lags the write): wait on it is the caller's job.
			return nil, fmt.Errorf("revision %d is newer than the cache (%d)", fromRev, wc.rev)
		}
		i := sort.Search(len(rc.ring), func(i int) bool { return rc.ring[i].rev > fromRev })
		backlog = append(backlog, rc.ring[i:]...)
	}
	w.backlog = backlog
	rc.watchers[w] = struct{}{}
	w.unregister = func() {
		wc.mu.Lock()
		delete(rc.watchers, w)
		w.stopLocked()
		wc.mu.Unlock()
	}
	return w, nil
}

// cacheWatcher is one API watch's subscription to the cache.
type cacheWatcher struct {
	ch         chan *cacheEvent
	done       chan struct{}
	stopped    bool
	prefix     string
	filter     func(*entry) bool
	backlog    []*cacheEvent // delivered before anything from ch
	initialRev int64         // with initial events: the revision they were read at
	unregister func()
}

// send is called with the cache lock held. It reports false when the watcher
// cannot keep up (its channel is full) and must be dropped.
func (w *cacheWatcher) send(ev *cacheEvent) bool {
	if w.stopped {
		return false
	}
	if !strings.HasPrefix(ev.cur.key, w.prefix) {
		return true
	}
	select {
	case w.ch <- ev:
		return true
	default:
		return false
	}
}

func (w *cacheWatcher) stopLocked() {
	if !w.stopped {
		w.stopped = true
		close(w.done)
	}
}

// Stop unregisters the watcher.
func (w *cacheWatcher) Stop() { w.unregister() }
