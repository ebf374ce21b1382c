package printers

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	storageutil "k8s.io/kubectl/pkg/util/storage"

	"github.com/sampan-dev/sampan/internal/resources/conversion"
)

func namespacePrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Status", "string", corev1.NamespaceStatus{}.SwaggerDoc()["phase"]),
			ageColumn(),
		},
		func(ns *corev1.Namespace, now time.Time) []interface{} {
			return []interface{}{ns.Name, string(ns.Status.Phase), age(ns.CreationTimestamp, now)}
		},
	)
}

func configMapPrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Data", "string", "The number of keys in data and binaryData."),
			ageColumn(),
		},
		func(cm *corev1.ConfigMap, now time.Time) []interface{} {
			return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), age(cm.CreationTimestamp, now)}
		},
	)
}

func secretPrinter() *Printer {
	doc := corev1.Secret{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Type", "string", doc["type"]),
			column("Data", "string", "The number of keys in data."),
			ageColumn(),
		},
		func(s *corev1.Secret, now time.Time) []interface{} {
			// stringData is merged into data on write; count it if it is still separate.
			n := len(s.Data)
			for k := range s.StringData {
				if _, dup := s.Data[k]; !dup {
					n++
				}
			}
			return []interface{}{s.Name, string(s.Type), int64(n), age(s.CreationTimestamp, now)}
		},
	)
}

func serviceAccountPrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Secrets", "string", corev1.ServiceAccount{}.SwaggerDoc()["secrets"]),
			ageColumn(),
		},
		func(sa *corev1.ServiceAccount, now time.Time) []interface{} {
			return []interface{}{sa.Name, int64(len(sa.Secrets)), age(sa.CreationTimestamp, now)}
		},
	)
}

func podTemplatePrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Containers", "string", containersDoc),
			column("Images", "string", imagesDoc),
			column("Pod Labels", "string", "The labels of the pod template."),
		},
		func(pt *corev1.PodTemplate, _ time.Time) []interface{} {
			names, images := containerCells(pt.Template.Spec.Containers)
			return []interface{}{pt.Name, names, images, labels.FormatLabels(pt.Template.Labels)}
		},
	)
}

// Services.

func servicePrinter() *Printer {
	spec := corev1.ServiceSpec{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Type", "string", spec["type"]),
			column("Cluster-IP", "string", spec["clusterIP"]),
			column("External-IP", "string", spec["externalIPs"]),
			column("Port(s)", "string", spec["ports"]),
			ageColumn(),
			wide(column("Selector", "string", spec["selector"])),
		},
		func(svc *corev1.Service, now time.Time) []interface{} {
			clusterIP := svc.Spec.ClusterIP
			if clusterIP == "" && len(svc.Spec.ClusterIPs) > 0 {
				clusterIP = svc.Spec.ClusterIPs[0]
			}
			return []interface{}{
				svc.Name,
				string(svc.Spec.Type),
				orNone(clusterIP),
				serviceExternalIP(svc),
				orNone(servicePorts(svc.Spec.Ports)),
				age(svc.CreationTimestamp, now),
				labels.FormatLabels(svc.Spec.Selector),
			}
		},
	)
}

// serviceExternalIP is what EXTERNAL-IP shows: external IPs, load balancer
// ingress points (sorted, deduplicated; "<pending>" until there are some),
// or the external name.
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		var points []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			points = append(points, ingressPoint(in.IP, in.Hostname))
		}
		if all := append(sortedPoints(points), svc.Spec.ExternalIPs...); len(all) > 0 {
			return strings.Join(all, ",")
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// ingressPoint names a load balancer ingress point by its IP, else its hostname.
func ingressPoint(ip, hostname string) string {
	if ip != "" {
		return ip
	}
	return hostname
}

// sortedPoints returns the non-empty points, sorted and without duplicates.
func sortedPoints(points []string) []string {
	set := sets.New(points...)
	set.Delete("")
	return sets.List(set)
}

// servicePorts is "port/proto" or "port:nodePort/proto" per port, comma separated.
func servicePorts(ports []corev1.ServicePort) string {
	out := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			out[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			out[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(out, ",")
}

func endpointsPrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Endpoints", "string", corev1.Endpoints{}.SwaggerDoc()["subsets"]),
			ageColumn(),
		},
		func(ep *corev1.Endpoints, now time.Time) []interface{} {
			return []interface{}{ep.Name, formatEndpoints(ep), age(ep.CreationTimestamp, now)}
		},
	)
}

