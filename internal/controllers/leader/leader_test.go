package leader_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sampan-dev/sampan/internal/controllers/leader"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// Two contenders for one Lease: only one runs at a time, the Lease names
// it, and when it stops (releasing the Lease) the other takes over.
func TestOneLeaderAtATimeAndHandover(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	var active, maxActive atomic.Int32
	leading := make(chan string, 2)
	run := func(id string) (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			errc <- leader.Run(ctx, leader.Config{
				Client: c.Client, Name: "test-component", Identity: id,
				LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 100 * time.Millisecond,
			}, func(ctx context.Context) error {
				n := active.Add(1)
				for {
					m := maxActive.Load()
					if n <= m || maxActive.CompareAndSwap(m, n) {
						break
					}
				}
				leading <- id
				<-ctx.Done()
				active.Add(-1)
				return nil
			})
		}()
		return cancel, errc
	}
	stopA, errA := run("a")
	first := <-leading
	if first != "a" {
		t.Fatalf("first leader = %s, want a", first)
	}
	stopB, errB := run("b")
	defer stopB()
	lease, err := c.Client.CoordinationV1().Leases("kube-system").Get(context.Background(), "test-component", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *lease.Spec.HolderIdentity; got != "a" {
		t.Fatalf("lease holder = %q, want a", got)
	}
	stopA()
	if err := <-errA; err != nil {
		t.Fatalf("Run a: %v", err)
	}
	select {
	case id := <-leading:
		if id != "b" {
			t.Fatalf("second leader = %s, want b", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("b never became leader after a released the lease")
	}
	if maxActive.Load() != 1 {
		t.Fatalf("%d contenders ran at once", maxActive.Load())
	}
	stopB()
	if err := <-errB; err != nil {
		t.Fatalf("Run b: %v", err)
	}
}

// A restarted process with the same identity takes its unexpired lease
// back at once, where another identity would wait the lease out.
func TestSameIdentityReacquires(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: []string{}})
	id, secs := "same", int32(3600)
	now := metav1.NewMicroTime(time.Now())
	_, err := c.Client.CoordinationV1().Leases("kube-system").Create(context.Background(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "again", Namespace: "kube-system"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &id, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- leader.Run(ctx, leader.Config{Client: c.Client, Name: "again", Identity: id, RetryPeriod: 100 * time.Millisecond},
			func(ctx context.Context) error { close(started); <-ctx.Done(); return nil })
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second): // far below the lease's hour
		t.Fatal("did not take its own lease back")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
