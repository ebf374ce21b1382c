// Package e2e runs Sampan as a user would: the real binary as a subprocess,
// driven by its linked-in kubectl and by client-go.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// sampanBin is the binary under test: $SAMPAN_BIN, or one built by TestMain.
var sampanBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	sampanBin = os.Getenv("SAMPAN_BIN")
	if sampanBin == "" {
		dir, err := os.MkdirTemp("", "sampan-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		sampanBin = filepath.Join(dir, "sampan")
		if err := buildSampan(sampanBin); err != nil {
			fmt.Fprintln(os.Stderr, "building sampan:", err)
			return 1
		}
	}
	return m.Run()
}

// buildSampan builds ./cmd/sampan with the Makefile's version ldflags, so that
// `kubectl version` reports the Kubernetes version of the linked k8s.io/api.
func buildSampan(out string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	list := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "k8s.io/api")
	list.Dir = root
	v, err := list.Output()
	if err != nil {
		return fmt.Errorf("go list k8s.io/api: %w", err)
	}
	version := strings.Replace(strings.TrimSpace(string(v)), "v0.", "v1.", 1)
	parts := strings.Split(strings.TrimPrefix(version, "v"), ".")
	if len(parts) < 2 {
		return fmt.Errorf("unexpected k8s.io/api version %q", version)
	}
	ldflags := []string{"-s", "-w"}
	for _, p := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ldflags = append(ldflags,
			"-X", p+".gitVersion="+version,
			"-X", p+".gitMajor="+parts[0],
			"-X", p+".gitMinor="+parts[1],
			"-X", p+".gitTreeState=clean")
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags", strings.Join(ldflags, " "), "-o", out, "./cmd/sampan")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	return build.Run()
}

// server is a running `sampan server` subprocess.
type server struct {
	dataDir    string
	port       int
	kubeconfig string
	config     *rest.Config
	client     *kubernetes.Clientset

	cmd  *exec.Cmd
	done chan struct{}
	log  *syncBuffer
}

// startServer starts `sampan server` on a free port with dataDir (a new temp
// dir when empty) and waits until /readyz answers ok. Cleanup kills it.
func startServer(t *testing.T, dataDir string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	s := &server{dataDir: dataDir, port: freePort(t), kubeconfig: filepath.Join(dataDir, "admin.conf"), log: &syncBuffer{}}
	s.cmd = exec.Command(sampanBin, "server", "--data-dir", dataDir,
		"--secure-port", fmt.Sprint(s.port), "--bind-address", "127.0.0.1")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting sampan server: %v", err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
	if err := s.waitReady(60 * time.Second); err != nil {
		t.Fatalf("server not ready: %v\nlog:\n%s", err, s.log.String())
	}
	return s
}

// kill sends SIGKILL and waits for the process to exit.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

func (s *server) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last string
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case <-s.done:
			return false, fmt.Errorf("server exited")
		default:
		}
		if s.config == nil {
			cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
			if err != nil {
				last = err.Error()
				return false, nil
			}
			// admin.conf may predate this run (restart on the same data dir):
			// talk to this run's port.
			cfg.Host = fmt.Sprintf("https://127.0.0.1:%d", s.port)
			cfg.QPS, cfg.Burst = -1, 0
			s.config = cfg
		}
		if s.client == nil {
			c, err := kubernetes.NewForConfig(s.config)
			if err != nil {
				return false, err
			}
			s.client = c
		}
		body, err := s.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		return strings.TrimSpace(string(body)) == "ok", nil
	})
	if err != nil {
		return fmt.Errorf("%w (last: %s)", err, last)
	}
	return nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
