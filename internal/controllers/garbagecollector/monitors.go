package garbagecollector

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// monitor watches the metadata of one resource and feeds the graph.
type monitor struct {
	informer cache.SharedIndexInformer
	cancel   context.CancelFunc
	done     chan struct{}
}

// deletableResources lists the preferred version of every resource that can
// be listed, watched and deleted, with its kind. When some groups fail to
// answer, it returns the rest along with the error.
func (gc *GarbageCollector) deletableResources(ctx context.Context) (map[schema.GroupVersionResource]string, error) {
	lists, err := discovery.ServerPreferredResourcesWithContext(ctx, discovery.ToDiscoveryInterfaceWithContext(gc.cfg.Discovery))
	if err != nil {
		err = fmt.Errorf("discovering resources: %w", err)
	}
	out := map[schema.GroupVersionResource]string{}
	for _, l := range discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"delete", "list", "watch"}}, lists) {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			err = errors.Join(err, fmt.Errorf("parsing group version %q: %w", l.GroupVersion, perr))
			continue
		}
		for _, r := range l.APIResources {
			if gc.ignored(gv.WithResource(r.Name).GroupResource()) {
				continue
			}
			out[gv.WithResource(r.Name)] = r.Kind
		}
	}
	return out, err
}

// resync reads discovery again, starts watching new resources and, when
// discovery answered in full, stops watching resources it no longer lists.
func (gc *GarbageCollector) resync(ctx context.Context) error {
	resources, err := gc.deletableResources(ctx)
	if err != nil && ctx.Err() == nil {
		gc.log.Warn("discovery failed; watching what it did return", "err", err, "resources", len(resources))
	}
	gc.mu.Lock()
	changed := false
	for gvr, kind := range resources {
		if _, ok := gc.monitors[gvr]; !ok && ctx.Err() == nil {
			gc.monitors[gvr] = gc.startMonitor(ctx, gvr, kind)
			changed = true
		}
	}
	var removed []*monitor
	if err == nil {
		for gvr, m := range gc.monitors {
			if _, ok := resources[gvr]; !ok {
				removed = append(removed, m)
				delete(gc.monitors, gvr)
				changed = true
			}
		}
	}
	gc.mu.Unlock()
	for _, m := range removed {
		m.stop()
		// The resource is gone and so are its objects.
		for _, obj := range m.informer.GetStore().List() {
			if acc, aerr := meta.Accessor(obj); aerr == nil {
				gc.enqueue(gc.graph.remove(acc.GetUID()))
			}
		}
	}
	if changed {
		gc.mapper.Reset()
		gc.log.Debug("watched resources changed", "resources", gc.monitorCount())
	}
	return err
}

// startMonitor starts an informer on the metadata of one resource.
func (gc *GarbageCollector) startMonitor(ctx context.Context, gvr schema.GroupVersionResource, kind string) *monitor {
	inf := metadatainformer.NewFilteredMetadataInformer(gc.cfg.Metadata, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	// The graph needs only identity, owners, finalizers and deletion state.
	_ = inf.SetTransform(func(obj any) (any, error) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			m.ManagedFields = nil
			m.Annotations = nil
			m.Labels = nil
		}
		return obj, nil
	})
	apiVersion := gvr.GroupVersion().String()
	observe := func(obj any) {
		acc, err := meta.Accessor(obj)
		if err != nil {
			return
		}
		ref := objectRef{APIVersion: apiVersion, Kind: kind, Namespace: acc.GetNamespace(), Name: acc.GetName(), UID: acc.GetUID()}
		gc.enqueue(gc.graph.observe(ref, acc))
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj any) { observe(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if acc, err := meta.Accessor(obj); err == nil {
				gc.enqueue(gc.graph.remove(acc.GetUID()))
			}
		},
	})
	mctx, cancel := context.WithCancel(ctx)
	m := &monitor{informer: inf, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		inf.RunWithContext(mctx)
	}()
	return m
}

func (m *monitor) stop() {
	m.cancel()
	<-m.done
}

func (gc *GarbageCollector) stopMonitors() {
	gc.mu.Lock()
	ms := gc.monitors
	gc.monitors = map[schema.GroupVersionResource]*monitor{}
	gc.mu.Unlock()
	for _, m := range ms {
		m.cancel()
	}
	for _, m := range ms {
		<-m.done
	}
}

func (gc *GarbageCollector) hasMonitors() bool { return gc.monitorCount() > 0 }

func (gc *GarbageCollector) monitorCount() int {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	return len(gc.monitors)
}

// waitForSync waits until every informer has listed once, SyncTimeout
// passes or ctx ends. It reports whether all synced.
func (gc *GarbageCollector) waitForSync(ctx context.Context) bool {
	gc.mu.Lock()
	synced := make([]cache.InformerSynced, 0, len(gc.monitors))
	for _, m := range gc.monitors {
		synced = append(synced, m.informer.HasSynced)
	}
	gc.mu.Unlock()
	stop, finished := make(chan struct{}), make(chan struct{})
	defer close(finished)
	go func() {
		defer close(stop)
		select {
		case <-ctx.Done():
		case <-gc.cfg.Clock.After(gc.cfg.SyncTimeout):
		case <-finished:
		}
	}()
	return cache.WaitForCacheSync(stop, synced...)
}
