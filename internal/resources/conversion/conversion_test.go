package conversion

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// The kinds converted between, as the API server names them.
func testHPAv1() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "HorizontalPodAutoscaler"}
}

func testHPAv2() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}
}

func testCoreEvent() schema.GroupVersionKind {
	return schema.GroupVersionKind{Version: "v1", Kind: "Event"}
}

func testEventsV1() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: "events.k8s.io", Version: "v1", Kind: "Event"}
}

func dump(t *testing.T, obj any) string {
	t.Helper()
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	return string(b)
}

func mustConvert(t *testing.T, obj runtime.Object, to schema.GroupVersionKind) runtime.Object {
	t.Helper()
	out, err := Convert(obj, to)
	if err != nil {
		t.Fatalf("Convert(%T, %s): %v", obj, to, err)
	}
	if got := out.GetObjectKind().GroupVersionKind(); got != to {
		t.Fatalf("Convert(%T, %s) result has kind %s", obj, to, got)
	}
	return out
}

func q(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

// fullHPA is a stored v2 HPA using everything v1 cannot express.
func fullHPA() *autoscalingv2.HorizontalPodAutoscaler {
	ts := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "default", ResourceVersion: "42",
			Annotations: map[string]string{"team": "a"},
		},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("500Mi")}}},
				{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("100")}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "main"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "rps"},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("2k")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"q": "jobs"}}},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("30")}}},
				// The v1 CPU target comes back after the annotation's metrics,
				// so a round trip keeps the order only when it is last.
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](60)}}},
			},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptr.To[int32](0),
					SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}},
					Tolerance:                  q("50m"),
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptr.To[int32](300),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 60}},
				},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: ptr.To[int64](3),
			LastScaleTime:      &ts,
			CurrentReplicas:    3,
			DesiredReplicas:    4,
			CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageValue: q("250m"), AverageUtilization: ptr.To[int32](55)}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Current: autoscalingv2.MetricValueStatus{AverageValue: q("80")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
					Metric:  autoscalingv2.MetricIdentifier{Name: "queue"},
					Current: autoscalingv2.MetricValueStatus{Value: q("12"), AverageValue: q("3")}}},
			},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
				{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: ts, Reason: "ReadyForNewScale", Message: "ok", ObservedGeneration: ptr.To[int64](3)},
			},
		},
	}
}

func TestHPARoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		hpa  func() *autoscalingv2.HorizontalPodAutoscaler
	}{
		{"everything v1 cannot express", fullHPA},
		{"cpu target only", func() *autoscalingv2.HorizontalPodAutoscaler {
			h := fullHPA()
			h.Spec.Metrics = h.Spec.Metrics[5:]
			h.Spec.Behavior = nil
			h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 1, DesiredReplicas: 1}
			h.Annotations = nil
			return h
		}},
		{"no cpu target", func() *autoscalingv2.HorizontalPodAutoscaler {
			h := fullHPA()
			h.Spec.Metrics = h.Spec.Metrics[:5]
			return h
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored := tc.hpa()
			orig := stored.DeepCopy()
			v1 := mustConvert(t, stored, testHPAv1()).(*autoscalingv1.HorizontalPodAutoscaler)
			if !apiequality.Semantic.DeepEqual(stored, orig) {
				t.Fatalf("Convert modified its input")
			}
			back := mustConvert(t, v1, testHPAv2()).(*autoscalingv2.HorizontalPodAutoscaler)
			orig.TypeMeta = back.TypeMeta
			if !apiequality.Semantic.DeepEqual(back, orig) {
				t.Errorf("v2 -> v1 -> v2 lost something\nv1:\n%s\ngot:\n%s\nwant:\n%s", dump(t, v1), dump(t, back), dump(t, orig))
			}
		})
	}
}

