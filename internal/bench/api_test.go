package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// rowKey names a report row.
type rowKey struct {
	phase, verb, kind string
	concurrency       int
}

func rowsByKey(t *testing.T, rep *APIReport) map[rowKey]APIResult {
	t.Helper()
	rows := map[rowKey]APIResult{}
	for _, r := range rep.Results {
		k := rowKey{r.Phase, r.Verb, r.Kind, r.Concurrency}
		if _, dup := rows[k]; dup {
			t.Errorf("duplicate row %+v", k)
		}
		rows[k] = r
	}
	return rows
}

// checkRow checks a row exists, has no errors and counts ops right; it
// checks structure, never speed.
func checkRow(t *testing.T, rows map[rowKey]APIResult, k rowKey, ops int) APIResult {
	t.Helper()
	r, ok := rows[k]
	if !ok {
		t.Errorf("no row %+v", k)
		return r
	}
	if r.Errors != 0 || r.FirstError != "" {
		t.Errorf("row %+v: %d errors, first: %s", k, r.Errors, r.FirstError)
	}
	if r.Ops != ops {
		t.Errorf("row %+v: %d ops, want %d", k, r.Ops, ops)
	}
	// A watch delay may be zero: the event can reach a watcher before the
	// writer has its response.
	if ops > 0 && (r.OpsPerSec <= 0 || r.Seconds <= 0 || r.P50Ms < 0 || r.P99Ms < r.P50Ms || (r.Verb != "watch" && r.P50Ms == 0)) {
		t.Errorf("row %+v: implausible figures %+v", k, r)
	}
	return r
}

// checkNamespaceCleaned checks the run's namespace is gone, or, on a cluster
// without a namespace controller, at least Terminating and empty of the
// benchmark's objects.
func checkNamespaceCleaned(t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	got, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Fatalf("getting namespace %s: %v", ns, err)
	}
	if got.DeletionTimestamp == nil {
		t.Errorf("namespace %s was not deleted", ns)
	}
	t.Logf("namespace %s is %s, not gone (no namespace controller?)", ns, got.Status.Phase)
	checkNoBenchObjects(t, client, ns)
}

func checkNoBenchObjects(t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: labelRun}
	pods, err := client.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil {
		t.Fatalf("listing pods: %v", err)
	}
	cms, err := client.CoreV1().ConfigMaps(ns).List(ctx, sel)
	if err != nil {
		t.Fatalf("listing configmaps: %v", err)
	}
	if len(pods.Items)+len(cms.Items) > 0 {
		t.Errorf("namespace %s still holds %d benchmark pods and %d configmaps", ns, len(pods.Items), len(cms.Items))
	}
}

func TestRunAPI(t *testing.T) {
	c := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := APIConfig{
		Concurrency:   []int{1, 4},
		Objects:       20,
		PhaseDuration: time.Minute, // never the bound here: every phase does all its operations
		ListSize:      50,
		ListRepeats:   2,
		Watchers:      3,
		WatchWrites:   10,
		CleanupWait:   time.Second,
	}
	var out bytes.Buffer
	rep, err := RunAPI(ctx, c.Config, opts, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("RunAPI: %v", err)
	}

	rows := rowsByKey(t, rep)
	for _, kind := range []string{"ConfigMap", "Pod"} {
		for _, conc := range opts.Concurrency {
			for _, verb := range []string{"create", "get", "list", "update", "delete"} {
				r := checkRow(t, rows, rowKey{"crud", verb, kind, conc}, opts.Objects)
				if r.PeakInFlight < 1 || r.PeakInFlight > int64(conc) {
					t.Errorf("%s %s at %d: peak in flight %d", verb, kind, conc, r.PeakInFlight)
				}
				if verb == "list" && r.Items != opts.Objects {
					t.Errorf("list %s at %d: %d items, want %d", kind, conc, r.Items, opts.Objects)
				}
			}
		}
	}
	checkRow(t, rows, rowKey{"list", "create", "Pod", 4}, opts.ListSize)
	if r := checkRow(t, rows, rowKey{"list", "list", "Pod", 1}, opts.ListRepeats); r.Items != opts.ListSize || r.Bytes < int64(opts.ListSize)*1024 {
		t.Errorf("full list: %d items, %d bytes; want %d items of over 1 KiB", r.Items, r.Bytes, opts.ListSize)
	}
	checkRow(t, rows, rowKey{"watch", "create", "ConfigMap", 1}, opts.WatchWrites)
	if r := checkRow(t, rows, rowKey{"watch", "watch", "ConfigMap", opts.Watchers}, opts.Watchers*opts.WatchWrites); r.PeakInFlight < int64(opts.Watchers) {
		t.Errorf("watch: peak in flight %d, want at least the %d watchers", r.PeakInFlight, opts.Watchers)
	}
	if want := 2*len(opts.Concurrency)*5 + 2 + 2; len(rep.Results) != want {
		t.Errorf("%d rows, want %d", len(rep.Results), want)
	}

	if rep.ServerVersion == "" || rep.Protocol == "" || rep.Connections < 1 || rep.Seconds <= 0 {
		t.Errorf("report header incomplete: version %q, protocol %q, %d connections, %.1fs", rep.ServerVersion, rep.Protocol, rep.Connections, rep.Seconds)
	}
	if !strings.HasPrefix(rep.Namespace, "sampan-bench-") {
		t.Errorf("namespace %q", rep.Namespace)
	}
	checkNamespaceCleaned(t, c.Client, rep.Namespace)

	// The printed table has its header and one line per row.
	lines := strings.Split(out.String(), "\n")
	rowLines := 0
	for _, l := range lines {
		for _, p := range []string{"crud ", "list ", "watch "} {
			if strings.HasPrefix(l, p) {
				rowLines++
			}
		}
	}
	if !strings.Contains(out.String(), "OPS/S") || rowLines != len(rep.Results) {
		t.Errorf("table has %d row lines for %d rows", rowLines, len(rep.Results))
	}

	// The JSON form holds the same figures.
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back APIReport
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("decoding JSON report: %v", err)
	}
	if !reflect.DeepEqual(back.Results, rep.Results) || !reflect.DeepEqual(back.Config, rep.Config) {
		t.Errorf("JSON round trip changed the report")
	}
}

