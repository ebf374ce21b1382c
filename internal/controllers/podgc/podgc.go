// Package podgc is the pod garbage collector. Every period it force-deletes
// (grace period 0) pods nobody else will finish: pods bound to nodes that
// no longer exist, terminating pods that were never scheduled, terminating
// pods on nodes declared out of service, and the oldest terminated pods
// beyond a threshold. A pod that has not finished is first marked Failed,
// since no kubelet will ever do it.
package podgc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// Defaults, as upstream's kube-controller-manager.
const (
	DefaultTerminatedPodThreshold = 12500
	DefaultPeriod                 = 20 * time.Second
	DefaultQuarantine             = 40 * time.Second
	DefaultConcurrency            = 32
)

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// TerminatedPodThreshold is how many terminated (Succeeded or Failed)
	// pods may exist before the oldest are deleted. 0 means the default,
	// 12500; a negative value never deletes terminated pods.
	TerminatedPodThreshold int
	// Period between two passes. Default 20s.
	Period time.Duration
	// Quarantine is how long a node must be missing from the cache before
	// the controller asks the server whether it is really gone. Default 40s.
	Quarantine time.Duration
	// Concurrency bounds the deletions issued at once. Default 32.
	Concurrency int
}

// Controller is the pod garbage collector.
type Controller struct {
	cfg        Config
	log        *slog.Logger
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	synced     []cache.InformerSynced

	// missing maps the names of nodes pods are bound to but the cache does
	// not know to when they were first seen missing. Only the gc loop
	// touches it.
	missing map[string]time.Time
}

// New checks cfg, fills defaults and asks the factory for the pod and node
// informers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("podgc controller: a client and an informer factory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.TerminatedPodThreshold == 0 {
		cfg.TerminatedPodThreshold = DefaultTerminatedPodThreshold
	}
	if cfg.Period <= 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Quarantine <= 0 {
		cfg.Quarantine = DefaultQuarantine
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	pods := cfg.Informers.Core().V1().Pods()
	nodes := cfg.Informers.Core().V1().Nodes()
	return &Controller{
		cfg:        cfg,
		log:        cfg.Logger.With("controller", "pod-garbage-collector"),
		podLister:  pods.Lister(),
		nodeLister: nodes.Lister(),
		synced:     []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced},
		missing:    map[string]time.Time{},
	}, nil
}

// Run collects pods every period until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("started", "period", c.cfg.Period, "terminatedPodThreshold", c.cfg.TerminatedPodThreshold)
	ticker := c.cfg.Clock.NewTicker(c.cfg.Period)
	defer ticker.Stop()
	for {
		c.gc(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
		}
	}
}

// gc is one pass.
func (c *Controller) gc(ctx context.Context) {
	pods, err := c.podLister.List(labels.Everything())
	if err != nil {
		c.log.Error("listing pods", "err", err)
		return
	}
	if c.cfg.TerminatedPodThreshold > 0 {
		if victims := terminatedOverThreshold(pods, c.cfg.TerminatedPodThreshold); len(victims) > 0 {
			c.log.Info("deleting terminated pods over the threshold", "count", len(victims), "threshold", c.cfg.TerminatedPodThreshold)
			c.deleteAll(ctx, victims, nil, "terminated")
		}
	}
	if victims := terminatingOutOfService(pods, c.nodeLister.Get); len(victims) > 0 {
		c.deleteAll(ctx, victims, nil, "terminating on an out-of-service node")
	}
	if gone := c.deletedNodes(ctx, pods, c.cfg.Clock.Now()); len(gone) > 0 {
		var victims []*corev1.Pod
		for _, p := range pods {
			if p.Spec.NodeName != "" && gone[p.Spec.NodeName] {
				victims = append(victims, p)
			}
		}
		cond := &corev1.PodCondition{
			Type:    corev1.DisruptionTarget,
			Status:  corev1.ConditionTrue,
			Reason:  "DeletionByPodGC",
			Message: "PodGC: node no longer exists",
		}
		c.deleteAll(ctx, victims, cond, "bound to a deleted node")
	}
	if victims := unscheduledTerminating(pods); len(victims) > 0 {
		c.deleteAll(ctx, victims, nil, "terminating and never scheduled")
	}
}

// deletedNodes returns the nodes pods are bound to that have been missing
// from the cache for the quarantine and that the server confirms are gone.
func (c *Controller) deletedNodes(ctx context.Context, pods []*corev1.Pod, now time.Time) map[string]bool {
	referenced := map[string]bool{}
	for _, p := range pods {
		if n := p.Spec.NodeName; n != "" && !referenced[n] {
			referenced[n] = true
			if _, err := c.nodeLister.Get(n); apierrors.IsNotFound(err) {
				if _, ok := c.missing[n]; !ok {
					c.missing[n] = now
				}
			} else {
				delete(c.missing, n)
			}
		}
	}
	gone := map[string]bool{}
	for n, since := range c.missing {
		if !referenced[n] {
			delete(c.missing, n) // no pod left on it
			continue
		}
		if now.Sub(since) < c.cfg.Quarantine {
			continue
		}
		_, err := c.cfg.Client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			gone[n] = true
			delete(c.missing, n)
		case err != nil:
			c.log.Info("checking whether a node exists", "node", n, "err", err)
		default:
			delete(c.missing, n) // the cache was late: start over if it stays missing
		}
	}
	return gone
}

