// Package queue holds the pods waiting for the scheduler, as upstream's
// scheduling queue does: an active queue ordered by priority then arrival,
// a backoff queue of pods that failed recently (per-pod exponential backoff,
// 1 s doubling to 10 s by default), and the unschedulable pods, which wait
// for a change in the cluster (a node added, resources freed) or at most
// five minutes before they are tried again.
package queue

import (
	"container/heap"
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// Defaults of Config's fields (upstream's).
const (
	DefaultInitialBackoff           = 1 * time.Second
	DefaultMaxBackoff               = 10 * time.Second
	DefaultMaxUnschedulableDuration = 5 * time.Minute
	backoffFlushPeriod              = 1 * time.Second
	unschedulableFlushPeriod        = 30 * time.Second
)

// Config configures a Queue. Zero fields take the defaults.
type Config struct {
	Clock                    clock.WithTicker
	InitialBackoff           time.Duration
	MaxBackoff               time.Duration
	MaxUnschedulableDuration time.Duration
	// Tag marks pods that MoveTagged moves (e.g. pods with required pod
	// affinity, which a new pod may satisfy). Optional.
	Tag func(*corev1.Pod) bool
}

// QueuedPod is a pod in the queue with its scheduling history.
type QueuedPod struct {
	Pod *corev1.Pod
	// Key is "namespace/name".
	Key string
	// Timestamp is when the pod last entered the queue (a new pod, or a
	// failed one coming back); the active queue is ordered by it within a
	// priority, and the backoff runs from it.
	Timestamp time.Time
	// InitialAttempt is when the pod was first popped.
	InitialAttempt time.Time
	// Attempts counts the pops.
	Attempts int

	seq   uint64 // arrival order, breaking Timestamp ties
	index int    // in its heap, -1 when in none
	where where
}

type where int8

const (
	nowhere where = iota
	inActive
	inBackoff
	inUnschedulable
)

// Queue is the scheduling queue. All methods are safe for concurrent use.
type Queue struct {
	cfg  Config
	mu   sync.Mutex
	cond *sync.Cond

	pods          map[string]*QueuedPod // every pod in one of the three sub-queues
	active        podHeap
	backoff       podHeap
	unschedulable map[string]*QueuedPod

	seq uint64
	// cycle counts pops; moveCycle is the cycle of the last move request.
	// A pod that fails in a cycle that began before a move request goes to
	// backoff rather than unschedulable: the change may have made it fit.
	cycle     int64
	moveCycle int64
	closed    bool
	// inFlight holds the pods popped and not yet Done, with what happened
	// to them meanwhile.
	inFlight map[string]*inFlightPod
	// tagged counts the unschedulable pods Config.Tag marks.
	tagged int
}

type inFlightPod struct {
	latest  *corev1.Pod // the newest copy seen while in flight
	changed bool        // an update that may change where it fits
	deleted bool
}

// New returns an empty queue.
func New(cfg Config) *Queue {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxUnschedulableDuration <= 0 {
		cfg.MaxUnschedulableDuration = DefaultMaxUnschedulableDuration
	}
	q := &Queue{
		cfg:           cfg,
		pods:          map[string]*QueuedPod{},
		unschedulable: map[string]*QueuedPod{},
		inFlight:      map[string]*inFlightPod{},
		moveCycle:     -1,
	}
	q.active.less = activeLess
	q.backoff.less = func(a, b *QueuedPod) bool {
		ea, eb := q.backoffExpiry(a), q.backoffExpiry(b)
		if !ea.Equal(eb) {
			return ea.Before(eb)
		}
		return a.seq < b.seq
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func activeLess(a, b *QueuedPod) bool {
	pa, pb := priority(a.Pod), priority(b.Pod)
	if pa != pb {
		return pa > pb
	}
	if !a.Timestamp.Equal(b.Timestamp) {
		return a.Timestamp.Before(b.Timestamp)
	}
	return a.seq < b.seq
}

func priority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// Key returns the queue key of pod.
func Key(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// Run moves pods whose backoff ended to the active queue every second and
// pods unschedulable for longer than MaxUnschedulableDuration every 30
// seconds, until ctx ends; then it closes the queue.
func (q *Queue) Run(ctx context.Context) {
	bt := q.cfg.Clock.NewTicker(backoffFlushPeriod)
	defer bt.Stop()
	ut := q.cfg.Clock.NewTicker(unschedulableFlushPeriod)
	defer ut.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-bt.C():
			q.FlushBackoffCompleted()
		case <-ut.C():
			q.FlushUnschedulableLeftover()
		}
	}
}

// Close wakes every Pop; they return false from then on.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// Add puts a new pod in the active queue. A pod already queued is updated
// instead.
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := Key(pod)
	if qp, ok := q.pods[key]; ok {
		q.updateLocked(qp, pod)
		return
	}
	if f, ok := q.inFlight[key]; ok {
		q.updateInFlight(f, pod)
		return
	}
	q.seq++
	qp := &QueuedPod{Pod: pod, Key: key, Timestamp: q.cfg.Clock.Now(), seq: q.seq, index: -1}
	q.pushLocked(qp, inActive)
}

// Update replaces the queued copy of pod. An unschedulable pod whose spec
// or labels changed is tried again (after its backoff); a pod being
// scheduled now is remembered for when its attempt ends; any other pod is
// added to the active queue.
func (q *Queue) Update(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qp, ok := q.pods[Key(pod)]
	if !ok {
		if f, ok := q.inFlight[Key(pod)]; ok {
			q.updateInFlight(f, pod)
			return
		}
		q.seq++
		qp = &QueuedPod{Pod: pod, Key: Key(pod), Timestamp: q.cfg.Clock.Now(), seq: q.seq, index: -1}
		q.pushLocked(qp, inActive)
		return
	}
	q.updateLocked(qp, pod)
}

func (q *Queue) updateInFlight(f *inFlightPod, pod *corev1.Pod) {
	if f.latest != nil && schedulingInputsChanged(f.latest, pod) {
		f.changed = true
	}
	f.latest = pod
}

func (q *Queue) updateLocked(qp *QueuedPod, pod *corev1.Pod) {
	old := qp.Pod
	if qp.where == inUnschedulable && q.cfg.Tag != nil {
		if q.cfg.Tag(old) {
			q.tagged--
		}
		if q.cfg.Tag(pod) {
			q.tagged++
		}
	}
	qp.Pod = pod
	switch qp.where {
	case inActive:
		heap.Fix(&q.active, qp.index)
	case inBackoff:
		heap.Fix(&q.backoff, qp.index)
	case inUnschedulable:
		if schedulingInputsChanged(old, pod) {
			q.removeLocked(qp)
			q.requeueLocked(qp)
			q.cond.Broadcast()
		}
	}
}

// schedulingInputsChanged reports whether an update may change where (or
// whether) a pod fits: anything but its status and bookkeeping metadata.
func schedulingInputsChanged(old, cur *corev1.Pod) bool {
	if old.Generation != cur.Generation {
		return true
	}
	if !equalStringMaps(old.Labels, cur.Labels) {
		return true
	}
	// Pod spec updates are limited (image, tolerations, scheduling gates,
	// resources through resize); generation tracks them.
	return len(old.Spec.Tolerations) != len(cur.Spec.Tolerations) || len(old.Spec.SchedulingGates) != len(cur.Spec.SchedulingGates)
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Delete drops pod from the queue.
func (q *Queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if qp, ok := q.pods[Key(pod)]; ok {
		q.removeLocked(qp)
	}
	if f, ok := q.inFlight[Key(pod)]; ok {
		f.deleted = true
	}
}

// Pop waits for a pod in the active queue and takes it out. It returns the
// pod and the scheduling cycle it starts, or false once the queue is closed.
func (q *Queue) Pop() (*QueuedPod, int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, 0, false
	}
	qp := heap.Pop(&q.active).(*QueuedPod)
	qp.where = nowhere
	delete(q.pods, qp.Key)
	q.cycle++
	qp.Attempts++
	if qp.Attempts == 1 {
		qp.InitialAttempt = q.cfg.Clock.Now()
	}
	q.inFlight[qp.Key] = &inFlightPod{latest: qp.Pod}
	return qp, q.cycle, true
}

// Done ends the attempt of a popped pod. Call it after AddUnschedulable or
// AddBackoff, if either is called.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, key)
}

