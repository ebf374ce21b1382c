// Package storagetest is the conformance suite of storage.Store: every backend
// runs it from its own tests with
//
//	storagetest.Run(t, func(t *testing.T) storage.Store { ... })
//
// The suite uses only the storage contract: it never assumes particular
// revision numbers (an etcd backend starts elsewhere and may skip numbers),
// only that they are global and strictly increasing. It waits for events with
// a deadline and never sleeps.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sampan-dev/sampan/internal/storage"
)

// eventTimeout bounds every wait for an event or a closed channel.
const eventTimeout = 10 * time.Second

// Run runs the conformance suite against the stores newStore returns. Each
// subtest calls newStore once and expects a fresh, empty store; newStore
// should close it with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateExisting", testCreateExisting},
		{"GetMissing", testGetMissing},
		{"Update", testUpdate},
		{"UpdateMissing", testUpdateMissing},
		{"UpdateConflict", testUpdateConflict},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"DeleteConflict", testDeleteConflict},
		{"RevisionsIncrease", testRevisionsIncrease},
		{"PrefixIsolation", testPrefixIsolation},
		{"ListOrderAndRevision", testListOrderAndRevision},
		{"WatchFromNow", testWatchFromNow},
		{"WatchEventContents", testWatchEventContents},
		{"WatchReplayThenLive", testWatchReplayThenLive},
		{"WatchPrefix", testWatchPrefix},
		{"WatchAcknowledgedWrite", testWatchAcknowledgedWrite},
		{"WatchCancel", testWatchCancel},
		{"Compact", testCompact},
		{"FutureRevision", testFutureRevision},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentPreconditions", testConcurrentPreconditions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

func testCreateGet(t *testing.T, s storage.Store) {
	ctx := t.Context()
	rev := mustCreate(t, s, "/core/pods/default/a", "v1")
	if rev <= 0 {
		t.Fatalf("Create returned revision %d, want > 0", rev)
	}
	got := mustGet(t, s, "/core/pods/default/a")
	checkKV(t, "Get", got, storage.KV{Key: "/core/pods/default/a", Value: []byte("v1"), CreateRevision: rev, ModRevision: rev})
	if cur := mustCurrent(t, s); cur != rev {
		t.Errorf("CurrentRevision = %d, want %d", cur, rev)
	}
	// An empty value round-trips.
	rev2 := mustCreate(t, s, "/core/pods/default/empty", "")
	got, err := s.Get(ctx, "/core/pods/default/empty")
	if err != nil {
		t.Fatalf("Get empty: %v", err)
	}
	checkKV(t, "Get empty", got, storage.KV{Key: "/core/pods/default/empty", CreateRevision: rev2, ModRevision: rev2})
}

func testCreateExisting(t *testing.T, s storage.Store) {
	ctx := t.Context()
	rev := mustCreate(t, s, "/k", "v1")
	if _, err := s.Create(ctx, "/k", []byte("v2")); !errors.Is(err, storage.ErrKeyExists) {
		t.Fatalf("second Create: err = %v, want ErrKeyExists", err)
	}
	if cur := mustCurrent(t, s); cur != rev {
		t.Errorf("CurrentRevision after failed Create = %d, want %d (no revision consumed)", cur, rev)
	}
	checkKV(t, "Get", mustGet(t, s, "/k"), storage.KV{Key: "/k", Value: []byte("v1"), CreateRevision: rev, ModRevision: rev})
}

func testGetMissing(t *testing.T, s storage.Store) {
	mustCreate(t, s, "/k1", "v")
	for _, key := range []string{"/k", "/k10", "/k1/x", "/"} {
		if _, err := s.Get(t.Context(), key); !errors.Is(err, storage.ErrKeyNotFound) {
			t.Errorf("Get(%q): err = %v, want ErrKeyNotFound", key, err)
		}
	}
}

