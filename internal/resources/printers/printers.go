// Package printers turns API objects into the rows of a meta.k8s.io/v1 Table,
// the form kubectl asks for (Accept: application/json;as=Table;g=meta.k8s.io;v=v1)
// and prints for `kubectl get`.
//
// Columns, their order, names, types, priorities and cell contents follow
// upstream kube-apiserver, so the real kubectl prints exactly what users
// know. As upstream does, every row carries the cells of the priority 1
// ("-o wide") columns too; kubectl hides them unless asked.
package printers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/kubernetes/scheme"
)

// Printer describes the table of one kind.
type Printer struct {
	Columns []metav1.TableColumnDefinition
	// Row returns the cells for one object (same length as Columns). now is
	// the time AGE and other durations are measured to.
	Row func(obj runtime.Object, now time.Time) ([]interface{}, error)
}

// Table renders objs as a Table with p's columns. Each row's Object holds the
// object itself; the API server decides what (if anything) to embed there.
func (p *Printer) Table(objs []runtime.Object, now time.Time) (*metav1.Table, error) {
	t := &metav1.Table{
		ColumnDefinitions: slices.Clone(p.Columns),
		Rows:              make([]metav1.TableRow, 0, len(objs)),
	}
	for _, obj := range objs {
		cells, err := p.Row(obj, now)
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: obj}})
	}
	return t, nil
}

// For returns the printer of a kind. It reports false for kinds without one
// (the virtual review kinds, Binding); the server then uses Default.
//
// Each call returns a fresh copy, so callers may modify it.
func For(gk schema.GroupKind) (*Printer, bool) {
	p, ok := registry[gk]
	if !ok {
		return nil, false
	}
	return &Printer{Columns: slices.Clone(p.Columns), Row: p.Row}, true
}

// Default returns the table upstream serves for kinds without a printer:
// NAME and CREATED AT (an RFC 3339 UTC timestamp).
func Default() *Printer {
	return &Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Created At", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
		},
		Row: func(obj runtime.Object, _ time.Time) ([]interface{}, error) {
			m, err := metaOf(obj)
			if err != nil {
				return nil, err
			}
			return []interface{}{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}, nil
		},
	}
}

// registry holds the printer of every served kind. It is built once and never
// modified; For hands out copies.
var registry = buildRegistry()

