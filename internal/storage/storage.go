// Package storage defines the key-value contract the API server keeps cluster
// state in. Backends (bolt/, later etcd/) implement Store; the conformance suite
// in storagetest proves each one keeps the contract.
//
// The contract (DESIGN.md §5):
//   - keys are "/<group>/<resource>/<namespace>/<name>", values opaque bytes
//     (the API server stores JSON of the versioned object);
//   - one global revision, incremented by every successful write; a KV's
//     ModRevision is the revision of its last write, CreateRevision the one of
//     its creation;
//   - writes are durable (fsynced) before they return; concurrent writes may
//     share one commit (group commit);
//   - Watch delivers every change under a prefix after a revision, in revision
//     order, or ErrCompacted when that revision is no longer kept.
package storage

import (
	"context"
	"errors"
)

// KV is one stored key with its value and revisions.
type KV struct {
	Key            string
	Value          []byte
	CreateRevision int64
	ModRevision    int64
}

// EventType says what happened to a key.
type EventType int

const (
	EventPut    EventType = iota // created or updated; Event.PrevKV is nil on create
	EventDelete                  // deleted; Event.KV.Value is the last value, ModRevision the delete revision
)

func (t EventType) String() string {
	switch t {
	case EventPut:
		return "PUT"
	case EventDelete:
		return "DELETE"
	}
	return "UNKNOWN"
}

// Event is one change, delivered by Watch in revision order.
//
// For EventPut, KV is the new state (KV.ModRevision is the event's revision) and
// PrevKV the state before (nil when the key was created).
// For EventDelete, KV holds the key, the value it had before the delete, its
// CreateRevision, and ModRevision set to the revision of the delete; PrevKV is the
// same previous state.
type Event struct {
	Type   EventType
	KV     KV
	PrevKV *KV
}

// Revision returns the revision at which the event happened.
func (e Event) Revision() int64 { return e.KV.ModRevision }

// Errors. Backends return these (possibly wrapped, test with errors.Is).
var (
	ErrKeyExists   = errors.New("key already exists")
	ErrKeyNotFound = errors.New("key not found")
	// ErrConflict is returned when a precondition on the ModRevision fails.
	ErrConflict = errors.New("revision conflict")
	// ErrCompacted is returned by Watch and List when the requested revision is
	// older than the oldest revision the store still keeps.
	ErrCompacted = errors.New("required revision has been compacted")
	// ErrFutureRevision is returned when a revision newer than the current one is asked for.
	ErrFutureRevision = errors.New("required revision is a future revision")
	ErrClosed         = errors.New("store is closed")
)

// ListResult is the answer of List: the KVs in key order and the revision the
// list was read at.
type ListResult struct {
	KVs      []KV
	Revision int64
}

// Store is the contract every backend implements. All methods are safe for
// concurrent use.
type Store interface {
	// Get returns the current KV of key, or ErrKeyNotFound.
	Get(ctx context.Context, key string) (KV, error)

	// List returns every key with the given prefix, in key order, as of the
	// current revision.
	List(ctx context.Context, prefix string) (ListResult, error)

	// Create stores key=value if key does not exist (else ErrKeyExists) and
	// returns the new revision, once it is durable.
	Create(ctx context.Context, key string, value []byte) (int64, error)

	// Update replaces the value of key if its ModRevision equals expected
	// (expected == 0 means unconditionally). ErrKeyNotFound when absent,
	// ErrConflict on mismatch (the current KV is returned with it so the caller
	// can retry). On success returns the new KV.
	Update(ctx context.Context, key string, value []byte, expected int64) (KV, error)

	// Delete removes key if its ModRevision equals expected (0: unconditionally)
	// and returns the deleted KV with ModRevision set to the delete revision.
	// ErrKeyNotFound when absent; ErrConflict (with the current KV) on mismatch.
	Delete(ctx context.Context, key string, expected int64) (KV, error)

	// Watch streams every change under prefix with revision > fromRevision,
	// starting with the ones already stored (from the retained history), then live
	// ones, in revision order. fromRevision 0 means "from now". ErrCompacted when
	// fromRevision+1 is older than the retained history; ErrFutureRevision when
	// fromRevision is newer than any revision a read or write has returned. The
	// channel closes when ctx ends or the store closes; a watcher that cannot
	// keep up is closed too (the caller re-watches from its last revision).
	//
	// Delivery relative to writes: once a write has returned revision R,
	// CurrentRevision returns at least R, and every watcher registered before
	// the write (whose prefix matches) will receive the event for R unless its
	// channel closes first. The byte slices of delivered events may be shared
	// between watchers and must not be modified.
	Watch(ctx context.Context, prefix string, fromRevision int64) (<-chan Event, error)

	// CurrentRevision is the revision of the last durable write (0 for an empty store).
	CurrentRevision(ctx context.Context) (int64, error)

	// Compact discards the history of revisions < revision. Current values are
	// never discarded. Watches from before it fail with ErrCompacted.
	Compact(ctx context.Context, revision int64) error

	// Close releases the store. Pending watches are closed.
	Close() error
}
