package bolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"k8s.io/apimachinery/pkg/util/wait"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/sampan-dev/sampan/internal/storage"
	"github.com/sampan-dev/sampan/internal/storage/storagetest"
)

const waitTimeout = 10 * time.Second

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return openTest(t, Config{})
	})
}

// openTest opens a store in a fresh directory (unless cfg.Path is set),
// without background compaction unless cfg asks for it, closed at cleanup.
func openTest(t testing.TB, cfg Config) *Store {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "state.db")
	}
	if cfg.CompactInterval == 0 {
		cfg.CompactInterval = -1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func TestReopenRestoresState(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s := openTest(t, Config{Path: path})

	r1, _ := s.Create(ctx, "/x/a", []byte("a1"))
	r2, _ := s.Create(ctx, "/x/b", []byte("b1"))
	u, _ := s.Update(ctx, "/x/a", []byte("a2"), r1)
	d, _ := s.Delete(ctx, "/x/b", r2)
	r5, _ := s.Create(ctx, "/x/c", []byte("c1"))
	if err := s.Compact(ctx, u.ModRevision); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, Config{Path: path})
	if cur, _ := s.CurrentRevision(ctx); cur != r5 {
		t.Fatalf("CurrentRevision after reopen = %d, want %d", cur, r5)
	}
	res, err := s.List(ctx, "/x/")
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.KV{
		{Key: "/x/a", Value: []byte("a2"), CreateRevision: r1, ModRevision: u.ModRevision},
		{Key: "/x/c", Value: []byte("c1"), CreateRevision: r5, ModRevision: r5},
	}
	if res.Revision != r5 || !slices.EqualFunc(res.KVs, want, kvEqual) {
		t.Errorf("List after reopen = %+v at %d, want %+v at %d", res.KVs, res.Revision, want, r5)
	}
	if _, err := s.Watch(ctx, "/x/", r1); !errors.Is(err, storage.ErrCompacted) {
		t.Errorf("Watch from before the compacted revision after reopen: err = %v, want ErrCompacted", err)
	}
	ch, err := s.Watch(ctx, "/x/", r2)
	if err != nil {
		t.Fatal(err)
	}
	next, err := s.Create(ctx, "/x/d", nil)
	if err != nil {
		t.Fatal(err)
	}
	if next != r5+1 {
		t.Errorf("first revision after reopen = %d, want %d", next, r5+1)
	}
	wantEvents := []struct {
		typ storage.EventType
		key string
		rev int64
	}{
		{storage.EventPut, "/x/a", u.ModRevision},
		{storage.EventDelete, "/x/b", d.ModRevision},
		{storage.EventPut, "/x/c", r5},
		{storage.EventPut, "/x/d", next},
	}
	for _, w := range wantEvents {
		ev := recv(t, ch)
		if ev.Type != w.typ || ev.KV.Key != w.key || ev.Revision() != w.rev {
			t.Errorf("event %s %s@%d, want %s %s@%d", ev.Type, ev.KV.Key, ev.Revision(), w.typ, w.key, w.rev)
		}
	}
}

func kvEqual(a, b storage.KV) bool {
	return a.Key == b.Key && string(a.Value) == string(b.Value) &&
		a.CreateRevision == b.CreateRevision && a.ModRevision == b.ModRevision
}

// gate holds the writer inside its next transaction until released, so that a
// test can queue ops and have them committed as one batch.
type gate struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
	fail    atomic.Pointer[error]
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (g *gate) hook() error {
	if g.armed.CompareAndSwap(true, false) {
		g.entered <- struct{}{}
		<-g.release
	}
	if err := g.fail.Load(); err != nil {
		return *err
	}
	return nil
}

// batchOp is one op of a batch test and its expected outcome.
type batchOp struct {
	kind     opKind
	key      string
	value    string
	expected int64
	wantErr  error
	wantKV   storage.KV // ModRevision 0: not checked
}

