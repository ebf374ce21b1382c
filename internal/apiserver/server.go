// Package apiserver is Sampan's Kubernetes-compatible API server: routing,
// discovery, authentication and authorization, the generic REST semantics of
// every resource over a storage.Store, and a watch cache that serves reads
// from memory.
package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/resources"
	"github.com/sampan-dev/sampan/internal/storage"
	"github.com/sampan-dev/sampan/internal/version"
)

// Config configures a Server. Zero values get the defaults of New.
type Config struct {
	Store     storage.Store
	Registry  *resources.Registry
	Behaviour Behaviour
	Logger    *slog.Logger
	Clock     clock.WithTicker

	// ServiceCIDR is the ClusterIP range (default 10.96.0.0/12).
	ServiceCIDR *net.IPNet
	// NodePortMin and NodePortMax bound NodePorts (default 30000-32767).
	NodePortMin, NodePortMax int
	// AdvertiseAddress and SecurePort are published as the kubernetes Service's endpoints.
	AdvertiseAddress net.IP
	SecurePort       int

	Authenticator Authenticator
	Authorizer    Authorizer

	// OpenAPI serves /openapi/v2 and /openapi/v3 when set.
	OpenAPI http.Handler

	MaxRequestBodyBytes int64 // default 3 MiB
	MaxObjectBytes      int64 // default 1.5 MiB

	// DefaultNotReadyTolerationSeconds and DefaultUnreachableTolerationSeconds
	// are the tolerationSeconds given to pods that do not tolerate the
	// node.kubernetes.io/not-ready or unreachable NoExecute taints
	// (nil: DefaultTolerationSeconds).
	DefaultNotReadyTolerationSeconds    *int64
	DefaultUnreachableTolerationSeconds *int64
}

// Server is the API server.
type Server struct {
	cfg     Config
	h       *apiHandler
	handler http.Handler
}

// apiHandler holds what the request handlers share.
type apiHandler struct {
	reg       *resources.Registry
	store     storage.Store
	cache     *watchCache
	codec     *codec
	b         Behaviour
	clock     clock.WithTicker
	alloc     *serviceAllocator
	authn     Authenticator
	authz     Authorizer
	logger    *slog.Logger
	metrics   *metrics
	disc      *discovery
	openapi   http.Handler
	maxBody   int64
	maxObject int64

	notReadySeconds, unreachableSeconds int64
}

// New builds a server. It has no side effects; Run starts it.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("apiserver: a store is required")
	}
	if cfg.Registry == nil {
		cfg.Registry = resources.Builtin()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.ServiceCIDR == nil {
		_, cfg.ServiceCIDR, _ = net.ParseCIDR("10.96.0.0/12")
	}
	if cfg.NodePortMin == 0 {
		cfg.NodePortMin, cfg.NodePortMax = 30000, 32767
	}
	if cfg.SecurePort == 0 {
		cfg.SecurePort = 6443
	}
	if cfg.AdvertiseAddress == nil {
		cfg.AdvertiseAddress = net.IPv4(127, 0, 0, 1)
	}
	if cfg.Authorizer == nil {
		cfg.Authorizer = MastersAuthorizer{}
	}
	if cfg.Authenticator == nil {
		cfg.Authenticator = UnionAuthenticator{}
	}
	if cfg.MaxRequestBodyBytes == 0 {
		cfg.MaxRequestBodyBytes = 3 << 20
	}
	if cfg.MaxObjectBytes == 0 {
		cfg.MaxObjectBytes = 3 << 19
	}
	cfg.Behaviour.fill()
	c := newCodec()
	h := &apiHandler{
		reg:       cfg.Registry,
		store:     cfg.Store,
		codec:     c,
		b:         cfg.Behaviour,
		clock:     cfg.Clock,
		alloc:     newServiceAllocator(cfg.Store, cfg.ServiceCIDR, cfg.NodePortMin, cfg.NodePortMax),
		authn:     cfg.Authenticator,
		authz:     cfg.Authorizer,
		logger:    cfg.Logger,
		metrics:   newMetrics(),
		disc:      &discovery{reg: cfg.Registry},
		openapi:   cfg.OpenAPI,
		maxBody:   cfg.MaxRequestBodyBytes,
		maxObject: cfg.MaxObjectBytes,

		notReadySeconds:    secondsOr(cfg.DefaultNotReadyTolerationSeconds, DefaultTolerationSeconds),
		unreachableSeconds: secondsOr(cfg.DefaultUnreachableTolerationSeconds, DefaultTolerationSeconds),
	}
	h.cache = newWatchCache(cfg.Store, cfg.Registry, c, cfg.Logger)
	s := &Server{cfg: cfg, h: h}
	s.handler = h
	return s, nil
}

