package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKillDurability SIGKILLs the server under concurrent writes and checks
// that every acknowledged create survives the restart, and that nothing
// else appears beyond the writes in flight at the kill.
func TestKillDurability(t *testing.T) {
	const (
		writers  = 32
		killAt   = 3000 // acknowledged creates before the kill
		prefix   = "crash-"
		inFlight = 1 // at most one outstanding create per writer
	)
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	cms := s.client.CoreV1().ConfigMaps("default")

	type record struct {
		acked     []string
		attempted string // the create outstanding or failed when the writer stopped
		err       error
	}
	var (
		acks    atomic.Int64
		killed  atomic.Bool
		reached = make(chan struct{})
		once    sync.Once
		records = make([]record, writers)
		wg      sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := &records[w]
			for i := 0; ; i++ {
				name := fmt.Sprintf("%sw%02d-%06d", prefix, w, i)
				rec.attempted = name
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"writer": fmt.Sprint(w), "seq": fmt.Sprint(i)}}
				if _, err := cms.Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
					if !killed.Load() {
						rec.err = err
					}
					return
				}
				rec.acked = append(rec.acked, name)
				if acks.Add(1) >= killAt {
					once.Do(func() { close(reached) })
				}
			}
		}()
	}

	// A writer failing before the kill would leave the others running forever:
	// watch for that as well as for the ack count.
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-reached:
	case <-allDone:
	}
	killed.Store(true)
	s.kill()
	<-allDone

	var acked, attempted = map[string]bool{}, map[string]bool{}
	for w, rec := range records {
		if rec.err != nil {
			t.Fatalf("writer %d failed before the kill: %v", w, rec.err)
		}
		for _, n := range rec.acked {
			acked[n] = true
		}
		attempted[rec.attempted] = true
	}
	if len(acked) < killAt {
		t.Fatalf("only %d acknowledged creates before the kill, want %d", len(acked), killAt)
	}

	s2 := startServer(t, dataDir)
	list, err := s2.client.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var extra []string
	for _, cm := range list.Items {
		if !strings.HasPrefix(cm.Name, prefix) {
			continue
		}
		present[cm.Name] = true
		if !acked[cm.Name] {
			if !attempted[cm.Name] {
				t.Errorf("configmap %s present after restart but never written", cm.Name)
			}
			extra = append(extra, cm.Name)
		}
	}
	var lost []string
	for n := range acked {
		if !present[n] {
			lost = append(lost, n)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged configmaps lost after kill -9, e.g. %v", len(lost), len(acked), lost[:min(len(lost), 10)])
	}
	if len(extra) > writers*inFlight {
		t.Errorf("%d unacknowledged configmaps present, want at most %d (one in flight per writer): %v", len(extra), writers*inFlight, extra)
	}
	t.Logf("%d acknowledged, %d present after restart (%d were in flight at the kill)", len(acked), len(present), len(extra))

	// The restarted server keeps accepting writes after recovery.
	if _, err := s2.client.CoreV1().ConfigMaps("default").Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after-restart"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create after restart: %v", err)
	}
}