// runBatch blocks the writer in a transaction, queues ops in order, releases
// the writer so they commit as one batch, and returns the ops.
func runBatch(t *testing.T, s *Store, g *gate, ops []batchOp) []*op {
	t.Helper()
	ctx := t.Context()
	g.armed.Store(true)
	blocker := make(chan error, 1)
	go func() {
		_, err := s.Create(ctx, fmt.Sprintf("/blocker/%d", time.Now().UnixNano()), nil)
		blocker <- err
	}()
	<-g.entered

	queued := make([]*op, len(ops))
	var wg sync.WaitGroup
	for i, bo := range ops {
		o := &op{kind: bo.kind, key: bo.key, value: []byte(bo.value), expected: bo.expected}
		queued[i] = o
		wg.Go(func() { _ = s.do(ctx, o) })
		waitFor(t, fmt.Sprintf("op %d queued", i), func() bool {
			s.qmu.Lock()
			defer s.qmu.Unlock()
			return len(s.queue) == i+1
		})
	}
	close(g.release)
	wg.Wait()
	if err := <-blocker; err != nil && g.fail.Load() == nil {
		t.Fatalf("blocker Create: %v", err)
	}
	g.release = make(chan struct{})
	return queued
}

func TestBatchPreconditions(t *testing.T) {
	g := newGate()
	s := openTest(t, Config{commitHook: g.hook})
	ctx := t.Context()
	base, err := s.Create(ctx, "/b/existing", []byte("e1"))
	if err != nil {
		t.Fatal(err)
	}
	// The blocking transaction takes base+1; the batch starts at base+2.
	r := base + 2
	ops := []batchOp{
		{kind: opCreate, key: "/b/new", value: "n1", wantKV: storage.KV{Key: "/b/new", Value: []byte("n1"), CreateRevision: r, ModRevision: r}},
		{kind: opCreate, key: "/b/new", value: "n2", wantErr: storage.ErrKeyExists},
		{kind: opUpdate, key: "/b/new", value: "n3", expected: r, wantKV: storage.KV{Key: "/b/new", Value: []byte("n3"), CreateRevision: r, ModRevision: r + 1}},
		{kind: opUpdate, key: "/b/new", value: "n4", expected: r, wantErr: storage.ErrConflict,
			wantKV: storage.KV{Key: "/b/new", Value: []byte("n3"), CreateRevision: r, ModRevision: r + 1}},
		{kind: opDelete, key: "/b/existing", expected: base, wantKV: storage.KV{Key: "/b/existing", Value: []byte("e1"), CreateRevision: base, ModRevision: r + 2}},
		{kind: opUpdate, key: "/b/existing", value: "e2", wantErr: storage.ErrKeyNotFound},
		{kind: opCreate, key: "/b/existing", value: "e3", wantKV: storage.KV{Key: "/b/existing", Value: []byte("e3"), CreateRevision: r + 3, ModRevision: r + 3}},
		{kind: opDelete, key: "/b/new", expected: r, wantErr: storage.ErrConflict,
			wantKV: storage.KV{Key: "/b/new", Value: []byte("n3"), CreateRevision: r, ModRevision: r + 1}},
	}
	commitsBefore := s.commits.Load()
	done := runBatch(t, s, g, ops)
	if got := s.commits.Load() - commitsBefore; got != 2 {
		t.Errorf("%d commits, want 2 (the blocker and one batch)", got)
	}
	for i, bo := range ops {
		o := done[i]
		if !errors.Is(o.err, bo.wantErr) || (bo.wantErr == nil && o.err != nil) {
			t.Errorf("op %d: err = %v, want %v", i, o.err, bo.wantErr)
		}
		if bo.wantKV.ModRevision != 0 && !kvEqual(o.kv, bo.wantKV) {
			t.Errorf("op %d: kv = %+v, want %+v", i, o.kv, bo.wantKV)
		}
	}
	if cur, _ := s.CurrentRevision(ctx); cur != r+3 {
		t.Errorf("CurrentRevision = %d, want %d", cur, r+3)
	}
}