// formatEndpoints lists up to three ip:port pairs (bare IPs for subsets
// without ports) and counts the rest: "a:80,b:80,c:80 + 2 more...".
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const max = 3
	var list []string
	count := 0
	add := func(s string) {
		count++
		if len(list) < max {
			list = append(list, s)
		}
	}
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	out := strings.Join(list, ",")
	if count > max {
		out = fmt.Sprintf("%s + %d more...", out, count-max)
	}
	return out
}

// Nodes.

const (
	nodeRoleLabelPrefix = "node-role.kubernetes.io/"
	nodeRoleLabel       = "kubernetes.io/role"
)

func nodePrinter() *Printer {
	info := corev1.NodeSystemInfo{}.SwaggerDoc()
	addresses := corev1.NodeStatus{}.SwaggerDoc()["addresses"]
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Status", "string", "Whether the node is ready, and whether it accepts new pods."),
			column("Roles", "string", "The roles of the node, from its node-role.kubernetes.io/<role> labels."),
			ageColumn(),
			column("Version", "string", info["kubeletVersion"]),
			wide(column("Internal-IP", "string", addresses)),
			wide(column("External-IP", "string", addresses)),
			wide(column("OS-Image", "string", info["osImage"])),
			wide(column("Kernel-Version", "string", info["kernelVersion"])),
			wide(column("Container-Runtime", "string", info["containerRuntimeVersion"])),
		},
		func(n *corev1.Node, now time.Time) []interface{} {
			unknown := func(s string) string {
				if s == "" {
					return "<unknown>"
				}
				return s
			}
			info := n.Status.NodeInfo
			return []interface{}{
				n.Name,
				nodeStatus(n),
				orNone(strings.Join(nodeRoles(n), ",")),
				age(n.CreationTimestamp, now),
				info.KubeletVersion,
				nodeAddress(n, corev1.NodeInternalIP),
				nodeAddress(n, corev1.NodeExternalIP),
				unknown(info.OSImage),
				unknown(info.KernelVersion),
				unknown(info.ContainerRuntimeVersion),
			}
		},
	)
}

// nodeStatus is Ready, NotReady or Unknown (no Ready condition), with
// ",SchedulingDisabled" for cordoned nodes.
func nodeStatus(n *corev1.Node) string {
	status := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				status = "Ready"
			} else {
				status = "NotReady"
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// nodeRoles are the sorted roles named by node-role.kubernetes.io/<role> and
// kubernetes.io/role=<role> labels.
func nodeRoles(n *corev1.Node) []string {
	roles := sets.New[string]()
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, nodeRoleLabelPrefix):
			if role := strings.TrimPrefix(k, nodeRoleLabelPrefix); role != "" {
				roles.Insert(role)
			}
		case k == nodeRoleLabel && v != "":
			roles.Insert(v)
		}
	}
	return sets.List(roles)
}

func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

// Events (core/v1 and events.k8s.io/v1 share one table).

