package bench

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// opTimeout bounds one API request, so that a stuck server ends a phase
// with errors instead of hanging the run.
const opTimeout = 30 * time.Second

// phaseStats is what one timed phase measured.
type phaseStats struct {
	ops       int             // successful operations
	errors    int             // failed operations
	firstErr  error           // the first failure, for the report
	elapsed   time.Duration   // wall time from the first start to the last end
	latencies []time.Duration // of successful operations
}

// runPhase calls op(ctx, i) for i in [0, n) from c concurrent workers. A
// worker takes no new index once bound has passed (bound <= 0: no bound) or
// ctx has ended. Indexes are handed out in order, so op may write slot i of
// a slice without locking.
func runPhase(ctx context.Context, c, n int, bound time.Duration, op func(ctx context.Context, i int) error) phaseStats {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		st       phaseStats
		wg       sync.WaitGroup
		deadline time.Time
	)
	start := time.Now()
	if bound > 0 {
		deadline = start.Add(bound)
	}
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var errs int
			var first error
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				octx, cancel := context.WithTimeout(ctx, opTimeout)
				t0 := time.Now()
				err := op(octx, i)
				d := time.Since(t0)
				cancel()
				if err != nil {
					if ctx.Err() != nil {
						break // cancelled by the caller, not a failure of the server
					}
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, d)
			}
			mu.Lock()
			st.latencies = append(st.latencies, lat...)
			st.errors += errs
			if st.firstErr == nil {
				st.firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	st.ops = len(st.latencies)
	return st
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, or 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(len(sorted)) * p / 100))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// result turns phase statistics into a report row.
func (st phaseStats) result(phase, verb, kind string, concurrency int) APIResult {
	slices.Sort(st.latencies)
	r := APIResult{
		Phase: phase, Verb: verb, Kind: kind, Concurrency: concurrency,
		Ops: st.ops, Errors: st.errors,
		Seconds: st.elapsed.Seconds(),
		P50Ms:   ms(percentile(st.latencies, 50)),
		P99Ms:   ms(percentile(st.latencies, 99)),
	}
	if st.elapsed > 0 {
		r.OpsPerSec = float64(st.ops) / st.elapsed.Seconds()
	}
	if st.firstErr != nil {
		r.FirstError = st.firstErr.Error()
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
