package job

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// noIndex is the completion index of a pod that has none (or a bad one).
const noIndex = -1

// indexRange is the closed interval [first, last] of completion indexes.
type indexRange struct{ first, last int }

// indexSet is a sorted list of disjoint, non-adjacent ranges: the form of
// status.completedIndexes ("1,3-5").
type indexSet []indexRange

// parseIndexSet reads s, keeping the indexes below limit. Malformed parts
// are skipped.
func parseIndexSet(s string, limit int) indexSet {
	var idx []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil || first < 0 {
			continue
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil || last < first {
				continue
			}
		}
		for i := first; i <= last && i < limit; i++ {
			idx = append(idx, i)
		}
	}
	return indexSet(nil).with(idx)
}

// String formats the set as "1,3-5".
func (s indexSet) String() string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(r.first))
		if r.last > r.first {
			fmt.Fprintf(&b, "-%d", r.last)
		}
	}
	return b.String()
}

// total is the number of indexes in the set.
func (s indexSet) total() int {
	n := 0
	for _, r := range s {
		n += r.last - r.first + 1
	}
	return n
}

// has reports whether ix is in the set.
func (s indexSet) has(ix int) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].last >= ix })
	return i < len(s) && s[i].first <= ix
}

// with returns the set plus the indexes add (in any order, with repeats).
func (s indexSet) with(add []int) indexSet {
	all := make([]int, 0, s.total()+len(add))
	for _, r := range s {
		for i := r.first; i <= r.last; i++ {
			all = append(all, i)
		}
	}
	all = append(all, add...)
	sort.Ints(all)
	var out indexSet
	for _, ix := range all {
		if n := len(out); n > 0 && ix <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, ix)
			continue
		}
		out = append(out, indexRange{ix, ix})
	}
	return out
}

// completionIndex returns pod's completion index from its annotation, or
// noIndex.
func completionIndex(pod *corev1.Pod) int {
	v, ok := pod.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return noIndex
	}
	ix, err := strconv.Atoi(v)
	if err != nil || ix < 0 {
		return noIndex
	}
	return ix
}

// firstPendingIndexes returns up to n of the lowest indexes below
// completions that have not succeeded and have no pod in busy.
func firstPendingIndexes(succeeded indexSet, busy []*corev1.Pod, n, completions int) []int {
	taken := make(map[int]bool, len(busy))
	for _, p := range busy {
		if ix := completionIndex(p); ix != noIndex {
			taken[ix] = true
		}
	}
	var out []int
	for ix := 0; ix < completions && len(out) < n; ix++ {
		if !succeeded.has(ix) && !taken[ix] {
			out = append(out, ix)
		}
	}
	return out
}

// addCompletionIndexEnv gives every container of template the
// JOB_COMPLETION_INDEX variable, read from the pod's annotation.
func addCompletionIndexEnv(template *corev1.PodTemplateSpec) {
	add := func(cs []corev1.Container) {
		for i := range cs {
			found := false
			for _, e := range cs[i].Env {
				if e.Name == "JOB_COMPLETION_INDEX" {
					found = true
					break
				}
			}
			if found {
				continue
			}
			cs[i].Env = append(cs[i].Env, corev1.EnvVar{
				Name: "JOB_COMPLETION_INDEX",
				ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
					FieldPath: fmt.Sprintf("metadata.annotations['%s']", batchv1.JobCompletionIndexAnnotation),
				}},
			})
		}
	}
	add(template.Spec.InitContainers)
	add(template.Spec.Containers)
}
