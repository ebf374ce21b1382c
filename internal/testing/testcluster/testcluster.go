// Package testcluster starts a real control plane in-process for tests: the
// API server on a random loopback port over a t.TempDir() store, reached
// with client-go through its admin kubeconfig.
package testcluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sampan-dev/sampan/internal/controlplane"
)

// Cluster is a running control plane.
type Cluster struct {
	DataDir    string
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	URL        string
	stop       func()
}

// Options tweak Start.
type Options struct {
	// DataDir reuses a directory (to restart a control plane on the same state).
	DataDir string
	// Logger for the server; discarded when nil.
	Logger *slog.Logger
	// Controllers selects the control loops the control plane runs (see
	// controlplane.Config.Controllers): nil runs all of them, an empty
	// slice none, so a test can run the controller under test itself.
	Controllers []string
	// Configure, when set, adjusts the control plane's config before it starts.
	Configure func(*controlplane.Config)
}

// Start runs a control plane until the test ends.
func Start(t testing.TB, opts ...Options) *Cluster {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cpCfg := controlplane.Config{
		DataDir:          o.DataDir,
		BindAddress:      net.IPv4(127, 0, 0, 1),
		AdvertiseAddress: net.IPv4(127, 0, 0, 1),
		SecurePort:       -1,
		Logger:           o.Logger,
		Controllers:      o.Controllers,
	}
	if o.Configure != nil {
		o.Configure(&cpCfg)
	}
	cp, err := controlplane.New(cpCfg)
	if err != nil {
		t.Fatalf("starting control plane: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cp.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("control plane stopped with: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("control plane did not stop")
		}
	}
	var once sync.Once
	stopOnce := func() { once.Do(stop) }
	t.Cleanup(stopOnce)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := cp.WaitReady(wctx); err != nil {
		t.Fatalf("waiting for control plane: %v", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.AdminKubeconfig())
	if err != nil {
		t.Fatalf("loading admin kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit in tests
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building client: %v", err)
	}
	c := &Cluster{DataDir: o.DataDir, Kubeconfig: cp.AdminKubeconfig(), Config: cfg, Client: client, URL: cp.URL(), stop: stopOnce}
	// The kubernetes Service exists once the server has bootstrapped.
	err = wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-done:
			done <- err // for stop
			return false, fmt.Errorf("control plane exited: %v", err)
		default:
		}
		_, err := client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("control plane did not bootstrap: %v", err)
	}
	return c
}

// Stop stops the control plane now (it is stopped at the end of the test anyway).
func (c *Cluster) Stop() { c.stop() }
