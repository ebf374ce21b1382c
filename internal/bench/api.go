// Package bench measures clusters. It talks to them only through client-go,
// so the same run measures Sampan and any upstream cluster side by side.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Defaults of APIConfig's fields.
const (
	DefaultObjects       = 2000
	DefaultPhaseDuration = 2 * time.Second
	DefaultListSize      = 10000
	DefaultListRepeats   = 5
	DefaultWatchers      = 100
	DefaultWatchWrites   = 500
	DefaultCleanupWait   = 30 * time.Second
)

// DefaultConcurrency returns the default APIConfig.Concurrency.
func DefaultConcurrency() []int { return []int{1, 8, 32} }

// APIConfig says what RunAPI measures. Zero fields take the defaults named
// on them; a negative ListSize or Watchers skips that part.
type APIConfig struct {
	// Concurrency lists the numbers of concurrent clients of the
	// create/get/list/update/delete phases (default 1, 8, 32).
	Concurrency []int `json:"concurrency"`
	// Objects is the number of operations of each such phase (default 2000).
	Objects int `json:"objects"`
	// PhaseDuration bounds each timed phase: no operation starts after it
	// (default 2s). Get, update and delete work on the objects the phase's
	// create made in that time.
	PhaseDuration time.Duration `json:"phaseDurationNs"`
	// ListSize is the number of pods of the full-LIST phase (default 10000),
	// ListRepeats how many full LISTs it times (default 5).
	ListSize    int `json:"listSize"`
	ListRepeats int `json:"listRepeats"`
	// Watchers is the number of watchers of the fan-out phase (default 100),
	// WatchWrites the number of ConfigMaps then written (default 500,
	// bounded by PhaseDuration).
	Watchers    int `json:"watchers"`
	WatchWrites int `json:"watchWrites"`
	// Namespace holds the objects. Empty: a fresh sampan-bench-<random>
	// namespace, deleted at the end. A namespace that does not exist is
	// created and deleted; an existing one is kept, only the benchmark's
	// own objects are deleted.
	Namespace string `json:"namespace,omitempty"`
	// CleanupWait is how long to wait for a deleted namespace to go
	// (default 30s).
	CleanupWait time.Duration `json:"cleanupWaitNs"`
}

func (c APIConfig) withDefaults() (APIConfig, error) {
	if len(c.Concurrency) == 0 {
		c.Concurrency = DefaultConcurrency()
	}
	c.Concurrency = slices.Clone(c.Concurrency)
	for _, n := range c.Concurrency {
		if n < 1 {
			return c, fmt.Errorf("concurrency %d is not positive", n)
		}
	}
	if c.Objects < 0 {
		return c, fmt.Errorf("objects %d is negative", c.Objects)
	}
	if c.Objects == 0 {
		c.Objects = DefaultObjects
	}
	if c.PhaseDuration <= 0 {
		c.PhaseDuration = DefaultPhaseDuration
	}
	if c.ListSize == 0 {
		c.ListSize = DefaultListSize
	}
	if c.ListRepeats <= 0 {
		c.ListRepeats = DefaultListRepeats
	}
	if c.Watchers == 0 {
		c.Watchers = DefaultWatchers
	}
	if c.WatchWrites <= 0 {
		c.WatchWrites = DefaultWatchWrites
	}
	if c.CleanupWait <= 0 {
		c.CleanupWait = DefaultCleanupWait
	}
	return c, nil
}

func (c APIConfig) maxConcurrency() int { return slices.Max(c.Concurrency) }

// apiBench is one RunAPI run.
type apiBench struct {
	client kubernetes.Interface
	m      *meter
	opts   APIConfig
	ns     string
	run    string // value of labelRun on every object of this run
	report *APIReport
	table  *tableWriter
}