func testUpdate(t *testing.T, s storage.Store) {
	tests := []struct {
		name     string
		expected func(created int64) int64
	}{
		{"unconditional", func(int64) int64 { return 0 }},
		{"matching precondition", func(created int64) int64 { return created }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			key := fmt.Sprintf("/update/%d", i)
			created := mustCreate(t, s, key, "v1")
			kv, err := s.Update(ctx, key, []byte("v2"), tc.expected(created))
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if kv.ModRevision <= created {
				t.Fatalf("Update revision %d, want > %d", kv.ModRevision, created)
			}
			want := storage.KV{Key: key, Value: []byte("v2"), CreateRevision: created, ModRevision: kv.ModRevision}
			checkKV(t, "Update result", kv, want)
			checkKV(t, "Get", mustGet(t, s, key), want)
			if cur := mustCurrent(t, s); cur != kv.ModRevision {
				t.Errorf("CurrentRevision = %d, want %d", cur, kv.ModRevision)
			}
		})
	}
}

func testUpdateMissing(t *testing.T, s storage.Store) {
	rev := mustCreate(t, s, "/other", "v")
	for _, expected := range []int64{0, rev} {
		if _, err := s.Update(t.Context(), "/missing", []byte("v"), expected); !errors.Is(err, storage.ErrKeyNotFound) {
			t.Errorf("Update(expected=%d): err = %v, want ErrKeyNotFound", expected, err)
		}
	}
	if _, err := s.Get(t.Context(), "/missing"); !errors.Is(err, storage.ErrKeyNotFound) {
		t.Errorf("Get after failed Update: err = %v, want ErrKeyNotFound", err)
	}
}

func testUpdateConflict(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r1 := mustCreate(t, s, "/k", "v1")
	kv2, err := s.Update(ctx, "/k", []byte("v2"), r1)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	cur, err := s.Update(ctx, "/k", []byte("v3"), r1)
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale Update: err = %v, want ErrConflict", err)
	}
	want := storage.KV{Key: "/k", Value: []byte("v2"), CreateRevision: r1, ModRevision: kv2.ModRevision}
	checkKV(t, "KV returned with ErrConflict", cur, want)
	checkKV(t, "Get", mustGet(t, s, "/k"), want)
	if rev := mustCurrent(t, s); rev != kv2.ModRevision {
		t.Errorf("CurrentRevision after conflict = %d, want %d", rev, kv2.ModRevision)
	}
}

func testDelete(t *testing.T, s storage.Store) {
	tests := []struct {
		name     string
		expected func(mod int64) int64
	}{
		{"unconditional", func(int64) int64 { return 0 }},
		{"matching precondition", func(mod int64) int64 { return mod }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			key := fmt.Sprintf("/delete/%d", i)
			created := mustCreate(t, s, key, "v1")
			updated, err := s.Update(ctx, key, []byte("v2"), 0)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			kv, err := s.Delete(ctx, key, tc.expected(updated.ModRevision))
			if err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if kv.ModRevision <= updated.ModRevision {
				t.Fatalf("Delete revision %d, want > %d", kv.ModRevision, updated.ModRevision)
			}
			checkKV(t, "Delete result", kv, storage.KV{Key: key, Value: []byte("v2"), CreateRevision: created, ModRevision: kv.ModRevision})
			if _, err := s.Get(ctx, key); !errors.Is(err, storage.ErrKeyNotFound) {
				t.Errorf("Get after Delete: err = %v, want ErrKeyNotFound", err)
			}
			if cur := mustCurrent(t, s); cur != kv.ModRevision {
				t.Errorf("CurrentRevision = %d, want %d", cur, kv.ModRevision)
			}
			again := mustCreate(t, s, key, "v3")
			if again <= kv.ModRevision {
				t.Errorf("re-Create revision %d, want > delete revision %d", again, kv.ModRevision)
			}
			checkKV(t, "Get after re-Create", mustGet(t, s, key), storage.KV{Key: key, Value: []byte("v3"), CreateRevision: again, ModRevision: again})
		})
	}
}

func testDeleteMissing(t *testing.T, s storage.Store) {
	rev := mustCreate(t, s, "/other", "v")
	for _, expected := range []int64{0, rev} {
		if _, err := s.Delete(t.Context(), "/missing", expected); !errors.Is(err, storage.ErrKeyNotFound) {
			t.Errorf("Delete(expected=%d): err = %v, want ErrKeyNotFound", expected, err)
		}
	}
	if cur := mustCurrent(t, s); cur != rev {
		t.Errorf("CurrentRevision = %d, want %d", cur, rev)
	}
}

