package openapi

import (
	"encoding/json"
	"os"
	"runtime"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/scheme"

	"github.com/sampan-dev/sampan/internal/resources"
)

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestScratch(t *testing.T) {
	c := newCatalog(resources.Builtin(), scheme.Scheme)
	h0 := heap()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	a0 := ms.TotalAlloc
	start := time.Now()
	sw, err := c.buildV2()
	if err != nil {
		t.Fatal(err)
	}
	d2 := time.Since(start)
	h1 := heap()
	b, err := sw.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	t.Logf("v2 build %v, heap retained by spec %d KiB, json %d KiB, total alloc %d MiB", d2, (h1-h0)/1024, len(b)/1024, (ms.TotalAlloc-a0)>>20)
	os.WriteFile("/tmp/v2.json", b, 0o644)
	sw = nil
	start = time.Now()
	vb, err := c.v3Builder()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range vb.names() {
		d, err := vb.build(n)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(d)
		total += len(j)
		if n == "apis/apps/v1" || n == "api/v1" {
			os.WriteFile("/tmp/v3-"+map[string]string{"apis/apps/v1": "apps", "api/v1": "core"}[n]+".json", j, 0o644)
		}
		t.Logf("%s %d KiB", n, len(j)/1024)
	}
	t.Logf("v3 all %v total %d KiB", time.Since(start), total/1024)
}