// In a namespace it did not create, the benchmark deletes only its own
// objects and leaves the namespace; negative sizes skip the LIST and watch
// phases.
func TestRunAPIExistingNamespace(t *testing.T) {
	c := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := "bench-existing"
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "not-the-benchmarks", Namespace: ns}}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	opts := APIConfig{Concurrency: []int{2}, Objects: 5, PhaseDuration: time.Minute, ListSize: -1, Watchers: -1, Namespace: ns}
	var out bytes.Buffer
	rep, err := RunAPI(ctx, c.Config, opts, &out)
	if err != nil {
		t.Fatalf("RunAPI: %v\n%s", err, out.String())
	}
	if len(rep.Results) != 10 {
		t.Errorf("%d rows, want 10 (no list or watch phase)", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Errors != 0 || r.Ops != opts.Objects {
			t.Errorf("row %s %s: %d ops, %d errors (%s)", r.Verb, r.Kind, r.Ops, r.Errors, r.FirstError)
		}
	}
	if _, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Errorf("namespace %s: %v", ns, err)
	}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, other.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("someone else's configmap: %v", err)
	}
	checkNoBenchObjects(t, c.Client, ns)
}

func TestAPIConfigDefaults(t *testing.T) {
	got, err := APIConfig{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := APIConfig{
		Concurrency: DefaultConcurrency(), Objects: DefaultObjects, PhaseDuration: DefaultPhaseDuration,
		ListSize: DefaultListSize, ListRepeats: DefaultListRepeats, Watchers: DefaultWatchers,
		WatchWrites: DefaultWatchWrites, CleanupWait: DefaultCleanupWait,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	for _, bad := range []APIConfig{{Concurrency: []int{1, 0}}, {Objects: -1}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 99, 5 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
		}
	}
}

// The objects have the sizes the benchmark promises.
func TestObjectSizes(t *testing.T) {
	for _, tc := range []struct {
		obj      any
		min, max int
	}{
		{newConfigMap("sampan-bench-abcdef", "configmap-c32-001999", "abcdef", "configmap-c32", 1999), 1024, 1536},
		{newPod("sampan-bench-abcdef", "pod-c32-001999", "abcdef", "pod-c32", 1999), 1792, 2560},
	} {
		b, err := json.Marshal(tc.obj)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < tc.min || len(b) > tc.max {
			t.Errorf("%T is %d bytes of JSON, want %d..%d", tc.obj, len(b), tc.min, tc.max)
		}
	}
	if a, b := payload(1, 100), payload(2, 100); a == b || len(a) != 100 {
		t.Errorf("payloads do not differ per seed: %q %q", a, b)
	}
}

func TestWriteTable(t *testing.T) {
	rep := &APIReport{Server: "https://127.0.0.1:6443", ServerVersion: "v1.37.2", Protocol: "HTTP/2.0", Namespace: "ns", Connections: 1, Seconds: 3,
		Results: []APIResult{
			{Phase: "crud", Verb: "get", Kind: "Pod", Concurrency: 8, Ops: 100, OpsPerSec: 1234.5, P50Ms: 0.5, P99Ms: 12.25, PeakInFlight: 8},
			{Phase: "list", Verb: "list", Kind: "Pod", Concurrency: 1, Ops: 5, OpsPerSec: 2, P50Ms: 450, P99Ms: 1500, PeakInFlight: 1, Items: 10000, Bytes: 25 << 20},
			{Phase: "watch", Verb: "watch", Kind: "ConfigMap", Concurrency: 100, Ops: 99, Errors: 1, FirstError: "1 events were\nnever delivered"},
		},
		Notes: []string{"a note"},
	}
	var out bytes.Buffer
	if err := rep.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"server https://127.0.0.1:6443 (v1.37.2, HTTP/2.0), namespace ns",
		strings.TrimRight(fmt.Sprintf(tableFormat, "crud", "get", "Pod", "8", "100", "1234.5", "0.50ms", "12.2ms", "0", "8", ""), " ") + "\n",
		"10000 items, 25.0 MiB",
		"1.50s",
		"first error: 1 events were never delivered",
		"note: a note",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// cancelOnWrite cancels a context once the text it is given contains marker.
type cancelOnWrite struct {
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.cancel()
	}
	return n, err
}

// A run cancelled halfway stops measuring and still deletes what it created.
func TestRunAPICancelled(t *testing.T) {
	c := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	out := &cancelOnWrite{marker: "crud   get", cancel: stop}
	opts := APIConfig{Concurrency: []int{2}, Objects: 10, PhaseDuration: time.Minute, ListSize: 10, Watchers: 2, WatchWrites: 2, CleanupWait: 100 * time.Millisecond}
	rep, err := RunAPI(runCtx, c.Config, opts, out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunAPI = %v, want context.Canceled\n%s", err, out.buf.String())
	}
	if len(rep.Results) != 2 {
		t.Errorf("%d rows after cancelling at the second, want 2:\n%s", len(rep.Results), out.buf.String())
	}
	for _, r := range rep.Results {
		if r.Errors != 0 {
			t.Errorf("row %s %s: %d errors (%s); cancelling is not a server error", r.Verb, r.Kind, r.Errors, r.FirstError)
		}
	}
	checkNamespaceCleaned(t, c.Client, rep.Namespace)
}
