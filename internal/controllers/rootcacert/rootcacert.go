// Package rootcacert publishes the cluster CA bundle in every active
// namespace as the ConfigMap kube-root-ca.crt (key ca.crt), so that pods
// can verify the API server; the ConfigMap is put back when it is edited
// or deleted.
package rootcacert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/sampan-dev/sampan/internal/controllers/controllerutil"
)

const (
	// ConfigMapName is the name of the published ConfigMap.
	ConfigMapName = "kube-root-ca.crt"
	// DataKey holds the PEM bundle.
	DataKey = "ca.crt"
	// DescriptionAnnotation is the annotation explaining the ConfigMap.
	DescriptionAnnotation = "kubernetes.io/description"
	// Description says what the bundle is for and what it is not for.
	Description = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Clock     clock.WithTicker
	// Workers is the number of namespaces synced at once. Default 5.
	Workers int
	// RootCA is the PEM bundle published. Required.
	RootCA []byte
}

// Controller is the root CA certificate publisher.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	queue    controllerutil.Queue
	nsLister corelisters.NamespaceLister
	cmLister corelisters.ConfigMapLister
	synced   []cache.InformerSynced
}

// New checks cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("root CA publisher: a client and an informer factory are required")
	}
	if len(cfg.RootCA) == 0 {
		return nil, errors.New("root CA publisher: a CA bundle is required")
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
	nsInf := cfg.Informers.Core().V1().Namespaces()
	cmInf := cfg.Informers.Core().V1().ConfigMaps()
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("controller", "root-ca-cert-publisher"),
		queue:    controllerutil.NewQueue("root_ca_cert_publisher", cfg.Clock),
		nsLister: nsInf.Lister(),
		cmLister: cmInf.Lister(),
		synced:   []cache.InformerSynced{nsInf.Informer().HasSynced, cmInf.Informer().HasSynced},
	}
	addNS := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok {
			c.queue.Add(ns.Name)
		}
	}
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    addNS,
		UpdateFunc: func(_, obj any) { addNS(obj) },
	}); err != nil {
		return nil, fmt.Errorf("watching namespaces: %w", err)
	}
	addCM := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == ConfigMapName {
			c.queue.Add(cm.Namespace)
		}
	}
	if _, err := cmInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { addCM(obj) },
		DeleteFunc: addCM,
	}); err != nil {
		return nil, fmt.Errorf("watching config maps: %w", err)
	}
	return c, nil
}

// Run syncs namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if !controllerutil.WaitForSync(ctx, c.synced...) {
		return nil
	}
	c.log.Info("started")
	controllerutil.RunWorkers(ctx, c.queue, c.cfg.Workers, c.sync, c.log)
	return nil
}

// sync creates or resets the ConfigMap of namespace name.
func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.nsLister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	want := map[string]string{DataKey: string(c.cfg.RootCA)}
	cm, err := c.cmLister.ConfigMaps(name).Get(ConfigMapName)
	if apierrors.IsNotFound(err) {
		obj := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name:        ConfigMapName,
				Namespace:   name,
				Annotations: map[string]string{DescriptionAnnotation: Description},
			},
			Data: want,
		}
		_, err := c.cfg.Client.CoreV1().ConfigMaps(name).Create(ctx, obj, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		return fmt.Errorf("creating %s/%s: %w", name, ConfigMapName, err)
	}
	if err != nil {
		return err
	}
	if upToDate(cm, want) {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = want
	cm.BinaryData = nil
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[DescriptionAnnotation] = Description
	if _, err := c.cfg.Client.CoreV1().ConfigMaps(name).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // deleted meanwhile: the delete event brings us back
		}
		return fmt.Errorf("resetting %s/%s: %w", name, ConfigMapName, err)
	}
	return nil
}

// upToDate reports whether cm holds exactly the bundle and the description.
func upToDate(cm *corev1.ConfigMap, want map[string]string) bool {
	if len(cm.Data) != len(want) || len(cm.BinaryData) != 0 {
		return false
	}
	for k, v := range want {
		if got, ok := cm.Data[k]; !ok || got != v {
			return false
		}
	}
	return cm.Annotations[DescriptionAnnotation] != ""
}
