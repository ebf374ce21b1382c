package apiserver

import (
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sampan-dev/sampan/internal/resources"
)

// metrics are the server's Prometheus series (upstream names where they exist).
type metrics struct {
	registry        *prometheus.Registry
	requests        *prometheus.CounterVec
	requestLatency  *prometheus.HistogramVec
	storageLatency  *prometheus.HistogramVec
	watchers        *prometheus.GaugeVec
	inflightRequest prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total", Help: "Counter of apiserver requests broken out by verb, group, version, resource, subresource and HTTP response code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "code"}),
		requestLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_request_duration_seconds", Help: "Response latency distribution in seconds for each verb, group, version, resource and subresource.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb", "group", "version", "resource", "subresource"}),
		storageLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sampan_storage_request_duration_seconds", Help: "Store request latency in seconds by operation and resource.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1},
		}, []string{"operation", "group", "resource"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers", Help: "Number of currently open watches per group and resource.",
		}, []string{"group", "resource"}),
		inflightRequest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "apiserver_current_inflight_requests", Help: "Number of requests being served.",
		}),
	}
	m.registry.MustRegister(m.requests, m.requestLatency, m.storageLatency, m.watchers, m.inflightRequest,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeStorage(op string, res *resources.Resource, start time.Time) {
	m.storageLatency.WithLabelValues(op, res.GVR.Group, res.GVR.Resource).Observe(time.Since(start).Seconds())
}

// storageVersionHash identifies the storage version of a resource in discovery.
func storageVersionHash(res *resources.Resource) string {
	if res.Virtual {
		return ""
	}
	sum := sha256.Sum256([]byte(res.StorageGVK.Group + "/" + res.StorageGVK.Version + "/" + res.StorageGVK.Kind))
	return base64.StdEncoding.EncodeToString(sum[:8])
}