// Handler is the server's whole HTTP handler (authentication included).
func (s *Server) Handler() http.Handler { return s.handler }

// Run starts the watch cache and the server's own bootstrap objects, and
// returns when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	go s.h.cache.run(ctx)
	if err := s.h.cache.waitFor(ctx, 0); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("starting watch cache: %w", err)
	}
	if err := s.bootstrap(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while bootstrapping
		}
		return fmt.Errorf("creating bootstrap objects: %w", err)
	}
	<-ctx.Done()
	return nil
}

// Ready reports whether the server serves requests (its cache is loaded).
func (s *Server) Ready() bool {
	s.h.cache.mu.RLock()
	defer s.h.cache.mu.RUnlock()
	return s.h.cache.ready
}

// Serve serves HTTPS on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		return nil
	}
}

// anonymousPaths may be read without credentials (upstream's public-info role).
func anonymousPath(p string) bool {
	for _, a := range []string{"/healthz", "/livez", "/readyz", "/version"} {
		if p == a || strings.HasPrefix(p, a+"/") {
			return true
		}
	}
	return false
}

func (h *apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.clock.Now()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	info := parseRequestInfo(r)
	h.metrics.inflightRequest.Inc()
	defer func() {
		h.metrics.inflightRequest.Dec()
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.logger.Error("panic serving request", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rec.wrote {
				writeError(rec, apierrors.NewInternalError(fmt.Errorf("the server hit an unexpected error")))
			}
		}
		if info.IsResourceRequest {
			h.metrics.requests.WithLabelValues(info.Verb, info.APIGroup, info.APIVersion, info.Resource, info.Subresource, strconv.Itoa(rec.code)).Inc()
			if info.Verb != "watch" {
				h.metrics.requestLatency.WithLabelValues(info.Verb, info.APIGroup, info.APIVersion, info.Resource, info.Subresource).Observe(h.clock.Since(start).Seconds())
			}
		}
	}()
	w = rec

	if !anonymousPath(r.URL.Path) {
		user, ok, err := h.authn.AuthenticateRequest(r)
		if err != nil || !ok {
			if err != nil {
				h.logger.Debug("authentication failed", "err", err)
			}
			writeError(w, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		r = r.WithContext(withUser(r.Context(), user))
		attrs := Attributes{User: user, Verb: info.Verb, Namespace: info.Namespace, APIGroup: info.APIGroup, APIVersion: info.APIVersion,
			Resource: info.Resource, Subresource: info.Subresource, Name: info.Name, Path: r.URL.Path, IsResource: info.IsResourceRequest}
		allowed, reason, err := h.authz.Authorize(r.Context(), attrs)
		if err != nil {
			h.logger.Warn("authorizer error", "err", err)
		}
		if !allowed {
			writeError(w, forbidden(attrs, reason))
			return
		}
	}

	if info.IsResourceRequest {
		gvr := schema.GroupVersionResource{Group: info.APIGroup, Version: info.APIVersion, Resource: info.Resource}
		res, ok := h.reg.Lookup(gvr)
		if !ok || (info.APIPrefix == "api") != (info.APIGroup == "") {
			writeError(w, notFoundPath())
			return
		}
		if info.Namespace != "" && !res.Namespaced && info.Resource != "namespaces" {
			writeError(w, notFoundPath())
			return
		}
		verb := info.Verb
		if info.Subresource == "" && !contains(res.Verbs, verb) {
			writeError(w, apierrors.NewMethodNotSupported(groupResource(res), verb))
			return
		}
		h.serveResource(w, r, info, res)
		return
	}
	h.serveNonResource(w, r, info)
}

func notFoundPath() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
		Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{},
	}}
}

