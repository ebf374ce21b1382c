package apiserver

import (
	"encoding/json"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sampan-dev/sampan/internal/resources"
)

// defaultColumns is upstream's table for kinds without their own printer.
var defaultColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace."},
	{Name: "Created At", Type: "date", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
}

// table renders objects (served version) as a meta.k8s.io Table. Rows carry
// the object's metadata (PartialObjectMetadata), or the whole object with
// includeObject=Object.
func (h *apiHandler) table(res *resources.Resource, objs []runtime.Object, rv, cont string, f outputFormat, includeObject bool) (*metav1.Table, error) {
	cols, row, ok := h.b.Printer(schema.GroupKind{Group: res.GVR.Group, Kind: res.Kind})
	if !ok {
		cols = defaultColumns
		row = func(obj runtime.Object, _ time.Time) ([]interface{}, error) {
			acc, _ := meta.Accessor(obj)
			ts := acc.GetCreationTimestamp()
			return []interface{}{acc.GetName(), ts.UTC().Format(time.RFC3339)}, nil
		}
	}
	now := h.clock.Now()
	t := &metav1.Table{
		TypeMeta:          metav1.TypeMeta{APIVersion: "meta.k8s.io/" + f.tableVersion, Kind: "Table"},
		ListMeta:          metav1.ListMeta{ResourceVersion: rv, Continue: cont},
		ColumnDefinitions: cols,
		Rows:              make([]metav1.TableRow, 0, len(objs)),
	}
	if t.APIVersion == "meta.k8s.io/" {
		t.APIVersion = "meta.k8s.io/v1"
	}
	for _, obj := range objs {
		cells, err := row(obj, now)
		if err != nil {
			return nil, err
		}
		var raw []byte
		if includeObject {
			obj.GetObjectKind().SetGroupVersionKind(res.GVK())
			raw, err = json.Marshal(obj)
		} else {
			raw, err = json.Marshal(partialMetadata(obj, "v1"))
		}
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Raw: raw}})
	}
	return t, nil
}
