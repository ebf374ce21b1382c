package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
)

const (
	watchPhaseLabel = "watch"
	watchSyncName   = "watch-sync"
	// watchSetupTimeout bounds waiting for every watcher to be live, and
	// waiting for the last events after the writes.
	watchSetupTimeout = 30 * time.Second
)

// watcher is one watch of the fan-out phase. Only its own goroutine writes
// its fields until the phase has waited for it.
type watcher struct {
	recv   []time.Time // receipt of write i's event
	err    error       // why the watch ended early
	synced bool
}

// watchPhase opens b.opts.Watchers watches on the namespace's benchmark
// ConfigMaps, makes sure every one is live, then creates up to
// b.opts.WatchWrites ConfigMaps one after the other. It reports the writes
// and, for the watch, events delivered per second and the delay from each
// write's acknowledgement to each watcher's receipt of its event (zero when
// the event arrived first).
func (b *apiBench) watchPhase(ctx context.Context) error {
	nw, n := b.opts.Watchers, b.opts.WatchWrites
	cms := b.client.CoreV1().ConfigMaps(b.ns)
	sel := b.selector(watchPhaseLabel)
	name := func(i int) string { return fmt.Sprintf("watch-%06d", i) }

	wctx, stop := context.WithCancel(ctx)
	b.m.resetPeak()
	var (
		delivered atomic.Int64
		synced    atomic.Int64
		wg        sync.WaitGroup
	)
	watchers := make([]*watcher, nw)
	for k := range watchers {
		w := &watcher{recv: make([]time.Time, n)}
		watchers[k] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(wctx, cms, sel, &delivered, &synced)
		}()
	}
	defer func() { stop(); wg.Wait() }()

	// A watch is live once it has seen the sync object. Touch it until every
	// watcher has, so that this works whether or not a watch without a
	// resourceVersion starts with the existing objects.
	syncObj := newConfigMap(b.ns, watchSyncName, b.run, watchPhaseLabel, 0)
	if _, err := cms.Create(ctx, syncObj, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating watch sync object: %w", err)
	}
	touches := 0
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, watchSetupTimeout, true, func(ctx context.Context) (bool, error) {
		if synced.Load() == int64(nw) {
			return true, nil
		}
		touches++
		if touches%5 == 0 { // every half second
			cur, err := cms.Get(ctx, watchSyncName, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			cur.Annotations = map[string]string{"bench.sampan.dev/touch": strconv.Itoa(touches)}
			_, _ = cms.Update(ctx, cur, metav1.UpdateOptions{}) // a conflict or error: the next touch retries
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %d watchers (%d live): %w", nw, synced.Load(), err)
	}

	acked := make([]time.Time, n)
	start := time.Now()
	st, peak := b.timed(ctx, 1, n, b.opts.PhaseDuration, func(ctx context.Context, i int) error {
		_, err := cms.Create(ctx, newConfigMap(b.ns, name(i), b.run, watchPhaseLabel, i), metav1.CreateOptions{})
		if err == nil {
			acked[i] = time.Now()
		}
		return err
	})
	b.addPhase(st, peak, "watch", "create", "ConfigMap", 1)
	want := int64(nw) * int64(st.ops)
	// Wait for the last events; a missing one ends this at the timeout and
	// counts as an error.
	_ = wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, watchSetupTimeout, true, func(context.Context) (bool, error) {
		return delivered.Load() >= want, nil
	})
	stop()
	wg.Wait()

	r := APIResult{Phase: "watch", Verb: "watch", Kind: "ConfigMap", Concurrency: nw, PeakInFlight: b.m.peak.Load()}
	delays := make([]time.Duration, 0, want)
	var last time.Time
	for _, w := range watchers {
		if w.err != nil {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = w.err.Error()
			}
		}
		for i, at := range acked {
			if at.IsZero() {
				continue
			}
			got := w.recv[i]
			if got.IsZero() {
				r.Errors++
				continue
			}
			if got.After(last) {
				last = got
			}
			delays = append(delays, max(0, got.Sub(at)))
		}
	}
	if r.FirstError == "" && r.Errors > 0 {
		r.FirstError = fmt.Sprintf("%d events were never delivered", r.Errors)
	}
	slices.Sort(delays)
	r.Ops = len(delays)
	if elapsed := last.Sub(start); elapsed > 0 {
		r.Seconds = elapsed.Seconds()
		r.OpsPerSec = float64(r.Ops) / r.Seconds
	}
	r.P50Ms, r.P99Ms = ms(percentile(delays, 50)), ms(percentile(delays, 99))
	b.add(r)
	return ctx.Err()
}

// watchClient is the part of the ConfigMap client a watcher uses.
type watchClient interface {
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// run watches until ctx ends, stamping the receipt of each write's ADDED
// event and counting it in delivered; it counts itself in synced on its
// first event of the sync object.
func (w *watcher) run(ctx context.Context, client watchClient, sel string, delivered, synced *atomic.Int64) {
	wi, err := client.Watch(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		if ctx.Err() == nil {
			w.err = fmt.Errorf("starting watch: %w", err)
		}
		return
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-wi.ResultChan():
			now := time.Now()
			if !ok {
				if ctx.Err() == nil {
					w.err = fmt.Errorf("watch closed by the server")
				}
				return
			}
			switch ev.Type {
			case watch.Error:
				w.err = fmt.Errorf("watching configmaps: %w", apierrors.FromObject(ev.Object))
				return
			case watch.Added, watch.Modified:
			default:
				continue
			}
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				continue
			}
			if cm.Name == watchSyncName {
				if !w.synced {
					w.synced = true
					synced.Add(1)
				}
				continue
			}
			if ev.Type != watch.Added {
				continue
			}
			i, err := strconv.Atoi(strings.TrimPrefix(cm.Name, "watch-"))
			if err != nil || i < 0 || i >= len(w.recv) || !w.recv[i].IsZero() {
				continue
			}
			w.recv[i] = now
			delivered.Add(1)
		}
	}
}