func (h *apiHandler) serveNonResource(w http.ResponseWriter, r *http.Request, info *requestInfo) {
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/livez" || strings.HasPrefix(p, "/healthz/") || strings.HasPrefix(p, "/livez/"):
		writePlain(w, http.StatusOK, "ok")
	case p == "/readyz" || strings.HasPrefix(p, "/readyz/"):
		h.cache.mu.RLock()
		ready := h.cache.ready
		h.cache.mu.RUnlock()
		if !ready {
			writePlain(w, http.StatusServiceUnavailable, "[-]watch-cache not ready\nreadyz check failed")
			return
		}
		writePlain(w, http.StatusOK, "ok")
	case p == "/version" || p == "/version/":
		writeObject(w, outputFormat{}, http.StatusOK, version.Info())
	case p == "/metrics":
		promhttp.HandlerFor(h.metrics.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	case strings.HasPrefix(p, "/openapi/") && h.openapi != nil:
		h.openapi.ServeHTTP(w, r)
	case p == "/debug/pprof" || strings.HasPrefix(p, "/debug/pprof/"):
		// Profiling, as upstream's --profiling (on by default); like every
		// non-public path it needs an authorized user.
		servePprof(w, r)
	case info.APIPrefix != "":
		h.disc.serve(w, r, info)
	case p == "/":
		writeObject(w, outputFormat{}, http.StatusOK, map[string][]string{"paths": h.rootPaths()})
	default:
		writeError(w, notFoundPath())
	}
}

func (h *apiHandler) rootPaths() []string {
	paths := []string{"/api", "/api/v1", "/apis", "/healthz", "/livez", "/metrics", "/openapi/v2", "/openapi/v3", "/readyz", "/version"}
	seen := map[string]bool{}
	for _, gv := range h.reg.GroupVersions() {
		if gv.Group == "" {
			continue
		}
		if !seen[gv.Group] {
			seen[gv.Group] = true
			paths = append(paths, "/apis/"+gv.Group)
		}
		paths = append(paths, "/apis/"+gv.String())
	}
	return paths
}

func writePlain(w http.ResponseWriter, code int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(s))
}

// statusRecorder remembers the response code for metrics.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// bootstrap creates what every cluster has: the system namespaces and the
// kubernetes Service with the API server's endpoints.
func (s *Server) bootstrap(ctx context.Context) error {
	h := s.h
	sys := &UserInfo{Name: "system:apiserver", Groups: []string{GroupMasters}}
	nsRes, _ := h.reg.Lookup(corev1.SchemeGroupVersion.WithResource("namespaces"))
	for _, name := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := h.create(ctx, nsRes, "", ns, createOptions{user: sys}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	ip := ipAt(s.cfg.ServiceCIDR, 1)
	port := int32(s.cfg.SecurePort)
	svcRes, _ := h.reg.Lookup(corev1.SchemeGroupVersion.WithResource("services"))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: ip.String(),
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(port)}},
			SessionAffinity: corev1.ServiceAffinityNone,
		},
	}
	if _, err := h.create(ctx, svcRes, metav1.NamespaceDefault, svc, createOptions{user: sys}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the kubernetes service: %w", err)
	}
	addr := s.cfg.AdvertiseAddress.String()
	epRes, _ := h.reg.Lookup(corev1.SchemeGroupVersion.WithResource("endpoints"))
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: addr}},
			Ports: []corev1.EndpointPort{{Name: "https", Port: port, Protocol: corev1.ProtocolTCP}}}},
	}
	if err := s.ensure(ctx, epRes, ep, sys); err != nil {
		return err
	}
	sliceRes, _ := h.reg.Lookup(discoveryv1.SchemeGroupVersion.WithResource("endpointslices"))
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes", discoveryv1.LabelManagedBy: "sampan-apiserver"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	return s.ensure(ctx, sliceRes, slice, sys)
}

// ensure creates obj, or replaces the existing object's content with it.
func (s *Server) ensure(ctx context.Context, res *resources.Resource, obj runtime.Object, user *UserInfo) error {
	acc := objectMetaFor(obj)
	_, err := s.h.create(ctx, res, acc.GetNamespace(), obj.DeepCopyObject(), createOptions{user: user, system: true})
	if apierrors.IsAlreadyExists(err) {
		_, err = s.h.update(ctx, res, acc.GetNamespace(), acc.GetName(), updateOptions{kind: updateMain, user: user, system: true},
			func(runtime.Object) (runtime.Object, error) { return obj.DeepCopyObject(), nil })
	}
	if err != nil {
		return fmt.Errorf("ensuring %s %s: %w", res.Kind, acc.GetName(), err)
	}
	return nil
}

// ipAt returns the n-th address of a CIDR.
func ipAt(cidr *net.IPNet, n int) net.IP {
	ip := make(net.IP, len(cidr.IP))
	copy(ip, cidr.IP)
	for i := len(ip) - 1; i >= 0 && n > 0; i-- {
		sum := int(ip[i]) + n
		ip[i] = byte(sum % 256)
		n = sum / 256
	}
	return ip
}

func servePprof(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/debug/pprof/") {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default:
		pprof.Index(w, r)
	}
}