func TestHPAV1View(t *testing.T) {
	v1 := mustConvert(t, fullHPA(), testHPAv1()).(*autoscalingv1.HorizontalPodAutoscaler)
	if v1.APIVersion != "autoscaling/v1" || v1.Kind != "HorizontalPodAutoscaler" {
		t.Errorf("type meta = %s %s", v1.APIVersion, v1.Kind)
	}
	if got := ptr.Deref(v1.Spec.TargetCPUUtilizationPercentage, -1); got != 60 {
		t.Errorf("targetCPUUtilizationPercentage = %d, want 60", got)
	}
	if got := ptr.Deref(v1.Status.CurrentCPUUtilizationPercentage, -1); got != 55 {
		t.Errorf("currentCPUUtilizationPercentage = %d, want 55", got)
	}
	if v1.Annotations["team"] != "a" {
		t.Errorf("user annotation lost: %v", v1.Annotations)
	}
	var metrics []autoscalingv1.MetricSpec
	if err := json.Unmarshal([]byte(v1.Annotations[MetricSpecsAnnotation]), &metrics); err != nil {
		t.Fatalf("metrics annotation: %v", err)
	}
	if len(metrics) != 5 || metrics[0].Resource == nil || metrics[0].Resource.Name != corev1.ResourceMemory {
		t.Errorf("metrics annotation holds %s, want the 5 non-CPU-utilization metrics, memory first", dump(t, metrics))
	}
	var statuses []autoscalingv1.MetricStatus
	if err := json.Unmarshal([]byte(v1.Annotations[MetricStatusesAnnotation]), &statuses); err != nil || len(statuses) != 3 {
		t.Errorf("current-metrics annotation = %q (%v), want all 3 statuses", v1.Annotations[MetricStatusesAnnotation], err)
	}
	var conds []autoscalingv1.HorizontalPodAutoscalerCondition
	if err := json.Unmarshal([]byte(v1.Annotations[ConditionsAnnotation]), &conds); err != nil || len(conds) != 1 || conds[0].Reason != "ReadyForNewScale" {
		t.Errorf("conditions annotation = %q (%v)", v1.Annotations[ConditionsAnnotation], err)
	}
	// Upstream writes the behavior with Go field names.
	var behavior map[string]map[string]any
	if err := json.Unmarshal([]byte(v1.Annotations[BehaviorSpecsAnnotation]), &behavior); err != nil {
		t.Fatalf("behavior annotation: %v", err)
	}
	if behavior["ScaleUp"]["Tolerance"] != "50m" || behavior["ScaleDown"]["StabilizationWindowSeconds"] != float64(300) {
		t.Errorf("behavior annotation = %s", v1.Annotations[BehaviorSpecsAnnotation])
	}
}

// TestHPAV1Update is what kubectl does with autoscaling/v1: read, change a
// field, write back. The metrics v1 cannot show must survive.
func TestHPAV1Update(t *testing.T) {
	v1 := mustConvert(t, fullHPA(), testHPAv1()).(*autoscalingv1.HorizontalPodAutoscaler)
	v1.Spec.MaxReplicas = 20
	v1.Spec.TargetCPUUtilizationPercentage = ptr.To[int32](75)
	v2 := mustConvert(t, v1, testHPAv2()).(*autoscalingv2.HorizontalPodAutoscaler)
	if v2.Spec.MaxReplicas != 20 {
		t.Errorf("maxReplicas = %d, want 20", v2.Spec.MaxReplicas)
	}
	if len(v2.Spec.Metrics) != 6 {
		t.Fatalf("got %d metrics, want 6:\n%s", len(v2.Spec.Metrics), dump(t, v2.Spec.Metrics))
	}
	// The annotation's metrics come first, the v1 CPU target last.
	last := v2.Spec.Metrics[5]
	if last.Resource == nil || last.Resource.Name != corev1.ResourceCPU || ptr.Deref(last.Resource.Target.AverageUtilization, 0) != 75 {
		t.Errorf("last metric = %s, want the cpu target of 75%%", dump(t, last))
	}
	if _, ok := v2.Annotations[MetricSpecsAnnotation]; ok || v2.Annotations["team"] != "a" {
		t.Errorf("annotations after conversion to v2 = %v, want only the user's", v2.Annotations)
	}
}

