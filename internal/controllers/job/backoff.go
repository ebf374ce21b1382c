package job

import (
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// backoffRecord is what the pod failure delay of a Job is computed from:
// how many pods failed since the last success, and when the last one did.
type backoffRecord struct {
	failuresAfterLastSuccess int
	lastFailureTime          time.Time
}

// remaining returns how long to wait at now before creating a pod: base
// doubled for every failure after the first, capped at limit, counted from
// the last failure.
func (r backoffRecord) remaining(now time.Time, base, limit time.Duration) time.Duration {
	if r.failuresAfterLastSuccess == 0 {
		return 0
	}
	d := base
	for i := 1; i < r.failuresAfterLastSuccess && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	elapsed := now.Sub(r.lastFailureTime)
	if elapsed >= d {
		return 0
	}
	return d - elapsed
}

// next returns the record after newly finished pods were counted. A
// success resets the failures to those that happened after it.
func (r backoffRecord) next(succeeded, failed []*corev1.Pod, now time.Time) backoffRecord {
	if len(succeeded) == 0 && len(failed) == 0 {
		return r
	}
	failTimes := finishTimes(failed, now)
	if len(succeeded) == 0 {
		r.failuresAfterLastSuccess += len(failed)
		if last := failTimes[len(failTimes)-1]; last.After(r.lastFailureTime) {
			r.lastFailureTime = last
		}
		return r
	}
	succTimes := finishTimes(succeeded, now)
	lastSuccess := succTimes[len(succTimes)-1]
	out := backoffRecord{}
	for _, t := range failTimes {
		if t.After(lastSuccess) {
			out.failuresAfterLastSuccess++
			out.lastFailureTime = t
		}
	}
	return out
}

// finishTimes returns when each pod finished, sorted: the latest
// termination time of its containers, else its deletion time, else now.
func finishTimes(pods []*corev1.Pod, now time.Time) []time.Time {
	out := make([]time.Time, 0, len(pods))
	for _, p := range pods {
		out = append(out, finishTime(p, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func finishTime(p *corev1.Pod, now time.Time) time.Time {
	var t time.Time
	for _, statuses := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, s := range statuses {
			if term := s.State.Terminated; term != nil && term.FinishedAt.Time.After(t) {
				t = term.FinishedAt.Time
			}
		}
	}
	if !t.IsZero() {
		return t
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Time
	}
	return now
}

// backoffStore keeps a backoffRecord per Job key in memory (as upstream:
// after a restart failures start being counted again).
type backoffStore struct {
	mu sync.Mutex
	m  map[string]backoffRecord
}

func newBackoffStore() *backoffStore { return &backoffStore{m: map[string]backoffRecord{}} }

func (s *backoffStore) get(key string) backoffRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

func (s *backoffStore) set(key string, r backoffRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.failuresAfterLastSuccess == 0 {
		delete(s.m, key)
		return
	}
	s.m[key] = r
}

func (s *backoffStore) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}
