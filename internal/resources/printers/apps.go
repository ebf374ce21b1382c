package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// containerCells lays the template's containers out on one line: names and images, comma separated.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

func replicas(p *int32) int64 {
	if p == nil {
		return 0
	}
	return int64(*p)
}

func deploymentPrinter() *Printer {
	status := appsv1.DeploymentStatus{}.SwaggerDoc()
	return printerOf(
		append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Ready", "string", "Ready pods out of desired pods."),
			column("Up-to-date", "string", status["updatedReplicas"]),
			column("Available", "string", status["availableReplicas"]),
			ageColumn(),
		}, append(templateColumns(),
			wide(column("Selector", "string", appsv1.DeploymentSpec{}.SwaggerDoc()["selector"])))...),
		func(d *appsv1.Deployment, now time.Time) []interface{} {
			names, images := containerCells(d.Spec.Template.Spec.Containers)
			selector := "<invalid>"
			if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
				selector = s.String()
			}
			return []interface{}{
				d.Name,
				fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas)),
				int64(d.Status.UpdatedReplicas),
				int64(d.Status.AvailableReplicas),
				age(d.CreationTimestamp, now),
				names, images, selector,
			}
		},
	)
}

func replicaSetPrinter() *Printer {
	status := appsv1.ReplicaSetStatus{}.SwaggerDoc()
	spec := appsv1.ReplicaSetSpec{}.SwaggerDoc()
	return printerOf(
		append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Desired", "integer", spec["replicas"]),
			column("Current", "integer", status["replicas"]),
			column("Ready", "integer", status["readyReplicas"]),
			ageColumn(),
		}, append(templateColumns(), wide(column("Selector", "string", spec["selector"])))...),
		func(rs *appsv1.ReplicaSet, now time.Time) []interface{} {
			names, images := containerCells(rs.Spec.Template.Spec.Containers)
			return []interface{}{
				rs.Name,
				replicas(rs.Spec.Replicas),
				int64(rs.Status.Replicas),
				int64(rs.Status.ReadyReplicas),
				age(rs.CreationTimestamp, now),
				names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
			}
		},
	)
}

func statefulSetPrinter() *Printer {
	return printerOf(
		append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Ready", "string", "Ready pods out of desired pods."),
			ageColumn(),
		}, templateColumns()...),
		func(ss *appsv1.StatefulSet, now time.Time) []interface{} {
			names, images := containerCells(ss.Spec.Template.Spec.Containers)
			return []interface{}{
				ss.Name,
				fmt.Sprintf("%d/%d", ss.Status.ReadyReplicas, replicas(ss.Spec.Replicas)),
				age(ss.CreationTimestamp, now),
				names, images,
			}
		},
	)
}

func daemonSetPrinter() *Printer {
	status := appsv1.DaemonSetStatus{}.SwaggerDoc()
	return printerOf(
		append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Desired", "integer", status["desiredNumberScheduled"]),
			column("Current", "integer", status["currentNumberScheduled"]),
			column("Ready", "integer", status["numberReady"]),
			column("Up-to-date", "integer", status["updatedNumberScheduled"]),
			column("Available", "integer", status["numberAvailable"]),
			column("Node Selector", "string", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
			ageColumn(),
		}, append(templateColumns(),
			wide(column("Selector", "string", appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"])))...),
		func(ds *appsv1.DaemonSet, now time.Time) []interface{} {
			names, images := containerCells(ds.Spec.Template.Spec.Containers)
			return []interface{}{
				ds.Name,
				int64(ds.Status.DesiredNumberScheduled),
				int64(ds.Status.CurrentNumberScheduled),
				int64(ds.Status.NumberReady),
				int64(ds.Status.UpdatedNumberScheduled),
				int64(ds.Status.NumberAvailable),
				labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
				age(ds.CreationTimestamp, now),
				names, images, metav1.FormatLabelSelector(ds.Spec.Selector),
			}
		},
	)
}

func controllerRevisionPrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Controller", "string", "The object that owns this revision."),
			column("Revision", "string", appsv1.ControllerRevision{}.SwaggerDoc()["revision"]),
			ageColumn(),
		},
		func(cr *appsv1.ControllerRevision, now time.Time) []interface{} {
			return []interface{}{cr.Name, controllerName(cr), cr.Revision, age(cr.CreationTimestamp, now)}
		},
	)
}

// controllerName is "kind.group/name" of the object's controller, "<none>" without one.
func controllerName(obj metav1.Object) string {
	ref := metav1.GetControllerOf(obj)
	if ref == nil {
		return "<none>"
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		// Upstream fails the whole table here; one bad reference should not.
		return ref.Name
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: ref.Kind}
	if gk.Empty() {
		return ref.Name
	}
	return strings.ToLower(gk.String()) + "/" + ref.Name
}