// RunAPI measures the API server cfg points at: create, get, list, update
// and delete of ConfigMaps and Pods at each concurrency, full LISTs of many
// pods and watch fan-out. It prints each row to out as it is measured and
// deletes everything it created, even when ctx ends early. On error it
// returns what it measured so far with the error.
func RunAPI(ctx context.Context, cfg *rest.Config, opts APIConfig, out io.Writer) (*APIReport, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("checking options: %w", err)
	}
	m := &meter{}
	idle := max(25, opts.maxConcurrency()+8)
	ccfg := m.clientConfig(cfg, idle)
	httpClient, err := rest.HTTPClientFor(ccfg)
	if err != nil {
		return nil, fmt.Errorf("building HTTP client: %w", err)
	}
	defer httpClient.CloseIdleConnections()
	client, err := kubernetes.NewForConfigAndClient(ccfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building client: %w", err)
	}
	b := &apiBench{
		client: client, m: m, opts: opts,
		run:    strings.ToLower(utilrand.String(6)),
		report: &APIReport{Server: cfg.Host, Started: time.Now(), Config: opts},
		table:  &tableWriter{w: out},
	}
	defer func() { b.report.Seconds = time.Since(b.report.Started).Seconds() }()

	v, err := client.Discovery().ServerVersion()
	if err != nil {
		return b.report, fmt.Errorf("getting server version: %w", err)
	}
	b.report.ServerVersion = v.GitVersion
	b.report.Protocol = m.protocol()

	owned, err := b.setupNamespace(ctx)
	if err != nil {
		return b.report, err
	}
	b.table.header(b.report)

	runErr := b.runPhases(ctx)

	// Clean up even if ctx has ended, within a bound of its own.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute+opts.CleanupWait)
	defer cancel()
	cleanErr := b.cleanup(cctx, owned)
	b.report.Connections = m.dials.Load()
	b.report.Seconds = time.Since(b.report.Started).Seconds()
	b.table.footer(b.report)
	return b.report, errors.Join(runErr, cleanErr, b.table.err)
}

func (b *apiBench) runPhases(ctx context.Context) error {
	for _, c := range b.opts.Concurrency {
		crudPhases(ctx, b, "ConfigMap", c, b.client.CoreV1().ConfigMaps(b.ns), b.newConfigMap,
			func(cm *corev1.ConfigMap, i int) { cm.Data["payload"] = payload(i+1_000_000, configMapPayloadSize) },
			metav1.DeleteOptions{})
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	b.waitPodAdmission(ctx)
	zero := int64(0)
	for _, c := range b.opts.Concurrency {
		crudPhases(ctx, b, "Pod", c, b.client.CoreV1().Pods(b.ns), b.newPod,
			func(p *corev1.Pod, i int) { p.Annotations["bench.sampan.dev/updated"] = fmt.Sprint(i) },
			metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if b.opts.ListSize > 0 {
		if err := b.listPhase(ctx); err != nil {
			return err
		}
	}
	if b.opts.Watchers > 0 {
		if err := b.watchPhase(ctx); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (b *apiBench) newConfigMap(name, phase string, i int) *corev1.ConfigMap {
	return newConfigMap(b.ns, name, b.run, phase, i)
}

func (b *apiBench) newPod(name, phase string, i int) *corev1.Pod {
	return newPod(b.ns, name, b.run, phase, i)
}

// selector selects this run's objects of one phase ("" for all of them).
func (b *apiBench) selector(phase string) string {
	if phase == "" {
		return labelRun + "=" + b.run
	}
	return labelRun + "=" + b.run + "," + labelPhase + "=" + phase
}

// add records a row and prints it.
func (b *apiBench) add(r APIResult) {
	b.report.Results = append(b.report.Results, r)
	b.table.row(r)
}

// timed runs a phase with the meter's peak reset around it.
func (b *apiBench) timed(ctx context.Context, c, n int, bound time.Duration, op func(ctx context.Context, i int) error) (phaseStats, int64) {
	b.m.resetPeak()
	st := runPhase(ctx, c, n, bound, op)
	return st, b.m.peak.Load()
}

// setupNamespace creates the benchmark's namespace if needed and reports
// whether the benchmark owns it (and so deletes it at the end).
func (b *apiBench) setupNamespace(ctx context.Context) (bool, error) {
	name := b.opts.Namespace
	if name == "" {
		name = "sampan-bench-" + b.run
	} else {
		_, err := b.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			b.ns, b.report.Namespace = name, name
			return false, nil
		}
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("getting namespace %s: %w", name, err)
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelRun: b.run}}}
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return false, fmt.Errorf("creating namespace %s: %w", name, err)
	}
	b.ns, b.report.Namespace = name, name
	return true, nil
}

// waitPodAdmission waits until the namespace accepts pods: upstream
// admission rejects them until the namespace's default ServiceAccount
// exists. It tries a dry-run create for a while and notes if that never
// succeeded; the pod phases then report the errors.
func (b *apiBench) waitPodAdmission(ctx context.Context) {
	pods := b.client.CoreV1().Pods(b.ns)
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, last = pods.Create(ctx, b.newPod("preflight", "preflight", 0), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return last == nil, nil
	})
	if err != nil && ctx.Err() == nil {
		b.report.Notes = append(b.report.Notes, fmt.Sprintf("pods were not accepted within 30s: %v", last))
	}
}

