package bolt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sampan-dev/sampan/internal/storage"
)

// crashHelperEnv names the database file the crash helper process writes to;
// it is set only in that child process.
const crashHelperEnv = "SAMPAN_BOLT_CRASH_HELPER_DB"

const (
	crashWriters = 32
	// crashKillAfter is how many acknowledged creates the parent reads before
	// it kills the child.
	crashKillAfter = 3000
)

func crashKey(writer, i int) string { return fmt.Sprintf("/crash/%02d/%08d", writer, i) }

func crashValue(key string) []byte { return []byte("value of " + key + strings.Repeat(".", 200)) }

// TestCrashHelper is the child process of TestCrashDurability: it creates keys
// from crashWriters goroutines, printing "ack <key>" right after each Create
// returns, until it is killed. It exits when its stdin closes, so it never
// outlives a parent that died.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashHelperEnv)
	if path == "" {
		t.Skip("helper process of TestCrashDurability")
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	s, err := Open(Config{Path: path, CompactInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "opening store:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range crashWriters {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := crashKey(g, i)
				if _, err := s.Create(context.Background(), key, crashValue(key)); err != nil {
					fmt.Fprintln(os.Stderr, "creating:", err)
					os.Exit(2)
				}
				line := "ack " + key + "\n"
				mu.Lock()
				_, err := os.Stdout.WriteString(line)
				mu.Unlock()
				if err != nil {
					os.Exit(2)
				}
			}
		})
	}
	wg.Wait()
}

// TestCrashDurability kills -9 a process in the middle of concurrent writes
// and checks that every write it acknowledged survives, that nothing it did
// not attempt appears, and that revisions and history are consistent.
func TestCrashDurability(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// Read acks until crashKillAfter, kill, then read what the child managed to
	// write before it died.
	acked := make([]int, crashWriters) // acked[g]: keys 0..acked[g]-1 of writer g were acknowledged
	total := 0
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		key, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue
		}
		var g, i int
		if _, err := fmt.Sscanf(key, "/crash/%d/%d", &g, &i); err != nil || g < 0 || g >= crashWriters {
			t.Fatalf("child acknowledged unexpected key %q", key)
		}
		if i != acked[g] {
			t.Fatalf("writer %d acknowledged key %d after %d keys", g, i, acked[g])
		}
		acked[g]++
		total++
		if total == crashKillAfter && !killed {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("killing child: %v", err)
			}
			killed = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading child output: %v", err)
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !killed || !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v after %d acks, want killed after %d; stderr:\n%s", err, total, crashKillAfter, stderr.String())
	}
	t.Logf("child acknowledged %d creates before it was killed", total)

	s := openTest(t, Config{Path: path})
	ctx := t.Context()
	res, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := s.CurrentRevision(ctx)
	if res.Revision != cur {
		t.Errorf("List revision %d, CurrentRevision %d", res.Revision, cur)
	}

	present := make([]int, crashWriters)
	byRev := make(map[int64]string, len(res.KVs))
	for _, kv := range res.KVs {
		var g, i int
		if _, err := fmt.Sscanf(kv.Key, "/crash/%d/%d", &g, &i); err != nil || g < 0 || g >= crashWriters || kv.Key != crashKey(g, i) {
			t.Fatalf("store holds a key the child never wrote: %q", kv.Key)
		}
		// Keys of one writer are created in order and sorted in order.
		if i != present[g] {
			t.Fatalf("writer %d: key %d present but key %d missing", g, i, present[g])
		}
		present[g]++
		if !bytes.Equal(kv.Value, crashValue(kv.Key)) {
			t.Errorf("%s: wrong value %q", kv.Key, kv.Value)
		}
		if kv.CreateRevision != kv.ModRevision || kv.ModRevision < 1 || kv.ModRevision > cur {
			t.Errorf("%s: revisions %d/%d outside 1..%d", kv.Key, kv.CreateRevision, kv.ModRevision, cur)
		}
		if other, dup := byRev[kv.ModRevision]; dup {
			t.Errorf("revision %d used by %s and %s", kv.ModRevision, other, kv.Key)
		}
		byRev[kv.ModRevision] = kv.Key
	}
	for g := range crashWriters {
		// Every acknowledged key is there; at most the one in flight beyond.
		if present[g] < acked[g] || present[g] > acked[g]+1 {
			t.Errorf("writer %d: %d keys present, %d acknowledged", g, present[g], acked[g])
		}
	}
	t.Logf("%d keys present after reopen at revision %d", len(res.KVs), cur)
	// Only creates happened, so revisions 1..cur are exactly the present keys.
	if int64(len(res.KVs)) != cur {
		t.Errorf("%d keys present at revision %d, want one key per revision", len(res.KVs), cur)
	}

	// History agrees with the keys: replay everything after revision 1.
	ch, err := s.Watch(ctx, "/crash/", 1)
	if err != nil {
		t.Fatal(err)
	}
	for rev := int64(2); rev <= cur; rev++ {
		ev := recv(t, ch)
		if ev.Revision() != rev || ev.Type != storage.EventPut || ev.KV.Key != byRev[rev] {
			t.Fatalf("history event %s %s@%d, want PUT %s@%d", ev.Type, ev.KV.Key, ev.Revision(), byRev[rev], rev)
		}
	}
	// And writes go on where the child stopped.
	if rev, err := s.Create(ctx, "/after-crash", nil); err != nil || rev != cur+1 {
		t.Errorf("Create after reopen = %d, %v; want %d", rev, err, cur+1)
	}
}
