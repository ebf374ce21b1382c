// Package bolt is the embedded storage.Store backend: one bbolt file, a single
// writer goroutine that group-commits concurrent writes, and an in-memory
// fan-out of committed events to watchers.
//
// # Layout
//
// The file holds three buckets:
//
//   - "keys": key → createRevision (8 bytes, big endian) | modRevision (8 bytes) | value;
//   - "history": revision (8 bytes, big endian) → the event of that revision,
//     including the previous value (see record.go), so that Watch can replay
//     from an old revision;
//   - "meta": "revision" (last committed revision), "compacted" (history below
//     it is discarded) and "format".
//
// Every write updates "keys", appends to "history" and bumps "meta/revision" in
// the same transaction, so the three never disagree after a crash.
//
// # Writes
//
// Create, Update and Delete queue an operation for the writer goroutine and
// wait for its answer. The writer takes everything queued (up to 1,000 ops or
// 16 MiB of values), applies it in one bbolt read-write transaction — each op
// its own revision, preconditions checked against the state left by the
// earlier ops of the batch, a failed precondition failing only its own op —
// and commits (bbolt fsyncs on commit). Only then does it publish the new
// revision, hand the events to watchers and answer the callers. If the commit
// fails every op of the batch gets the error and no revision is used.
// An op whose context ended before the writer reached it is not applied and
// gets the context's error; once applied, the caller always gets the real
// outcome (callers wait for the writer's answer, which never takes longer than
// one commit).
//
// # Watch delivery guarantee
//
// Before a write is acknowledged to its caller, CurrentRevision already
// returns its revision (or a later one) and its event has been handed to every
// matching watcher registered before the write: placed in the watcher's
// channel buffer, or, for a watcher still replaying history, queued right
// behind the replay. So a watcher registered before Create returned revision R
// will receive the event for R, unless its channel is closed first (its
// context ended, the store was closed, or it fell behind); a closed channel is
// always visible to the consumer, who re-watches from the last revision it saw.
//
// A watcher that does not keep up is closed, never waited for: live events go
// into a channel of 1,024 events (or, while replaying, a queue of 4,096); when
// that is full the watcher's channel is closed. Writers never block on
// watchers.
//
// Watch with fromRevision > 0 replays history in short read transactions of
// at most 1,000 records, so long replays neither hold bbolt's remap lock nor
// delay writers; if the history it still needs is compacted under it the
// watcher is closed. Watch from a revision newer than the last committed one
// fails with storage.ErrFutureRevision.
//
// # Compaction
//
// Compact(rev) first records rev as the compacted revision (from then on
// watches from before rev fail with storage.ErrCompacted), then deletes
// history below rev in chunks of 1,000 records, each chunk riding in a writer
// batch so it shares that batch's fsync and never holds the write lock for
// long. A background loop compacts every Config.CompactInterval, keeping the
// last Config.RetainRevisions revisions.
package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/storage"
)

// Defaults filled in by Open.
const (
	// DefaultCompactInterval is how often the background loop compacts history.
	DefaultCompactInterval = 5 * time.Minute
	// DefaultRetainRevisions is how many of the latest revisions of history the
	// background loop keeps. The API server's watch cache re-watches from its last
	// revision after a restart or a closed watch; 10,000 revisions is a few
	// seconds of peak write load and hours of a quiet cluster.
	DefaultRetainRevisions = 10_000
	// defaultWatchBuffer is the capacity of a watcher's channel.
	defaultWatchBuffer = 1024
	// pendingFactor × the channel capacity is how many live events a watcher
	// that is still replaying history may queue.
	pendingFactor = 4
	// defaultChunk bounds the history records read by one replay transaction
	// and deleted by one compaction step.
	defaultChunk = 1000
	// maxBatchOps and maxBatchBytes bound one write transaction.
	maxBatchOps   = 1000
	maxBatchBytes = 16 << 20
	// openTimeout bounds the wait for the file lock held by another process.
	openTimeout = 10 * time.Second
)

