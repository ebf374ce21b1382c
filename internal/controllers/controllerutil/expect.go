package controllerutil

// Expect records, in one step, adds creates and the deletions of the
// objects named by podKeys for key (a controller such as the DaemonSet one
// issues both in one sync; ExpectCreations and ExpectDeletions each replace
// the whole record).
func (e *Expectations) Expect(key string, adds int, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{adds: adds, dels: len(podKeys), set: e.clock.Now(), deleting: map[string]bool{}}
	for _, k := range podKeys {
		x.deleting[k] = true
	}
	e.m[key] = x
}