func testDeleteConflict(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r1 := mustCreate(t, s, "/k", "v1")
	kv2, err := s.Update(ctx, "/k", []byte("v2"), 0)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	cur, err := s.Delete(ctx, "/k", r1)
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale Delete: err = %v, want ErrConflict", err)
	}
	want := storage.KV{Key: "/k", Value: []byte("v2"), CreateRevision: r1, ModRevision: kv2.ModRevision}
	checkKV(t, "KV returned with ErrConflict", cur, want)
	checkKV(t, "Get", mustGet(t, s, "/k"), want)
}

func testRevisionsIncrease(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var last int64
	step := func(what string, rev int64) {
		t.Helper()
		if rev <= last {
			t.Fatalf("%s: revision %d not above previous %d", what, rev, last)
		}
		last = rev
		if cur := mustCurrent(t, s); cur != rev {
			t.Fatalf("%s: CurrentRevision = %d, want %d", what, cur, rev)
		}
	}
	for i := range 5 {
		step("Create /a", mustCreate(t, s, fmt.Sprintf("/a/%d", i), "v"))
		step("Create /b", mustCreate(t, s, fmt.Sprintf("/b/%d", i), "v"))
		kv, err := s.Update(ctx, fmt.Sprintf("/a/%d", i), []byte("w"), 0)
		if err != nil {
			t.Fatal(err)
		}
		step("Update", kv.ModRevision)
		kv, err = s.Delete(ctx, fmt.Sprintf("/b/%d", i), 0)
		if err != nil {
			t.Fatal(err)
		}
		step("Delete", kv.ModRevision)
	}
}

func testPrefixIsolation(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for _, k := range []string{"/a", "/a/1", "/a/2", "/ab/x", "/b/1", "/a0"} {
		mustCreate(t, s, k, k)
	}
	res, err := s.List(ctx, "/a/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got, want := keysOf(res.KVs), []string{"/a/1", "/a/2"}; !slices.Equal(got, want) {
		t.Errorf("List(/a/) keys = %q, want %q", got, want)
	}

	ch, err := s.Watch(ctx, "/a/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	mustCreate(t, s, "/ab/y", "v")
	if _, err := s.Update(ctx, "/a", []byte("w"), 0); err != nil {
		t.Fatalf("Update(/a): %v", err)
	}
	rev := mustCreate(t, s, "/a/3", "v")
	ev := recv(t, ch)
	if ev.KV.Key != "/a/3" || ev.Revision() != rev {
		t.Errorf("first event under /a/ = %s %q@%d, want /a/3@%d", ev.Type, ev.KV.Key, ev.Revision(), rev)
	}
}

func testListOrderAndRevision(t *testing.T, s storage.Store) {
	ctx := t.Context()
	want := map[string]int64{}
	var keys []string
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("/list/ns/obj-%02d", i))
	}
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys {
		want[k] = mustCreate(t, s, k, "value of "+k)
	}
	mustCreate(t, s, "/other/x", "v")
	cur := mustCurrent(t, s)

	res, err := s.List(ctx, "/list/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if res.Revision != cur {
		t.Errorf("List revision = %d, want current %d", res.Revision, cur)
	}
	got := keysOf(res.KVs)
	if !slices.IsSorted(got) || len(got) != len(want) {
		t.Fatalf("List keys = %q, want the %d keys in order", got, len(want))
	}
	for _, kv := range res.KVs {
		checkKV(t, "List item", kv, storage.KV{Key: kv.Key, Value: []byte("value of " + kv.Key), CreateRevision: want[kv.Key], ModRevision: want[kv.Key]})
	}

	empty, err := s.List(ctx, "/none/")
	if err != nil {
		t.Fatalf("List(/none/): %v", err)
	}
	if len(empty.KVs) != 0 || empty.Revision != cur {
		t.Errorf("List(/none/) = %d KVs at %d, want none at %d", len(empty.KVs), empty.Revision, cur)
	}
	all, err := s.List(ctx, "")
	if err != nil {
		t.Fatalf("List(\"\"): %v", err)
	}
	if len(all.KVs) != len(want)+1 {
		t.Errorf("List(\"\") = %d KVs, want %d", len(all.KVs), len(want)+1)
	}
}

