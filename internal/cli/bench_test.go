package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sampan-dev/sampan/internal/bench"
	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// `sampan bench api` runs against a kubeconfig, prints the table and writes
// the same figures as JSON.
func TestBenchAPICommand(t *testing.T) {
	c := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	jsonFile := filepath.Join(t.TempDir(), "api.json")
	var out, errOut bytes.Buffer
	r := newRoot(streams{in: strings.NewReader(""), out: &out, err: &errOut})
	err := r.run(ctx, []string{"sampan", "bench", "api", "--kubeconfig", c.Kubeconfig,
		"--concurrency", "1,2", "--objects", "4", "--list-size", "6", "--list-repeats", "1",
		"--watchers", "2", "--watch-writes", "3", "--cleanup-wait", "100ms", "--json", jsonFile})
	if err != nil {
		t.Fatalf("bench api: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.APIReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("decoding %s: %v", jsonFile, err)
	}
	if want := 2*2*5 + 2 + 2; len(rep.Results) != want {
		t.Errorf("%d rows in the JSON report, want %d", len(rep.Results), want)
	}
	for _, res := range rep.Results {
		if res.Errors != 0 {
			t.Errorf("%s %s %s at %d: %d errors: %s", res.Phase, res.Verb, res.Kind, res.Concurrency, res.Errors, res.FirstError)
		}
		if !strings.Contains(out.String(), res.Phase+" ") {
			t.Errorf("table lacks phase %s", res.Phase)
		}
	}
	if rep.Config.Objects != 4 || rep.Config.ListSize != 6 || rep.Config.Watchers != 2 {
		t.Errorf("flags not applied: %+v", rep.Config)
	}
	if !strings.Contains(out.String(), "OPS/S") {
		t.Errorf("no table printed:\n%s", out.String())
	}
}