// Config configures Open.
type Config struct {
	// Path of the database file; created if missing.
	Path string
	// Logger; discards when nil.
	Logger *slog.Logger
	// Clock drives the compaction loop; the real clock when nil.
	Clock clock.Clock
	// CompactInterval between background compactions: DefaultCompactInterval
	// when 0, no background compaction when negative.
	CompactInterval time.Duration
	// RetainRevisions is how many of the latest revisions the background
	// compaction keeps: DefaultRetainRevisions when 0 or negative.
	RetainRevisions int64

	// Test knobs (0 or nil: defaults).
	watchBuffer int          // capacity of a watcher's channel
	chunk       int          // history records per replay read and per compaction step
	commitHook  func() error // called inside every write transaction; an error aborts it
}

var (
	keysBucket    = []byte("keys")
	historyBucket = []byte("history")
	metaBucket    = []byte("meta")

	metaRevision  = []byte("revision")
	metaCompacted = []byte("compacted")
	metaFormat    = []byte("format")
)

const formatVersion = 1

// Store is the bbolt-backed storage.Store. Open starts its writer goroutine and
// compaction loop; Close stops them.
type Store struct {
	cfg    Config
	db     *bolt.DB
	logger *slog.Logger

	rev       atomic.Int64 // last committed revision that watchers have been given
	compacted atomic.Int64 // history below it is (being) discarded
	closed    atomic.Bool
	commits   atomic.Int64 // committed write transactions, for benchmarks

	// The op queue, fed by callers and drained by the writer goroutine.
	qmu     sync.Mutex
	queue   []*op
	qclosed bool
	wake    chan struct{} // capacity 1: "the queue may be non-empty"

	// Owned by the writer goroutine.
	writerRev       int64
	writerCompacted int64
	events          []storage.Event

	watchMu     sync.Mutex
	watchers    map[*watcher]struct{}
	watchClosed bool
	replays     sync.WaitGroup // replay goroutines

	stop      chan struct{}      // closed by Close: stops the writer
	cancel    context.CancelFunc // stops the compaction loop
	loops     sync.WaitGroup     // writer and compaction loop
	closeOnce sync.Once
	closeErr  error
}

var _ storage.Store = (*Store)(nil)

