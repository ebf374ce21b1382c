// Package disruption is the disruption controller: it keeps the status of
// every PodDisruptionBudget current (expected, healthy and desired pod
// counts, the disruptions allowed now, the DisruptionAllowed condition) so
// that the API server's eviction subresource can tell whether evicting a
// pod would break the budget. It also keeps the bookkeeping of pods the
// eviction handler recorded as disrupted but that are not gone yet.
package disruption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

// DeletionTimeout is how long a pod stays in a budget's disruptedPods
// (not counted as healthy) after the eviction handler recorded it: if it
// is not being deleted by then, the controller stops expecting it to be.
const DeletionTimeout = 2 * time.Minute

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of budgets synced at once. Default 5.
	Workers int
}

// Controller is the disruption controller.
type Controller struct {
	cfg   Config
	log   *slog.Logger
	queue controllerutil.Queue
	// staleQueue holds pods whose DisruptionTarget condition may go stale.
	staleQueue controllerutil.Queue
	recorder   record.EventRecorder

	pdbLister policylisters.PodDisruptionBudgetLister
	podLister corelisters.PodLister
	rsLister  appslisters.ReplicaSetLister
	dLister   appslisters.DeploymentLister
	ssLister  appslisters.StatefulSetLister
	synced    []cache.InformerSynced
}

// New checks cfg, fills defaults, asks the factory for the informers it
// reads and registers its handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("disruption controller: a client and an informer factory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	f := cfg.Informers
	pdbs := f.Policy().V1().PodDisruptionBudgets()
	pods := f.Core().V1().Pods()
	rss := f.Apps().V1().ReplicaSets()
	ds := f.Apps().V1().Deployments()
	sss := f.Apps().V1().StatefulSets()
	c := &Controller{
		cfg:        cfg,
		log:        cfg.Logger.With("controller", "disruption"),
		queue:      controllerutil.NewQueue("disruption", cfg.Clock),
		staleQueue: controllerutil.NewQueue("disruption_stale_pod_disruption", cfg.Clock),
		recorder:   &record.FakeRecorder{}, // drops events; Run replaces it
		pdbLister:  pdbs.Lister(),
		podLister:  pods.Lister(),
		rsLister:   rss.Lister(),
		dLister:    ds.Lister(),
		ssLister:   sss.Lister(),
		synced: []cache.InformerSynced{
			pdbs.Informer().HasSynced, pods.Informer().HasSynced,
			rss.Informer().HasSynced, ds.Informer().HasSynced, sss.Informer().HasSynced,
		},
	}
	if _, err := pdbs.Informer().AddEventHandler(controllerutil.Enqueuer(c.queue)); err != nil {
		return nil, fmt.Errorf("watching pod disruption budgets: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			c.enqueueForPod(obj)
			c.checkStale(obj)
		},
		UpdateFunc: func(oldObj, obj any) {
			c.enqueueForPod(obj)
			c.checkStale(obj)
			old, ok1 := oldObj.(*corev1.Pod)
			cur, ok2 := obj.(*corev1.Pod)
			if ok1 && ok2 && !labels.Equals(old.Labels, cur.Labels) {
				c.enqueueForPod(oldObj) // budgets it no longer matches
			}
		},
		DeleteFunc: func(obj any) { c.enqueueForPod(obj) },
	}); err != nil {
		return nil, fmt.Errorf("watching pods: %w", err)
	}
	return c, nil
}

// enqueueForPod queues every budget of obj's namespace that selects it.
func (c *Controller) enqueueForPod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	// Not the lister's GetPodPodDisruptionBudgets: it formats an error for
	// every pod no budget selects, the common case on a busy cluster.
	pdbs, err := c.pdbLister.PodDisruptionBudgets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	set := labels.Set(pod.Labels)
	for _, pdb := range pdbs {
		// policy/v1: a nil selector selects nothing, an empty one everything.
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(set) {
			continue
		}
		c.queue.Add(pdb.Namespace + "/" + pdb.Name)
	}
}

// Run keeps budgets' status current until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	defer c.staleQueue.ShutDown()
	rec, stop := controllerutil.NewRecorder(ctx, c.cfg.Client, "controllermanager")
	defer stop()
	c.recorder = rec
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("started")
	stale := make(chan struct{})
	go func() {
		defer close(stale)
		controllerutil.RunWorkers(ctx, c.staleQueue, 1, c.syncStale, c.log)
	}()
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	<-stale
	return nil
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pdb, err := c.pdbLister.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	err = c.trySync(ctx, pdb)
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return nil // deleted meanwhile
	case apierrors.IsConflict(err):
		// Someone (the eviction handler) wrote the status meanwhile:
		// start over from the newer budget.
		return err
	}
	// Fail closed: allow no disruption while the budget cannot be computed.
	if ferr := c.failSafe(ctx, pdb, err); ferr != nil && !apierrors.IsNotFound(ferr) {
		return errors.Join(err, fmt.Errorf("writing fail-safe status: %w", ferr))
	}
	return err
}

