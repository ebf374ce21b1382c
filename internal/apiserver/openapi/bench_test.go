package openapi

import (
	"runtime"
	"testing"

	"github.com/sampan-dev/sampan/internal/resources"
)

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBuild builds every document as the first requests do, and reports
// what the built documents keep on the heap ("retained-B") besides the time
// and allocations of building them.
func BenchmarkBuild(b *testing.B) {
	reg := resources.Builtin()
	for _, tc := range []struct {
		name  string
		build func(s *Service) error
	}{
		{"v2", func(s *Service) error { _, err := s.documentV2(); return err }},
		{"v2+protobuf", func(s *Service) error {
			d, err := s.documentV2()
			if err == nil {
				_, _, err = d.protobuf()
			}
			return err
		}},
		{"v3", func(s *Service) error { _, err := s.documentsV3(); return err }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var retained uint64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := New(reg)
				before := heapInUse()
				b.StartTimer()
				if err := tc.build(s); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				retained = heapInUse() - before
				runtime.KeepAlive(s)
				b.StartTimer()
			}
			b.ReportMetric(float64(retained), "retained-B")
		})
	}
}
