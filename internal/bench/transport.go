package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// meter observes the benchmark's HTTP traffic: requests in flight (from
// sending a request until its response body is closed), the peak of that
// since the last reset, TCP connections dialled and the protocol spoken.
// It is what shows that 32 concurrent requests really are in flight.
type meter struct {
	inFlight atomic.Int64
	peak     atomic.Int64
	dials    atomic.Int64
	proto    atomic.Pointer[string]
}

// clientConfig returns a copy of cfg for the benchmark: no client-side rate
// limit, no client timeout (it would cut watches), a private transport whose
// idle pool keeps idleConns connections (so HTTP/1.1 servers do not churn
// connections at high concurrency; HTTP/2 multiplexes on one), and m
// observing every request.
func (m *meter) clientConfig(cfg *rest.Config, idleConns int) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst, c.RateLimiter = -1, 0, nil
	c.Timeout = 0
	dial := c.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	// A Dial function of its own also gives the config a transport of its
	// own: client-go caches transports by TLS options and dialer, and this
	// dialer is new.
	c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		m.dials.Add(1)
		return dial(ctx, network, addr)
	}
	wrap := c.WrapTransport
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		raiseIdleConns(rt, idleConns)
		if wrap != nil {
			rt = wrap(rt)
		}
		return &meteredTransport{m: m, rt: rt}
	}
	return c
}

// raiseIdleConns finds the *http.Transport under rt's wrappers and lets it
// keep at least n idle connections per host. It runs before the transport's
// first request, on a transport only this benchmark uses.
func raiseIdleConns(rt http.RoundTripper, n int) {
	for rt != nil {
		if t, ok := rt.(*http.Transport); ok {
			if t.MaxIdleConnsPerHost < n {
				t.MaxIdleConnsPerHost = n
			}
			return
		}
		w, ok := rt.(utilnet.RoundTripperWrapper)
		if !ok {
			return
		}
		rt = w.WrappedRoundTripper()
	}
}

// resetPeak starts a new peak measurement from the requests now in flight.
func (m *meter) resetPeak() { m.peak.Store(m.inFlight.Load()) }

func (m *meter) protocol() string {
	if p := m.proto.Load(); p != nil {
		return *p
	}
	return ""
}

func (m *meter) begin() {
	n := m.inFlight.Add(1)
	for {
		p := m.peak.Load()
		if n <= p || m.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (m *meter) end() { m.inFlight.Add(-1) }

type meteredTransport struct {
	m  *meter
	rt http.RoundTripper
}

func (t *meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.m.begin()
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		t.m.end()
		return nil, err
	}
	if t.m.proto.Load() == nil {
		p := resp.Proto
		t.m.proto.CompareAndSwap(nil, &p)
	}
	resp.Body = &meteredBody{ReadCloser: resp.Body, m: t.m}
	return resp, nil
}

func (t *meteredTransport) WrappedRoundTripper() http.RoundTripper { return t.rt }

// meteredBody ends its request's time in flight at EOF or Close.
type meteredBody struct {
	io.ReadCloser
	m    *meter
	once sync.Once
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.m.end)
	}
	return n, err
}

func (b *meteredBody) Close() error {
	b.once.Do(b.m.end)
	return b.ReadCloser.Close()
}
