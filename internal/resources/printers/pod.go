package printers

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// nodeLostReason is the pod status reason the node lifecycle controller sets
// on pods of an unreachable node.
const nodeLostReason = "NodeLost"

func podPrinter() *Printer {
	spec := corev1.PodSpec{}.SwaggerDoc()
	status := corev1.PodStatus{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Ready", "string", "Ready containers out of all containers of the pod."),
			column("Status", "string", "A summary of the pod's phase and container states."),
			column("Restarts", "string", "Container restarts in the pod, and how long ago the last one happened."),
			ageColumn(),
			wide(column("IP", "string", status["podIP"])),
			wide(column("Node", "string", spec["nodeName"])),
			wide(column("Nominated Node", "string", status["nominatedNodeName"])),
			wide(column("Readiness Gates", "string", spec["readinessGates"])),
		},
		podRow,
	)
}

func podRow(pod *corev1.Pod, now time.Time) []interface{} {
	s := summarizePod(pod)

	restarts := strconv.Itoa(s.restarts)
	if s.restarts != 0 && !s.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", s.restarts, duration.HumanDuration(now.Sub(s.lastRestart)))
	}

	ip := pod.Status.PodIP
	if ip == "" && len(pod.Status.PodIPs) > 0 {
		ip = pod.Status.PodIPs[0].IP
	}
	return []interface{}{
		pod.Name,
		fmt.Sprintf("%d/%d", s.ready, s.total),
		s.status,
		restarts,
		age(pod.CreationTimestamp, now),
		orNone(ip),
		orNone(pod.Spec.NodeName),
		orNone(pod.Status.NominatedNodeName),
		readinessGates(pod),
	}
}

type podSummary struct {
	status       string
	ready, total int
	restarts     int
	lastRestart  time.Time
}

// summarizePod computes READY, STATUS and RESTARTS the way upstream does:
// the phase (or the pod's reason) unless an init container, then a regular
// container, has something more telling to say.
func summarizePod(pod *corev1.Pod) podSummary {
	s := podSummary{status: string(pod.Status.Phase), total: len(pod.Spec.Containers)}
	if pod.Status.Reason != "" {
		s.status = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			s.status = corev1.PodReasonSchedulingGated
		}
	}

	// Sidecars (init containers that keep running) count as containers.
	sidecar := map[string]bool{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecar[c.Name] = true
			s.total++
		}
	}

	// Init containers: restarts of all of them count while the pod initializes;
	// the first one not done explains the status.
	var sidecarRestarts int
	var lastSidecarRestart time.Time
	initializing := false
	for i, cs := range pod.Status.InitContainerStatuses {
		s.restarts += int(cs.RestartCount)
		s.lastRestart = laterTermination(s.lastRestart, cs)
		if sidecar[cs.Name] {
			sidecarRestarts += int(cs.RestartCount)
			lastSidecarRestart = laterTermination(lastSidecarRestart, cs)
		}

		if t := cs.State.Terminated; t != nil && t.ExitCode == 0 {
			continue // done
		}
		if sidecar[cs.Name] && cs.Started != nil && *cs.Started {
			if cs.Ready {
				s.ready++
			}
			continue // a started sidecar does not hold up initialization
		}
		initializing = true
		switch t, w := cs.State.Terminated, cs.State.Waiting; {
		case t != nil && t.Reason != "":
			s.status = "Init:" + t.Reason
		case t != nil && t.Signal != 0:
			s.status = fmt.Sprintf("Init:Signal:%d", t.Signal)
		case t != nil:
			s.status = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
		case w != nil && w.Reason != "" && w.Reason != "PodInitializing":
			s.status = "Init:" + w.Reason
		default:
			s.status = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		break
	}

	if !initializing || podCondition(pod, corev1.PodInitialized) {
		// Past initialization only sidecar restarts still count.
		s.restarts = sidecarRestarts
		s.lastRestart = lastSidecarRestart
		running := false
		// The first container with something to say wins.
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := pod.Status.ContainerStatuses[i]
			s.restarts += int(cs.RestartCount)
			s.lastRestart = laterTermination(s.lastRestart, cs)
			switch w, t := cs.State.Waiting, cs.State.Terminated; {
			case w != nil && w.Reason != "":
				s.status = w.Reason
			case t != nil && t.Reason != "":
				s.status = t.Reason
			case t != nil && t.Signal != 0:
				s.status = fmt.Sprintf("Signal:%d", t.Signal)
			case t != nil:
				s.status = fmt.Sprintf("ExitCode:%d", t.ExitCode)
			case cs.Ready && cs.State.Running != nil:
				running = true
				s.ready++
			}
		}
		// Some containers completed but one still runs.
		if s.status == "Completed" && running {
			if podCondition(pod, corev1.PodReady) {
				s.status = "Running"
			} else {
				s.status = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil {
		terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
		switch {
		case pod.Status.Reason == nodeLostReason:
			s.status = "Unknown"
		case !terminal:
			s.status = "Terminating"
		}
	}
	return s
}

// laterTermination returns the later of t and the end of cs's last run.
func laterTermination(t time.Time, cs corev1.ContainerStatus) time.Time {
	if last := cs.LastTerminationState.Terminated; last != nil && t.Before(last.FinishedAt.Time) {
		return last.FinishedAt.Time
	}
	return t
}

// podCondition reports whether the pod's condition of type ct is True.
func podCondition(pod *corev1.Pod, ct corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == ct {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readinessGates is "true gates/all gates", or "<none>".
func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	n := 0
	for _, g := range pod.Spec.ReadinessGates {
		if podCondition(pod, g.ConditionType) {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(pod.Spec.ReadinessGates))
}
