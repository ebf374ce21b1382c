package bolt

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	bolt "go.etcd.io/bbolt"

	"github.com/sampan-dev/sampan/internal/storage"
)

type opKind uint8

const (
	opCreate opKind = iota
	opUpdate
	opDelete
	opCompact      // record rev as the compacted revision
	opCompactChunk // delete up to cfg.chunk history records below rev
)

// op is one queued request to the writer goroutine. The caller fills the
// request fields, the writer the result fields and then closes done.
type op struct {
	ctx      context.Context
	kind     opKind
	key      string
	value    []byte
	expected int64 // precondition on ModRevision (update, delete); 0: none
	rev      int64 // compaction revision (compact ops)

	kv      storage.KV // result: new/deleted KV, or the current KV with ErrConflict
	removed int        // result: history records deleted (opCompactChunk)
	err     error
	done    chan struct{}
}

// Create stores key=value if key does not exist and returns its revision once
// the write is durable.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	o := &op{kind: opCreate, key: key, value: value}
	if err := s.do(ctx, o); err != nil {
		return 0, fmt.Errorf("creating key %q: %w", key, err)
	}
	return o.kv.ModRevision, nil
}

// Update replaces the value of key if its ModRevision equals expected (0:
// unconditionally). With storage.ErrConflict it returns the current KV.
func (s *Store) Update(ctx context.Context, key string, value []byte, expected int64) (storage.KV, error) {
	o := &op{kind: opUpdate, key: key, value: value, expected: expected}
	if err := s.do(ctx, o); err != nil {
		return o.kv, fmt.Errorf("updating key %q: %w", key, err)
	}
	return o.kv, nil
}

// Delete removes key if its ModRevision equals expected (0: unconditionally)
// and returns the deleted KV with ModRevision set to the delete revision. With
// storage.ErrConflict it returns the current KV.
func (s *Store) Delete(ctx context.Context, key string, expected int64) (storage.KV, error) {
	o := &op{kind: opDelete, key: key, expected: expected}
	if err := s.do(ctx, o); err != nil {
		return o.kv, fmt.Errorf("deleting key %q: %w", key, err)
	}
	return o.kv, nil
}

// do queues o for the writer and waits for its answer. It waits even when ctx
// ends meanwhile: the writer skips ops whose context has ended before it gets
// to them, and answers every op within one commit, so the caller always learns
// the real outcome.
func (s *Store) do(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch o.kind {
	case opCreate, opUpdate, opDelete:
		if o.key == "" {
			return errors.New("empty key")
		}
		if len(o.key) > bolt.MaxKeySize {
			return fmt.Errorf("key of %d bytes exceeds the limit of %d", len(o.key), bolt.MaxKeySize)
		}
		if len(o.value) > bolt.MaxValueSize-kvHeader {
			return fmt.Errorf("value of %d bytes exceeds the limit of %d", len(o.value), bolt.MaxValueSize-kvHeader)
		}
	}
	o.ctx = ctx
	o.done = make(chan struct{})

	s.qmu.Lock()
	if s.qclosed {
		s.qmu.Unlock()
		return storage.ErrClosed
	}
	s.queue = append(s.queue, o)
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // the writer has a wake-up pending already
	}

	<-o.done
	return o.err
}

// runWriter is the writer goroutine: it commits queued ops batch by batch until
// Close.
func (s *Store) runWriter() {
	defer s.loops.Done()
	var batch []*op
	for {
		select {
		case <-s.wake:
		case <-s.stop:
			return
		}
		for {
			batch = s.takeBatch(batch)
			if len(batch) == 0 {
				break
			}
			s.commit(batch)
			s.yieldToAnswered(len(batch))
			clear(batch)
		}
	}
}

// yieldToAnswered lets the callers just answered run before the next batch is
// taken: those that write again join it instead of waiting a whole commit for
// the one after. Without this, batch sizes alternate between few and many and
// average half the concurrent writers. It yields while the queue keeps growing
// and is short of the batch just committed, a few times at most.
func (s *Store) yieldToAnswered(answered int) {
	queued := -1
	for range 4 {
		runtime.Gosched()
		s.qmu.Lock()
		n := len(s.queue)
		s.qmu.Unlock()
		if n >= answered || n == queued {
			return
		}
		queued = n
	}
}

// takeBatch moves the oldest queued ops, within the batch limits, into buf.
func (s *Store) takeBatch(buf []*op) []*op {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	n, size := len(s.queue), 0
	for i, o := range s.queue {
		size += len(o.value)
		if i+1 == maxBatchOps || size >= maxBatchBytes {
			n = i + 1
			break
		}
	}
	buf = append(buf[:0], s.queue[:n]...)
	rest := copy(s.queue, s.queue[n:])
	clear(s.queue[rest:])
	s.queue = s.queue[:rest]
	return buf
}

// txBuckets are the buckets of one write transaction.
type txBuckets struct {
	keys, history, meta *bolt.Bucket
}