func testWatchFromNow(t *testing.T, s storage.Store) {
	for i := range 3 {
		mustCreate(t, s, fmt.Sprintf("/w/old-%d", i), "v")
	}
	ch, err := s.Watch(t.Context(), "/w/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	r1 := mustCreate(t, s, "/w/new-1", "v")
	r2 := mustCreate(t, s, "/w/new-2", "v")
	for _, want := range []int64{r1, r2} {
		if ev := recv(t, ch); ev.Revision() != want || ev.Type != storage.EventPut || ev.PrevKV != nil {
			t.Errorf("event = %s %q@%d prev=%v, want the create at %d", ev.Type, ev.KV.Key, ev.Revision(), ev.PrevKV, want)
		}
	}
}

// testWatchEventContents checks every field of put, update and delete events,
// delivered live and replayed from history.
func testWatchEventContents(t *testing.T, s storage.Store) {
	ctx := t.Context()
	before := mustCreate(t, s, "/e/marker", "m")
	live, err := s.Watch(ctx, "/e/k", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	c := mustCreate(t, s, "/e/k", "v1")
	u, err := s.Update(ctx, "/e/k", []byte("v2"), c)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	d, err := s.Delete(ctx, "/e/k", u.ModRevision)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	want := []storage.Event{
		{Type: storage.EventPut, KV: storage.KV{Key: "/e/k", Value: []byte("v1"), CreateRevision: c, ModRevision: c}},
		{
			Type:   storage.EventPut,
			KV:     storage.KV{Key: "/e/k", Value: []byte("v2"), CreateRevision: c, ModRevision: u.ModRevision},
			PrevKV: &storage.KV{Key: "/e/k", Value: []byte("v1"), CreateRevision: c, ModRevision: c},
		},
		{
			Type:   storage.EventDelete,
			KV:     storage.KV{Key: "/e/k", Value: []byte("v2"), CreateRevision: c, ModRevision: d.ModRevision},
			PrevKV: &storage.KV{Key: "/e/k", Value: []byte("v2"), CreateRevision: c, ModRevision: u.ModRevision},
		},
	}
	replayed, err := s.Watch(ctx, "/e/k", before)
	if err != nil {
		t.Fatalf("Watch from %d: %v", before, err)
	}
	for name, ch := range map[string]<-chan storage.Event{"live": live, "replayed": replayed} {
		for i, w := range want {
			checkEvent(t, fmt.Sprintf("%s event %d", name, i), recv(t, ch), w)
		}
	}
}

// testWatchReplayThenLive starts a watch from an old revision while writers
// run, and checks it sees every later write exactly once, in order.
func testWatchReplayThenLive(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var (
		mu   sync.Mutex
		revs []int64
	)
	write := func(key string) {
		rev, err := s.Create(ctx, key, []byte("v"))
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		revs = append(revs, rev)
		mu.Unlock()
	}
	for i := range 40 {
		write(fmt.Sprintf("/r/before-%02d", i))
	}
	from := revs[9]

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				write(fmt.Sprintf("/r/during-%d-%02d", g, i))
			}
		})
	}
	ch, err := s.Watch(ctx, "/r/", from)
	if err != nil {
		t.Fatalf("Watch from %d: %v", from, err)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	write("/r/last")

	mu.Lock()
	var want []int64
	for _, r := range revs {
		if r > from {
			want = append(want, r)
		}
	}
	mu.Unlock()
	slices.Sort(want)
	var got []int64
	for len(got) < len(want) {
		got = append(got, recv(t, ch).Revision())
	}
	if !slices.Equal(got, want) {
		t.Errorf("watch from %d delivered revisions\n%v\nwant\n%v", from, got, want)
	}
}