func TestHPAV1ToV2(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{
			name: "no target scales on 80% cpu",
			in: `
metadata: {name: h}
spec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 1, maxReplicas: 3}
status: {currentReplicas: 1, desiredReplicas: 1}
`,
			want: `
metadata: {name: h}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
status: {currentReplicas: 1, desiredReplicas: 1}
`,
		},
		{
			name: "cpu target and current value",
			in: `
metadata: {name: h}
spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 3, targetCPUUtilizationPercentage: 50}
status: {currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 90}
`,
			want: `
metadata: {name: h}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
status:
  currentReplicas: 2
  desiredReplicas: 3
  currentMetrics: [{type: Resource, resource: {name: cpu, current: {averageUtilization: 90}}}]
`,
		},
		{
			name: "undecodable annotations are dropped",
			in: `
metadata:
  name: h
  annotations:
    autoscaling.alpha.kubernetes.io/metrics: "not json"
    autoscaling.alpha.kubernetes.io/behavior: "{}"
    autoscaling.alpha.kubernetes.io/scale-up-tolerance: "0.1"
spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 3, targetCPUUtilizationPercentage: 40}
`,
			want: `
metadata: {name: h}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 40}}}]
`,
		},
		{
			name: "camelCase behavior annotation is read too",
			in: `
metadata:
  name: h
  annotations:
    autoscaling.alpha.kubernetes.io/behavior: '{"scaleDown":{"stabilizationWindowSeconds":60,"policies":[{"type":"Pods","value":1,"periodSeconds":30}]}}'
spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 3, targetCPUUtilizationPercentage: 40}
`,
			want: `
metadata: {name: h}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 40}}}]
  behavior:
    scaleDown: {stabilizationWindowSeconds: 60, policies: [{type: Pods, value: 1, periodSeconds: 30}]}
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in autoscalingv1.HorizontalPodAutoscaler
			if err := yaml.Unmarshal([]byte(tc.in), &in); err != nil {
				t.Fatal(err)
			}
			var want autoscalingv2.HorizontalPodAutoscaler
			if err := yaml.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			got := mustConvert(t, &in, testHPAv2()).(*autoscalingv2.HorizontalPodAutoscaler)
			want.TypeMeta = got.TypeMeta
			if !apiequality.Semantic.DeepEqual(got, &want) || len(got.Annotations) != 0 {
				t.Errorf("got:\n%s\nwant:\n%s", dump(t, got), dump(t, &want))
			}
		})
	}
}

// TestHPAStaleAnnotations: annotations a v1 client left on the stored object
// do not leak into the v1 view next to the fresh ones.
func TestHPAStaleAnnotations(t *testing.T) {
	h := fullHPA()
	h.Spec.Behavior = nil
	h.Annotations[BehaviorSpecsAnnotation] = `{"ScaleUp":{"StabilizationWindowSeconds":9}}`
	v1 := mustConvert(t, h, testHPAv1()).(*autoscalingv1.HorizontalPodAutoscaler)
	if _, ok := v1.Annotations[BehaviorSpecsAnnotation]; ok {
		t.Errorf("stale behavior annotation kept: %v", v1.Annotations)
	}
}

func coreEvent() *corev1.Event {
	first := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	last := metav1.NewTime(time.Date(2026, 1, 2, 3, 9, 5, 0, time.UTC))
	micro := metav1.NewMicroTime(time.Date(2026, 1, 2, 3, 9, 5, 123456000, time.UTC))
	return &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.1", Namespace: "default", ResourceVersion: "7"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "u1", APIVersion: "v1", FieldPath: "spec.containers{app}"},
		Reason:              "BackOff",
		Message:             "Back-off restarting failed container",
		Source:              corev1.EventSource{Component: "kubelet", Host: "node1"},
		FirstTimestamp:      first,
		LastTimestamp:       last,
		Count:               5,
		Type:                corev1.EventTypeWarning,
		EventTime:           micro,
		Series:              &corev1.EventSeries{Count: 4, LastObservedTime: micro},
		Action:              "Restarting",
		Related:             &corev1.ObjectReference{Kind: "Node", Name: "node1"},
		ReportingController: "kubelet",
		ReportingInstance:   "kubelet-node1",
	}
}

func TestEventConversion(t *testing.T) {
	core := coreEvent()
	orig := core.DeepCopy()
	ev := mustConvert(t, core, testEventsV1()).(*eventsv1.Event)
	if !apiequality.Semantic.DeepEqual(core, orig) {
		t.Fatal("Convert modified its input")
	}
	want := &eventsv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
		ObjectMeta:               orig.ObjectMeta,
		EventTime:                orig.EventTime,
		Series:                   &eventsv1.EventSeries{Count: 4, LastObservedTime: orig.Series.LastObservedTime},
		ReportingController:      "kubelet",
		ReportingInstance:        "kubelet-node1",
		Action:                   "Restarting",
		Reason:                   "BackOff",
		Regarding:                orig.InvolvedObject,
		Related:                  orig.Related,
		Note:                     "Back-off restarting failed container",
		Type:                     "Warning",
		DeprecatedSource:         orig.Source,
		DeprecatedFirstTimestamp: orig.FirstTimestamp,
		DeprecatedLastTimestamp:  orig.LastTimestamp,
		DeprecatedCount:          5,
	}
	if !apiequality.Semantic.DeepEqual(ev, want) {
		t.Errorf("core -> events.k8s.io\ngot:\n%s\nwant:\n%s", dump(t, ev), dump(t, want))
	}
	back := mustConvert(t, ev, testCoreEvent()).(*corev1.Event)
	orig.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Event"}
	if !apiequality.Semantic.DeepEqual(back, orig) {
		t.Errorf("core -> events.k8s.io -> core\ngot:\n%s\nwant:\n%s", dump(t, back), dump(t, orig))
	}

	// And from the new API first: an event recorded by an events.k8s.io client.
	fresh := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "e", Namespace: "default"},
		EventTime:           orig.EventTime,
		ReportingController: "sampan.dev/scheduler",
		ReportingInstance:   "scheduler-1",
		Action:              "Binding",
		Reason:              "Scheduled",
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Note:                "Successfully assigned default/web to node1",
		Type:                "Normal",
	}
	c := mustConvert(t, fresh.DeepCopy(), testCoreEvent()).(*corev1.Event)
	if c.Message != fresh.Note || c.InvolvedObject.Name != "web" || c.ReportingController != "sampan.dev/scheduler" || c.Count != 0 {
		t.Errorf("events.k8s.io -> core = %s", dump(t, c))
	}
	again := mustConvert(t, c, testEventsV1()).(*eventsv1.Event)
	fresh.TypeMeta = again.TypeMeta
	if !apiequality.Semantic.DeepEqual(again, fresh) {
		t.Errorf("events.k8s.io -> core -> events.k8s.io\ngot:\n%s\nwant:\n%s", dump(t, again), dump(t, fresh))
	}
}

func TestConvertIdentityAndErrors(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	out, err := Convert(pod, schema.GroupVersionKind{Version: "v1", Kind: "Pod"})
	if err != nil || out != runtime.Object(pod) || pod.APIVersion != "v1" || pod.Kind != "Pod" {
		t.Errorf("identity: got %v, %v; type meta %q %q", out, err, pod.APIVersion, pod.Kind)
	}
	h := fullHPA()
	if out, err := Convert(h, testHPAv2()); err != nil || out != runtime.Object(h) || h.APIVersion != "autoscaling/v2" {
		t.Errorf("identity of a stored HPA: %v, %v", out, err)
	}

	for _, tc := range []struct {
		obj runtime.Object
		to  schema.GroupVersionKind
	}{
		{&corev1.Pod{}, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}},
		{&autoscalingv1.HorizontalPodAutoscaler{}, testCoreEvent()},
		{&corev1.Event{}, testHPAv2()},
		{&appsv1.Deployment{}, schema.GroupVersionKind{Group: "apps", Version: "v1beta1", Kind: "Deployment"}},
	} {
		if _, err := Convert(tc.obj, tc.to); err == nil {
			t.Errorf("Convert(%T, %s) succeeded, want an error", tc.obj, tc.to)
		}
	}
	if _, err := Convert(nil, testHPAv1()); err == nil {
		t.Error("Convert(nil) succeeded")
	}
}

func TestToScale(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	meta := metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1", ResourceVersion: "12", CreationTimestamp: created,
		Labels: map[string]string{"not": "copied"}, Generation: 3}
	selector := &metav1.LabelSelector{
		MatchLabels:      map[string]string{"app": "web"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"fe", "be"}}},
	}
	wantMeta := metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1", ResourceVersion: "12", CreationTimestamp: created}
	for _, tc := range []struct {
		name string
		obj  runtime.Object
		want autoscalingv1.Scale
	}{
		{"deployment", &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: selector}, Status: appsv1.DeploymentStatus{Replicas: 2}},
			autoscalingv1.Scale{ObjectMeta: wantMeta, Spec: autoscalingv1.ScaleSpec{Replicas: 3}, Status: autoscalingv1.ScaleStatus{Replicas: 2, Selector: "app=web,tier in (be,fe)"}}},
		{"replicaset", &appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}, Status: appsv1.ReplicaSetStatus{Replicas: 1}},
			autoscalingv1.Scale{ObjectMeta: wantMeta, Spec: autoscalingv1.ScaleSpec{Replicas: 0}, Status: autoscalingv1.ScaleStatus{Replicas: 1, Selector: "app=web"}}},
		{"statefulset without replicas", &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{}}},
			autoscalingv1.Scale{ObjectMeta: wantMeta, Spec: autoscalingv1.ScaleSpec{Replicas: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToScale(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.TypeMeta = metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"}
			if !apiequality.Semantic.DeepEqual(got, &tc.want) {
				t.Errorf("got:\n%s\nwant:\n%s", dump(t, got), dump(t, &tc.want))
			}
		})
	}

	bad := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}}}
	if _, err := ToScale(bad); err == nil {
		t.Error("ToScale with an invalid selector succeeded")
	}
	if _, err := ToScale(&appsv1.DaemonSet{}); err == nil {
		t.Error("ToScale of a DaemonSet succeeded")
	}
}

func TestApplyScale(t *testing.T) {
	for _, obj := range []runtime.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: "12"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: "12"}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: "12"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1)}},
	} {
		scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: "11"}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
		if err := ApplyScale(obj, scale); err != nil {
			t.Fatalf("ApplyScale(%T): %v", obj, err)
		}
		got, err := ToScale(obj)
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Replicas != 5 || got.ResourceVersion != "11" {
			t.Errorf("%T after ApplyScale: replicas %d, resourceVersion %q; want 5 and the scale's 11", obj, got.Spec.Replicas, got.ResourceVersion)
		}
		scale.Spec.Replicas = 7
		if got.Spec.Replicas != 5 {
			t.Errorf("%T shares replicas with the scale", obj)
		}
	}

	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)}}
	err := ApplyScale(d, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: autoscalingv1.ScaleSpec{Replicas: -1}})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.replicas") {
		t.Errorf("negative replicas: err = %v, want Invalid on spec.replicas", err)
	}
	if *d.Spec.Replicas != 3 {
		t.Errorf("rejected scale changed replicas to %d", *d.Spec.Replicas)
	}
	if err := ApplyScale(&corev1.Pod{}, &autoscalingv1.Scale{}); err == nil {
		t.Error("ApplyScale to a Pod succeeded")
	}
}