// commit applies batch in one transaction, commits it, publishes the events to
// watchers and answers every op.
func (s *Store) commit(batch []*op) {
	rev, compacted := s.writerRev, s.writerCompacted
	events := s.events[:0]
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := txBuckets{keys: tx.Bucket(keysBucket), history: tx.Bucket(historyBucket), meta: tx.Bucket(metaBucket)}
		// History is append-only (compaction trims the front): fill pages fully.
		b.history.FillPercent = 0.95
		for _, o := range batch {
			if err := o.ctx.Err(); err != nil {
				o.err = err
				continue
			}
			switch o.kind {
			case opCreate, opUpdate, opDelete:
				ev, ok, err := applyWrite(b, o, rev+1)
				if err != nil {
					return err
				}
				if ok {
					rev++
					events = append(events, ev)
				}
			case opCompact:
				switch {
				case o.rev > rev:
					o.err = fmt.Errorf("%w: current revision is %d", storage.ErrFutureRevision, rev)
				case o.rev > compacted:
					if err := b.meta.Put(metaCompacted, encodeRev(o.rev)); err != nil {
						return fmt.Errorf("writing compacted revision: %w", err)
					}
					compacted = o.rev
				}
			case opCompactChunk:
				n, err := deleteHistory(b.history, o.rev, s.cfg.chunk)
				if err != nil {
					return err
				}
				o.removed = n
			}
		}
		if rev != s.writerRev {
			if err := b.meta.Put(metaRevision, encodeRev(rev)); err != nil {
				return fmt.Errorf("writing revision: %w", err)
			}
		}
		if s.cfg.commitHook != nil {
			return s.cfg.commitHook()
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("committing batch of %d ops: %w", len(batch), err)
		s.logger.Error("write transaction failed", "ops", len(batch), "err", err)
		for _, o := range batch {
			o.err, o.kv, o.removed = err, storage.KV{}, 0
		}
	} else {
		s.commits.Add(1)
		s.writerRev, s.writerCompacted = rev, compacted
		if len(events) > 0 {
			s.publish(rev, events)
		}
		s.compacted.Store(compacted)
	}
	for _, o := range batch {
		o.ctx = nil
		close(o.done)
	}
	clear(events)
	s.events = events[:0]
}

// applyWrite applies a create, update or delete at revision rev, checking its
// precondition against the transaction's state (which includes the earlier
// ops of the batch). ok reports whether it was applied; a failed precondition
// sets o.err and leaves the transaction untouched. err is a storage failure
// that aborts the whole transaction.
func applyWrite(b txBuckets, o *op, rev int64) (ev storage.Event, ok bool, err error) {
	kb := []byte(o.key)
	cur := b.keys.Get(kb)
	if o.kind == opCreate {
		if cur != nil {
			o.err = storage.ErrKeyExists
			return ev, false, nil
		}
		rec := encodeKV(rev, rev, o.value)
		if err := b.keys.Put(kb, rec); err != nil {
			return ev, false, fmt.Errorf("writing key %q: %w", o.key, err)
		}
		if err := b.history.Put(encodeRev(rev), encodeEvent(histPut, o.key, rev, 0, o.value, nil)); err != nil {
			return ev, false, fmt.Errorf("writing history %d: %w", rev, err)
		}
		o.kv = storage.KV{Key: o.key, Value: o.value, CreateRevision: rev, ModRevision: rev}
		// The event shares the record's copy of the value, not the caller's slice.
		return storage.Event{Type: storage.EventPut, KV: storage.KV{Key: o.key, Value: rec[kvHeader:], CreateRevision: rev, ModRevision: rev}}, true, nil
	}

	if cur == nil {
		o.err = storage.ErrKeyNotFound
		return ev, false, nil
	}
	prev, err := decodeKV(o.key, cur, true)
	if err != nil {
		return ev, false, err
	}
	if o.expected != 0 && prev.ModRevision != o.expected {
		o.kv = prev
		o.err = fmt.Errorf("%w: expected revision %d, current %d", storage.ErrConflict, o.expected, prev.ModRevision)
		return ev, false, nil
	}

	if o.kind == opUpdate {
		rec := encodeKV(prev.CreateRevision, rev, o.value)
		if err := b.keys.Put(kb, rec); err != nil {
			return ev, false, fmt.Errorf("writing key %q: %w", o.key, err)
		}
		if err := b.history.Put(encodeRev(rev), encodeEvent(histPut, o.key, prev.CreateRevision, prev.ModRevision, o.value, prev.Value)); err != nil {
			return ev, false, fmt.Errorf("writing history %d: %w", rev, err)
		}
		o.kv = storage.KV{Key: o.key, Value: o.value, CreateRevision: prev.CreateRevision, ModRevision: rev}
		return storage.Event{
			Type:   storage.EventPut,
			KV:     storage.KV{Key: o.key, Value: rec[kvHeader:], CreateRevision: prev.CreateRevision, ModRevision: rev},
			PrevKV: &prev,
		}, true, nil
	}

	if err := b.keys.Delete(kb); err != nil {
		return ev, false, fmt.Errorf("deleting key %q: %w", o.key, err)
	}
	if err := b.history.Put(encodeRev(rev), encodeEvent(histDelete, o.key, prev.CreateRevision, prev.ModRevision, nil, prev.Value)); err != nil {
		return ev, false, fmt.Errorf("writing history %d: %w", rev, err)
	}
	// The caller gets its own copy; watchers share prev.Value.
	o.kv = storage.KV{Key: o.key, Value: cloneBytes(prev.Value), CreateRevision: prev.CreateRevision, ModRevision: rev}
	return storage.Event{
		Type:   storage.EventDelete,
		KV:     storage.KV{Key: o.key, Value: prev.Value, CreateRevision: prev.CreateRevision, ModRevision: rev},
		PrevKV: &prev,
	}, true, nil
}

// deleteHistory deletes up to limit history records with revision < below,
// oldest first, and returns how many it deleted.
func deleteHistory(h *bolt.Bucket, below int64, limit int) (int, error) {
	end := encodeRev(below)
	var keys [][]byte
	c := h.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < limit && string(k) < string(end); k, _ = c.Next() {
		keys = append(keys, cloneBytes(k))
	}
	for _, k := range keys {
		if err := h.Delete(k); err != nil {
			return 0, fmt.Errorf("deleting history %d: %w", decodeRev(k), err)
		}
	}
	return len(keys), nil
}