func TestCommitFailureFailsBatchWithoutConsumingRevisions(t *testing.T) {
	g := newGate()
	s := openTest(t, Config{commitHook: g.hook})
	ctx := t.Context()
	ch, err := s.Watch(ctx, "/", 0)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Create(ctx, "/f/existing", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	if ev := recv(t, ch); ev.Revision() != before {
		t.Fatalf("event at %d, want %d", ev.Revision(), before)
	}

	injected := errors.New("injected commit failure")
	g.fail.Store(&injected)
	done := runBatch(t, s, g, []batchOp{
		{kind: opCreate, key: "/f/a", value: "a"},
		{kind: opCreate, key: "/f/a", value: "a"}, // would be ErrKeyExists if the batch committed
		{kind: opUpdate, key: "/f/existing", value: "w"},
	})
	for i, o := range done {
		if !errors.Is(o.err, injected) {
			t.Errorf("op %d: err = %v, want the commit error", i, o.err)
		}
	}
	g.fail.Store(nil)

	if cur, _ := s.CurrentRevision(ctx); cur != before {
		t.Errorf("CurrentRevision after failed commit = %d, want %d", cur, before)
	}
	if _, err := s.Get(ctx, "/f/a"); !errors.Is(err, storage.ErrKeyNotFound) {
		t.Errorf("Get of a key from the failed batch: err = %v, want ErrKeyNotFound", err)
	}
	rev, err := s.Create(ctx, "/f/a", []byte("a"))
	if err != nil || rev != before+1 {
		t.Errorf("Create after failed commit = %d, %v; want %d (no revision consumed)", rev, err, before+1)
	}
	if ev := recv(t, ch); ev.Revision() != rev {
		t.Errorf("first event after the failed commit at %d, want %d", ev.Revision(), rev)
	}
}

func TestCanceledOpIsNotApplied(t *testing.T) {
	g := newGate()
	s := openTest(t, Config{commitHook: g.hook})
	ctx, cancel := context.WithCancel(t.Context())
	g.armed.Store(true)
	go func() { _, _ = s.Create(t.Context(), "/blocker", nil) }()
	<-g.entered
	errc := make(chan error, 1)
	go func() {
		_, err := s.Create(ctx, "/canceled", []byte("v"))
		errc <- err
	}()
	waitFor(t, "op queued", func() bool {
		s.qmu.Lock()
		defer s.qmu.Unlock()
		return len(s.queue) == 1
	})
	cancel()
	close(g.release)
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Create with a canceled context: err = %v, want context.Canceled", err)
	}
	if _, err := s.Get(t.Context(), "/canceled"); !errors.Is(err, storage.ErrKeyNotFound) {
		t.Errorf("Get: err = %v, want ErrKeyNotFound", err)
	}
}