func eventPrinter() *Printer {
	doc := corev1.Event{}.SwaggerDoc()
	name := nameColumn()
	name.Priority = 1
	return &Printer{
		Columns: []metav1.TableColumnDefinition{
			column("Last Seen", "string", doc["lastTimestamp"]),
			column("Type", "string", doc["type"]),
			column("Reason", "string", doc["reason"]),
			column("Object", "string", doc["involvedObject"]),
			wide(column("Subobject", "string", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"])),
			wide(column("Source", "string", doc["source"])),
			column("Message", "string", doc["message"]),
			wide(column("First Seen", "string", doc["firstTimestamp"])),
			wide(column("Count", "string", doc["count"])),
			name,
		},
		Row: func(obj runtime.Object, now time.Time) ([]interface{}, error) {
			if e, err := typed[*eventsv1.Event](obj); err == nil {
				core, err := conversion.Convert(e, corev1.SchemeGroupVersion.WithKind("Event"))
				if err != nil {
					return nil, err
				}
				obj = core
			}
			e, err := typed[*corev1.Event](obj)
			if err != nil {
				return nil, err
			}
			return eventRow(e, now), nil
		},
	}
}

func eventRow(e *corev1.Event, now time.Time) []interface{} {
	first := age(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = microAge(e.EventTime, now)
	}
	last := age(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last = microAge(e.Series.LastObservedTime, now)
		count = e.Series.Count
	} else if count == 0 {
		count = 1 // a singleton event of the new API
	}

	object := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		object += "/" + e.InvolvedObject.Name
	}
	return []interface{}{
		last,
		e.Type,
		e.Reason,
		object,
		e.InvolvedObject.FieldPath,
		eventSource(e),
		strings.TrimSpace(e.Message),
		first,
		int64(count),
		e.Name,
	}
}

// eventSource is "component, host", falling back to the reporting controller and instance.
func eventSource(e *corev1.Event) string {
	component, host := e.Source.Component, e.Source.Host
	if component == "" {
		component = e.ReportingController
	}
	if host == "" {
		host = e.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}

// Persistent volumes.

func persistentVolumePrinter() *Printer {
	spec := corev1.PersistentVolumeSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeStatus{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Capacity", "string", spec["capacity"]),
			column("Access Modes", "string", spec["accessModes"]),
			column("Reclaim Policy", "string", spec["persistentVolumeReclaimPolicy"]),
			column("Status", "string", status["phase"]),
			column("Claim", "string", spec["claimRef"]),
			column("StorageClass", "string", spec["storageClassName"]),
			column("VolumeAttributesClass", "string", spec["volumeAttributesClassName"]),
			column("Reason", "string", status["reason"]),
			ageColumn(),
			wide(column("VolumeMode", "string", spec["volumeMode"])),
		},
		func(pv *corev1.PersistentVolume, now time.Time) []interface{} {
			claim := ""
			if ref := pv.Spec.ClaimRef; ref != nil {
				claim = ref.Namespace + "/" + ref.Name
			}
			phase := string(pv.Status.Phase)
			if pv.DeletionTimestamp != nil {
				phase = "Terminating"
			}
			class := pv.Spec.StorageClassName
			if c, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
				class = c
			}
			capacity := pv.Spec.Capacity[corev1.ResourceStorage]
			return []interface{}{
				pv.Name,
				capacity.String(),
				storageutil.GetAccessModesAsString(pv.Spec.AccessModes),
				string(pv.Spec.PersistentVolumeReclaimPolicy),
				phase,
				claim,
				class,
				unsetIfNil(pv.Spec.VolumeAttributesClassName),
				pv.Status.Reason,
				age(pv.CreationTimestamp, now),
				volumeMode(pv.Spec.VolumeMode),
			}
		},
	)
}

func persistentVolumeClaimPrinter() *Printer {
	spec := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Status", "string", status["phase"]),
			column("Volume", "string", spec["volumeName"]),
			column("Capacity", "string", status["capacity"]),
			column("Access Modes", "string", status["accessModes"]),
			column("StorageClass", "string", spec["storageClassName"]),
			column("VolumeAttributesClass", "string", spec["volumeAttributesClassName"]),
			ageColumn(),
			wide(column("VolumeMode", "string", spec["volumeMode"])),
		},
		func(pvc *corev1.PersistentVolumeClaim, now time.Time) []interface{} {
			phase := string(pvc.Status.Phase)
			if pvc.DeletionTimestamp != nil {
				phase = "Terminating"
			}
			// Capacity and access modes are the bound volume's.
			capacity, modes := "", ""
			if pvc.Spec.VolumeName != "" {
				q := pvc.Status.Capacity[corev1.ResourceStorage]
				capacity, modes = q.String(), storageutil.GetAccessModesAsString(pvc.Status.AccessModes)
			}
			class := ""
			if pvc.Spec.StorageClassName != nil {
				class = *pvc.Spec.StorageClassName
			}
			if c, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
				class = c
			}
			return []interface{}{
				pvc.Name,
				phase,
				pvc.Spec.VolumeName,
				capacity,
				modes,
				class,
				unsetIfNil(pvc.Spec.VolumeAttributesClassName),
				age(pvc.CreationTimestamp, now),
				volumeMode(pvc.Spec.VolumeMode),
			}
		},
	)
}

func volumeMode(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return "<unset>"
	}
	return string(*m)
}

func unsetIfNil(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}

// Resource quotas.

func resourceQuotaPrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Request", "string", "Used and hard amounts of the quota's resources other than limits."),
			column("Limit", "string", "Used and hard amounts of the quota's limits.* resources."),
			ageColumn(),
		},
		func(q *corev1.ResourceQuota, now time.Time) []interface{} {
			names := make([]string, 0, len(q.Status.Hard))
			for name := range q.Status.Hard {
				names = append(names, string(name))
			}
			sort.Strings(names)
			var requests, limits []string
			for _, name := range names {
				used, hard := q.Status.Used[corev1.ResourceName(name)], q.Status.Hard[corev1.ResourceName(name)]
				cell := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
				if prefix, _, found := strings.Cut(name, "."); found && prefix == "limits" {
					limits = append(limits, cell)
				} else {
					requests = append(requests, cell)
				}
			}
			return []interface{}{q.Name, strings.Join(requests, ", "), strings.Join(limits, ", "), age(q.CreationTimestamp, now)}
		},
	)
}