// AddUnschedulable puts back a pod that fit no node in the given cycle. It
// waits in the unschedulable set for a cluster change, unless a change was
// already reported since the cycle began: then it goes to backoff. A pod
// that was re-added meanwhile (an update) stays where it is.
func (q *Queue) AddUnschedulable(qp *QueuedPod, cycle int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.pods[qp.Key]; ok || q.closed {
		return
	}
	changed := false
	if f, ok := q.inFlight[qp.Key]; ok {
		if f.deleted {
			return
		}
		qp.Pod, changed = f.latest, f.changed
	}
	qp.Timestamp = q.cfg.Clock.Now()
	if changed || q.moveCycle >= cycle {
		q.pushLocked(qp, inBackoff)
		return
	}
	q.pushLocked(qp, inUnschedulable)
}

// AddBackoff puts back a pod whose attempt failed for a reason other than
// fitting no node (an API error): it is retried after its backoff.
func (q *Queue) AddBackoff(qp *QueuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.pods[qp.Key]; ok || q.closed {
		return
	}
	if f, ok := q.inFlight[qp.Key]; ok {
		if f.deleted {
			return
		}
		qp.Pod = f.latest
	}
	qp.Timestamp = q.cfg.Clock.Now()
	q.pushLocked(qp, inBackoff)
}