// deleteAll marks each pod Failed (with cond, if any) unless it finished,
// then deletes it with grace period 0, at most Concurrency at a time.
func (c *Controller) deleteAll(ctx context.Context, pods []*corev1.Pod, cond *corev1.PodCondition, why string) {
	sem := make(chan struct{}, c.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, p := range pods {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := c.markFailedAndDelete(ctx, p, cond); err != nil {
				if ctx.Err() == nil {
					c.log.Info("force-deleting pod failed", "pod", controllerutil.PodKey(p), "reason", why, "err", err)
				}
				return
			}
			c.log.Info("force-deleted pod", "pod", controllerutil.PodKey(p), "reason", why)
		}()
	}
	wg.Wait()
}

func (c *Controller) markFailedAndDelete(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition) error {
	pods := c.cfg.Client.CoreV1().Pods(pod.Namespace)
	if !terminated(pod) {
		patch, err := failedPatch(pod, cond, c.cfg.Clock.Now())
		if err != nil {
			return err
		}
		_, err = pods.Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		switch {
		case err == nil:
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsInvalid(err) || apierrors.IsConflict(err):
			// Most likely another pod of the same name (the uid no longer
			// matches); the uid precondition of the delete settles it.
			c.log.Debug("marking pod failed refused", "pod", controllerutil.PodKey(pod), "err", err)
		default:
			return fmt.Errorf("marking pod %s failed: %w", controllerutil.PodKey(pod), err)
		}
	}
	opts := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}
	if pod.UID != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &pod.UID}
	}
	err := pods.Delete(ctx, pod.Name, opts)
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return fmt.Errorf("deleting pod %s: %w", controllerutil.PodKey(pod), err)
}

// failedPatch is the strategic merge patch of pod's status to phase Failed,
// with cond set (conditions merge by type). The uid makes the server refuse
// it for another pod of the same name.
func failedPatch(pod *corev1.Pod, cond *corev1.PodCondition, now time.Time) ([]byte, error) {
	status := map[string]any{"phase": corev1.PodFailed}
	if cond != nil {
		cc := *cond
		if old := controllerutil.PodCondition(pod.Status.Conditions, cc.Type); old != nil && old.Status == cc.Status {
			cc.LastTransitionTime = old.LastTransitionTime
		} else {
			cc.LastTransitionTime = metav1.NewTime(now)
		}
		status["conditions"] = []corev1.PodCondition{cc}
	}
	patch := map[string]any{"status": status}
	if pod.UID != "" {
		patch["metadata"] = map[string]any{"uid": pod.UID}
	}
	return json.Marshal(patch)
}

// terminated reports whether pod has finished (Succeeded or Failed).
func terminated(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodPending, corev1.PodRunning, corev1.PodUnknown:
		return false
	}
	return true
}

// evicted reports whether the kubelet evicted pod (e.g. under node pressure).
func evicted(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed && pod.Status.Reason == "Evicted"
}

// byEvictionThenAge orders evicted pods first, then oldest first, then by name.
func byEvictionThenAge(pods []*corev1.Pod) {
	sort.Slice(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if ea, eb := evicted(a), evicted(b); ea != eb {
			return ea
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// terminatedOverThreshold returns the terminated pods to delete so that at
// most threshold remain: evicted ones first, then the oldest.
func terminatedOverThreshold(pods []*corev1.Pod, threshold int) []*corev1.Pod {
	var done []*corev1.Pod
	for _, p := range pods {
		if terminated(p) {
			done = append(done, p)
		}
	}
	n := len(done) - threshold
	if n <= 0 {
		return nil
	}
	byEvictionThenAge(done)
	return done[:n]
}

// terminatingOutOfService returns the terminating pods bound to nodes that
// are not Ready and carry the node.kubernetes.io/out-of-service taint: the
// admin declared the node dead, its kubelet will not finish them.
func terminatingOutOfService(pods []*corev1.Pod, getNode func(string) (*corev1.Node, error)) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil || p.Spec.NodeName == "" {
			continue
		}
		node, err := getNode(p.Spec.NodeName)
		if err != nil {
			continue
		}
		if !nodeReady(node) && hasTaintKey(node, corev1.TaintNodeOutOfService) {
			out = append(out, p)
		}
	}
	byEvictionThenAge(out)
	return out
}

// unscheduledTerminating returns the terminating pods bound to no node.
func unscheduledTerminating(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
			out = append(out, p)
		}
	}
	return out
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTaintKey(node *corev1.Node, key string) bool {
	for _, t := range node.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}
