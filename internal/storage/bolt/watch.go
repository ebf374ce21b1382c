package bolt

import (
	"context"
	"fmt"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/sampan-dev/sampan/internal/storage"
)

// watcher is one Watch call. The writer goroutine hands it live events under
// Store.watchMu (publish); a replay goroutine may feed it history first.
//
// The channel ch is closed exactly once: by whoever closes the watcher when no
// replay goroutine runs, else by the replay goroutine when it exits (it may be
// blocked sending on ch, so nobody else may close it).
type watcher struct {
	prefix     string
	after      int64 // live events at or below this revision are not delivered
	ch         chan storage.Event
	done       chan struct{} // closed when the watcher is closed
	maxPending int

	mu         sync.Mutex
	closed     bool
	replaying  bool            // a replay goroutine owns sending on ch
	pending    []storage.Event // live events that arrived during the replay
	unregister func() bool     // stops the context.AfterFunc
}

// Watch streams the changes under prefix with revision > fromRevision: first
// from history (when fromRevision > 0 and older than the current revision),
// then live. See the package documentation for the delivery guarantee.
func (s *Store) Watch(ctx context.Context, prefix string, fromRevision int64) (<-chan storage.Event, error) {
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("watching prefix %q from revision %d: %w", prefix, fromRevision, err)
	}
	if fromRevision < 0 {
		return nil, fmt.Errorf("watching prefix %q: negative revision %d", prefix, fromRevision)
	}
	if fromRevision > s.rev.Load() {
		// A revision just committed may be visible to Get and List a moment
		// before the writer publishes it; only a revision past the committed
		// one is a future revision.
		committed, err := s.committedRevision()
		if err != nil {
			return nil, fmt.Errorf("watching prefix %q from revision %d: %w", prefix, fromRevision, err)
		}
		if fromRevision > committed {
			return nil, fmt.Errorf("watching prefix %q from revision %d: %w: current revision is %d",
				prefix, fromRevision, storage.ErrFutureRevision, committed)
		}
	}

	w := &watcher{
		prefix:     prefix,
		ch:         make(chan storage.Event, s.cfg.watchBuffer),
		done:       make(chan struct{}),
		maxPending: pendingFactor * s.cfg.watchBuffer,
	}
	s.watchMu.Lock()
	if s.watchClosed {
		s.watchMu.Unlock()
		return nil, fmt.Errorf("watching prefix %q from revision %d: %w", prefix, fromRevision, storage.ErrClosed)
	}
	cur := s.rev.Load()
	if compacted := s.compacted.Load(); fromRevision != 0 && fromRevision+1 < compacted {
		s.watchMu.Unlock()
		return nil, fmt.Errorf("watching prefix %q from revision %d: %w: oldest kept revision is %d",
			prefix, fromRevision, storage.ErrCompacted, compacted)
	}
	// Every revision ≤ cur is committed and published; every later one will be
	// published to w. So history supplies (fromRevision, cur] and live events
	// the rest, with no gap and no overlap.
	replay := fromRevision != 0 && fromRevision < cur
	w.after = max(fromRevision, cur)
	w.replaying = replay
	s.watchers[w] = struct{}{}
	if replay {
		s.replays.Add(1)
	}
	s.watchMu.Unlock()

	if replay {
		go s.replay(w, fromRevision, cur)
	}
	unregister := context.AfterFunc(ctx, func() { s.removeWatcher(w) })
	w.mu.Lock()
	closed := w.closed
	if !closed {
		w.unregister = unregister
	}
	w.mu.Unlock()
	if closed {
		unregister()
	}
	return w.ch, nil
}

// committedRevision reads the last committed revision from the database.
func (s *Store) committedRevision() (int64, error) {
	var rev int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rev, err = metaInt(tx.Bucket(metaBucket), metaRevision)
		return err
	})
	return rev, s.mapErr(err)
}

// publish makes rev the current revision and hands events (in revision order)
// to the matching watchers. Called by the writer after a commit, before it
// answers the callers.
func (s *Store) publish(rev int64, events []storage.Event) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	s.rev.Store(rev)
	for i := range events {
		ev := &events[i]
		for w := range s.watchers {
			if !strings.HasPrefix(ev.KV.Key, w.prefix) || ev.KV.ModRevision <= w.after {
				continue
			}
			switch w.send(*ev) {
			case sendClosed:
				delete(s.watchers, w)
			case sendOverflow:
				delete(s.watchers, w)
				s.logger.Warn("closed watcher that fell behind", "prefix", w.prefix, "revision", ev.KV.ModRevision)
			}
		}
	}
}

