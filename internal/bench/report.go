package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// APIReport is what RunAPI measured. Its JSON form is what `sampan bench api
// --json FILE` writes, so that runs can be compared.
type APIReport struct {
	// Server is the API server's URL and ServerVersion its reported gitVersion.
	Server        string `json:"server"`
	ServerVersion string `json:"serverVersion"`
	// Protocol is the HTTP protocol the server answered with ("HTTP/2.0").
	Protocol string `json:"protocol"`
	// Connections is the number of TCP connections the benchmark opened.
	Connections int64 `json:"connections"`
	// Namespace is where the objects lived.
	Namespace string    `json:"namespace"`
	Started   time.Time `json:"started"`
	// Seconds is the whole run, setup and cleanup included.
	Seconds float64     `json:"seconds"`
	Config  APIConfig   `json:"config"`
	Results []APIResult `json:"results"`
	// Notes are things a reader should know: cleanup that did not finish,
	// phases that were cut short.
	Notes []string `json:"notes,omitempty"`
}

// APIResult is one row of the report: one verb on one kind at one
// concurrency.
type APIResult struct {
	// Phase is "crud" (create/get/list/update/delete of --objects objects),
	// "list" (full LISTs of --list-size pods, and their creation) or "watch"
	// (fan-out of writes to --watchers watchers).
	Phase string `json:"phase"`
	// Verb is create, get, list, update, delete or watch.
	Verb string `json:"verb"`
	// Kind is ConfigMap or Pod.
	Kind string `json:"kind"`
	// Concurrency is the number of concurrent clients; for watch, the
	// number of watchers.
	Concurrency int `json:"concurrency"`
	// Ops counts successful operations; for watch, events delivered.
	Ops int `json:"ops"`
	// Errors counts failed operations; for watch, events never delivered
	// (and broken watches).
	Errors int `json:"errors"`
	// Seconds is the phase's wall time and OpsPerSec is Ops/Seconds.
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"opsPerSec"`
	// P50Ms and P99Ms are latency percentiles in milliseconds, over
	// successful operations; for watch, the delay from the write's
	// acknowledgement to each watcher's receipt of its event.
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
	// PeakInFlight is the most HTTP requests the client had in flight at
	// once during the phase (watches count while open).
	PeakInFlight int64 `json:"peakInFlight"`
	// Items and Bytes are, for list, the objects and uncompressed bytes of
	// one response (the last one).
	Items int   `json:"items,omitempty"`
	Bytes int64 `json:"bytes,omitempty"`
	// FirstError is the first failure's text.
	FirstError string `json:"firstError,omitempty"`
}

// WriteJSON writes the report as indented JSON.
func (r *APIReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	return nil
}

// WriteTable writes the report as the table RunAPI prints while it runs.
func (r *APIReport) WriteTable(w io.Writer) error {
	tw := &tableWriter{w: w}
	tw.header(r)
	for _, res := range r.Results {
		tw.row(res)
	}
	tw.footer(r)
	return tw.err
}

// tableWriter prints fixed-width rows, so that they can be printed as each
// phase ends and still line up.
type tableWriter struct {
	w   io.Writer
	err error
}

func (t *tableWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

const tableFormat = "%-6s %-7s %-10s %5s %7s %10s %10s %10s %7s %9s  %s"

// line prints one table line of 11 cells, without trailing blanks.
func (t *tableWriter) line(cells ...any) {
	t.printf("%s\n", strings.TrimRight(fmt.Sprintf(tableFormat, cells...), " "))
}

func (t *tableWriter) header(r *APIReport) {
	t.printf("server %s (%s, %s), namespace %s\n", r.Server, r.ServerVersion, r.Protocol, r.Namespace)
	t.line("PHASE", "VERB", "KIND", "CONC", "OPS", "OPS/S", "P50", "P99", "ERRORS", "INFLIGHT", "NOTE")
}

func (t *tableWriter) row(res APIResult) {
	var note []string
	switch {
	case res.Bytes > 0:
		note = append(note, fmt.Sprintf("%d items, %s", res.Items, humanBytes(res.Bytes)))
	case res.Items > 0:
		note = append(note, fmt.Sprintf("%d items", res.Items))
	}
	if res.FirstError != "" {
		note = append(note, "first error: "+oneLine(res.FirstError, 120))
	}
	t.line(res.Phase, res.Verb, res.Kind, fmt.Sprint(res.Concurrency), fmt.Sprint(res.Ops),
		fmt.Sprintf("%.1f", res.OpsPerSec), fmtMs(res.P50Ms), fmtMs(res.P99Ms), fmt.Sprint(res.Errors),
		fmt.Sprint(res.PeakInFlight), strings.Join(note, "; "))
}

func (t *tableWriter) footer(r *APIReport) {
	t.printf("%d TCP connection(s) opened; run took %.1fs\n", r.Connections, r.Seconds)
	for _, n := range r.Notes {
		t.printf("note: %s\n", n)
	}
}

func fmtMs(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