func buildRegistry() map[schema.GroupKind]*Printer {
	defaultTable := Default()
	hpa := hpaPrinter()
	events := eventPrinter()
	m := map[schema.GroupKind]*Printer{
		// core
		{Kind: "ConfigMap"}:             configMapPrinter(),
		{Kind: "Endpoints"}:             endpointsPrinter(),
		{Kind: "Event"}:                 events,
		{Kind: "LimitRange"}:            defaultTable,
		{Kind: "Namespace"}:             namespacePrinter(),
		{Kind: "Node"}:                  nodePrinter(),
		{Kind: "PersistentVolume"}:      persistentVolumePrinter(),
		{Kind: "PersistentVolumeClaim"}: persistentVolumeClaimPrinter(),
		{Kind: "Pod"}:                   podPrinter(),
		{Kind: "PodTemplate"}:           podTemplatePrinter(),
		{Kind: "ResourceQuota"}:         resourceQuotaPrinter(),
		{Kind: "Secret"}:                secretPrinter(),
		{Kind: "ServiceAccount"}:        serviceAccountPrinter(),
		{Kind: "Service"}:               servicePrinter(),

		// apps
		{Group: "apps", Kind: "ControllerRevision"}: controllerRevisionPrinter(),
		{Group: "apps", Kind: "DaemonSet"}:          daemonSetPrinter(),
		{Group: "apps", Kind: "Deployment"}:         deploymentPrinter(),
		{Group: "apps", Kind: "ReplicaSet"}:         replicaSetPrinter(),
		{Group: "apps", Kind: "StatefulSet"}:        statefulSetPrinter(),

		// autoscaling (v1 and v2 objects)
		{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}: hpa,

		// batch
		{Group: "batch", Kind: "CronJob"}: cronJobPrinter(),
		{Group: "batch", Kind: "Job"}:     jobPrinter(),

		// certificates
		{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}: csrPrinter(),

		// coordination
		{Group: "coordination.k8s.io", Kind: "Lease"}: leasePrinter(),

		// discovery
		{Group: "discovery.k8s.io", Kind: "EndpointSlice"}: endpointSlicePrinter(),

		// events.k8s.io: the same table as core events
		{Group: "events.k8s.io", Kind: "Event"}: events,

		// networking
		{Group: "networking.k8s.io", Kind: "IngressClass"}:  ingressClassPrinter(),
		{Group: "networking.k8s.io", Kind: "Ingress"}:       ingressPrinter(),
		{Group: "networking.k8s.io", Kind: "NetworkPolicy"}: networkPolicyPrinter(),

		// policy
		{Group: "policy", Kind: "PodDisruptionBudget"}: podDisruptionBudgetPrinter(),

		// rbac: roles have no printer upstream, bindings do
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: clusterRoleBindingPrinter(),
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        defaultTable,
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        roleBindingPrinter(),
		{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               defaultTable,

		// storage
		{Group: "storage.k8s.io", Kind: "StorageClass"}: storageClassPrinter(),
	}
	for gk, p := range m {
		if len(p.Columns) == 0 || p.Row == nil {
			panic(fmt.Sprintf("printers: incomplete printer for %s", gk))
		}
	}
	return m
}

// printerOf builds a Printer whose rows come from a function of the typed object.
func printerOf[T runtime.Object](columns []metav1.TableColumnDefinition, row func(T, time.Time) []interface{}) *Printer {
	return &Printer{
		Columns: columns,
		Row: func(obj runtime.Object, now time.Time) ([]interface{}, error) {
			t, err := typed[T](obj)
			if err != nil {
				return nil, err
			}
			return row(t, now), nil
		},
	}
}

// typed returns obj as a T, converting it first when it is unstructured.
func typed[T runtime.Object](obj runtime.Object) (T, error) {
	var zero T
	if u, ok := obj.(*unstructured.Unstructured); ok {
		o, err := scheme.Scheme.New(u.GroupVersionKind())
		if err != nil {
			return zero, fmt.Errorf("printing %s: %w", u.GroupVersionKind(), err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, o); err != nil {
			return zero, fmt.Errorf("converting %s to %T: %w", u.GroupVersionKind(), o, err)
		}
		obj = o
	}
	t, ok := obj.(T)
	if !ok {
		return zero, fmt.Errorf("printing: got object of type %T, want %T", obj, zero)
	}
	return t, nil
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("printing: object of type %T has no metadata", obj)
	}
	return m, nil
}

// Column definitions.

var objectMetaDoc = metav1.ObjectMeta{}.SwaggerDoc()

func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]}
}

func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc["creationTimestamp"]}
}

func column(name, typ, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Description: description}
}

// wide marks a column as shown only with -o wide.
func wide(c metav1.TableColumnDefinition) metav1.TableColumnDefinition {
	c.Priority = 1
	return c
}

const (
	containersDoc = "Names of the containers in the pod template."
	imagesDoc     = "Images used by the containers in the pod template."
)

// templateColumns are the CONTAINERS and IMAGES columns of workload kinds.
func templateColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		wide(column("Containers", "string", containersDoc)),
		wide(column("Images", "string", imagesDoc)),
	}
}

// Cell helpers.

// age is the human duration from t to now, "<unknown>" when t is unset.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func microAge(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func boolPtrString(b *bool) string {
	switch {
	case b == nil:
		return "<unset>"
	case *b:
		return "True"
	default:
		return "False"
	}
}

// listWithMore joins the first max items and says how many were left out:
// "a,b,c + 2 more...". An empty list is "<unset>".
func listWithMore(items []string, max int) string {
	if len(items) == 0 {
		return "<unset>"
	}
	if len(items) <= max {
		return strings.Join(items, ",")
	}
	return fmt.Sprintf("%s + %d more...", strings.Join(items[:max], ","), len(items)-max)
}