func testWatchPrefix(t *testing.T, s storage.Store) {
	ctx := t.Context()
	narrow, err := s.Watch(ctx, "/p/a/", 0)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := s.Watch(ctx, "/p/", 0)
	if err != nil {
		t.Fatal(err)
	}
	var all, underA []int64
	for _, k := range []string{"/p/b/1", "/p/a/1", "/q/a/1", "/p/ab/1", "/p/a/2", "/p/c"} {
		rev := mustCreate(t, s, k, "v")
		if k[:3] == "/p/" {
			all = append(all, rev)
		}
		if len(k) > 5 && k[:5] == "/p/a/" {
			underA = append(underA, rev)
		}
	}
	for name, c := range map[string]struct {
		ch   <-chan storage.Event
		want []int64
	}{"/p/a/": {narrow, underA}, "/p/": {wide, all}} {
		var got []int64
		for range c.want {
			got = append(got, recv(t, c.ch).Revision())
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("watch %s: revisions %v, want %v", name, got, c.want)
		}
	}
}

// testWatchAcknowledgedWrite checks what the API server's watch cache relies
// on: once a write returned revision R, CurrentRevision is ≥ R and a watcher
// registered before the write receives the event for R.
func testWatchAcknowledgedWrite(t *testing.T, s storage.Store) {
	ctx := t.Context()
	ch, err := s.Watch(ctx, "/ack/", 0)
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		revs []int64
	)
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				rev, err := s.Create(ctx, fmt.Sprintf("/ack/%d/%d", g, i), []byte("v"))
				if err != nil {
					t.Error(err)
					return
				}
				if cur, err := s.CurrentRevision(ctx); err != nil || cur < rev {
					t.Errorf("CurrentRevision right after Create returned %d = %d, %v; want ≥ %d", rev, cur, err, rev)
				}
				mu.Lock()
				revs = append(revs, rev)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(revs)
	var got []int64
	for len(got) < len(revs) {
		got = append(got, recv(t, ch).Revision())
	}
	if !slices.Equal(got, revs) {
		t.Errorf("watcher got revisions %v, want %v", got, revs)
	}
}

func testWatchCancel(t *testing.T, s storage.Store) {
	first := mustCreate(t, s, "/c/1", "v")
	mustCreate(t, s, "/c/2", "v")
	mustCreate(t, s, "/c/3", "v")
	tests := []struct {
		name string
		from int64
	}{
		{"live", 0},
		{"from old revision", first},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			ch, err := s.Watch(ctx, "/c/", tc.from)
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			waitClosed(t, ch)
		})
	}
}

func testCompact(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var revs []int64
	for i := range 10 {
		revs = append(revs, mustCreate(t, s, fmt.Sprintf("/cmp/%d", i), fmt.Sprint(i)))
	}
	if err := s.Compact(ctx, revs[5]); err != nil {
		t.Fatalf("Compact(%d): %v", revs[5], err)
	}
	// History of revisions < revs[5] is gone: a watch needing revs[4] fails.
	if _, err := s.Watch(ctx, "/cmp/", revs[4]-1); !errors.Is(err, storage.ErrCompacted) {
		t.Errorf("Watch from %d after Compact(%d): err = %v, want ErrCompacted", revs[4]-1, revs[5], err)
	}
	// A watch from revs[5]-1 still has everything it needs.
	ch, err := s.Watch(ctx, "/cmp/", revs[5]-1)
	if err != nil {
		t.Fatalf("Watch from %d after Compact(%d): %v", revs[5]-1, revs[5], err)
	}
	for _, want := range revs[5:] {
		if ev := recv(t, ch); ev.Revision() != want {
			t.Fatalf("replayed revision %d, want %d", ev.Revision(), want)
		}
	}
	// Current values are kept.
	res, err := s.List(ctx, "/cmp/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(res.KVs) != 10 {
		t.Errorf("List after Compact: %d KVs, want 10", len(res.KVs))
	}
	checkKV(t, "Get after Compact", mustGet(t, s, "/cmp/0"), storage.KV{Key: "/cmp/0", Value: []byte("0"), CreateRevision: revs[0], ModRevision: revs[0]})
	// Compacting to an older revision changes nothing; writes go on.
	if err := s.Compact(ctx, revs[2]); err != nil {
		t.Errorf("Compact(%d) after Compact(%d): %v", revs[2], revs[5], err)
	}
	if _, err := s.Watch(ctx, "/cmp/", revs[5]-1); err != nil {
		t.Errorf("Watch from %d after the older Compact: %v", revs[5]-1, err)
	}
	rev := mustCreate(t, s, "/cmp/after", "v")
	if ev := recv(t, ch); ev.Revision() != rev {
		t.Errorf("live event after Compact at %d, want %d", ev.Revision(), rev)
	}
	if err := s.Compact(ctx, rev); err != nil {
		t.Fatalf("Compact(%d): %v", rev, err)
	}
	if _, err := s.Watch(ctx, "/cmp/", revs[9]-1); !errors.Is(err, storage.ErrCompacted) {
		t.Errorf("Watch from %d after Compact(%d): err = %v, want ErrCompacted", revs[9]-1, rev, err)
	}
}

