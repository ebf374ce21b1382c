package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// kubectlTimeout bounds one kubectl invocation; it is a hang guard, not an assertion.
const kubectlTimeout = 90 * time.Second

// kubectlEnv is the environment of kubectl subprocesses: this server's
// kubeconfig and a private HOME, so the discovery cache is per server.
func (s *server) kubectlEnv(extra ...string) []string {
	home := filepath.Join(s.dataDir, "home")
	_ = os.MkdirAll(home, 0o700)
	env := append(os.Environ(), "KUBECONFIG="+s.kubeconfig, "HOME="+home)
	return append(env, extra...)
}

// result is one finished kubectl run.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// kubectlRun runs `sampan kubectl args...` with env added and returns its output and exit code.
func (s *server) kubectlRun(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, sampanBin, append([]string{"kubectl"}, args...)...)
	cmd.Env = s.kubectlEnv(env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("kubectl %s: did not finish within %v", strings.Join(args, " "), kubectlTimeout)
	}
	return r
}

// kubectl runs kubectl and fails the test unless it exits 0; it returns stdout.
func (s *server) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	r := s.kubectlRun(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// kubectlFail runs kubectl, expects a non-zero exit and returns stderr.
func (s *server) kubectlFail(t *testing.T, args ...string) string {
	t.Helper()
	r := s.kubectlRun(t, nil, args...)
	if r.code == 0 {
		t.Fatalf("kubectl %s: succeeded, want an error: %s", strings.Join(args, " "), r)
	}
	return r.stderr
}

// waitNotFound polls `kubectl get args...` until the server answers NotFound.
func (s *server) waitNotFound(t *testing.T, timeout time.Duration, args ...string) {
	t.Helper()
	var last result
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last = s.kubectlRun(t, nil, append([]string{"get"}, args...)...)
		return last.code != 0 && strings.Contains(last.stderr, "NotFound"), nil
	})
	if err != nil {
		t.Fatalf("kubectl get %s: still there after %v: %s", strings.Join(args, " "), timeout, last)
	}
}

// contains fails the test unless out contains every want.
func contains(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: missing %q in:\n%s", what, w, out)
		}
	}
}

// writeFile writes content to a new file in a temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readSeed returns the contents of an examples/seed manifest.
func readSeed(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "seed", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
