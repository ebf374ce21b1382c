package printers_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kprinters "k8s.io/cli-runtime/pkg/printers"

	"github.com/sampan-dev/sampan/internal/resources"
	"github.com/sampan-dev/sampan/internal/resources/printers"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// now is the fixed "current time" of every rendering.
var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// TestGolden renders each kind's fixtures the way kubectl get (and -o wide)
// prints the server's Table, and compares with testdata/<resource>.golden.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.resource, func(t *testing.T) {
			p, ok := printers.For(c.gk)
			if !ok {
				t.Fatalf("For(%v) = false", c.gk)
			}
			var out strings.Builder
			for _, wide := range []bool{false, true} {
				cmd := "kubectl get " + c.resource
				if wide {
					cmd += " -o wide"
				}
				fmt.Fprintf(&out, "$ %s\n%s\n", cmd, render(t, p, c.objs, wide))
			}
			out.WriteString(describeColumns(t, p, c.objs[0]))
			compareGolden(t, filepath.Join("testdata", c.resource+".golden"), out.String())
		})
	}
}

// render builds the Table, sends it through JSON as the API server would, and
// prints it with kubectl's own table printer.
func render(t *testing.T, p *printers.Printer, objs []runtime.Object, wide bool) string {
	t.Helper()
	table, err := p.Table(objs, now)
	if err != nil {
		t.Fatalf("Table: %v", err)
	}
	for i, row := range table.Rows {
		if len(row.Cells) != len(table.ColumnDefinitions) {
			t.Fatalf("row %d has %d cells, want %d: %v", i, len(row.Cells), len(table.ColumnDefinitions), row.Cells)
		}
		row.Object = runtime.RawExtension{} // kubectl get does not need it
		table.Rows[i] = row
	}
	data, err := json.Marshal(table)
	if err != nil {
		t.Fatalf("encoding table: %v", err)
	}
	var wire metav1.Table
	if err := json.Unmarshal(data, &wire); err != nil {
		t.Fatalf("decoding table: %v", err)
	}
	var buf bytes.Buffer
	if err := kprinters.NewTablePrinter(kprinters.PrintOptions{Wide: wide}).PrintObj(&wire, &buf); err != nil {
		t.Fatalf("printing table: %v", err)
	}
	return buf.String()
}

// describeColumns lists the column definitions with the Go type of the first
// object's cell in each, so a golden file also pins types and priorities.
func describeColumns(t *testing.T, p *printers.Printer, obj runtime.Object) string {
	t.Helper()
	cells, err := p.Row(obj, now)
	if err != nil {
		t.Fatalf("Row: %v", err)
	}
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "COLUMN\tTYPE\tFORMAT\tPRIORITY\tCELL")
	for i, c := range p.Columns {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%T\n", c.Name, c.Type, c.Format, c.Priority, cells[i])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return "# columns\n" + buf.String()
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden (run with -update to create): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestEveryServedKindHasPrinter checks that For knows every stored kind
// Sampan serves, that its columns are well formed, that it prints an empty
// object, and that a golden case covers it.
func TestEveryServedKindHasPrinter(t *testing.T) {
	covered := map[schema.GroupKind]bool{}
	for _, c := range goldenCases() {
		covered[c.gk] = true
	}
	for _, r := range resources.Builtin().All() {
		gk := r.GVK().GroupKind()
		t.Run(r.GVR.String(), func(t *testing.T) {
			p, ok := printers.For(gk)
			if r.Virtual {
				if ok {
					t.Errorf("For(%v) = true for a virtual kind", gk)
				}
				return
			}
			if !ok {
				t.Fatalf("For(%v) = false", gk)
			}
			checkColumns(t, gk, p.Columns)
			cells, err := p.Row(r.New(), now)
			if err != nil {
				t.Fatalf("Row(empty %s): %v", r.Kind, err)
			}
			if len(cells) != len(p.Columns) {
				t.Errorf("Row(empty %s) has %d cells, want %d", r.Kind, len(cells), len(p.Columns))
			}
			if !covered[gk] {
				t.Errorf("no golden case for %v", gk)
			}
		})
	}
}

func checkColumns(t *testing.T, gk schema.GroupKind, cols []metav1.TableColumnDefinition) {
	t.Helper()
	names := 0
	for i, c := range cols {
		if c.Name == "" || c.Type == "" || c.Description == "" {
			t.Errorf("column %d of %v incomplete: %+v", i, gk, c)
		}
		if c.Priority != 0 && c.Priority != 1 {
			t.Errorf("column %q of %v has priority %d", c.Name, gk, c.Priority)
		}
		if c.Format == "name" {
			names++
			if c.Name != "Name" || c.Type != "string" {
				t.Errorf("name column of %v is %+v", gk, c)
			}
		}
	}
	if names != 1 {
		t.Errorf("%v has %d name columns, want 1", gk, names)
	}
	// Upstream puts NAME first everywhere but in events, where it is a wide column at the end.
	if gk.Kind != "Event" && cols[0].Format != "name" {
		t.Errorf("first column of %v is %q, want Name", gk, cols[0].Name)
	}
}

func TestForUnknownKind(t *testing.T) {
	for _, gk := range []schema.GroupKind{
		{Kind: "Binding"},
		{Group: "authorization.k8s.io", Kind: "SelfSubjectAccessReview"},
		{Group: "example.com", Kind: "Widget"},
	} {
		if _, ok := printers.For(gk); ok {
			t.Errorf("For(%v) = true", gk)
		}
	}
}

func TestForReturnsCopies(t *testing.T) {
	gk := schema.GroupKind{Kind: "Pod"}
	p, _ := printers.For(gk)
	p.Columns[0].Name = "Mangled"
	q, _ := printers.For(gk)
	if q.Columns[0].Name != "Name" {
		t.Errorf("modifying one printer changed another: %q", q.Columns[0].Name)
	}
}

func TestDefault(t *testing.T) {
	p := printers.Default()
	want := []string{"Name", "Created At"}
	if len(p.Columns) != len(want) {
		t.Fatalf("columns = %v", p.Columns)
	}
	for i, c := range p.Columns {
		if c.Name != want[i] {
			t.Errorf("column %d = %q, want %q", i, c.Name, want[i])
		}
	}
	if p.Columns[1].Type != "date" {
		t.Errorf("Created At type = %q, want date", p.Columns[1].Type)
	}
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name:              "x",
		CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))),
	}}
	cells, err := p.Row(obj, now)
	if err != nil {
		t.Fatal(err)
	}
	if cells[0] != "x" || cells[1] != "2026-01-02T02:04:05Z" {
		t.Errorf("cells = %v", cells)
	}
	if _, err := p.Row(&metav1.Status{}, now); err == nil {
		t.Error("Row(Status) succeeded; want an error for an object without metadata")
	}
}

func TestRowWrongType(t *testing.T) {
	p, _ := printers.For(schema.GroupKind{Kind: "Pod"})
	if _, err := p.Row(&metav1.Status{}, now); err == nil {
		t.Error("pod printer accepted a Status")
	}
}

// TestRowUnstructured checks that objects that arrive unstructured print like typed ones.
func TestRowUnstructured(t *testing.T) {
	p, _ := printers.For(schema.GroupKind{Group: "apps", Kind: "Deployment"})
	typed := nginxDeployment()
	want, err := p.Row(typed, now)
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	got, err := p.Row(u, now)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("unstructured row = %v, want %v", got, want)
	}
}