// MoveAllToActiveOrBackoff gives the unschedulable pods for which match
// returns true (all of them when match is nil) another try: at once if
// their backoff is over, else when it ends. Call it when the cluster
// changes in a way that may make pods fit.
func (q *Queue) MoveAllToActiveOrBackoff(match func(*corev1.Pod) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	moved := false
	for _, qp := range q.unschedulable {
		if match != nil && !match(qp.Pod) {
			continue
		}
		q.removeLocked(qp)
		q.requeueLocked(qp)
		moved = true
	}
	if match == nil || moved {
		q.moveCycle = q.cycle
	}
	if moved {
		q.cond.Broadcast()
	}
}

// MoveTagged is MoveAllToActiveOrBackoff for the pods Config.Tag marks;
// it costs nothing when there are none.
func (q *Queue) MoveTagged() {
	if q.cfg.Tag == nil {
		return
	}
	q.mu.Lock()
	n := q.tagged
	q.mu.Unlock()
	if n > 0 {
		q.MoveAllToActiveOrBackoff(q.cfg.Tag)
	}
}

// FlushBackoffCompleted moves the pods whose backoff has ended to the
// active queue.
func (q *Queue) FlushBackoffCompleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.cfg.Clock.Now()
	moved := false
	for q.backoff.Len() > 0 {
		qp := q.backoff.items[0]
		if q.backoffExpiry(qp).After(now) {
			break
		}
		q.removeLocked(qp)
		q.pushLocked(qp, inActive)
		moved = true
	}
	if moved {
		q.cond.Broadcast()
	}
}

// FlushUnschedulableLeftover gives another try to the pods that have been
// unschedulable for longer than MaxUnschedulableDuration.
func (q *Queue) FlushUnschedulableLeftover() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.cfg.Clock.Now()
	moved := false
	for _, qp := range q.unschedulable {
		if now.Sub(qp.Timestamp) >= q.cfg.MaxUnschedulableDuration {
			q.removeLocked(qp)
			q.requeueLocked(qp)
			moved = true
		}
	}
	if moved {
		q.cond.Broadcast()
	}
}

// Lens returns the sizes of the active, backoff and unschedulable queues.
func (q *Queue) Lens() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable)
}

// Has reports whether a pod with key is queued, and where: "active",
// "backoff" or "unschedulable".
func (q *Queue) Has(key string) (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qp, ok := q.pods[key]
	if !ok {
		return "", false
	}
	return [...]string{"", "active", "backoff", "unschedulable"}[qp.where], true
}

// BackoffDuration is how long a pod waits after its latest failure:
// InitialBackoff doubled per attempt after the first, at most MaxBackoff.
func (q *Queue) BackoffDuration(qp *QueuedPod) time.Duration {
	d := q.cfg.InitialBackoff
	for i := 1; i < qp.Attempts; i++ {
		if d >= q.cfg.MaxBackoff/2 {
			return q.cfg.MaxBackoff
		}
		d *= 2
	}
	return min(d, q.cfg.MaxBackoff)
}

func (q *Queue) backoffExpiry(qp *QueuedPod) time.Time {
	return qp.Timestamp.Add(q.BackoffDuration(qp))
}

// requeueLocked puts a pod taken out of unschedulable into backoff or active.
func (q *Queue) requeueLocked(qp *QueuedPod) {
	if q.backoffExpiry(qp).After(q.cfg.Clock.Now()) {
		q.pushLocked(qp, inBackoff)
	} else {
		q.pushLocked(qp, inActive)
	}
}

func (q *Queue) pushLocked(qp *QueuedPod, w where) {
	qp.where = w
	q.pods[qp.Key] = qp
	switch w {
	case inActive:
		heap.Push(&q.active, qp)
		q.cond.Signal()
	case inBackoff:
		heap.Push(&q.backoff, qp)
	case inUnschedulable:
		q.unschedulable[qp.Key] = qp
		if q.cfg.Tag != nil && q.cfg.Tag(qp.Pod) {
			q.tagged++
		}
	}
}

func (q *Queue) removeLocked(qp *QueuedPod) {
	switch qp.where {
	case inActive:
		heap.Remove(&q.active, qp.index)
	case inBackoff:
		heap.Remove(&q.backoff, qp.index)
	case inUnschedulable:
		delete(q.unschedulable, qp.Key)
		if q.cfg.Tag != nil && q.cfg.Tag(qp.Pod) {
			q.tagged--
		}
	}
	qp.where = nowhere
	delete(q.pods, qp.Key)
}

// podHeap is a container/heap of pods with a custom order.
type podHeap struct {
	items []*QueuedPod
	less  func(a, b *QueuedPod) bool
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index = i
	h.items[j].index = j
}
func (h *podHeap) Push(x any) {
	qp := x.(*QueuedPod)
	qp.index = len(h.items)
	h.items = append(h.items, qp)
}
func (h *podHeap) Pop() any {
	n := len(h.items)
	qp := h.items[n-1]
	h.items[n-1] = nil
	h.items = h.items[:n-1]
	qp.index = -1
	return qp
}
