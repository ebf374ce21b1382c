package bolt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// benchWriters is the number of concurrent writers BenchmarkCreateParallel
// aims for, whatever GOMAXPROCS is.
const benchWriters = 32

// BenchmarkCreateParallel measures group-committed creates of 1 KiB values
// from ~32 goroutines, fsync on every commit.
func BenchmarkCreateParallel(b *testing.B) {
	s := openTest(b, Config{})
	value := make([]byte, 1024)
	var seq atomic.Int64
	commits := s.commits.Load()
	b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			key := fmt.Sprintf("/bench/ns/obj-%09d", seq.Add(1))
			if _, err := s.Create(ctx, key, value); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	if n := s.commits.Load() - commits; n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "ops/commit")
	}
}

// BenchmarkUpdateParallel measures unconditional updates of 1 KiB values to
// 1,000 existing keys from ~32 goroutines: the steady state of a cluster,
// where the file no longer grows and commits rewrite allocated blocks.
func BenchmarkUpdateParallel(b *testing.B) {
	s := openTest(b, Config{})
	keys := fill(b, s, "/bench/upd/", 1_000)
	value := make([]byte, 1024)
	var seq atomic.Int64
	b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := keys[int(seq.Add(1))%len(keys)]
			if _, err := s.Update(context.Background(), key, value, 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkCreateSerial measures creates from one goroutine: every create is
// its own commit, so this is the latency of one fsynced bbolt commit.
func BenchmarkCreateSerial(b *testing.B) {
	s := openTest(b, Config{})
	value := make([]byte, 1024)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Create(ctx, fmt.Sprintf("/bench/ns/obj-%09d", i), value); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

// fill creates n keys with 1 KiB values under prefix, concurrently.
func fill(b *testing.B, s *Store, prefix string, n int) []string {
	b.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sobj-%06d", prefix, i)
	}
	value := make([]byte, 1024)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if _, err := s.Create(context.Background(), keys[i], value); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return keys
}

// BenchmarkGet reads random keys of 1 KiB among 10,000.
func BenchmarkGet(b *testing.B) {
	s := openTest(b, Config{})
	keys := fill(b, s, "/bench/get/", 10_000)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := s.Get(ctx, keys[r.IntN(len(keys))]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList lists a prefix of 10,000 keys with 1 KiB values.
func BenchmarkList(b *testing.B) {
	s := openTest(b, Config{})
	fill(b, s, "/bench/list/", 10_000)
	fill(b, s, "/bench/other/", 1_000)
	ctx := context.Background()
	for b.Loop() {
		res, err := s.List(ctx, "/bench/list/")
		if err != nil {
			b.Fatal(err)
		}
		if len(res.KVs) != 10_000 {
			b.Fatalf("listed %d keys, want 10000", len(res.KVs))
		}
	}
}

// BenchmarkWatchFanout measures create latency with a live watcher on the
// whole keyspace, as the API server's watch cache keeps one.
func BenchmarkWatchFanout(b *testing.B) {
	s := openTest(b, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx, "/", 0)
	if err != nil {
		b.Fatal(err)
	}
	var received atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch {
			received.Add(1)
		}
	}()
	value := make([]byte, 1024)
	var seq atomic.Int64
	b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Create(context.Background(), fmt.Sprintf("/bench/w/%09d", seq.Add(1)), value); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	cancel()
	<-done
	if got := received.Load(); got != int64(b.N) {
		b.Errorf("watcher received %d events, want %d (it fell behind)", got, b.N)
	}
}