// TestEventQueuedBeforeAck checks the strong form of the delivery guarantee:
// when Create returns, the event is already in a live watcher's channel.
func TestEventQueuedBeforeAck(t *testing.T) {
	s := openTest(t, Config{})
	ctx := t.Context()
	ch, err := s.Watch(ctx, "/q/", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		rev, err := s.Create(ctx, fmt.Sprintf("/q/%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-ch:
			if ev.Revision() != rev {
				t.Fatalf("event at %d, want %d", ev.Revision(), rev)
			}
		default:
			t.Fatalf("event for revision %d not in the channel when Create returned", rev)
		}
	}
}

func TestSlowWatcherIsClosedWithoutBlockingWriters(t *testing.T) {
	s := openTest(t, Config{watchBuffer: 4})
	ctx := t.Context()
	slow, err := s.Watch(ctx, "/s/", 0)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := s.Watch(ctx, "/s/", 0)
	if err != nil {
		t.Fatal(err)
	}
	var fastRevs []int64
	for i := range 10 {
		rev, err := s.Create(ctx, fmt.Sprintf("/s/%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		fastRevs = append(fastRevs, recv(t, fast).Revision())
		if fastRevs[i] != rev {
			t.Fatalf("fast watcher got %d, want %d", fastRevs[i], rev)
		}
	}
	got := drain(t, slow)
	if len(got) != 4 || !slices.Equal(got, fastRevs[:4]) {
		t.Errorf("slow watcher got %v before closing, want %v", got, fastRevs[:4])
	}
}

// TestReplayOverflowClosesWatcher fills a replaying watcher's live queue.
func TestReplayOverflowClosesWatcher(t *testing.T) {
	s := openTest(t, Config{watchBuffer: 2})
	ctx := t.Context()
	var revs []int64
	for i := range 5 {
		rev, _ := s.Create(ctx, fmt.Sprintf("/o/%d", i), nil)
		revs = append(revs, rev)
	}
	ch, err := s.Watch(ctx, "/o/", revs[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2*pendingFactor + 1 {
		rev, err := s.Create(ctx, fmt.Sprintf("/o/live-%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, rev)
	}
	got := drain(t, ch)
	if len(got) == 0 || !slices.Equal(got, revs[1:len(got)+1]) || len(got) == len(revs)-1 {
		t.Errorf("overflowing watcher got %v, want a strict prefix of %v", got, revs[1:])
	}
}

// TestCompactionDuringReplayClosesWatcher compacts history a replay still
// needs: the watcher must close rather than skip revisions.
func TestCompactionDuringReplayClosesWatcher(t *testing.T) {
	s := openTest(t, Config{watchBuffer: 1, chunk: 2})
	ctx := t.Context()
	var revs []int64
	for i := range 10 {
		rev, _ := s.Create(ctx, fmt.Sprintf("/r/%d", i), nil)
		revs = append(revs, rev)
	}
	ch, err := s.Watch(ctx, "/r/", revs[0])
	if err != nil {
		t.Fatal(err)
	}
	// The replay reads two records, buffers one and blocks sending the next.
	first := recv(t, ch)
	if err := s.Compact(ctx, revs[9]); err != nil {
		t.Fatal(err)
	}
	got := append([]int64{first.Revision()}, drain(t, ch)...)
	if len(got) >= len(revs)-1 || !slices.Equal(got, revs[1:len(got)+1]) {
		t.Errorf("watcher got %v, want a strict prefix of %v then close", got, revs[1:])
	}
}

func TestCloseStopsWatchersAndWriters(t *testing.T) {
	s := openTest(t, Config{watchBuffer: 1})
	ctx := t.Context()
	rev, _ := s.Create(ctx, "/c/1", nil)
	_, _ = s.Create(ctx, "/c/2", nil)
	_, _ = s.Create(ctx, "/c/3", nil)
	live, err := s.Watch(ctx, "/c/", 0)
	if err != nil {
		t.Fatal(err)
	}
	replaying, err := s.Watch(ctx, "/c/", rev) // blocks replaying: nobody reads
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	drain(t, live)
	drain(t, replaying)
	for name, err := range map[string]error{
		"Create":          func() error { _, err := s.Create(ctx, "/c/3", nil); return err }(),
		"Update":          func() error { _, err := s.Update(ctx, "/c/1", nil, 0); return err }(),
		"Get":             func() error { _, err := s.Get(ctx, "/c/1"); return err }(),
		"List":            func() error { _, err := s.List(ctx, "/c/"); return err }(),
		"Watch":           func() error { _, err := s.Watch(ctx, "/c/", 0); return err }(),
		"CurrentRevision": func() error { _, err := s.CurrentRevision(ctx); return err }(),
		"Compact":         s.Compact(ctx, rev),
	} {
		if !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseAnswersQueuedOps(t *testing.T) {
	g := newGate()
	s := openTest(t, Config{commitHook: g.hook})
	g.armed.Store(true)
	blocker := make(chan error, 1)
	go func() {
		_, err := s.Create(t.Context(), "/blocker", nil)
		blocker <- err
	}()
	<-g.entered
	queued := make(chan error, 1)
	go func() {
		_, err := s.Create(t.Context(), "/queued", nil)
		queued <- err
	}()
	waitFor(t, "op queued", func() bool {
		s.qmu.Lock()
		defer s.qmu.Unlock()
		return len(s.queue) == 1
	})
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	if err := <-queued; !errors.Is(err, storage.ErrClosed) {
		t.Errorf("queued Create: err = %v, want ErrClosed", err)
	}
	close(g.release)
	if err := <-blocker; err != nil {
		t.Errorf("Create committing during Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestCompactDeletesHistoryInChunks(t *testing.T) {
	s := openTest(t, Config{chunk: 7})
	ctx := t.Context()
	var last int64
	for i := range 40 {
		last, _ = s.Create(ctx, fmt.Sprintf("/h/%d", i), nil)
	}
	target := last - 5
	removed, err := s.compact(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if removed != int(target-1) {
		t.Errorf("removed %d history records, want %d", removed, target-1)
	}
	first, n := historyRange(t, s)
	if first != target || n != int(last-target+1) {
		t.Errorf("history starts at %d with %d records, want %d with %d", first, n, target, last-target+1)
	}
}

func TestCompactionLoop(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	s := openTest(t, Config{Clock: fc, CompactInterval: time.Minute, RetainRevisions: 10})
	ctx := t.Context()
	var last int64
	for i := range 30 {
		last, _ = s.Create(ctx, fmt.Sprintf("/l/%d", i), nil)
	}
	waitFor(t, "compaction loop waiting", fc.HasWaiters)
	fc.Step(time.Minute)
	want := last - 10 + 1
	waitFor(t, "compaction", func() bool {
		first, _ := historyRange(t, s)
		return s.compacted.Load() == want && first == want
	})
	if _, err := s.Watch(ctx, "/l/", want-2); !errors.Is(err, storage.ErrCompacted) {
		t.Errorf("Watch from %d: err = %v, want ErrCompacted", want-2, err)
	}
	if _, err := s.Watch(ctx, "/l/", want-1); err != nil {
		t.Errorf("Watch from %d: %v", want-1, err)
	}
	// The loop goes on.
	for i := range 5 {
		last, _ = s.Create(ctx, fmt.Sprintf("/l/more-%d", i), nil)
	}
	waitFor(t, "compaction loop waiting again", fc.HasWaiters)
	fc.Step(time.Minute)
	waitFor(t, "second compaction", func() bool { return s.compacted.Load() == last-10+1 })
}

func TestOpenDefaults(t *testing.T) {
	s, err := Open(Config{Path: filepath.Join(t.TempDir(), "d.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cfg.CompactInterval != DefaultCompactInterval || s.cfg.RetainRevisions != DefaultRetainRevisions ||
		s.cfg.Clock == nil || s.cfg.Logger == nil || s.cfg.watchBuffer != defaultWatchBuffer {
		t.Errorf("defaults not filled: %+v", s.cfg)
	}
	if _, err := Open(Config{}); err == nil {
		t.Error("Open without a path succeeded")
	}
}

func TestInvalidKeys(t *testing.T) {
	s := openTest(t, Config{})
	for name, key := range map[string]string{"empty": "", "too long": string(make([]byte, bolt.MaxKeySize+1))} {
		if _, err := s.Create(t.Context(), key, nil); err == nil {
			t.Errorf("Create with %s key succeeded", name)
		}
	}
}

// historyRange returns the first revision in the history bucket and the
// number of records.
func historyRange(t *testing.T, s *Store) (first int64, n int) {
	t.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(historyBucket)
		if k, _ := b.Cursor().First(); k != nil {
			first = decodeRev(k)
		}
		n = b.Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return first, n
}

func recv(t *testing.T, ch <-chan storage.Event) storage.Event {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed, want an event")
		}
		return ev
	case <-timer.C:
		t.Fatalf("no event within %s", waitTimeout)
	}
	return storage.Event{}
}

// drain returns the revisions left in ch once it closes.
func drain(t *testing.T, ch <-chan storage.Event) []int64 {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	var revs []int64
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return revs
			}
			revs = append(revs, ev.Revision())
		case <-timer.C:
			t.Fatalf("watch channel still open after %s (got %v)", waitTimeout, revs)
		}
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, waitTimeout, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