// typedClient is the part of a client-go typed client the CRUD phases use.
type typedClient[T metav1.Object, L runtime.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// crudPhases measures create, get, list, update and delete of up to
// b.opts.Objects objects of one kind at concurrency c, then deletes any
// object the timed delete left.
func crudPhases[T metav1.Object, L runtime.Object](ctx context.Context, b *apiBench, kind string, c int,
	client typedClient[T, L], newObj func(name, phase string, i int) T, mutate func(T, int), delOpts metav1.DeleteOptions,
) {
	phase := fmt.Sprintf("%s-c%d", strings.ToLower(kind), c)
	n := b.opts.Objects
	bound := b.opts.PhaseDuration
	objs := make([]T, n)
	created := make([]bool, n)
	name := func(i int) string { return fmt.Sprintf("%s-%06d", phase, i) }

	st, peak := b.timed(ctx, c, n, bound, func(ctx context.Context, i int) error {
		obj, err := client.Create(ctx, newObj(name(i), phase, i), metav1.CreateOptions{})
		if err != nil {
			return err
		}
		objs[i], created[i] = obj, true
		return nil
	})
	b.addPhase(st, peak, "crud", "create", kind, c)
	if ctx.Err() != nil {
		return // the run ends; its cleanup deletes the objects
	}
	var live []int
	for i, ok := range created {
		if ok {
			live = append(live, i)
		}
	}

	st, peak = b.timed(ctx, c, len(live), bound, func(ctx context.Context, j int) error {
		_, err := client.Get(ctx, name(live[j]), metav1.GetOptions{})
		return err
	})
	b.addPhase(st, peak, "crud", "get", kind, c)
	if ctx.Err() != nil {
		return
	}

	var items atomic.Int64 // of the last list, which all return len(live) items or fail
	st, peak = b.timed(ctx, c, n, bound, func(ctx context.Context, _ int) error {
		list, err := client.List(ctx, metav1.ListOptions{LabelSelector: b.selector(phase)})
		if err != nil {
			return err
		}
		got := meta.LenList(list)
		if got != len(live) {
			return fmt.Errorf("listing %s: got %d items, want %d", kind, got, len(live))
		}
		items.Store(int64(got))
		return nil
	})
	r := st.result("crud", "list", kind, c)
	r.PeakInFlight, r.Items = peak, int(items.Load())
	b.checkInFlight(r)
	b.add(r)
	if ctx.Err() != nil {
		return
	}

	st, peak = b.timed(ctx, c, len(live), bound, func(ctx context.Context, j int) error {
		obj := objs[live[j]]
		mutate(obj, live[j])
		_, err := client.Update(ctx, obj, metav1.UpdateOptions{})
		return err
	})
	b.addPhase(st, peak, "crud", "update", kind, c)
	if ctx.Err() != nil {
		return
	}

	deleted := make([]bool, len(live))
	st, peak = b.timed(ctx, c, len(live), bound, func(ctx context.Context, j int) error {
		if err := client.Delete(ctx, name(live[j]), delOpts); err != nil {
			return err
		}
		deleted[j] = true
		return nil
	})
	b.addPhase(st, peak, "crud", "delete", kind, c)

	// Untimed: delete what the timed delete did not reach, so the next
	// phase starts from an empty namespace.
	var left []int
	for j, ok := range deleted {
		if !ok {
			left = append(left, live[j])
		}
	}
	runPhase(ctx, max(c, 8), len(left), 0, func(ctx context.Context, j int) error {
		err := client.Delete(ctx, name(left[j]), delOpts)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

func (b *apiBench) addPhase(st phaseStats, peak int64, phase, verb, kind string, c int) {
	r := st.result(phase, verb, kind, c)
	r.PeakInFlight = peak
	b.checkInFlight(r)
	b.add(r)
}

// checkInFlight notes a phase whose requests were not as concurrent as asked.
func (b *apiBench) checkInFlight(r APIResult) {
	if r.Ops >= 4*r.Concurrency && r.PeakInFlight < int64(r.Concurrency) {
		b.report.Notes = append(b.report.Notes, fmt.Sprintf("%s %s at concurrency %d: only %d requests were ever in flight at once",
			r.Verb, r.Kind, r.Concurrency, r.PeakInFlight))
	}
}
