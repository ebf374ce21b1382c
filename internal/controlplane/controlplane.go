// Package controlplane assembles `sampan server`: PKI, store, API server and
// (in later issues) scheduler and controllers, from one Config.
package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/apiserver"
	"github.com/sampan-dev/sampan/internal/pki"
	"github.com/sampan-dev/sampan/internal/resources"
	"github.com/sampan-dev/sampan/internal/storage/bolt"
)

// Config configures a control plane.
type Config struct {
	DataDir          string
	BindAddress      net.IP // default 0.0.0.0
	SecurePort       int    // default 6443; 0 after defaulting is never used: -1 picks a free port (tests)
	AdvertiseAddress net.IP // default: the host's first non-loopback IPv4, else 127.0.0.1
	ServiceCIDR      *net.IPNet
	Logger           *slog.Logger
	Clock            clock.WithTicker
	// Controllers selects the control loops to run (names from
	// manager.Names, plus "scheduler"); nil runs them all.
	Controllers []string
	// ClusterCIDR is the pod network, cut into one podCIDR per node
	// (default 10.244.0.0/16).
	ClusterCIDR *net.IPNet
	// NodeMonitorGracePeriod is how long a node may go without renewing its
	// Lease before it is marked Ready=Unknown (default 40 s).
	NodeMonitorGracePeriod time.Duration
	// DefaultNotReadyTolerationSeconds and DefaultUnreachableTolerationSeconds:
	// how long pods stay on a not-ready or unreachable node (nil: 300 s).
	DefaultNotReadyTolerationSeconds    *int64
	DefaultUnreachableTolerationSeconds *int64
}

// ControlPlane is a configured, not yet running, control plane.
type ControlPlane struct {
	cfg       Config
	store     *bolt.Store
	api       *apiserver.Server
	listener  net.Listener
	tls       *tls.Config
	ca        *pki.CA
	adminConf string
	url       string
}

// New prepares the data dir, PKI, admin kubeconfig, store and listener. Run serves.
func New(cfg Config) (*ControlPlane, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("a data dir is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.BindAddress == nil {
		cfg.BindAddress = net.IPv4zero
	}
	if cfg.SecurePort == 0 {
		cfg.SecurePort = 6443
	}
	if cfg.AdvertiseAddress == nil {
		cfg.AdvertiseAddress = defaultAdvertiseAddress(cfg.BindAddress)
	}
	if cfg.ServiceCIDR == nil {
		_, cfg.ServiceCIDR, _ = net.ParseCIDR("10.96.0.0/12")
	}
	if cfg.ClusterCIDR == nil {
		_, cfg.ClusterCIDR, _ = net.ParseCIDR("10.244.0.0/16")
	}
	if cfg.NodeMonitorGracePeriod == 0 {
		cfg.NodeMonitorGracePeriod = 40 * time.Second
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	port := cfg.SecurePort
	if port < 0 {
		port = 0
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress.String(), strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listening on %s:%d: %w", cfg.BindAddress, port, err)
	}
	cfg.SecurePort = ln.Addr().(*net.TCPAddr).Port
	cp := &ControlPlane{cfg: cfg, listener: ln}
	if err := cp.setupPKI(); err != nil {
		ln.Close()
		return nil, err
	}
	store, err := bolt.Open(bolt.Config{Path: filepath.Join(cfg.DataDir, "state.db"), Logger: cfg.Logger})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("opening store: %w", err)
	}
	cp.store = store
	reg := resources.Builtin()
	api, err := apiserver.New(apiserver.Config{
		Store:            store,
		Registry:         reg,
		Behaviour:        Behaviour(),
		Logger:           cfg.Logger,
		Clock:            cfg.Clock,
		ServiceCIDR:      cfg.ServiceCIDR,
		AdvertiseAddress: cfg.AdvertiseAddress,
		SecurePort:       cfg.SecurePort,
		Authenticator:    apiserver.UnionAuthenticator{&apiserver.X509Authenticator{ClientCAs: cp.ca.CertPool()}},
		Authorizer:       apiserver.MastersAuthorizer{},
		OpenAPI:          openAPIHandler(reg),

		DefaultNotReadyTolerationSeconds:    cfg.DefaultNotReadyTolerationSeconds,
		DefaultUnreachableTolerationSeconds: cfg.DefaultUnreachableTolerationSeconds,
	})
	if err != nil {
		store.Close()
		ln.Close()
		return nil, err
	}
	cp.api = api
	return cp, nil
}

func (cp *ControlPlane) setupPKI() error {
	now := cp.cfg.Clock.Now()
	dir := filepath.Join(cp.cfg.DataDir, "pki")
	ca, err := pki.LoadOrCreateCA(dir, "ca", now)
	if err != nil {
		return fmt.Errorf("loading CA: %w", err)
	}
	cp.ca = ca
	hostname, _ := os.Hostname()
	serviceIP := firstServiceIP(cp.cfg.ServiceCIDR)
	spec := pki.ServerSANs(cp.cfg.AdvertiseAddress, hostname, serviceIP)
	certFile, keyFile, err := ca.EnsureServingCert(dir, "apiserver", spec, now)
	if err != nil {
		return fmt.Errorf("issuing serving certificate: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("loading serving certificate: %w", err)
	}
	cp.tls = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert, // verified by the authenticator, so tokens can share the port
		NextProtos:   []string{"h2", "http/1.1"},
	}
	host := cp.cfg.AdvertiseAddress.String()
	if !cp.cfg.BindAddress.IsUnspecified() {
		host = cp.cfg.BindAddress.String()
	}
	cp.url = "https://" + net.JoinHostPort(host, strconv.Itoa(cp.cfg.SecurePort))
	cp.adminConf, err = pki.EnsureAdminKubeconfig(cp.cfg.DataDir, ca, cp.url, now)
	if err != nil {
		return fmt.Errorf("writing admin kubeconfig: %w", err)
	}
	return nil
}

// AdminKubeconfig is the path of the admin kubeconfig.
func (cp *ControlPlane) AdminKubeconfig() string { return cp.adminConf }

// URL is the API server's address.
func (cp *ControlPlane) URL() string { return cp.url }

// Run serves until ctx ends, then closes everything.
func (cp *ControlPlane) Run(ctx context.Context) error {
	defer cp.store.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 4)
	go func() { errc <- cp.api.Run(ctx) }()
	go func() { errc <- cp.api.Serve(ctx, cp.listener, cp.tls) }()
	go func() { errc <- cp.runControllers(ctx) }() // controllers.go
	go func() { errc <- cp.runScheduler(ctx) }()   // controllers.go
	cp.cfg.Logger.Info("API server listening", "url", cp.url, "kubeconfig", cp.adminConf)
	var first error
	for i := 0; i < 4; i++ {
		err := <-errc
		if err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// WaitReady blocks until the API server serves (its cache is loaded) or ctx ends.
func (cp *ControlPlane) WaitReady(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !cp.api.Ready() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func firstServiceIP(cidr *net.IPNet) net.IP {
	ip := make(net.IP, len(cidr.IP))
	copy(ip, cidr.IP)
	ip[len(ip)-1]++
	return ip
}

// defaultAdvertiseAddress picks the address other machines reach this one at.
func defaultAdvertiseAddress(bind net.IP) net.IP {
	if !bind.IsUnspecified() {
		return bind
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				return n.IP.To4()
			}
		}
	}
	return net.IPv4(127, 0, 0, 1).To4()
}