func (c *Controller) trySync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) error {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return err
	}
	pods, err := c.podLister.Pods(pdb.Namespace).List(sel)
	if err != nil {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return err
	}
	if len(pods) == 0 {
		c.recorder.Event(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	expected, desired, unmanaged, err := expectedPodCount(pdb, pods, c.findScale)
	if err != nil {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return err
	}
	if len(unmanaged) > 0 {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "UnmanagedPods",
			"Pods selected by this PodDisruptionBudget (selector: %v) have no controller, so the status cannot count them correctly; "+
				"set .spec.minAvailable to an integer to account for them.", pdb.Spec.Selector)
	}
	now := c.cfg.Clock.Now()
	disrupted, expired, recheck := disruptedPodMap(pdb, pods, now)
	for _, p := range expired {
		c.recorder.Eventf(p, corev1.EventTypeWarning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Name)
	}
	healthy := countHealthy(pods, disrupted, now)
	status := newStatus(pdb, healthy, desired, expected, disrupted, now)
	if err := c.writeStatus(ctx, pdb, status); err != nil {
		return err
	}
	if recheck != nil {
		c.queue.AddAfter(pdb.Namespace+"/"+pdb.Name, recheck.Sub(now))
	}
	return nil
}

// writeStatus writes status unless pdb already has it.
func (c *Controller) writeStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, status policyv1.PodDisruptionBudgetStatus) error {
	if statusEqual(pdb.Status, status) {
		return nil
	}
	upd := pdb.DeepCopy()
	upd.Status = status
	_, err := c.cfg.Client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("updating status of %s/%s: %w", pdb.Namespace, pdb.Name, err)
	}
	return nil
}

// failSafe sets disruptionsAllowed to 0 with a SyncFailed condition.
func (c *Controller) failSafe(ctx context.Context, pdb *policyv1.PodDisruptionBudget, cause error) error {
	status := *pdb.Status.DeepCopy()
	status.DisruptionsAllowed = 0
	setCondition(&status, metav1.ConditionFalse, policyv1.SyncFailedReason, cause.Error(), c.cfg.Clock.Now())
	return c.writeStatus(ctx, pdb, status)
}

// findScale returns the controller of a pod named by ref and its desired
// replicas. A ReplicaSet owned by a Deployment stands for its Deployment.
// ReplicationControllers are not served by Sampan's API server, so they
// are not looked up.
func (c *Controller) findScale(ns string, ref *metav1.OwnerReference) (controller, error) {
	gv, err := schemaGroup(ref.APIVersion)
	if err != nil {
		return controller{}, nil
	}
	switch {
	case gv == "apps" && ref.Kind == "ReplicaSet":
		rs, err := c.rsLister.ReplicaSets(ns).Get(ref.Name)
		if err != nil || rs.UID != ref.UID {
			return controller{}, ignoreNotFound(err)
		}
		if owner := metav1.GetControllerOfNoCopy(rs); owner != nil && owner.Kind == "Deployment" {
			if g, _ := schemaGroup(owner.APIVersion); g == "apps" {
				return c.findScale(ns, owner)
			}
		}
		return controller{uid: rs.UID, scale: replicas(rs.Spec.Replicas), found: true}, nil
	case gv == "apps" && ref.Kind == "Deployment":
		d, err := c.dLister.Deployments(ns).Get(ref.Name)
		if err != nil || d.UID != ref.UID {
			return controller{}, ignoreNotFound(err)
		}
		return controller{uid: d.UID, scale: replicas(d.Spec.Replicas), found: true}, nil
	case gv == "apps" && ref.Kind == "StatefulSet":
		ss, err := c.ssLister.StatefulSets(ns).Get(ref.Name)
		if err != nil || ss.UID != ref.UID {
			return controller{}, ignoreNotFound(err)
		}
		return controller{uid: ss.UID, scale: replicas(ss.Spec.Replicas), found: true}, nil
	}
	return controller{}, nil
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// replicas is spec.replicas with the API default of 1.
func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}
