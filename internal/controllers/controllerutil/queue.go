package controllerutil

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// Queue is a rate-limited queue of object keys ("ns/name" or "name").
type Queue = workqueue.TypedRateLimitingInterface[string]

// NewQueue returns a named queue whose delays run on clk, with per-item
// exponential backoff from 5 ms to 1000 s (upstream controllers' default).
func NewQueue(name string, clk clock.WithTicker) Queue {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, 1000*time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name, Clock: clk},
	)
}

// KeyOf returns the queue key of an informer object, including the
// DeletedFinalStateUnknown tombstones informers hand to delete handlers.
func KeyOf(obj any) (string, bool) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return key, err == nil
}

// Enqueuer returns informer handlers that add every object's key to q.
func Enqueuer(q Queue) cache.ResourceEventHandlerFuncs {
	add := func(obj any) {
		if key, ok := KeyOf(obj); ok {
			q.Add(key)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
		DeleteFunc: add,
	}
}

// SyncFunc brings the object named by key to its desired state.
type SyncFunc func(ctx context.Context, key string) error

// RunWorkers processes q with n goroutines until ctx ends, then shuts q
// down and waits for the workers. A sync that fails is retried with
// backoff; one that succeeds resets the item's backoff.
func RunWorkers(ctx context.Context, q Queue, n int, syncFn SyncFunc, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	go func() {
		<-ctx.Done()
		q.ShutDown()
	}()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for processNext(ctx, q, syncFn, logger) {
			}
		}()
	}
	wg.Wait()
}

func processNext(ctx context.Context, q Queue, syncFn SyncFunc, logger *slog.Logger) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	if err := syncFn(ctx, key); err != nil {
		if ctx.Err() != nil {
			return true
		}
		logger.Info("sync failed, will retry", "key", key, "err", err)
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
}

// WaitForSync waits for informers to fill; false when ctx ended first.
func WaitForSync(ctx context.Context, synced ...cache.InformerSynced) bool {
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}
