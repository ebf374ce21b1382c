package apiserver_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/ptr"

	"github.com/sampan-dev/sampan/internal/testing/testcluster"
)

// A metadata-only watch-list (what the garbage collector's informers use)
// gets its initial events and an end bookmark it can decode.
func TestMetadataWatchListBookmark(t *testing.T) {
	c := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "m1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mc, err := metadata.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	w, err := mc.Resource(corev1.SchemeGroupVersion.WithResource("configmaps")).Namespace("default").Watch(ctx, metav1.ListOptions{
		AllowWatchBookmarks: true, SendInitialEvents: ptr.To(true), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	sawAdded := false
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed")
			}
			switch ev.Type {
			case watch.Added:
				if m, ok := ev.Object.(*metav1.PartialObjectMetadata); ok && m.Name == "m1" {
					sawAdded = true
				}
			case watch.Bookmark:
				m, ok := ev.Object.(*metav1.PartialObjectMetadata)
				if !ok || m.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
					t.Fatalf("bookmark: %#v", ev.Object)
				}
				if !sawAdded {
					t.Fatal("bookmark before the initial ADDED event")
				}
				return
			case watch.Error:
				t.Fatalf("error event: %#v", ev.Object)
			}
		case <-ctx.Done():
			t.Fatal("no bookmark")
		}
	}
}