// removeWatcher unregisters and closes w.
func (s *Store) removeWatcher(w *watcher) {
	s.watchMu.Lock()
	delete(s.watchers, w)
	s.watchMu.Unlock()
	w.close()
}

type sendResult int

const (
	sent sendResult = iota
	sendClosed
	sendOverflow
)

// send hands a live event to w without blocking; a full buffer closes w.
func (w *watcher) send(ev storage.Event) sendResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return sendClosed
	}
	if w.replaying {
		if len(w.pending) >= w.maxPending {
			w.closeLocked()
			return sendOverflow
		}
		w.pending = append(w.pending, ev)
		return sent
	}
	select {
	case w.ch <- ev:
		return sent
	default:
		w.closeLocked()
		return sendOverflow
	}
}

func (w *watcher) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeLocked()
}

func (w *watcher) closeLocked() {
	if w.closed {
		return
	}
	w.closed = true
	w.pending = nil
	close(w.done)
	if !w.replaying {
		close(w.ch)
	}
	if w.unregister != nil {
		w.unregister()
	}
}

// replay sends the history (from, to] under w's prefix, then the live events
// queued meanwhile, then switches w to live delivery.
func (s *Store) replay(w *watcher, from, to int64) {
	defer s.replays.Done()
	defer w.endReplay()

	for next := from + 1; next <= to; {
		select {
		case <-w.done:
			return
		default:
		}
		var events []storage.Event
		var err error
		events, next, err = s.readHistory(w.prefix, next, to)
		if err != nil {
			s.logger.Warn("closed watcher: replaying history failed", "prefix", w.prefix, "from", from, "err", err)
			s.removeWatcher(w)
			return
		}
		for _, ev := range events {
			select {
			case w.ch <- ev:
			case <-w.done:
				return
			}
		}
	}
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return
		}
		pending := w.pending
		w.pending = nil
		if len(pending) == 0 {
			w.replaying = false // from now on publish sends to ch directly
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		for _, ev := range pending {
			select {
			case w.ch <- ev:
			case <-w.done:
				return
			}
		}
	}
}

// endReplay runs when the replay goroutine exits: if the watcher was closed
// meanwhile, the channel is the replay goroutine's to close.
func (w *watcher) endReplay() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.replaying && w.closed {
		close(w.ch)
	}
	w.replaying = false
}

// readHistory reads, in one short read transaction, at most cfg.chunk history
// records from revision next up to to, and returns the events under prefix and
// the revision to continue from. It fails with storage.ErrCompacted when part
// of that history is gone.
func (s *Store) readHistory(prefix string, next, to int64) ([]storage.Event, int64, error) {
	var events []storage.Event
	p := []byte(prefix)
	err := s.db.View(func(tx *bolt.Tx) error {
		compacted, err := metaInt(tx.Bucket(metaBucket), metaCompacted)
		if err != nil {
			return err
		}
		if next < compacted {
			return fmt.Errorf("reading history from %d: %w: oldest kept revision is %d", next, storage.ErrCompacted, compacted)
		}
		c := tx.Bucket(historyBucket).Cursor()
		scanned := 0
		k, v := c.Seek(encodeRev(next))
		for ; k != nil && scanned < s.cfg.chunk; k, v = c.Next() {
			rev := decodeRev(k)
			if rev > to {
				break
			}
			scanned++
			next = rev + 1
			key, err := eventKey(v)
			if err != nil {
				return fmt.Errorf("decoding history record %d: %w", rev, err)
			}
			if !hasPrefix(key, p) {
				continue
			}
			ev, err := decodeEvent(rev, v)
			if err != nil {
				return err
			}
			events = append(events, ev)
		}
		if k == nil || decodeRev(k) > to {
			next = to + 1
		}
		return nil
	})
	if err != nil {
		return nil, 0, s.mapErr(err)
	}
	return events, next, nil
}