func testFutureRevision(t *testing.T, s storage.Store) {
	ctx := t.Context()
	rev := mustCreate(t, s, "/f/1", "v")
	if err := s.Compact(ctx, rev+100); !errors.Is(err, storage.ErrFutureRevision) {
		t.Errorf("Compact(%d) at revision %d: err = %v, want ErrFutureRevision", rev+100, rev, err)
	}
	if _, err := s.Watch(ctx, "/f/", rev+100); !errors.Is(err, storage.ErrFutureRevision) {
		t.Errorf("Watch from %d at revision %d: err = %v, want ErrFutureRevision", rev+100, rev, err)
	}
	// Watching from the current revision is "from now".
	ch, err := s.Watch(ctx, "/f/", rev)
	if err != nil {
		t.Fatalf("Watch from current revision %d: %v", rev, err)
	}
	next := mustCreate(t, s, "/f/2", "v")
	if ev := recv(t, ch); ev.Revision() != next {
		t.Errorf("event at %d, want %d", ev.Revision(), next)
	}
}

func testConcurrentWriters(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const writers, each = 32, 25
	revs := make([][]int64, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				rev, err := s.Create(ctx, fmt.Sprintf("/cc/%02d/%02d", g, i), []byte(fmt.Sprint(g, i)))
				if err != nil {
					t.Errorf("writer %d: Create %d: %v", g, i, err)
					return
				}
				revs[g] = append(revs[g], rev)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := map[int64]bool{}
	var maxRev int64
	for g, rs := range revs {
		if !slices.IsSorted(rs) {
			t.Errorf("writer %d saw revisions out of order: %v", g, rs)
		}
		for _, r := range rs {
			if seen[r] {
				t.Errorf("revision %d returned twice", r)
			}
			seen[r] = true
			maxRev = max(maxRev, r)
		}
	}
	if cur := mustCurrent(t, s); cur < maxRev {
		t.Errorf("CurrentRevision = %d, below the highest returned revision %d", cur, maxRev)
	}
	res, err := s.List(ctx, "/cc/")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.KVs) != writers*each {
		t.Fatalf("List: %d KVs, want %d", len(res.KVs), writers*each)
	}
	for _, kv := range res.KVs {
		var g, i int
		if _, err := fmt.Sscanf(kv.Key, "/cc/%d/%d", &g, &i); err != nil {
			t.Fatalf("unexpected key %q", kv.Key)
		}
		if kv.ModRevision != revs[g][i] || kv.CreateRevision != revs[g][i] {
			t.Errorf("%s: revisions %d/%d, Create returned %d", kv.Key, kv.CreateRevision, kv.ModRevision, revs[g][i])
		}
	}
}

