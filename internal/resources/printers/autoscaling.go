package printers

import (
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sampan-dev/sampan/internal/resources/conversion"
)

func hpaPrinter() *Printer {
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()
	return &Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Reference", "string", spec["scaleTargetRef"]),
			column("Targets", "string", spec["metrics"]),
			column("MinPods", "string", spec["minReplicas"]),
			column("MaxPods", "string", spec["maxReplicas"]),
			column("Replicas", "string", autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object, now time.Time) ([]interface{}, error) {
			if h, err := typed[*autoscalingv1.HorizontalPodAutoscaler](obj); err == nil {
				// A v1 object prints as its v2 form, annotation-carried metrics included.
				v2, err := conversion.Convert(h, autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"))
				if err != nil {
					return nil, err
				}
				obj = v2
			}
			h, err := typed[*autoscalingv2.HorizontalPodAutoscaler](obj)
			if err != nil {
				return nil, err
			}
			return hpaRow(h, now), nil
		},
	}
}

func hpaRow(h *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []interface{} {
	minPods := "<unset>"
	if h.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *h.Spec.MinReplicas)
	}
	return []interface{}{
		h.Name,
		h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
		hpaTargets(h.Spec.Metrics, h.Status.CurrentMetrics),
		minPods,
		int64(h.Spec.MaxReplicas),
		int64(h.Status.CurrentReplicas),
		age(h.CreationTimestamp, now),
	}
}

// hpaTargets shows "current/target" for the first two metrics (status i
// belongs to spec i) and counts the rest.
func hpaTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	status := func(i int) *autoscalingv2.MetricStatus {
		if i < len(statuses) {
			return &statuses[i]
		}
		return nil
	}
	const max = 2
	var list []string
	for i, spec := range specs {
		if i == max {
			break
		}
		list = append(list, hpaTarget(spec, status(i)))
	}
	out := strings.Join(list, ", ")
	if len(specs) > max {
		out = fmt.Sprintf("%s + %d more...", out, len(specs)-max)
	}
	return out
}

func hpaTarget(spec autoscalingv2.MetricSpec, st *autoscalingv2.MetricStatus) string {
	const unknown = "<unknown>"
	if !hasSource(spec) {
		return "<unknown type>" // invalid: the type names a source that is not set
	}
	switch spec.Type {
	case autoscalingv2.ExternalMetricSourceType:
		if spec.External.Target.AverageValue != nil {
			current := unknown
			if st != nil && st.External != nil && st.External.Current.AverageValue != nil {
				current = st.External.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", current, spec.External.Target.AverageValue.String())
		}
		current := unknown
		if st != nil && st.External != nil {
			current = st.External.Current.Value.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.External.Target.Value.String())
	case autoscalingv2.PodsMetricSourceType:
		current := unknown
		if st != nil && st.Pods != nil {
			current = st.Pods.Current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.Pods.Target.AverageValue.String())
	case autoscalingv2.ObjectMetricSourceType:
		if spec.Object.Target.AverageValue != nil {
			current := unknown
			if st != nil && st.Object != nil && st.Object.Current.AverageValue != nil {
				current = st.Object.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", current, spec.Object.Target.AverageValue.String())
		}
		current := unknown
		if st != nil && st.Object != nil {
			current = st.Object.Current.Value.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.Object.Target.Value.String())
	case autoscalingv2.ResourceMetricSourceType:
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.Resource != nil {
			cur = &st.Resource.Current
		}
		return resourceTarget(spec.Resource.Name, spec.Resource.Target, cur)
	case autoscalingv2.ContainerResourceMetricSourceType:
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.ContainerResource != nil {
			cur = &st.ContainerResource.Current
		}
		return resourceTarget(spec.ContainerResource.Name, spec.ContainerResource.Target, cur)
	}
	return "<unknown type>"
}

func hasSource(s autoscalingv2.MetricSpec) bool {
	switch s.Type {
	case autoscalingv2.ExternalMetricSourceType:
		return s.External != nil
	case autoscalingv2.PodsMetricSourceType:
		return s.Pods != nil
	case autoscalingv2.ObjectMetricSourceType:
		return s.Object != nil
	case autoscalingv2.ResourceMetricSourceType:
		return s.Resource != nil
	case autoscalingv2.ContainerResourceMetricSourceType:
		return s.ContainerResource != nil
	}
	return false
}

// resourceTarget is "cpu: 40%/80%" for utilization targets, "memory: 1Gi/2Gi" for value targets.
func resourceTarget(name corev1.ResourceName, target autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	current := "<unknown>"
	if target.AverageValue != nil {
		if cur != nil {
			current = cur.AverageValue.String()
		}
		return fmt.Sprintf("%s: %s/%s", name, current, target.AverageValue.String())
	}
	if cur != nil && cur.AverageUtilization != nil {
		current = fmt.Sprintf("%d%%", *cur.AverageUtilization)
	}
	goal := "<auto>"
	if target.AverageUtilization != nil {
		goal = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, current, goal)
}