// Open opens (or creates) the database at cfg.Path, restores the current
// revision, compacted revision and history, and starts the writer goroutine
// and, unless disabled, the background compaction loop.
func Open(cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("opening bolt store: empty path")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.CompactInterval == 0 {
		cfg.CompactInterval = DefaultCompactInterval
	}
	if cfg.RetainRevisions <= 0 {
		cfg.RetainRevisions = DefaultRetainRevisions
	}
	if cfg.watchBuffer <= 0 {
		cfg.watchBuffer = defaultWatchBuffer
	}
	if cfg.chunk <= 0 {
		cfg.chunk = defaultChunk
	}

	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{
		Timeout: openTimeout,
		// The map freelist keeps allocation cheap as the file grows, and not
		// writing the freelist on every commit saves a page write per commit; it
		// is rebuilt by scanning the file on open. Every commit is still fsynced.
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		return nil, fmt.Errorf("opening bolt database %s: %w", cfg.Path, err)
	}

	var rev, compacted int64
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{keysBucket, historyBucket, metaBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("creating bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(metaBucket)
		switch v := meta.Get(metaFormat); {
		case v == nil:
			if err := meta.Put(metaFormat, encodeRev(formatVersion)); err != nil {
				return fmt.Errorf("writing format version: %w", err)
			}
		case len(v) != 8 || decodeRev(v) != formatVersion:
			return fmt.Errorf("checking format: unsupported format %x", v)
		}
		var err error
		if rev, err = metaInt(meta, metaRevision); err != nil {
			return err
		}
		if compacted, err = metaInt(meta, metaCompacted); err != nil {
			return err
		}
		if k, _ := tx.Bucket(historyBucket).Cursor().Last(); k != nil && decodeRev(k) != rev {
			return fmt.Errorf("checking history: last history revision %d, meta revision %d", decodeRev(k), rev)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening bolt store %s: %w", cfg.Path, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		cfg:             cfg,
		db:              db,
		logger:          cfg.Logger,
		wake:            make(chan struct{}, 1),
		writerRev:       rev,
		writerCompacted: compacted,
		watchers:        make(map[*watcher]struct{}),
		stop:            make(chan struct{}),
		cancel:          cancel,
	}
	s.rev.Store(rev)
	s.compacted.Store(compacted)

	s.loops.Add(1)
	go s.runWriter()
	if cfg.CompactInterval > 0 {
		s.loops.Add(1)
		go s.runCompactor(ctx)
	}
	s.logger.Info("opened bolt store", "path", cfg.Path, "revision", rev, "compactedRevision", compacted)
	return s, nil
}

// Get returns the current KV of key.
func (s *Store) Get(ctx context.Context, key string) (storage.KV, error) {
	if err := s.check(ctx); err != nil {
		return storage.KV{}, fmt.Errorf("getting key %q: %w", key, err)
	}
	var kv storage.KV
	err := s.db.View(func(tx *bolt.Tx) error {
		rec := tx.Bucket(keysBucket).Get([]byte(key))
		if rec == nil {
			return storage.ErrKeyNotFound
		}
		var err error
		kv, err = decodeKV(key, rec, true)
		return err
	})
	if err != nil {
		return storage.KV{}, fmt.Errorf("getting key %q: %w", key, s.mapErr(err))
	}
	return kv, nil
}

// List returns every key starting with prefix, in key order, read in one
// transaction together with the revision it reflects. The prefix is a plain
// byte prefix: pass "/a/" (with the trailing slash) to exclude "/ab/x".
func (s *Store) List(ctx context.Context, prefix string) (storage.ListResult, error) {
	if err := s.check(ctx); err != nil {
		return storage.ListResult{}, fmt.Errorf("listing prefix %q: %w", prefix, err)
	}
	var res storage.ListResult
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if res.Revision, err = metaInt(tx.Bucket(metaBucket), metaRevision); err != nil {
			return err
		}
		p := []byte(prefix)
		c := tx.Bucket(keysBucket).Cursor()
		for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
			kv, err := decodeKV(string(k), v, true)
			if err != nil {
				return err
			}
			res.KVs = append(res.KVs, kv)
		}
		return nil
	})
	if err != nil {
		return storage.ListResult{}, fmt.Errorf("listing prefix %q: %w", prefix, s.mapErr(err))
	}
	return res, nil
}

// CurrentRevision returns the last committed revision whose events have been
// handed to watchers. It is an atomic load.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, storage.ErrClosed
	}
	return s.rev.Load(), nil
}

// Close stops the writer (queued ops get storage.ErrClosed; the batch being
// committed finishes), stops the compaction loop, closes every watcher and
// closes the database. Calling it again returns the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)

		s.qmu.Lock()
		s.qclosed = true
		pending := s.queue
		s.queue = nil
		s.qmu.Unlock()
		for _, o := range pending {
			o.err = storage.ErrClosed
			close(o.done)
		}
		close(s.stop)
		s.cancel()
		s.loops.Wait()

		s.watchMu.Lock()
		s.watchClosed = true
		ws := s.watchers
		s.watchers = nil
		s.watchMu.Unlock()
		for w := range ws {
			w.close()
		}
		s.replays.Wait()

		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("closing bolt database: %w", err)
		}
		s.logger.Info("closed bolt store", "path", s.cfg.Path, "revision", s.rev.Load())
	})
	return s.closeErr
}

// check fails when ctx has ended or the store is closed.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return ctx.Err()
}

// mapErr turns bbolt's "database not open" (a read racing Close) into
// storage.ErrClosed.
func (s *Store) mapErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return storage.ErrClosed
	}
	return err
}

func metaInt(meta *bolt.Bucket, name []byte) (int64, error) {
	v := meta.Get(name)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return decodeRev(v), nil
	}
	return 0, fmt.Errorf("reading meta %s: %d bytes, want 8", name, len(v))
}

func encodeRev(rev int64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(rev))
}

func decodeRev(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}