// testConcurrentPreconditions races writers on one key: exactly one wins each
// round, the others see the winner's state.
func testConcurrentPreconditions(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const n = 32
	race := func(f func(g int) (storage.KV, error)) (winners []storage.KV, losers []storage.KV, errs []error) {
		var (
			mu sync.Mutex
			wg sync.WaitGroup
		)
		for g := range n {
			wg.Go(func() {
				kv, err := f(g)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					winners = append(winners, kv)
				} else {
					losers = append(losers, kv)
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		return winners, losers, errs
	}

	winners, _, errs := race(func(g int) (storage.KV, error) {
		rev, err := s.Create(ctx, "/pc/k", []byte(fmt.Sprint(g)))
		return storage.KV{ModRevision: rev}, err
	})
	if len(winners) != 1 {
		t.Fatalf("concurrent Create: %d winners, want 1", len(winners))
	}
	for _, err := range errs {
		if !errors.Is(err, storage.ErrKeyExists) {
			t.Errorf("losing Create: err = %v, want ErrKeyExists", err)
		}
	}
	created := winners[0].ModRevision

	winners, losers, errs := race(func(g int) (storage.KV, error) {
		return s.Update(ctx, "/pc/k", []byte(fmt.Sprint("u", g)), created)
	})
	if len(winners) != 1 {
		t.Fatalf("concurrent Update: %d winners, want 1", len(winners))
	}
	for i, err := range errs {
		if !errors.Is(err, storage.ErrConflict) {
			t.Errorf("losing Update: err = %v, want ErrConflict", err)
			continue
		}
		if losers[i].ModRevision != winners[0].ModRevision || !bytes.Equal(losers[i].Value, winners[0].Value) {
			t.Errorf("losing Update got current KV %q@%d, want the winner's %q@%d",
				losers[i].Value, losers[i].ModRevision, winners[0].Value, winners[0].ModRevision)
		}
	}

	winners, _, errs = race(func(int) (storage.KV, error) {
		return s.Delete(ctx, "/pc/k", 0)
	})
	if len(winners) != 1 {
		t.Fatalf("concurrent Delete: %d winners, want 1", len(winners))
	}
	for _, err := range errs {
		if !errors.Is(err, storage.ErrKeyNotFound) {
			t.Errorf("losing Delete: err = %v, want ErrKeyNotFound", err)
		}
	}
}

func mustCreate(t *testing.T, s storage.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Create(t.Context(), key, []byte(value))
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return rev
}

func mustGet(t *testing.T, s storage.Store, key string) storage.KV {
	t.Helper()
	kv, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return kv
}

func mustCurrent(t *testing.T, s storage.Store) int64 {
	t.Helper()
	rev, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatalf("CurrentRevision: %v", err)
	}
	return rev
}

func keysOf(kvs []storage.KV) []string {
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = kv.Key
	}
	return keys
}

func checkKV(t *testing.T, what string, got, want storage.KV) {
	t.Helper()
	if got.Key != want.Key || !bytes.Equal(got.Value, want.Value) ||
		got.CreateRevision != want.CreateRevision || got.ModRevision != want.ModRevision {
		t.Errorf("%s = %s, want %s", what, fmtKV(&got), fmtKV(&want))
	}
}

func checkEvent(t *testing.T, what string, got, want storage.Event) {
	t.Helper()
	if got.Type != want.Type {
		t.Errorf("%s: type %s, want %s", what, got.Type, want.Type)
	}
	checkKV(t, what+" KV", got.KV, want.KV)
	switch {
	case want.PrevKV == nil && got.PrevKV != nil:
		t.Errorf("%s: PrevKV = %s, want nil", what, fmtKV(got.PrevKV))
	case want.PrevKV != nil && got.PrevKV == nil:
		t.Errorf("%s: PrevKV = nil, want %s", what, fmtKV(want.PrevKV))
	case want.PrevKV != nil:
		checkKV(t, what+" PrevKV", *got.PrevKV, *want.PrevKV)
	}
}

func fmtKV(kv *storage.KV) string {
	return fmt.Sprintf("{%q=%q create=%d mod=%d}", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision)
}

// recv returns the next event of ch, failing the test if ch closes or nothing
// arrives within eventTimeout.
func recv(t *testing.T, ch <-chan storage.Event) storage.Event {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed, want an event")
		}
		return ev
	case <-timer.C:
		t.Fatalf("no event within %s", eventTimeout)
	}
	return storage.Event{}
}

// waitClosed drains ch until it closes, failing after eventTimeout.
func waitClosed(t *testing.T, ch <-chan storage.Event) {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("watch channel still open after %s", eventTimeout)
		}
	}
}
